/**
 * Aggregation pipelines behind the pipeline report. Two `aggregate` commands per
 * report, whatever the number of deals:
 *
 *  1. `deals`: one $facet over the workspace's deals whose sub-pipelines group by
 *     plain fields (stage, currency, owner, source, close day, period) with plain
 *     sums; currency, probability and the per-rep/per-source splits are applied in
 *     Node to those rows (their number depends on stages/owners/sources, not deals).
 *  2. `stage_changes`: the log up to the period's end, one $group per deal pushing
 *     {at, version, to, rank}, reduced per deal with array-level operators to the
 *     highest rank reached before each window boundary, the last changes before the
 *     period ends/start and the stays that can overlap a dwell window; a $facet groups
 *     deals by those small values (flow/closes/open-at-start, counted in Node) and
 *     computes dwell (average and exact median per stage and period).
 *
 * Without a filter both run in parallel; with one, (2) waits for the ids from
 * (1) and matches `dealId: {$in: ids}` on the {workspaceId, dealId, at} index.
 * (A $lookup would avoid sending the ids, but stage_changes has no index
 * starting with dealId, so each deal would scan the log.)
 *
 * Only operators that MongoDB 5.2+ and mingo 7 both implement are used:
 * $match $sort $limit $group($push/$sum) $facet $project $replaceWith $unwind
 * $let $filter $zip $slice $concatArrays $sortArray $indexOfArray $arrayElemAt
 * $max $min $size $cond $and $ifNull $gte $lt $gt $subtract $mod $divide. On the
 * embedded store these stages and operators (except the few per-row ones of the
 * dwell median) run on its fast path without mingo (src/store/embedded/fastpipe.ts).
 */
import { DateTime } from 'luxon';
import type { PeriodName, PeriodWindows, PipelineStatsRows, StalledDealRow } from '../domain/metrics.js';
import { rankOrder, conversionSteps } from '../domain/metrics.js';
import { openStages } from '../domain/pipeline.js';
import type { StageDef } from '../domain/types.js';
import type { Models } from './models.js';

export interface StatsFilter {
  ownerId?: string | undefined;
  source?: string | undefined;
}

export interface StatsOptions {
  stages: readonly StageDef[];
  /** Workspace currency: money sums only add deals in it. */
  currency: string;
  /** IANA zone for close months. */
  timeZone: string;
  /** The report's clock: stays still open end now; stall cut-offs. */
  now: Date;
  /** How many stalled deals to list (oldest first). */
  stalledLimit?: number;
}

export interface StatsResult {
  rows: PipelineStatsRows;
  /** Database commands this report sent (constant: 2). */
  roundTrips: number;
}

type Doc = Record<string, unknown>;
type Expr = unknown;

const DAY_MS = 86_400_000;

/** Runs both aggregations for a workspace, period windows and optional filter. */
export async function loadPipelineStats(
  models: Pick<Models, 'Deal' | 'StageChange'>,
  workspaceId: string,
  windows: PeriodWindows,
  filter: StatsFilter,
  opts: StatsOptions,
): Promise<StatsResult> {
  const filtered = Boolean(filter.ownerId || filter.source);
  const dealsPipeline = buildDealsPipeline(workspaceId, windows, filter, opts);
  let dealsOut: Doc[];
  let changesOut: Doc[];
  if (filtered) {
    dealsOut = await models.Deal.aggregate<Doc>(dealsPipeline as never[]).allowDiskUse(true);
    // ObjectIds come back and are turned into the strings `dealId` holds.
    const ids = (((dealsOut[0]?.ids as Doc[] | undefined)?.[0]?.ids as unknown[] | undefined) ?? []).map(
      String,
    );
    changesOut = await models.StageChange.aggregate<Doc>(
      buildChangesPipeline(workspaceId, windows, opts, ids) as never[],
    ).allowDiskUse(true);
  } else {
    [dealsOut, changesOut] = await Promise.all([
      models.Deal.aggregate<Doc>(dealsPipeline as never[]).allowDiskUse(true),
      models.StageChange.aggregate<Doc>(
        buildChangesPipeline(workspaceId, windows, opts) as never[],
      ).allowDiskUse(true),
    ]);
  }
  return {
    rows: {
      ...readDeals(dealsOut[0] ?? {}, opts),
      ...readChanges(changesOut[0] ?? {}, opts.stages, windows),
    },
    roundTrips: 2,
  };
}

