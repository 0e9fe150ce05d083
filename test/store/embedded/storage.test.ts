/** Slab storage and hashed indexes of the embedded store: collisions, compaction, natural order, big documents. */
import { serialize } from 'bson';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collection, hashKey } from '../../../src/store/embedded/collection.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../../src/store/embedded/index.js';
import { deserializeView, type Doc } from '../../../src/store/embedded/values.js';

/** Two different strings whose canonical string keys share a 32-bit hash. */
function collidingStrings(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const s = `k${i}`;
    const h = hashKey('s' + s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
}

function put(c: Collection, doc: Doc): number {
  const raw = Buffer.from(serialize(doc));
  return c.insert(raw, deserializeView(raw, false), false);
}

describe('embedded store storage', () => {
  it('keeps documents whose keys collide on the hash apart', () => {
    const [a, b] = collidingStrings();
    expect(hashKey('s' + a)).toBe(hashKey('s' + b));
    const c = new Collection('t', 'c');
    c.addIndex({ v: 2, key: { code: 1 }, name: 'code_1', unique: true });
    const sa = put(c, { _id: a, code: a });
    const sb = put(c, { _id: b, code: b });
    expect(c.findId(a)).toBe(sa);
    expect(c.findId(b)).toBe(sb);
    expect(() => put(c, { _id: a, code: 'x' })).toThrow(/duplicate key/);
    expect(() => put(c, { _id: 'y', code: b })).toThrow(/duplicate key/);
    c.remove(sa);
    expect(c.findId(a)).toBeUndefined();
    expect(c.findId(b)).toBe(sb);
    put(c, { _id: 'z', code: a });
    expect(c.size).toBe(2);
  });

  it('compacts garbage keeping natural order and indexes', () => {
    const c = new Collection('t', 'c');
    c.addIndex({ v: 2, key: { code: 1 }, name: 'code_1', unique: true });
    c.addIndex({ v: 2, key: { g: 1 }, name: 'g_1' });
    for (let i = 0; i < 20_000; i++) put(c, { _id: i, code: `c${i}`, g: i % 3, pad: 'x'.repeat(100) });
    for (let i = 0; i < 20_000; i++) {
      const slot = c.findId(i)!;
      if (i % 4 === 0) {
        const old = c.view(slot);
        const raw = Buffer.from(serialize({ ...old, pad: 'y'.repeat(120) }));
        c.replace(slot, old, raw, deserializeView(raw, false), false);
      } else if (i % 4 !== 1) c.remove(slot);
    }
    const before = [...c.slots()].map((s) => c.view(s));
    const handedOut = c.raw(c.findId(0)!);
    const copy = Buffer.from(handedOut);
    expect(c.maybeCompact()).toBe(true);
    expect(handedOut.equals(copy)).toBe(true);
    expect([...c.slots()].map((s) => c.view(s))).toEqual(before);
    expect(c.size).toBe(10_000);
    expect(c.view(c.findId(4)!).pad).toBe('y'.repeat(120));
    const hits = [...c.candidates({ code: 'c5' })].map((s) => c.view(s)._id);
    expect(hits).toEqual([5]);
    const g = [...c.candidates({ g: 1 })].map((s) => c.view(s)).filter((d) => d.g === 1);
    expect(g.map((d) => d._id)).toEqual(before.filter((d) => d.g === 1).map((d) => d._id));
    expect(() => put(c, { _id: 'n', code: 'c9' })).toThrow(/duplicate key/);
    put(c, { _id: 'n', code: 'c2' });
  });

  it('narrows scans by the leading field of compound indexes, kept in step with writes and drops', () => {
    const c = new Collection('t', 'c');
    c.addIndex({ v: 2, key: { ws: 1, n: 1 }, name: 'ws_1_n_1', unique: true });
    for (let i = 0; i < 300; i++) put(c, { _id: i, ws: `w${i % 3}`, n: i, tags: ['a'] });
    const ids = (f: Doc) => [...c.candidates(f)].map((s) => c.view(s)._id);
    expect(ids({ ws: 'w1' })).toHaveLength(100);
    expect(ids({ ws: { $in: ['w1', 'w2'] }, x: { $gt: 1 } })).toHaveLength(200);
    const slot = c.findId(1)!;
    const old = c.view(slot);
    const raw = Buffer.from(serialize({ ...old, ws: 'w0' }));
    c.replace(slot, old, raw, deserializeView(raw, false), false);
    c.remove(c.findId(4)!);
    expect(ids({ ws: 'w1' })).toEqual(
      Array.from({ length: 100 }, (_, k) => 1 + 3 * k).filter((i) => i !== 1 && i !== 4),
    );
    expect(ids({ ws: 'w0' })).toContain(1);
    c.dropIndex('ws_1_n_1');
    expect(ids({ ws: 'w1' })).toHaveLength(299);
  });

  describe('through the driver', () => {
    let server: EmbeddedMongo;
    let client: MongoClient;
    beforeAll(async () => {
      server = await startEmbeddedMongo({});
      client = await MongoClient.connect(server.uri);
    });
    afterAll(async () => {
      await client.close();
      await server.stop();
    });

    it('stores documents larger than a slab next to small ones', async () => {
      const col = client.db('t').collection('big');
      const big = 'b'.repeat(3 * 1024 * 1024);
      await col.insertMany([{ _id: 1, s: 'small' } as Doc, { _id: 2, s: big }, { _id: 3, s: 'after' }]);
      const docs = await col.find().toArray();
      expect(docs.map((d) => (d.s as string).length)).toEqual([5, big.length, 5]);
    });

    it('answers scans, counts and $group pushdown like full decoding after updates and deletes', async () => {
      const col = client.db('t').collection('scan');
      await col.createIndex({ ws: 1, code: 1 }, { unique: true });
      await col.insertMany(
        Array.from({ length: 3000 }, (_, i) => ({
          ws: `w${i % 3}`,
          code: i,
          stage: ['a', 'b', 'c'][i % 3],
          tags: i % 2 ? ['x', 'y'] : ['z'],
          amount: i % 7 === 0 ? null : i / 2,
          big: BigInt(i) * 10n ** 15n,
        })),
      );
      await col.updateMany({ stage: 'b', amount: { $ne: null } }, { $inc: { amount: 1 } });
      await col.deleteMany({ code: { $in: [3, 4, 5] } });
      expect(await col.countDocuments({ stage: { $in: ['a', 'c'] } })).toBe(1998);
      expect(await col.countDocuments({ tags: 'x' })).toBe(1498);
      expect(await col.countDocuments({ $expr: { $gt: ['$amount', 1000] } })).toBeGreaterThan(0);
      const pushed = await col
        .aggregate([
          { $match: { stage: { $in: ['a', 'b'] }, tags: 'z' } },
          { $group: { _id: '$ws', total: { $sum: '$amount' }, n: { $sum: 1 }, maxBig: { $max: '$big' } } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      const all = await col.find({ stage: { $in: ['a', 'b'] }, tags: 'z' }).toArray();
      const expected = new Map<string, { total: number; n: number }>();
      for (const d of all) {
        const e = expected.get(d.ws as string) ?? { total: 0, n: 0 };
        e.total += typeof d.amount === 'number' ? d.amount : 0;
        e.n++;
        expected.set(d.ws as string, e);
      }
      expect(pushed.map((g) => [g._id, g.total, g.n])).toEqual(
        [...expected].sort().map(([k, e]) => [k, e.total, e.n]),
      );
      const root = await col
        .aggregate([{ $match: { ws: 'w1' } }, { $group: { _id: null, first: { $first: '$$ROOT' } } }])
        .toArray();
      expect(Object.keys(root[0]!.first as Doc)).toEqual([
        '_id',
        'ws',
        'code',
        'stage',
        'tags',
        'amount',
        'big',
      ]);
      await expect(col.insertOne({ ws: 'w0', code: 0 })).rejects.toBeInstanceOf(MongoServerError);
    });
  });
});
