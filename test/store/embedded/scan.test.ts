/** Scan shortcuts of the embedded store give what a full decode and mingo give. */
import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  serialize,
  Timestamp,
} from 'bson';
import { Aggregator, Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import {
  fieldNames,
  filterFields,
  groupFields,
  partialView,
  simpleGroup,
  simplePredicate,
} from '../../../src/store/embedded/scan.js';
import { deserializeView, hasWrappers, type Doc } from '../../../src/store/embedded/values.js';

const DOC: Doc = {
  _id: new ObjectId(),
  d: 1.5,
  s: 'héllo wörld, a longer string than twenty-four bytes',
  a: 'ascii',
  o: { x: 1, y: [1, 2] },
  arr: [1, 'two', { three: 3 }],
  bin: new Binary(Buffer.from('abc')),
  u: undefined,
  oid: new ObjectId(),
  t: true,
  f: false,
  date: new Date(-123456789),
  n: null,
  re: new BSONRegExp('a.c', 'i'),
  code: new Code('x'),
  i: new Int32(-7),
  ts: new Timestamp({ t: 1, i: 2 }),
  l: Long.fromString('9007199254740993'),
  ls: Long.fromNumber(42),
  dec: Decimal128.fromString('1.25'),
  dbl: new Double(3),
  min: new MinKey(),
  max: new MaxKey(),
  last: 'end',
};

describe('embedded store scan shortcuts', () => {
  it('decodes any selection of top-level fields exactly as a full decode', () => {
    const raw = Buffer.from(serialize(DOC, { ignoreUndefined: false }));
    const full = deserializeView(raw, hasWrappers(deserializeView(raw, false)));
    const keys = Object.keys(DOC);
    for (const k of keys) expect(partialView(raw, fieldNames([k]))).toEqual({ [k]: full[k] });
    expect(partialView(raw, fieldNames(keys))).toEqual(full);
    expect(partialView(raw, fieldNames(['missing', 'last']))).toEqual({ last: 'end' });
  });

  it('finds the fields filters and $group read, or gives up', () => {
    expect([...filterFields({ a: 1, 'b.c': 2, $or: [{ d: 1 }, { e: { $gt: 1 } }] })!]).toEqual([
      'a',
      'b',
      'd',
      'e',
    ]);
    expect(filterFields({ $expr: { $eq: ['$a', 1] } })).toBeUndefined();
    expect(filterFields({ $where: 'true' })).toBeUndefined();
    expect([...groupFields({ _id: '$a.b', s: { $sum: { $multiply: ['$c', 2] } } })!]).toEqual(['a', 'c']);
    expect(groupFields({ _id: null, r: { $first: '$$ROOT' } })).toBeUndefined();
    expect(groupFields({ _id: null, r: { $first: { $getField: 'price' } } })).toBeUndefined();
  });

  it('tests simple filters like mingo', () => {
    const docs: Doc[] = [
      { a: 'x' },
      { a: ['y', 'x'] },
      { a: [['x']] },
      { a: 1 },
      { a: -0 },
      { a: true },
      { a: null },
      {},
      { a: { b: 'x' } },
    ];
    const filters: Doc[] = [
      { a: 'x' },
      { a: 0 },
      { a: { $in: ['x', 1, true] } },
      { a: { $eq: true } },
      { a: 'x', b: 1 },
    ];
    for (const f of filters) {
      const p = simplePredicate(f)!;
      const q = new Query(f, {});
      for (const d of docs) expect(p(d)).toBe(q.test(d));
    }
    expect(simplePredicate({ a: null })).toBeUndefined();
    expect(simplePredicate({ a: { $gt: 1 } })).toBeUndefined();
    expect(simplePredicate({ 'a.b': 1 })).toBeUndefined();
  });

  it('groups like mingo', () => {
    const docs: Doc[] = [
      { k: 'b', v: 1e16 },
      { k: 'a', v: 'x' },
      { k: 'b', v: 1 },
      { v: 3 },
      { k: null, v: 2 },
      { k: 'b', v: 1 },
      { k: 'c', v: [1, 2] },
      { k: 'c', v: true },
      { k: 1, v: 0.1 },
      { k: 1.0, v: 0.2 },
      { k: 'd' },
      { k: false, v: -1 },
    ];
    const specs: Doc[] = [
      {
        _id: '$k',
        s: { $sum: '$v' },
        n: { $sum: 1 },
        h: { $sum: 0.5 },
        a: { $avg: '$v' },
        f: { $first: '$v' },
        l: { $last: '$v' },
        c: { $count: {} },
      },
      { _id: null, s: { $sum: '$v' } },
      { _id: 'all', n: { $sum: 1 } },
    ];
    for (const spec of specs)
      expect(simpleGroup(spec, docs)).toEqual(new Aggregator([{ $group: spec }]).run(docs));
    expect(simpleGroup({ _id: '$k', m: { $max: '$v' } }, docs)).toBeUndefined();
    expect(simpleGroup({ _id: '$v', n: { $sum: 1 } }, docs)).toBeUndefined();
  });
});