// ───────────────────────────── deals ─────────────────────────────

export function buildDealsPipeline(
  workspaceId: string,
  w: PeriodWindows,
  filter: StatsFilter,
  opts: StatsOptions,
): Doc[] {
  const { stages, now } = opts;
  const cur = w.current;
  const prev = w.previous;
  const match: Doc = { workspaceId };
  if (filter.ownerId) match.ownerId = filter.ownerId;
  if (filter.source) match.source = filter.source;
  const cutoffs = openStages(stages)
    .filter((s) => s.stallDays)
    .map((s) => ({ stage: s.key, stageEnteredAt: { $lt: new Date(now.getTime() - s.stallDays! * DAY_MS) } }));
  const stalledMatch: Doc = {
    status: 'open',
    $and: [
      { $or: cutoffs.length ? cutoffs : [{ stage: { $in: [] } }] },
      { $or: [{ snoozedUntil: null }, { snoozedUntil: { $lte: now } }] },
    ],
  };
  const periodOf = (field: string): Expr => ({ $cond: [{ $gte: [field, cur.from] }, 'cur', 'prev'] });
  const closedInEither = { closedAt: { $gte: prev.from, $lt: cur.to } };
  const earliest = new Date(Math.min(w.trailing.from.getTime(), prev.from.getTime()));
  // Grouped by plain fields with plain sums; currency, probability and the
  // per-rep/per-source splits are applied in Node to these few rows.
  const n = { $sum: 1 };
  const amount = { $sum: '$amount' };

  const facet: Record<string, Doc[]> = {
    open: [
      { $match: { status: 'open' } },
      { $group: { _id: { s: '$stage', c: '$currency', o: '$ownerId' }, n, v: amount } },
    ],
    stalled: [{ $match: stalledMatch }, { $group: { _id: { s: '$stage', c: '$currency' }, n, v: amount } }],
    stalledDeals: [
      { $match: stalledMatch },
      { $sort: { stageEnteredAt: 1, number: 1 } },
      { $limit: opts.stalledLimit ?? 5 },
      {
        $project: {
          _id: 0,
          id: '$_id',
          code: 1,
          name: 1,
          company: 1,
          amount: 1,
          currency: 1,
          ownerId: 1,
          stage: 1,
          stageEnteredAt: 1,
        },
      },
    ],
    forecast: [
      { $match: { status: 'open' } },
      // One row per distinct close day, stage and currency (bounded by the horizon, not by deals); the
      // month in the workspace zone is taken in Node ($dateToString with a zone is slow on the embedded store).
      { $group: { _id: { d: '$closeDate', s: '$stage', c: '$currency' }, n, v: amount } },
    ],
    closed: [
      { $match: { status: { $in: ['won', 'lost'] }, ...closedInEither } },
      {
        $group: {
          _id: {
            p: periodOf('$closedAt'),
            s: '$status',
            o: '$ownerId',
            src: '$source',
            r: { $ifNull: ['$lostReason.key', 'other'] },
            c: '$currency',
          },
          n,
          v: amount,
          cy: { $sum: { $subtract: ['$closedAt', '$createdAt'] } },
        },
      },
    ],
    created: [
      { $match: { createdAt: { $gte: prev.from, $lt: cur.to } } },
      { $group: { _id: { p: periodOf('$createdAt'), src: '$source', c: '$currency' }, n, v: amount } },
    ],
  };
  if (filter.ownerId || filter.source) {
    // Deals whose StageChanges can matter: open now, or closed since the earliest window began.
    facet.ids = [
      { $match: { $or: [{ status: 'open' }, { closedAt: { $gte: earliest } }] } },
      { $group: { _id: null, ids: { $push: '$_id' } } },
    ];
  }
  return [{ $match: match }, { $facet: facet }];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

type CloseTally = {
  won: number;
  wonValue: number;
  lost: number;
  prevWon: number;
  prevWonValue: number;
  prevLost: number;
};
function addClose(
  r: CloseTally,
  status: 'won' | 'lost',
  period: 'cur' | 'prev',
  count: number,
  value: number,
) {
  if (status === 'won' && period === 'cur') {
    r.won += count;
    r.wonValue += value;
  } else if (status === 'won') {
    r.prevWon += count;
    r.prevWonValue += value;
  } else if (period === 'cur') r.lost += count;
  else r.prevLost += count;
}

function readDeals(
  out: Doc,
  opts: Pick<StatsOptions, 'stages' | 'currency' | 'timeZone'>,
): Omit<PipelineStatsRows, 'flow' | 'atStart' | 'closes' | 'dwell'> {
  const { currency, timeZone } = opts;
  const list = (k: string) =>
    ((out[k] as Doc[] | undefined) ?? []).map((d) => ({ id: d._id as Doc, n: d.n, v: d.v, cy: d.cy }));
  const prob = new Map(opts.stages.map((s) => [s.key, s.probability]));
  const money = (d: { id: Doc; v?: unknown }) => (d.id.c === currency ? num(d.v) : 0);
  const bump = <K, V>(m: Map<K, V>, k: K, init: () => V, f: (v: V) => void) => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = init()));
    f(v);
  };

  const open = new Map<string, PipelineStatsRows['open'][number]>();
  const reps = new Map<string, PipelineStatsRows['reps'][number]>();
  const newRep = (ownerId: string) => () => ({
    ownerId,
    open: 0,
    openValue: 0,
    won: 0,
    wonValue: 0,
    lost: 0,
    prevWon: 0,
    prevWonValue: 0,
    prevLost: 0,
  });
  for (const d of list('open')) {
    const stage = str(d.id.s);
    const value = money(d);
    bump(
      open,
      stage,
      () => ({ stage, count: 0, value: 0, weighted: 0, otherCurrency: 0 }),
      (r) => {
        r.count += num(d.n);
        r.value += value;
        r.weighted += value * (prob.get(stage) ?? 0);
        if (d.id.c !== currency) r.otherCurrency += num(d.n);
      },
    );
    const owner = str(d.id.o);
    bump(reps, owner, newRep(owner), (r) => {
      r.open += num(d.n);
      r.openValue += value;
    });
  }

  const stalled = new Map<string, PipelineStatsRows['stalled'][number]>();
  for (const d of list('stalled')) {
    const stage = str(d.id.s);
    bump(
      stalled,
      stage,
      () => ({ stage, count: 0, value: 0 }),
      (r) => {
        r.count += num(d.n);
        r.value += money(d);
      },
    );
  }

  const forecast = new Map<string | null, PipelineStatsRows['forecast'][number]>();
  const monthOf = new Map<number, string>();
  for (const d of list('forecast')) {
    let month: string | null = null;
    if (d.id.d instanceof Date) {
      const t = d.id.d.getTime();
      month = monthOf.get(t) ?? DateTime.fromJSDate(d.id.d, { zone: timeZone }).toFormat('yyyy-MM');
      monthOf.set(t, month);
    }
    const value = money(d);
    bump(
      forecast,
      month,
      () => ({ month, count: 0, value: 0, weighted: 0 }),
      (r) => {
        r.count += num(d.n);
        r.value += value;
        r.weighted += value * (prob.get(str(d.id.s)) ?? 0);
      },
    );
  }

  const closed = new Map<string, PipelineStatsRows['closed'][number]>();
  const lostReasons = new Map<string, PipelineStatsRows['lostReasons'][number]>();
  type SourceRow = PipelineStatsRows['sources'][number];
  const sources = new Map<string, SourceRow>();
  const newSource = (source: string) => (): SourceRow => ({
    source,
    created: 0,
    won: 0,
    wonValue: 0,
    lost: 0,
    prevCreated: 0,
    prevWon: 0,
    prevWonValue: 0,
    prevLost: 0,
  });
  for (const d of list('closed')) {
    const period = d.id.p as 'cur' | 'prev';
    const status = d.id.s as 'won' | 'lost';
    const count = num(d.n);
    const value = money(d);
    bump(
      closed,
      `${period}/${status}`,
      () => ({ period, status, count: 0, value: 0, cycleMs: 0 }),
      (r) => {
        r.count += count;
        r.value += value;
        r.cycleMs += num(d.cy);
      },
    );
    if (status === 'lost') {
      const key = str(d.id.r) || 'other';
      bump(
        lostReasons,
        `${period}/${key}`,
        () => ({ period, key, count: 0, value: 0 }),
        (r) => {
          r.count += count;
          r.value += value;
        },
      );
    }
    const owner = str(d.id.o);
    bump(reps, owner, newRep(owner), (r) => {
      addClose(r, status, period, count, value);
    });
    const source = str(d.id.src) || 'other';
    bump(sources, source, newSource(source), (r) => {
      addClose(r, status, period, count, value);
    });
  }

  const created = new Map<string, PipelineStatsRows['created'][number]>();
  for (const d of list('created')) {
    const period = d.id.p as 'cur' | 'prev';
    bump(
      created,
      period,
      () => ({ period, count: 0, value: 0 }),
      (r) => {
        r.count += num(d.n);
        r.value += money(d);
      },
    );
    const source = str(d.id.src) || 'other';
    bump(sources, source, newSource(source), (r) => {
      if (period === 'cur') r.created += num(d.n);
      else r.prevCreated += num(d.n);
    });
  }

  return {
    open: [...open.values()],
    stalled: [...stalled.values()],
    stalledDeals: ((out.stalledDeals as Doc[] | undefined) ?? []).map((d): StalledDealRow => ({
      id: String(d.id),
      code: str(d.code),
      name: str(d.name),
      company: str(d.company),
      amount: typeof d.amount === 'number' ? d.amount : null,
      currency: str(d.currency),
      ownerId: str(d.ownerId),
      stage: str(d.stage),
      stageEnteredAt: d.stageEnteredAt as Date,
    })),
    forecast: [...forecast.values()],
    closed: [...closed.values()],
    lostReasons: [...lostReasons.values()],
    created: [...created.values()],
    reps: [...reps.values()].filter((r) => r.open + r.won + r.lost + r.prevWon + r.prevLost > 0),
    sources: [...sources.values()].filter(
      (r) => r.created + r.won + r.lost + r.prevCreated + r.prevWon + r.prevLost > 0,
    ),
  };
}

