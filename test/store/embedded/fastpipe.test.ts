/** Aggregation stages run without mingo give what the store's mingo path gives. */
import { ObjectId } from 'bson';
import { describe, expect, it } from 'vitest';
import { buildChangesPipeline, buildDealsPipeline } from '../../../src/store/analytics.js';
import { Aggregator, Query } from '../../../src/store/embedded/expressions.js';
import { quickPredicate } from '../../../src/store/embedded/scan.js';
import { Long } from 'bson';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../../../src/store/embedded/index.js';
import { compileExpr, pipelineFields, runFast } from '../../../src/store/embedded/fastpipe.js';
import type { Doc } from '../../../src/store/embedded/values.js';
import { DEFAULT_STAGES } from '../../../src/domain/pipeline.js';
import { windowsFor } from '../../../src/domain/metrics.js';

const mingo = (stages: Doc[], docs: Doc[]): Doc[] => new Aggregator(stages, {}).run(docs) as Doc[];

/** Runs `pipeline` both ways; returns the fast result and how many stages fell back to mingo. */
function both(pipeline: Doc[], docs: Doc[]): { fast: Doc[]; slow: Doc[]; fellBack: number } {
  let fellBack = 0;
  const fast = runFast(structuredClone(pipeline), docs, (stages, d) => {
    fellBack += stages.length;
    return mingo(stages, d);
  });
  return { fast, slow: mingo(pipeline, docs), fellBack };
}

const D = (day: number) => new Date(Date.UTC(2026, 0, day));

const DOCS: Doc[] = [
  {
    _id: 1,
    a: 3,
    s: 'x',
    d: D(5),
    arr: [3, 1, 2],
    objs: [
      { k: 2, v: 'b' },
      { k: 1, v: 'a' },
    ],
    o: { p: 1 },
  },
  { _id: 2, a: -1.5, s: 'y', d: D(1), arr: [], objs: [], o: { p: null } },
  { _id: 3, a: null, s: 'x', d: null, arr: [D(3), D(1), D(3)], objs: [{ k: 1, v: 'z' }] },
  { _id: 4, s: 'z', d: D(2), arr: ['b', 'a', 1, null], o: {} },
  {
    _id: 5,
    a: 0,
    s: 'y',
    d: D(5),
    arr: [5, 5, 4],
    objs: [
      { k: 3, v: 'c' },
      { k: 1, v: 'd' },
    ],
    o: { p: 'q' },
  },
];

