/**
 * Conformance suite for the embedded store. It talks only through the official
 * driver, so it runs unchanged against a real mongod (set MONGODB_URI).
 */
import {
  Binary,
  Decimal128,
  Double,
  Int32,
  Long,
  MongoBulkWriteError,
  MongoServerError,
  ObjectId,
  type Db,
  type Document,
} from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectTestClient, testMongoKind } from '../../helpers/db.js';

let t: Awaited<ReturnType<typeof connectTestClient>>;
let db: Db;

beforeAll(async () => {
  t = await connectTestClient('conformance');
  db = t.db;
});
afterAll(async () => {
  await t.close();
});

let n = 0;
let name: string;
beforeEach(() => {
  name = `c${n++}`;
});
const coll = <T extends Document = Document>() => db.collection<T>(name);

const isZeroId = (v: unknown): boolean => (Long.isLong(v) ? v.isZero() : v === 0);

async function serverError(p: Promise<unknown>): Promise<MongoServerError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MongoServerError);
    return err as MongoServerError;
  }
  throw new Error('expected the operation to fail');
}

describe('CRUD', () => {
  it('inserts, finds, updates and deletes', async () => {
    const c = coll();
    const { insertedId } = await c.insertOne({ a: 1, b: 'x' });
    await c.insertMany([{ a: 2 }, { a: 3 }]);
    const one = await c.findOne({ _id: insertedId });
    expect(one).toEqual({ _id: insertedId, a: 1, b: 'x' });
    expect(Object.keys(one!)[0]).toBe('_id');
    expect(await c.countDocuments()).toBe(3);
    expect((await c.updateOne({ a: 2 }, { $set: { b: 'y' } })).modifiedCount).toBe(1);
    expect((await c.updateOne({ a: 2 }, { $set: { b: 'y' } })).modifiedCount).toBe(0);
    const many = await c.updateMany({ a: { $gte: 2 } }, { $set: { big: true } });
    expect([many.matchedCount, many.modifiedCount]).toEqual([2, 2]);
    expect((await c.deleteOne({ a: 3 })).deletedCount).toBe(1);
    expect((await c.deleteMany({})).deletedCount).toBe(2);
    expect(await c.countDocuments()).toBe(0);
  });

  it('sorts, skips, limits and projects', async () => {
    const c = coll();
    await c.insertMany([5, 3, 9, 1, 7].map((v) => ({ v, s: `n${v}`, nested: { w: v * 2 } })));
    const asc = await c
      .find({}, { projection: { _id: 0, v: 1 } })
      .sort({ v: 1 })
      .skip(1)
      .limit(3)
      .toArray();
    expect(asc).toEqual([{ v: 3 }, { v: 5 }, { v: 7 }]);
    const desc = await c
      .find({ v: { $gt: 2 } })
      .sort({ v: -1 })
      .project({ 'nested.w': 1, _id: 0 })
      .toArray();
    expect(desc).toEqual([
      { nested: { w: 18 } },
      { nested: { w: 14 } },
      { nested: { w: 10 } },
      { nested: { w: 6 } },
    ]);
    const excl = await c.findOne({ v: 1 }, { projection: { nested: 0, _id: 0 } });
    expect(excl).toEqual({ v: 1, s: 'n1' });
  });

  it('replaceOne keeps _id and refuses to change it', async () => {
    const c = coll();
    const { insertedId } = await c.insertOne({ a: 1, b: 2 });
    await c.replaceOne({ _id: insertedId }, { a: 5 });
    expect(await c.findOne({ _id: insertedId })).toEqual({ _id: insertedId, a: 5 });
    const err = await serverError(c.replaceOne({ _id: insertedId }, { _id: new ObjectId(), a: 6 }));
    expect(err.code).toBe(66);
    const err2 = await serverError(c.updateOne({ _id: insertedId }, { $set: { _id: new ObjectId() } }));
    expect(err2.code).toBe(66);
    // setting _id to its current value is allowed
    await c.updateOne({ _id: insertedId }, { $set: { _id: insertedId, a: 7 } });
    expect(await c.findOne({ _id: insertedId })).toEqual({ _id: insertedId, a: 7 });
  });

  it('insertMany ordered:false reports every duplicate and inserts the rest', async () => {
    const c = coll<{ _id: number }>();
    await c.insertOne({ _id: 1 });
    const err = (await c
      .insertMany([{ _id: 2 }, { _id: 1 }, { _id: 3 }, { _id: 2 }], { ordered: false })
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    expect(err.insertedCount).toBe(2);
    const writeErrors = err.writeErrors as unknown as { index: number; code: number }[];
    expect(writeErrors.map((w) => [w.index, w.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(await c.countDocuments()).toBe(3);
  });

  it('insertMany ordered stops at the first duplicate', async () => {
    const c = coll<{ _id: number }>();
    await c.insertOne({ _id: 2 });
    const err = (await c
      .insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }])
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(err.insertedCount).toBe(1);
    expect(await c.countDocuments()).toBe(2);
  });

  it('duplicate key write errors carry keyPattern and keyValue', async () => {
    const c = coll();
    await c.createIndex({ workspaceId: 1, code: 1 }, { unique: true });
    await c.insertOne({ workspaceId: 'w1', code: 'D-1' });
    const res = await db.command({ insert: name, documents: [{ workspaceId: 'w1', code: 'D-1' }] });
    expect(res.ok).toBe(1);
    expect(res.n).toBe(0);
    expect(res.writeErrors).toHaveLength(1);
    expect(res.writeErrors[0]).toMatchObject({
      index: 0,
      code: 11000,
      keyPattern: { workspaceId: 1, code: 1 },
      keyValue: { workspaceId: 'w1', code: 'D-1' },
    });
    expect(res.writeErrors[0].errmsg).toMatch(
      /E11000 duplicate key error collection: .*index: workspaceId_1_code_1 dup key/,
    );
    const err = await serverError(c.insertOne({ workspaceId: 'w1', code: 'D-1' }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ workspaceId: 'w1', code: 'D-1' });
    // a unique violation on update leaves the document unchanged
    await c.insertOne({ workspaceId: 'w1', code: 'D-2' });
    const err2 = await serverError(c.updateOne({ code: 'D-2' }, { $set: { code: 'D-1' } }));
    expect(err2.code).toBe(11000);
    expect(await c.countDocuments({ code: 'D-2' })).toBe(1);
  });
});

describe('upsert', () => {
  it('seeds from equality fields and $setOnInsert only on insert', async () => {
    const c = coll();
    const r = await c.updateOne(
      { workspaceId: 'w', 'meta.kind': 'deal', n: { $gt: 5 }, $and: [{ stage: { $eq: 'lead' } }] },
      { $set: { title: 'T' }, $setOnInsert: { createdBy: 'u1' }, $inc: { hits: 1 } },
      { upsert: true },
    );
    expect(r.upsertedCount).toBe(1);
    const doc = await c.findOne({ _id: r.upsertedId! });
    expect(doc).toEqual({
      _id: r.upsertedId,
      workspaceId: 'w',
      meta: { kind: 'deal' },
      stage: 'lead',
      title: 'T',
      createdBy: 'u1',
      hits: 1,
    });
    await c.updateOne(
      { workspaceId: 'w' },
      { $set: { title: 'U' }, $setOnInsert: { createdBy: 'u2' } },
      { upsert: true },
    );
    expect(await c.findOne({ workspaceId: 'w' }, { projection: { _id: 0, title: 1, createdBy: 1 } })).toEqual(
      { title: 'U', createdBy: 'u1' },
    );
  });

  it('uses the _id from the filter and replacement documents', async () => {
    const c = coll<{ _id: string; v?: number; w?: number }>();
    const r = await c.replaceOne({ _id: 'k1' }, { v: 1 }, { upsert: true });
    expect(r.upsertedId).toBe('k1');
    expect(await c.findOne({ _id: 'k1' })).toEqual({ _id: 'k1', v: 1 });
    const r2 = await c.updateOne({ _id: 'k2' }, { $set: { w: 2 } }, { upsert: true });
    expect(r2.upsertedId).toBe('k2');
  });

  it('findOneAndUpdate counters: $inc with upsert and returnDocument after', async () => {
    const c = coll<{ _id: string; seq: number }>();
    const a = await c.findOneAndUpdate(
      { _id: 'deal' },
      { $inc: { seq: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    const b = await c.findOneAndUpdate(
      { _id: 'deal' },
      { $inc: { seq: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect([a?.seq, b?.seq]).toEqual([1, 2]);
    const before = await c.findOneAndUpdate(
      { _id: 'deal' },
      { $inc: { seq: 1 } },
      { returnDocument: 'before' },
    );
    expect(before?.seq).toBe(2);
    const full = await c.findOneAndUpdate(
      { _id: 'new' },
      { $inc: { seq: 5 } },
      { upsert: true, includeResultMetadata: true },
    );
    expect(full.value).toBeNull();
    expect(full.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false, upserted: 'new' });
    const del = await c.findOneAndDelete({ _id: 'new' });
    expect(del).toEqual({ _id: 'new', seq: 5 });
    expect(await c.findOneAndUpdate({ _id: 'none' }, { $inc: { seq: 1 } })).toBeNull();
  });

  it('conditional updates on {_id, version}', async () => {
    const c = coll();
    const { insertedId } = await c.insertOne({ version: 1, stage: 'lead', history: [] as string[] });
    const ok = await c.updateOne({ _id: insertedId, version: 1 }, {
      $set: { stage: 'won' },
      $inc: { version: 1 },
      $push: { history: 'won' },
    } as never);
    const stale = await c.updateOne(
      { _id: insertedId, version: 1 },
      { $set: { stage: 'lost' }, $inc: { version: 1 } },
    );
    expect([ok.modifiedCount, stale.matchedCount]).toEqual([1, 0]);
    expect(await c.findOne({ _id: insertedId }, { projection: { _id: 0 } })).toEqual({
      version: 2,
      stage: 'won',
      history: ['won'],
    });
  });
});

describe('update operators', () => {
  it('applies the field and array operators', async () => {
    const c = coll();
    const { insertedId: id } = await c.insertOne({
      a: 1,
      b: 'x',
      n: 10,
      lo: 5,
      hi: 5,
      tags: ['a', 'b'],
      nums: [1, 2, 3, 4],
      items: [
        { sku: 'p', qty: 1 },
        { sku: 'q', qty: 2 },
      ],
      old: 'r',
    });
    await c.updateOne(
      { _id: id },
      {
        $set: { 'deep.x': 1 },
        $unset: { b: '' },
        $inc: { n: 5 },
        $mul: { a: 3 },
        $min: { lo: 2 },
        $max: { hi: 9 },
        $push: { tags: { $each: ['c', 'd'], $slice: -3 } } as never,
        $addToSet: { nums: { $each: [4, 5] } },
        $rename: { old: 'renamed' },
        $currentDate: { touched: true },
      },
    );
    const d = (await c.findOne({ _id: id }))!;
    expect(d).toMatchObject({
      a: 3,
      n: 15,
      lo: 2,
      hi: 9,
      deep: { x: 1 },
      tags: ['b', 'c', 'd'],
      nums: [1, 2, 3, 4, 5],
      renamed: 'r',
    });
    expect(d.b).toBeUndefined();
    expect(d.old).toBeUndefined();
    expect(d.touched).toBeInstanceOf(Date);
    await c.updateOne({ _id: id }, {
      $pull: { nums: { $gte: 4 } },
      $pop: { tags: -1 },
      $pullAll: { renamedList: [] },
    } as never);
    await c.updateOne({ _id: id, 'items.sku': 'q' }, { $inc: { 'items.$.qty': 10 } });
    await c.updateOne(
      { _id: id },
      { $set: { 'items.$[it].flag': true } },
      { arrayFilters: [{ 'it.qty': { $gte: 10 } }] },
    );
    await c.updateOne({ _id: id }, { $inc: { 'items.$[].qty': 1 } });
    const e = (await c.findOne({ _id: id }))!;
    expect(e.nums).toEqual([1, 2, 3]);
    expect(e.tags).toEqual(['c', 'd']);
    expect(e.items).toEqual([
      { sku: 'p', qty: 2 },
      { sku: 'q', qty: 13, flag: true },
    ]);
  });

  it('supports pipeline updates', async () => {
    const c = coll();
    const { insertedId } = await c.insertOne({ a: 2, b: 3 });
    await c.updateOne({ _id: insertedId }, [{ $set: { sum: { $add: ['$a', '$b'] } } }, { $unset: 'b' }]);
    expect(await c.findOne({ _id: insertedId }, { projection: { _id: 0 } })).toEqual({ a: 2, sum: 5 });
  });

  it('rejects bad updates with mongod codes', async () => {
    const c = coll();
    await c.insertOne({ a: 1, s: 'text' });
    expect((await serverError(c.updateOne({}, { $frobnicate: { a: 1 } } as never))).code).toBe(9);
    expect((await serverError(c.updateOne({}, { $set: { a: 2 }, $inc: { a: 1 } }))).code).toBe(40);
    expect((await serverError(c.updateOne({}, { $inc: { s: 1 } }))).code).toBe(14);
    expect(await c.findOne({}, { projection: { _id: 0 } })).toEqual({ a: 1, s: 'text' });
  });
});

describe('aggregation', () => {
  beforeEach(async () => {
    await coll().insertMany([
      {
        ws: 'w1',
        stage: 'won',
        amount: 100,
        owner: 'u1',
        at: new Date('2024-03-05T10:00:00Z'),
        tags: ['a', 'b'],
      },
      { ws: 'w1', stage: 'won', amount: 300, owner: 'u2', at: new Date('2024-03-20T10:00:00Z'), tags: ['b'] },
      { ws: 'w1', stage: 'lost', amount: 50, owner: 'u1', at: new Date('2024-04-02T10:00:00Z'), tags: [] },
      { ws: 'w2', stage: 'won', amount: 999, owner: 'u3', at: new Date('2024-04-02T10:00:00Z'), tags: ['a'] },
    ]);
  });

  it('$match $group $sum $avg $cond $sort $project', async () => {
    const out = await coll()
      .aggregate([
        { $match: { ws: 'w1' } },
        {
          $group: {
            _id: '$owner',
            total: { $sum: '$amount' },
            avg: { $avg: '$amount' },
            won: { $sum: { $cond: [{ $eq: ['$stage', 'won'] }, 1, 0] } },
          },
        },
        { $sort: { total: -1 } },
        { $project: { _id: 0, owner: '$_id', total: 1, avg: 1, won: 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { total: 300, avg: 300, won: 1, owner: 'u2' },
      { total: 150, avg: 75, won: 1, owner: 'u1' },
    ]);
  });

  it('$facet $bucket $count $unwind $dateTrunc', async () => {
    const [f] = await coll()
      .aggregate([
        { $match: { ws: 'w1' } },
        {
          $facet: {
            n: [{ $count: 'n' }],
            buckets: [
              {
                $bucket: {
                  groupBy: '$amount',
                  boundaries: [0, 100, 1000],
                  default: 'other',
                  output: { c: { $sum: 1 } },
                },
              },
            ],
            tags: [{ $unwind: '$tags' }, { $group: { _id: '$tags', c: { $sum: 1 } } }, { $sort: { _id: 1 } }],
            months: [
              { $group: { _id: { $dateTrunc: { date: '$at', unit: 'month' } }, c: { $sum: 1 } } },
              { $sort: { _id: 1 } },
            ],
          },
        },
      ])
      .toArray();
    expect(f).toEqual({
      n: [{ n: 3 }],
      buckets: [
        { _id: 0, c: 1 },
        { _id: 100, c: 2 },
      ],
      tags: [
        { _id: 'a', c: 1 },
        { _id: 'b', c: 2 },
      ],
      months: [
        { _id: new Date('2024-03-01T00:00:00Z'), c: 2 },
        { _id: new Date('2024-04-01T00:00:00Z'), c: 1 },
      ],
    });
  });

  it('$lookup across collections of the same database', async () => {
    const users = db.collection(`${name}_users`);
    await users.insertMany([{ _id: 'u1', name: 'Ann' } as never, { _id: 'u2', name: 'Bo' } as never]);
    const out = await coll()
      .aggregate([
        { $match: { ws: 'w1', stage: 'won' } },
        { $lookup: { from: `${name}_users`, localField: 'owner', foreignField: '_id', as: 'user' } },
        { $unwind: '$user' },
        { $sort: { amount: 1 } },
        { $project: { _id: 0, amount: 1, name: '$user.name' } },
      ])
      .toArray();
    expect(out).toEqual([
      { amount: 100, name: 'Ann' },
      { amount: 300, name: 'Bo' },
    ]);
  });

  it('countDocuments, estimatedDocumentCount and distinct', async () => {
    expect(await coll().countDocuments({ stage: 'won' })).toBe(3);
    expect(await coll().countDocuments({ stage: 'won' }, { skip: 1, limit: 1 })).toBe(1);
    expect(await coll().estimatedDocumentCount()).toBe(4);
    expect(await coll().distinct('owner', { ws: 'w1' })).toEqual(['u1', 'u2']);
    expect(await coll().distinct('tags')).toEqual(['a', 'b']);
  });
});

describe('aggregation expressions', () => {
  const oid = new ObjectId('6541a1b2c3d4e5f601234567');
  const at = new Date('2026-11-26T15:17:33Z');
  const one = async (expr: Document): Promise<Document> => {
    const c = coll();
    if ((await c.countDocuments()) === 0)
      await c.insertOne({ _id: 1, oid, at, s: '12', arr: [1, 2] } as never);
    const [doc] = await c.aggregate([{ $project: { _id: 0, ...expr } }]).toArray();
    return doc!;
  };

  it('$lookup with localField/foreignField and a pipeline joins on equality, then runs the pipeline with let', async () => {
    const users = db.collection(`${name}_users`);
    await users.insertMany([
      { _id: 'u1', name: 'Ann' } as never,
      { _id: 'u2', name: 'Bo' } as never,
      { _id: 'u3', name: 'Cy' } as never,
    ]);
    await coll().insertMany([
      { _id: 1, owner: 'u1', amount: 10 },
      { _id: 2, owner: 'u2', amount: 20 },
      { _id: 3, owner: 'nobody', amount: 30 },
    ] as never[]);
    const out = await coll()
      .aggregate([
        {
          $lookup: {
            from: `${name}_users`,
            localField: 'owner',
            foreignField: '_id',
            let: { amt: '$amount' },
            pipeline: [{ $project: { _id: 0, name: 1, amt: '$$amt' } }],
            as: 'user',
          },
        },
        { $sort: { _id: 1 } },
        { $project: { _id: 1, user: 1 } },
      ])
      .toArray();
    expect(out).toEqual([
      { _id: 1, user: [{ name: 'Ann', amt: 10 }] },
      { _id: 2, user: [{ name: 'Bo', amt: 20 }] },
      { _id: 3, user: [] },
    ]);
  });

  it('converts ObjectIds, dates, strings and numbers', async () => {
    expect(
      await one({
        oidStr: { $toString: '$oid' },
        oidBack: { $toObjectId: '6541a1b2c3d4e5f601234567' },
        conv: { $convert: { input: '$oid', to: 'string' } },
        convOid: { $convert: { input: 'zz', to: 'objectId', onError: 'bad' } },
        convNull: { $convert: { input: '$missing', to: 'int', onNull: 'none' } },
        dateStr: { $toString: '$at' },
        oidDate: { $toDate: '$oid' },
        int: { $toInt: '$s' },
        trunc: { $toInt: 2.7 },
        long: { $toLong: '$s' },
        dbl: { $toDouble: '2.5' },
        ms: { $toLong: '$at' },
        numStr: { $toString: 2.5 },
        bool: { $toBool: 0 },
      }),
    ).toEqual({
      oidStr: '6541a1b2c3d4e5f601234567',
      oidBack: oid,
      conv: '6541a1b2c3d4e5f601234567',
      convOid: 'bad',
      convNull: 'none',
      dateStr: '2026-11-26T15:17:33.000Z',
      oidDate: new Date('2023-11-01T00:54:10Z'),
      int: 12,
      trunc: 2,
      long: 12,
      dbl: 2.5,
      ms: at.getTime(),
      numStr: '2.5',
      bool: false,
    });
    expect((await serverError(one({ a: { $toInt: 'abc' } }))).code).toBe(241);
    expect((await serverError(one({ a: { $toObjectId: 'abc' } }))).code).toBe(241);
  });

  it('$toDecimal gives a Decimal128 on mongod; the embedded store refuses it (NotImplemented)', async () => {
    const p = one({ d: { $toDecimal: '2.5' } });
    if (testMongoKind() === 'embedded') {
      const err = await serverError(p);
      expect(err.code).toBe(238);
      expect(err.message).toMatch(/embedded store/);
    } else expect(await p).toEqual({ d: Decimal128.fromString('2.5') });
  });

  it('compares across types in BSON order (null < numbers < strings < objects < arrays < ObjectId < booleans < dates)', async () => {
    expect(
      await one({
        gtNull: { $gt: [5, null] },
        ltNull: { $lt: [5, null] },
        cmpNull: { $cmp: [null, 5] },
        strNum: { $gt: ['a', 5] },
        oidStr: { $gt: ['$oid', 'zzz'] },
        arrObj: { $gt: [[1], { a: 1 }] },
        dateBool: { $lt: ['$at', true] },
        missing: { $lt: ['$missing', 5] },
        arrEq: { $eq: ['$arr', 1] },
        maxMixed: { $max: [1, 'a', null] },
        minMixed: { $min: [1, 'a', null] },
      }),
    ).toEqual({
      gtNull: true,
      ltNull: false,
      cmpNull: -1,
      strNum: true,
      oidStr: true,
      arrObj: true,
      dateBool: false,
      missing: true,
      arrEq: false,
      maxMixed: 'a',
      minMixed: 1,
    });
    await coll().insertMany([{ v: 3 }, { v: null }, {}, { v: 'x' }, { v: -1 }]);
    const [g] = await coll()
      .aggregate([
        { $match: { _id: { $ne: 1 } } },
        { $group: { _id: null, max: { $max: '$v' }, min: { $min: '$v' } } },
      ])
      .toArray();
    expect(g).toEqual({ _id: null, max: 'x', min: -1 });
    const sorted = await coll()
      .aggregate([
        { $match: { _id: { $ne: 1 } } },
        { $project: { _id: 0, v: 1 } },
        { $sort: { v: -1 } },
        { $limit: 3 },
      ])
      .toArray();
    expect(sorted).toEqual([{ v: 'x' }, { v: 3 }, { v: -1 }]);
  });

  it('accepts UTC, GMT, Olson names and offsets as timezones', async () => {
    const ny = 'America/New_York';
    expect(
      await one({
        str: { $dateToString: { date: '$at', format: '%Y-%m-%d %H:%M', timezone: 'UTC' } },
        kolkata: { $dateToString: { date: '$at', format: '%H:%M %z', timezone: 'Asia/Kolkata' } },
        hourNy: { $hour: { date: '$at', timezone: ny } },
        dayGmt: { $dateTrunc: { date: '$at', unit: 'day', timezone: 'GMT' } },
        parts: { $dateToParts: { date: '$at', timezone: '+05:30' } },
        fromUtc: { $dateFromParts: { year: 2026, month: 3, day: 1, timezone: 'UTC' } },
        fromNy: { $dateFromParts: { year: 2024, month: 7, day: 1, timezone: ny } },
        monthNy: { $dateTrunc: { date: new Date('2024-03-20T12:00:00Z'), unit: 'month', timezone: ny } },
        dayAfterDst: {
          $dateAdd: { startDate: new Date('2024-03-09T12:00:00Z'), unit: 'day', amount: 1, timezone: ny },
        },
      }),
    ).toEqual({
      str: '2026-11-26 15:17',
      kolkata: '20:47 +0530',
      hourNy: 10,
      dayGmt: new Date('2026-11-26T00:00:00Z'),
      parts: { year: 2026, month: 11, day: 26, hour: 20, minute: 47, second: 33, millisecond: 0 },
      fromUtc: new Date('2026-03-01T00:00:00Z'),
      fromNy: new Date('2024-07-01T04:00:00Z'),
      monthNy: new Date('2024-03-01T05:00:00Z'),
      dayAfterDst: new Date('2024-03-10T11:00:00Z'),
    });
    expect((await serverError(one({ h: { $hour: { date: '$at', timezone: 'Mars/Base' } } }))).code).toBe(
      40485,
    );
  });

  it('$dateTrunc binSize and startOfWeek, $dateAdd month ends', async () => {
    expect(
      await one({
        monday: { $dateTrunc: { date: '$at', unit: 'week', startOfWeek: 'monday' } },
        sunday: { $dateTrunc: { date: '$at', unit: 'week' } },
        sixHours: { $dateTrunc: { date: '$at', unit: 'hour', binSize: 6 } },
        quarter: { $dateTrunc: { date: '$at', unit: 'month', binSize: 3 } },
        feb: { $dateAdd: { startDate: new Date('2024-01-31T12:00:00Z'), unit: 'month', amount: 1 } },
      }),
    ).toEqual({
      monday: new Date('2026-11-23T00:00:00Z'),
      sunday: new Date('2026-11-22T00:00:00Z'),
      sixHours: new Date('2026-11-26T12:00:00Z'),
      quarter: new Date('2026-10-01T00:00:00Z'),
      feb: new Date('2024-02-29T12:00:00Z'),
    });
  });

  it('missing values: omitted fields, $size errors, $arrayElemAt out of range, $ifNull, $group _id', async () => {
    expect(
      await one({
        m: '$missing',
        out: { $arrayElemAt: ['$arr', 5] },
        last: { $arrayElemAt: ['$arr', -1] },
        ifNull: { $ifNull: ['$missing', '$alsoMissing'] },
        dflt: { $ifNull: ['$missing', null, 'd'] },
        size: { $size: '$arr' },
        inArray: ['$missing'],
      }),
    ).toEqual({ last: 2, dflt: 'd', size: 2, inArray: [null] });
    const err = await serverError(one({ n: { $size: '$missing' } }));
    expect(err.code).toBe(17124);
    await coll().insertMany([{ k: 'a', n: 'x' }, { k: 'a' }, { k: 'b', n: 2 }]);
    const groups = await coll()
      .aggregate([{ $group: { _id: '$nope', n: { $sum: '$n' }, avg: { $avg: '$nope' }, c: { $sum: 1 } } }])
      .toArray();
    expect(groups).toEqual([{ _id: null, n: 2, avg: null, c: 4 }]);
    expect(
      await coll()
        .aggregate([{ $match: { k: 'zz' } }, { $group: { _id: null, c: { $sum: 1 } } }])
        .toArray(),
    ).toEqual([]);
    const unwound = await coll()
      .aggregate([
        { $match: { _id: { $ne: 1 } } },
        { $sort: { k: 1, n: 1 } },
        { $unwind: { path: '$arr', preserveNullAndEmptyArrays: true, includeArrayIndex: 'i' } },
        { $project: { _id: 0, k: 1, i: 1 } },
      ])
      .toArray();
    expect(unwound).toEqual([
      { k: 'a', i: null },
      { k: 'a', i: null },
      { k: 'b', i: null },
    ]);
  });
});

describe('indexes', () => {
  it('creates, lists and drops indexes with their options', async () => {
    const c = coll();
    await c.insertOne({ a: 1 });
    expect(await c.createIndex({ a: 1, b: -1 }, { unique: true })).toBe('a_1_b_-1');
    await c.createIndex({ s: 1 }, { sparse: true, name: 'sparse_s' });
    await c.createIndex({ p: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 3600 });
    const list = await c.listIndexes().toArray();
    expect(list.map((i) => i.name)).toEqual(['_id_', 'a_1_b_-1', 'sparse_s', 'p_1', 'expiresAt_1']);
    expect(list[1]).toMatchObject({ key: { a: 1, b: -1 }, unique: true });
    expect(list[2]).toMatchObject({ key: { s: 1 }, sparse: true });
    expect(list[3]).toMatchObject({ partialFilterExpression: { active: true }, unique: true });
    expect(list[4]).toMatchObject({ expireAfterSeconds: 3600 });
    // idempotent re-create, conflicting re-creates
    expect(await c.createIndex({ a: 1, b: -1 }, { unique: true })).toBe('a_1_b_-1');
    expect((await serverError(c.createIndex({ z: 1 }, { name: 'sparse_s' }))).code).toBe(86);
    expect((await serverError(c.createIndex({ s: 1 }, { name: 'other' }))).code).toBe(85);
    await c.dropIndex('sparse_s');
    expect((await serverError(c.dropIndex('sparse_s'))).code).toBe(27);
    expect((await c.listIndexes().toArray()).length).toBe(4);
    expect((await serverError(db.collection(`${name}_missing`).listIndexes().toArray())).code).toBe(26);
  });

  it('enforces unique, sparse and partial semantics', async () => {
    const c = coll();
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ email: 'a@x' });
    await c.insertOne({ other: 1 }); // missing = null
    expect((await serverError(c.insertOne({ other: 2 }))).code).toBe(11000);
    const s = db.collection(`${name}_s`);
    await s.createIndex({ email: 1 }, { unique: true, sparse: true });
    await s.insertMany([{ x: 1 }, { x: 2 }, { email: 'a' }]);
    expect((await serverError(s.insertOne({ email: 'a' }))).code).toBe(11000);
    const p = db.collection(`${name}_p`);
    await p.createIndex({ code: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await p.insertMany([
      { code: 'A', active: false },
      { code: 'A', active: true },
    ]);
    expect((await serverError(p.insertOne({ code: 'A', active: true }))).code).toBe(11000);
    // arrays are indexed per element
    const m = db.collection(`${name}_m`);
    await m.createIndex({ tags: 1 }, { unique: true });
    await m.insertOne({ tags: ['a', 'b'] });
    expect((await serverError(m.insertOne({ tags: ['c', 'b'] }))).code).toBe(11000);
    expect(await m.findOne({ tags: 'a' }, { projection: { _id: 0 } })).toEqual({ tags: ['a', 'b'] });
  });

  it('refuses to build a unique index over duplicates', async () => {
    const c = coll();
    await c.insertMany([{ k: 1 }, { k: 1 }]);
    expect((await serverError(c.createIndex({ k: 1 }, { unique: true }))).code).toBe(11000);
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('finds through indexes with equality, $in and numeric type equivalence', async () => {
    const c = coll();
    await c.createIndex({ ws: 1, code: 1 }, { unique: true });
    await c.createIndex({ n: 1 });
    await c.insertMany([
      { ws: 'a', code: 1, n: 1 },
      { ws: 'a', code: 2, n: Long.fromNumber(2) },
      { ws: 'b', code: 1, n: new Double(3) },
    ]);
    expect(await c.countDocuments({ ws: 'a', code: 2 })).toBe(1);
    expect(await c.countDocuments({ n: 2 })).toBe(1);
    expect(await c.countDocuments({ n: { $in: [1, 3] } })).toBe(2);
    expect(await c.countDocuments({ n: Long.fromNumber(3) })).toBe(1);
    expect(await c.countDocuments({ $and: [{ ws: 'b' }, { code: 1 }] })).toBe(1);
  });
});

describe('cursors', () => {
  it('iterates with batchSize through getMore, and a killed cursor is gone', async () => {
    const c = coll();
    await c.insertMany(Array.from({ length: 25 }, (_, i) => ({ i })));
    const all = await c.find({}).sort({ i: 1 }).batchSize(4).toArray();
    expect(all.map((d) => d.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const first = await db.command({ find: name, filter: {}, batchSize: 3 });
    expect(first.cursor.firstBatch).toHaveLength(3);
    const id = Long.fromValue(first.cursor.id as Long | number);
    expect(isZeroId(id)).toBe(false);
    const more = await db.command({ getMore: id, collection: name, batchSize: 5 });
    expect(more.cursor.nextBatch).toHaveLength(5);
    const killed = await db.command({ killCursors: name, cursors: [id] });
    expect(killed.cursorsKilled).toHaveLength(1);
    const err = await serverError(db.command({ getMore: id, collection: name }));
    expect(err.code).toBe(43);
    expect(err.codeName).toBe('CursorNotFound');
  });

  it('singleBatch / negative limit close the cursor; the last batch returns id 0', async () => {
    const c = coll();
    await c.insertMany(Array.from({ length: 10 }, (_, i) => ({ i })));
    const single = await db.command({ find: name, filter: {}, batchSize: 2, singleBatch: true });
    expect(single.cursor.firstBatch).toHaveLength(2);
    expect(isZeroId(single.cursor.id)).toBe(true);
    const lim = await db.command({ find: name, filter: {}, limit: 4 });
    expect(lim.cursor.firstBatch).toHaveLength(4);
    expect(isZeroId(lim.cursor.id)).toBe(true);
    const agg = await db.command({
      aggregate: name,
      pipeline: [{ $sort: { i: 1 } }],
      cursor: { batchSize: 7 },
    });
    expect(agg.cursor.firstBatch).toHaveLength(7);
    const rest = await db.command({
      getMore: Long.fromValue(agg.cursor.id as Long | number),
      collection: name,
    });
    expect(rest.cursor.nextBatch).toHaveLength(3);
    expect(isZeroId(rest.cursor.id)).toBe(true);
  });

  it('splits batches at 16 MB', async () => {
    const c = coll();
    const big = 'x'.repeat(5 * 1024 * 1024);
    for (let i = 0; i < 4; i++) await c.insertOne({ i, big });
    const first = await db.command({ find: name, filter: {}, projection: { i: 1 } });
    expect(first.cursor.firstBatch).toHaveLength(4);
    const raw = await db.command({ find: name, filter: {} });
    expect(raw.cursor.firstBatch.length).toBeLessThan(4);
    expect(raw.cursor.firstBatch.length).toBeGreaterThan(0);
    const docs = await c.find({}).toArray();
    expect(docs.map((d) => d.i)).toEqual([0, 1, 2, 3]);
  });
});

describe('errors and commands', () => {
  it('unknown commands fail with CommandNotFound', async () => {
    const err = await serverError(db.command({ frobnicateEverything: 1 }));
    expect(err.code).toBe(59);
    expect(err.codeName).toBe('CommandNotFound');
    if (testMongoKind() === 'embedded') expect(err.message).toMatch(/embedded store.*MONGODB_URI/);
  });

  it('answers ping, buildInfo, listCollections, listDatabases, create, drop', async () => {
    expect((await db.command({ ping: 1 })).ok).toBe(1);
    expect((await db.admin().buildInfo()).versionArray[0]).toBeGreaterThanOrEqual(4);
    await db.createCollection(name);
    expect((await serverError(db.createCollection(name))).code).toBe(48);
    const cols = await db.listCollections({ name }).toArray();
    expect(cols).toHaveLength(1);
    expect(cols[0]).toMatchObject({ name, type: 'collection' });
    await coll().insertOne({ a: 1 });
    const dbs = await db.admin().listDatabases();
    expect(dbs.databases.some((d) => d.name === db.databaseName)).toBe(true);
    expect(await coll().drop()).toBe(true);
    expect(await db.listCollections({ name }).toArray()).toHaveLength(0);
  });

  it('refuses transactions on a standalone server before applying writes', async () => {
    const hello = await db.admin().command({ hello: 1 });
    if (hello.setName || hello.msg === 'isdbgrid') return; // replica sets and mongos support transactions
    const c = coll();
    await c.insertOne({ seed: 1 });
    const session = t.client.startSession();
    try {
      session.startTransaction();
      const err = await c.insertOne({ inTxn: 1 }, { session }).catch((e: unknown) => e as MongoServerError);
      expect(err).toBeInstanceOf(Error);
      expect(String((err as Error).message)).toMatch(/Transaction numbers|retryable writes|transaction/i);
      await session.abortTransaction().catch(() => {});
    } finally {
      await session.endSession();
    }
    expect(await c.countDocuments({ inTxn: 1 })).toBe(0);
    const raw = await serverError(
      db.command({
        insert: name,
        documents: [{ raw: 1 }],
        txnNumber: Long.fromNumber(1),
        autocommit: false,
        startTransaction: true,
      }),
    );
    expect(raw.code).toBe(20);
    expect(await c.countDocuments({ raw: 1 })).toBe(0);
  });
});

describe('numeric types and ordering', () => {
  it('keeps BSON numeric types and compares them with JS numbers', async () => {
    const c = coll();
    await c.insertOne({
      _id: 'n' as never,
      i: new Int32(5),
      l: Long.fromNumber(5),
      d: new Double(5),
      dec: Decimal128.fromString('5'),
    });
    for (const f of ['i', 'l', 'd', 'dec']) expect(await c.countDocuments({ [f]: 5 })).toBe(1);
    expect(await c.countDocuments({ l: { $gt: 4, $lt: 6 } })).toBe(1);
    const raw = await c.findOne({ _id: 'n' as never }, { promoteValues: false });
    expect(raw!.i).toBeInstanceOf(Int32);
    expect(raw!.l).toBeInstanceOf(Long);
    expect(raw!.d).toBeInstanceOf(Double);
    expect(raw!.dec).toBeInstanceOf(Decimal128);
  });

  it('$inc keeps Long, promotes int32 overflow and adds Decimal128 exactly', async () => {
    const c = coll();
    await c.insertOne({
      _id: 'k' as never,
      l: Long.fromNumber(10),
      i: 2147483647,
      d: new Double(1),
      dec: Decimal128.fromString('0.1'),
      big: Long.fromString('9007199254740993'),
    });
    await c.updateOne(
      { _id: 'k' as never },
      { $inc: { l: 1, i: 1, d: 1, dec: Decimal128.fromString('0.2'), big: 2 } },
    );
    const doc = await c.findOne({ _id: 'k' as never }, { promoteValues: false });
    expect(doc!.l).toBeInstanceOf(Long);
    expect((doc!.l as Long).toNumber()).toBe(11);
    expect(doc!.i).toBeInstanceOf(Long);
    expect((doc!.i as Long).toNumber()).toBe(2147483648);
    expect(doc!.d).toBeInstanceOf(Double);
    expect((doc!.d as Double).value).toBe(2);
    expect((doc!.dec as Decimal128).toString()).toBe('0.3');
    expect((doc!.big as Long).toString()).toBe('9007199254740995');
    await c.updateOne({ _id: 'k' as never }, { $inc: { l: Long.fromNumber(5) }, $mul: { d: 2.5 } });
    const again = await c.findOne({ _id: 'k' as never });
    expect(again).toMatchObject({ l: 16, d: 5 });
  });

  it('sorts mixed types in BSON order and dates/ObjectIds by value', async () => {
    const c = coll();
    const oid = new ObjectId();
    const values: unknown[] = [
      true,
      new Date(5),
      oid,
      { a: 1 },
      'str',
      3,
      null,
      new Binary(Buffer.from('b')),
      -1.5,
    ];
    await c.insertMany(values.map((v, i) => ({ i, v })));
    await c.insertOne({ i: 99 }); // missing sorts with null
    const asc = await c.find({}).sort({ v: 1, i: 1 }).toArray();
    expect(asc.map((d) => d.i)).toEqual([6, 99, 8, 5, 4, 3, 7, 2, 0, 1]);
    const d = db.collection(`${name}_d`);
    await d.insertMany([
      { at: new Date('2024-02-01') },
      { at: new Date('2023-01-01') },
      { at: new Date('2025-01-01') },
    ]);
    const dates = await d
      .find({ at: { $gte: new Date('2024-01-01') } })
      .sort({ at: -1 })
      .toArray();
    expect(dates.map((x) => (x.at as Date).getUTCFullYear())).toEqual([2025, 2024]);
  });
});