// ───────────────────────────── stage changes ─────────────────────────────

const PERIODS = ['cur', 'prev', 'trail'] as const;

/** Distinct window boundaries (except the current end) at which each deal's highest rank reached is taken. */
function boundaries(w: PeriodWindows): Date[] {
  const ts = [w.trailing.from, w.trailing.to, w.previous.from, w.previous.to, w.current.from].map((d) =>
    d.getTime(),
  );
  return [...new Set(ts)].sort((a, b) => a - b).map((t) => new Date(t));
}

/**
 * Per deal (one $group of plain pushes, then array-level operators on ~10
 * elements instead of per-element expressions): the changes sorted by time, the
 * highest rank reached before each window boundary (`m<k>`, null = none) and
 * overall (`mAll`), the last change before the current end / previous end /
 * current start, and the stays that can overlap a dwell window. A $facet then
 * groups the deals by those small values (a few hundred keys at most, whatever
 * the number of deals); the conversion/close arithmetic on them is done in Node.
 */
export function buildChangesPipeline(
  workspaceId: string,
  w: PeriodWindows,
  opts: StatsOptions,
  ids?: string[],
): Doc[] {
  const { stages, now } = opts;
  const order = rankOrder(stages);
  const nonTerminal = stages.filter((s) => !s.terminal).map((s) => s.key);
  const bounds = boundaries(w);
  const dwellFrom = new Date(Math.min(w.current.from.getTime(), w.previous.from.getTime()));

  const match: Doc = { workspaceId, at: { $lt: w.current.to } };
  if (ids) match.dealId = { $in: ids };

  /** How many of the deal's (sorted) change times are before `t`. */
  const before = (t: Date): Expr => ({ $size: { $filter: { input: '$$a', cond: { $lt: ['$$this', t] } } } });
  const lastBefore = (t: Date): Expr => ({ $arrayElemAt: [{ $slice: ['$$s', before(t)] }, -1] });
  const fields: Doc = { _id: 0, mAll: { $max: '$$r' } };
  bounds.forEach((b, k) => {
    fields[`m${k}`] = { $max: { $slice: ['$$r', before(b)] } };
  });
  fields.cT = { $arrayElemAt: ['$$t', -1] };
  fields.cIn = { $gte: [{ $arrayElemAt: ['$$a', -1] }, w.current.from] };
  const prevLast = { $ifNull: [lastBefore(w.previous.to), { t: null, a: null }] };
  fields.p = {
    $let: { vars: { c: prevLast }, in: { t: '$$c.t', in: { $gte: ['$$c.a', w.previous.from] } } },
  };
  fields.sT = { $ifNull: [{ $let: { vars: { c: lastBefore(w.current.from) }, in: '$$c.t' } }, null] };
  // Stays [stage, enter, exit]; those ending at or before the earliest dwell window are dropped.
  fields.st = {
    $slice: [
      {
        $zip: {
          inputs: ['$$t', '$$a', { $concatArrays: [{ $slice: ['$$a', 1, { $size: '$$a' }] }, [now]] }],
        },
      },
      { $max: [{ $subtract: [before(new Date(dwellFrom.getTime() + 1)), 1] }, 0] },
      { $size: '$$a' },
    ],
  };

  const dwellOf = (p: 'cur' | 'prev'): Expr => {
    const { from, to } = p === 'cur' ? w.current : w.previous;
    const end = new Date(Math.min(to.getTime(), now.getTime()));
    return {
      $cond: [
        { $and: [{ $lt: ['$e', end] }, { $gt: ['$x', from] }] },
        { p, d: { $subtract: [{ $min: ['$x', end] }, '$e'] } },
        null,
      ],
    };
  };
  const mKeys = Object.fromEntries(bounds.map((_, k) => [`m${k}`, `$m${k}`]));

  return [
    { $match: match },
    {
      $group: {
        _id: '$dealId',
        h: { $push: { a: '$at', v: '$version', t: '$to', r: { $indexOfArray: [order, '$to'] } } },
      },
    },
    {
      $project: {
        v: {
          $let: {
            vars: { s: { $sortArray: { input: '$h', sortBy: { a: 1, v: 1 } } } },
            in: {
              $let: {
                vars: {
                  s: '$$s',
                  a: '$$s.a',
                  t: '$$s.t',
                  r: '$$s.r',
                },
                in: fields,
              },
            },
          },
        },
      },
    },
    { $replaceWith: '$v' },
    {
      $facet: {
        flow: [{ $group: { _id: { ...mKeys, mAll: '$mAll' }, n: { $sum: 1 } } }],
        closes: [
          {
            $group: {
              _id: { cT: '$cT', cIn: '$cIn', pT: '$p.t', pIn: '$p.in', mAll: '$mAll', ...mKeys },
              n: { $sum: 1 },
            },
          },
        ],
        start: [{ $group: { _id: '$sT', n: { $sum: 1 } } }],
        dwell: [
          { $project: { st: 1 } },
          { $unwind: '$st' },
          {
            $project: {
              s: { $arrayElemAt: ['$st', 0] },
              e: { $arrayElemAt: ['$st', 1] },
              x: { $arrayElemAt: ['$st', 2] },
            },
          },
          { $match: { s: { $in: nonTerminal } } },
          { $project: { s: 1, x: [dwellOf('cur'), dwellOf('prev')] } },
          { $unwind: '$x' },
          { $match: { x: { $ne: null } } },
          {
            $group: {
              _id: { p: '$x.p', st: '$s' },
              stays: { $sum: 1 },
              totalMs: { $sum: '$x.d' },
              ds: { $push: '$x.d' },
            },
          },
          {
            $project: {
              stays: 1,
              totalMs: 1,
              sorted: { $sortArray: { input: '$ds', sortBy: 1 } },
            },
          },
          {
            $project: {
              stays: 1,
              totalMs: 1,
              medianMs: {
                $cond: [
                  { $eq: [{ $mod: ['$stays', 2] }, 1] },
                  { $arrayElemAt: ['$sorted', { $floor: { $divide: ['$stays', 2] } }] },
                  {
                    $divide: [
                      {
                        $add: [
                          { $arrayElemAt: ['$sorted', { $subtract: [{ $divide: ['$stays', 2] }, 1] }] },
                          { $arrayElemAt: ['$sorted', { $divide: ['$stays', 2] }] },
                        ],
                      },
                      2,
                    ],
                  },
                ],
              },
            },
          },
        ],
      },
    },
  ];
}