describe('embedded store aggregation fast path', () => {
  it('evaluates the compiled operators like mingo', () => {
    const exprs: unknown[] = [
      '$a',
      '$o.p',
      '$missing',
      { $literal: '$a' },
      { $gte: ['$a', 0] },
      { $lt: ['$d', D(3)] },
      { $gt: ['$missing', null] },
      { $eq: ['$s', 'x'] },
      { $ne: ['$a', null] },
      { $and: ['$a', { $gt: ['$a', -5] }] },
      { $or: [{ $eq: ['$s', 'z'] }, '$a'] },
      { $cond: [{ $gte: ['$a', 0] }, 'pos', 'neg'] },
      { $cond: { if: '$a', then: 1, else: 0 } },
      { $ifNull: ['$a', '$s'] },
      { $ifNull: ['$missing', null, 'z'] },
      { $let: { vars: { x: '$a', y: '$s' }, in: ['$$x', '$$y'] } },
      { $max: '$arr' },
      { $min: '$arr' },
      { $max: ['$a', 1] },
      { $min: ['$missing', '$a'] },
      { $size: '$arr' },
      { $arrayElemAt: ['$arr', 0] },
      { $arrayElemAt: ['$arr', -1] },
      { $arrayElemAt: ['$arr', 7] },
      { $slice: ['$arr', 2] },
      { $slice: ['$arr', -2] },
      { $slice: ['$arr', 1, 5] },
      { $slice: ['$arr', -2, 1] },
      { $concatArrays: ['$arr', [1, '$s']] },
      { $concatArrays: ['$arr', '$missing'] },
      { $indexOfArray: ['$arr', 1] },
      { $indexOfArray: ['$arr', D(3)] },
      { $indexOfArray: ['$missing', 1] },
      { $sortArray: { input: '$arr', sortBy: 1 } },
      { $sortArray: { input: '$arr', sortBy: -1 } },
      { $sortArray: { input: '$objs', sortBy: { k: 1 } } },
      { $sortArray: { input: '$objs', sortBy: { k: -1, v: 1 } } },
      { $let: { vars: { s: { $sortArray: { input: '$objs', sortBy: { k: 1 } } } }, in: '$$s.v' } },
      { $zip: { inputs: ['$arr', [1, 2]] } },
      { $zip: { inputs: ['$arr', '$arr'] } },
      { $filter: { input: '$arr', cond: { $gte: ['$$this', 2] } } },
      { $filter: { input: '$objs', as: 'o', cond: { $eq: ['$$o.k', 1] } } },
      { $size: { $filter: { input: '$arr', cond: { $lt: ['$$this', D(2)] } } } },
      { $subtract: ['$a', 1] },
      { $subtract: ['$d', D(1)] },
      { $subtract: ['$d', 1000] },
      { o: '$a', t: { $gte: ['$d', D(2)] } },
    ];
    for (const e of exprs) {
      expect(compileExpr(e), JSON.stringify(e)).toBeDefined();
      const { fast, slow } = both([{ $project: { r: e } }], DOCS);
      expect(fast, JSON.stringify(e)).toEqual(slow);
    }
    // Outside the subset: not compiled, so mingo runs the stage.
    for (const e of [{ $add: [1, 2] }, '$$ROOT', { $map: { input: '$arr', in: 1 } }])
      expect(compileExpr(e)).toBeUndefined();
  });

  it('falls back to mingo on values it does not handle, with the same result', () => {
    for (const e of [
      { $subtract: ['$s', 1] },
      { $size: '$a' },
      { $sortArray: { input: '$objs', sortBy: { v: 1 } } },
      { $max: '$objs' },
    ]) {
      let fast: unknown;
      let slow: unknown;
      try {
        slow = mingo([{ $project: { r: e } }], DOCS);
      } catch (err) {
        slow = (err as Error).message;
      }
      try {
        fast = runFast([{ $project: { r: e } }], DOCS, mingo);
      } catch (err) {
        fast = (err as Error).message;
      }
      expect(fast).toEqual(slow);
    }
  });

  it('groups, projects, unwinds, sorts and facets like mingo', () => {
    const pipelines: Doc[][] = [
      [{ $group: { _id: { s: '$s', d: '$d' }, n: { $sum: 1 }, t: { $sum: '$a' }, m: { $avg: '$a' } } }],
      [{ $group: { _id: '$s', p: { $push: { i: '$_id', a: '$a' } } } }],
      [
        {
          $group: { _id: '$d', lo: { $min: '$a' }, hi: { $max: '$a' }, p: { $push: { i: '$_id', s: '$s' } } },
        },
      ],
      [
        {
          $group: {
            _id: { $cond: [{ $gte: ['$a', 0] }, 'pos', 'neg'] },
            ids: { $push: '$_id' },
            c: { $count: {} },
          },
        },
      ],
      [{ $project: { _id: 0, s: 1, x: { $size: '$arr' } } }, { $sort: { s: -1, x: 1 } }, { $limit: 2 }],
      [{ $project: { arr: 1 } }, { $unwind: '$arr' }, { $group: { _id: '$arr', n: { $sum: 1 } } }],
      [{ $replaceWith: { k: '$s', v: '$a' } }, { $match: { v: { $ne: null } } }],
      [
        {
          $facet: {
            a: [{ $match: { s: 'x' } }, { $group: { _id: null, n: { $sum: 1 } } }],
            b: [{ $match: { d: { $gte: D(2) } } }, { $sort: { d: 1, _id: -1 } }, { $project: { _id: 1 } }],
            c: [{ $match: { a: { $gte: 0 } } }, { $group: { _id: '$s', ds: { $push: '$d' } } }],
          },
        },
      ],
    ];
    for (const p of pipelines) {
      const { fast, slow, fellBack } = both(p, DOCS);
      expect(fast, JSON.stringify(p)).toEqual(slow);
      expect(fellBack, JSON.stringify(p)).toBe(0);
    }
  });

  it('leaves compound keys with missing values to mingo', () => {
    const { fast, slow, fellBack } = both([{ $group: { _id: { a: '$a', s: '$s' }, n: { $sum: 1 } } }], DOCS);
    expect(fast).toEqual(slow);
    expect(fellBack).toBe(1);
  });

  it('matches range, $in and null filters like mingo, leaving undecidable values to it', () => {
    const docs: Doc[] = [
      { a: D(1), b: 'x', c: 1 },
      { a: D(9), b: 'y', c: null },
      { a: [D(1), D(9)], b: ['x', 'z'], c: [null, 2] },
      { a: 'str', b: 1, c: true },
      { a: null, b: null },
      { a: 5, b: Long.fromNumber(3), c: { n: 1 } },
      { a: new Date(NaN), c: -0 },
      {},
    ];
    const filters: Doc[] = [
      { a: { $lt: D(5) } },
      { a: { $gte: D(1), $lt: D(9) } },
      { a: { $gt: 4 } },
      { a: { $lte: 5 }, b: 1 },
      { b: { $in: ['x', 1, 3] } },
      { c: null },
      { c: 0 },
      { $or: [{ c: null }, { c: { $lte: 1 } }], b: { $in: ['y', 'x'] } },
      { $and: [{ $or: [{ b: 'x' }, { a: { $lt: D(2) } }] }, { $or: [{ c: null }, { c: { $eq: 1 } }] }] },
    ];
    for (const f of filters) {
      const q = new Query(f, {});
      const p = quickPredicate(f, (d) => q.test(d))!;
      expect(p, JSON.stringify(f)).toBeDefined();
      for (const d of docs) expect(p(d), JSON.stringify([f, d])).toBe(q.test(d));
    }
    expect(quickPredicate({ a: { $ne: 1 } }, () => true)).toBeUndefined();
    expect(quickPredicate({ 'a.b': 1 }, () => true)).toBeUndefined();
  });

  it('knows which top-level fields a pipeline reads', () => {
    expect([...pipelineFields([{ $group: { _id: '$a.b', n: { $sum: '$c' } } }])!].sort()).toEqual(['a', 'c']);
    expect(
      [
        ...pipelineFields([
          {
            $facet: {
              x: [
                { $match: { s: 1 } },
                { $sort: { t: 1 } },
                { $limit: 1 },
                { $project: { _id: 0, u: 1, v: '$w' } },
              ],
              y: [{ $match: { z: 1 } }, { $group: { _id: null } }],
            },
          },
        ])!,
      ].sort(),
    ).toEqual(['s', 't', 'u', 'w', 'z']);
    expect(pipelineFields([{ $match: { a: 1 } }])).toBeUndefined();
    expect(pipelineFields([{ $project: { a: 0 } }])).toBeUndefined();
    expect(pipelineFields([{ $group: { _id: '$$ROOT' } }])).toBeUndefined();
  });

  it('runs the pipeline report aggregations like mingo', () => {
    const now = new Date(Date.UTC(2026, 5, 1));
    const day = 86_400_000;
    const w = windowsFor({ from: new Date(now.getTime() - 30 * day), to: now });
    const stages = DEFAULT_STAGES;
    const open = stages.filter((s) => !s.terminal).map((s) => s.key);
    const deals: Doc[] = [];
    const changes: Doc[] = [];
    for (let i = 0; i < 60; i++) {
      const id = new ObjectId();
      let at = now.getTime() - (120 - i) * day;
      for (let v = 1; v <= (i % 7) + 1; v++) {
        const to = i % 11 === 0 && v > 3 ? ['won', 'lost'][i % 2]! : open[(i + v) % open.length]!;
        changes.push({
          _id: `${String(id)}:${v}`,
          workspaceId: 'w',
          dealId: String(id),
          to,
          at: new Date(at),
          version: v,
        });
        at += (i % 4) * day * 3;
      }
      deals.push({
        _id: id,
        workspaceId: 'w',
        number: i,
        code: `D-${i}`,
        amount: 100 * i,
        currency: i % 9 ? 'USD' : 'EUR',
        ownerId: `u${i % 3}`,
        stage: open[i % open.length],
        stageEnteredAt: new Date(now.getTime() - (i % 40) * day),
        status: i % 11 === 0 ? ['won', 'lost'][i % 2] : 'open',
        source: ['web', 'event'][i % 2],
        closeDate: i % 5 ? new Date(now.getTime() + i * day) : null,
        createdAt: new Date(now.getTime() - (i % 70) * day),
        closedAt: i % 11 === 0 ? new Date(now.getTime() - i * day) : null,
        lostReason: i % 22 === 11 ? { key: 'price' } : undefined,
        snoozedUntil: null,
      });
    }
    const opts = { stages, currency: 'USD', timeZone: 'UTC', now };
    for (const [p, docs] of [
      [buildDealsPipeline('w', w, {}, opts), deals],
      [buildDealsPipeline('w', w, { ownerId: 'u1' }, opts), deals],
      [buildChangesPipeline('w', w, opts), changes],
    ] as const) {
      const { fast, slow } = both(p.slice(1), mingo([p[0]!], docs));
      expect(fast).toEqual(slow);
    }
  });

  it('answers aggregate commands the same with the fast path and with mingo alone', async () => {
    const server = await startEmbeddedMongo({});
    const client = await MongoClient.connect(server.uri);
    try {
      const c = client.db('fp').collection('c');
      const docs: Doc[] = [];
      for (let i = 0; i < 300; i++)
        docs.push({ _id: i, k: `k${i % 7}`, d: D(i % 5), v: i % 50 === 49 ? [1, 2] : i, w: 'x' });
      await c.insertMany(docs as never[]);
      const pipelines: Doc[][] = [
        // The array value makes the streaming $group give up half-way: mingo answers.
        [{ $match: { w: 'x' } }, { $group: { _id: '$k', s: { $sum: '$v' }, p: { $push: '$d' } } }],
        [{ $match: { v: { $lt: 100 } } }, { $group: { _id: { k: '$k', d: '$d' }, n: { $sum: 1 } } }],
        [
          { $match: { w: 'x' } },
          {
            $facet: {
              a: [{ $match: { d: { $gte: D(3) } } }, { $group: { _id: '$d', n: { $count: {} } } }],
              b: [{ $sort: { v: -1, _id: 1 } }, { $limit: 3 }, { $project: { _id: 1, k: 1 } }],
            },
          },
        ],
      ];
      for (const p of pipelines) {
        const got = await c.aggregate(p).toArray();
        const want = mingo(p.slice(1), mingo([p[0]!], structuredClone(docs)));
        expect(got, JSON.stringify(p)).toEqual(want);
      }
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