function readChanges(
  out: Doc,
  stages: readonly StageDef[],
  w: PeriodWindows,
): Pick<PipelineStatsRows, 'flow' | 'atStart' | 'closes' | 'dwell'> {
  const order = rankOrder(stages);
  const bounds = boundaries(w).map((d) => d.getTime());
  const windows = { cur: w.current, prev: w.previous, trail: w.trailing };
  const wonKey = stages.find((s) => s.terminal === 'won')?.key ?? 'won';
  const lostKey = stages.find((s) => s.terminal === 'lost')?.key ?? 'lost';
  const rows = (k: string) =>
    ((out[k] as Doc[] | undefined) ?? []).map((d) => ({ id: d._id as Doc, n: num(d.n) }));
  /** Highest rank reached strictly before `t` (-1: none), from a group key. */
  const reachedAt = (id: Doc, t: Date): number => {
    const k = t.getTime() === w.current.to.getTime() ? 'mAll' : `m${bounds.indexOf(t.getTime())}`;
    return typeof id[k] === 'number' ? id[k] : -1;
  };
  const steps = conversionSteps(stages);

  const flowRows = rows('flow');
  const flow: PipelineStatsRows['flow'] = [];
  const enteredAdvanced = (p: PeriodName, i: number, j: number) => {
    let entered = 0;
    let advanced = 0;
    for (const { id, n } of flowRows) {
      const before = reachedAt(id, windows[p].from);
      const by = reachedAt(id, windows[p].to);
      if (i < 0 || before >= i || by < i) continue;
      entered += n;
      if (j >= 0 && by >= j) advanced += n;
    }
    return { entered, advanced };
  };
  for (const p of PERIODS)
    for (const s of steps)
      flow.push({
        period: p,
        stage: s.key,
        ...enteredAdvanced(p, order.indexOf(s.key), order.indexOf(s.nextKey)),
      });

  const proposalIdx = order.indexOf('proposal');
  const negotiationIdx = order.indexOf('negotiation');
  const firstOpen = steps[0]?.key;
  const closes = (['cur', 'prev'] as const).map((p) => {
    const r = {
      period: p,
      won: 0,
      lost: 0,
      proposalWon: 0,
      proposalClosed: 0,
      negotiationWon: 0,
      negotiationClosed: 0,
      leads: 0,
      opportunities: 0,
    };
    for (const { id, n } of rows('closes')) {
      const to = p === 'cur' ? id.cT : id.pT;
      if (!(p === 'cur' ? id.cIn : id.pIn) || (to !== wonKey && to !== lostKey)) continue;
      // Every change before the period's end is at or before the closing one.
      const reached = reachedAt(id, windows[p].to);
      const won = to === wonKey;
      if (won) r.won += n;
      else r.lost += n;
      if (proposalIdx >= 0 && reached >= proposalIdx) {
        r.proposalClosed += n;
        if (won) r.proposalWon += n;
      }
      if (negotiationIdx >= 0 && reached >= negotiationIdx) {
        r.negotiationClosed += n;
        if (won) r.negotiationWon += n;
      }
    }
    if (firstOpen) {
      const lead = enteredAdvanced(p, order.indexOf(firstOpen), order.indexOf('needs'));
      r.leads = lead.entered;
      r.opportunities = lead.advanced;
    }
    return r;
  });
  const startRows = rows('start');
  const atStart = stages
    .filter((s) => !s.terminal)
    .map((s) => ({
      stage: s.key,
      count: startRows.filter((r) => (r.id as unknown) === s.key).reduce((a, r) => a + r.n, 0),
    }))
    .filter((r) => r.count > 0);
  const dwell = ((out.dwell as Doc[] | undefined) ?? []).map((d) => {
    const id = d._id as Doc;
    return {
      period: id.p as 'cur' | 'prev',
      stage: str(id.st),
      stays: num(d.stays),
      totalMs: num(d.totalMs),
      medianMs: typeof d.medianMs === 'number' ? d.medianMs : null,
    };
  });
  return { flow, atStart, closes, dwell };
}
