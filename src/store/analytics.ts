/**
 * Aggregation pipelines behind the pipeline report. Two `aggregate` commands per
 * report, whatever the number of deals:
 *
 *  1. `deals`: one $facet over the workspace's deals (open per stage, stalled,
 *     forecast by close month, closed/lost reasons/created per period, per rep,
 *     per source, the oldest stalled deals and — only with an owner/source
 *     filter — the ids of the matching deals that can matter for the period).
 *  2. `stage_changes`: the log up to the period's end, grouped per deal (sorted
 *     by version), reduced per deal to "first reached" times per stage rank and
 *     to stays, then a $facet with one $group for flow/closes/open-at-start and
 *     one for dwell (average and exact median per stage and period).
 *
 * Without a filter both run in parallel; with one, (2) waits for the ids from
 * (1) and matches `dealId: {$in: ids}` on the {workspaceId, dealId, at} index.
 * (A $lookup would avoid sending the ids, but stage_changes has no index
 * starting with dealId, and the embedded store's $lookup with a sub-pipeline
 * returns the whole foreign collection — see the report to the lead.)
 *
 * Only operators that MongoDB 5.2+ and mingo 7 both implement are used:
 * $match $sort $group($push/$sum/$max/$last) $facet $project $unwind $map $filter
 * $range $arrayElemAt $indexOfArray $min $cond $switch $ifNull $sortArray
 * $subtract $type. ($toString on an ObjectId fails on the
 * embedded store, so ids are converted in Node.)
 */
import { DateTime } from 'luxon';
import type { PeriodWindows, PipelineStatsRows, StalledDealRow } from '../domain/metrics.js';
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

const inCurrency = (currency: string, amount: Expr = '$amount'): Expr => ({
  $cond: [{ $eq: ['$currency', currency] }, { $ifNull: [amount, 0] }, 0],
});
const sumIf = (cond: Expr, value: Expr = 1): Expr => ({ $sum: { $cond: [cond, value, 0] } });
/** True for a date (or, for `close_*`, an object); false for null and missing. ($gt against null is not BSON-ordered in mingo.) */
const isSet = (x: Expr, type: 'date' | 'object' = 'date'): Expr => ({ $eq: [{ $type: x }, type] });
const inRange = (field: Expr, from: Date, to: Date): Expr => ({
  $and: [{ $gte: [field, from] }, { $lt: [field, to] }],
});

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
    // ObjectIds come back and are turned into the strings `dealId` holds ($toString on an ObjectId fails on the embedded store).
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
      ...readDeals(dealsOut[0] ?? {}, opts.timeZone),
      ...readChanges(changesOut[0] ?? {}, opts.stages),
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
  const { currency, stages, now } = opts;
  const cur = w.current;
  const prev = w.previous;
  const match: Doc = { workspaceId };
  if (filter.ownerId) match.ownerId = filter.ownerId;
  if (filter.source) match.source = filter.source;
  const probability: Expr = {
    $switch: {
      branches: stages.map((s) => ({ case: { $eq: ['$stage', s.key] }, then: s.probability })),
      default: 0,
    },
  };
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
  const value = inCurrency(currency);
  const isWon = { $eq: ['$status', 'won'] };
  const isLost = { $eq: ['$status', 'lost'] };
  const isOpen = { $eq: ['$status', 'open'] };
  const closedCur = inRange('$closedAt', cur.from, cur.to);
  const closedPrev = inRange('$closedAt', prev.from, prev.to);
  const createdCur = inRange('$createdAt', cur.from, cur.to);
  const createdPrev = inRange('$createdAt', prev.from, prev.to);
  const periodOf = (field: string): Expr => ({ $cond: [{ $gte: [field, cur.from] }, 'cur', 'prev'] });
  const closedInEither = { closedAt: { $gte: prev.from, $lt: cur.to } };
  const earliest = new Date(Math.min(w.trailing.from.getTime(), prev.from.getTime()));

  const facet: Record<string, Doc[]> = {
    open: [
      { $match: { status: 'open' } },
      {
        $group: {
          _id: '$stage',
          count: { $sum: 1 },
          value: { $sum: value },
          weighted: { $sum: { $multiply: [value, probability] } },
          otherCurrency: sumIf({ $ne: ['$currency', currency] }),
        },
      },
    ],
    stalled: [
      { $match: stalledMatch },
      { $group: { _id: '$stage', count: { $sum: 1 }, value: { $sum: value } } },
    ],
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
      {
        $group: {
          // One row per distinct close day (bounded by the horizon, not by deals); the month in the workspace
          // zone is taken in Node: $dateToString with a zone costs ~0.3 ms per deal on the embedded store.
          _id: '$closeDate',
          count: { $sum: 1 },
          value: { $sum: value },
          weighted: { $sum: { $multiply: [value, probability] } },
        },
      },
    ],
    closed: [
      { $match: { status: { $in: ['won', 'lost'] }, ...closedInEither } },
      {
        $group: {
          _id: { p: periodOf('$closedAt'), s: '$status' },
          count: { $sum: 1 },
          value: { $sum: value },
          cycleMs: { $sum: { $subtract: ['$closedAt', '$createdAt'] } },
        },
      },
    ],
    lostReasons: [
      { $match: { status: 'lost', ...closedInEither } },
      {
        $group: {
          _id: { p: periodOf('$closedAt'), k: { $ifNull: ['$lostReason.key', 'other'] } },
          count: { $sum: 1 },
          value: { $sum: value },
        },
      },
    ],
    created: [
      { $match: { createdAt: { $gte: prev.from, $lt: cur.to } } },
      { $group: { _id: periodOf('$createdAt'), count: { $sum: 1 }, value: { $sum: value } } },
    ],
    reps: [
      { $match: { $or: [{ status: 'open' }, closedInEither] } },
      {
        $group: {
          _id: '$ownerId',
          open: sumIf(isOpen),
          openValue: sumIf(isOpen, value),
          won: sumIf({ $and: [isWon, closedCur] }),
          wonValue: sumIf({ $and: [isWon, closedCur] }, value),
          lost: sumIf({ $and: [isLost, closedCur] }),
          prevWon: sumIf({ $and: [isWon, closedPrev] }),
          prevWonValue: sumIf({ $and: [isWon, closedPrev] }, value),
          prevLost: sumIf({ $and: [isLost, closedPrev] }),
        },
      },
    ],
    sources: [
      { $match: { $or: [{ createdAt: { $gte: prev.from, $lt: cur.to } }, closedInEither] } },
      {
        $group: {
          _id: '$source',
          created: sumIf(createdCur),
          won: sumIf({ $and: [isWon, closedCur] }),
          wonValue: sumIf({ $and: [isWon, closedCur] }, value),
          lost: sumIf({ $and: [isLost, closedCur] }),
          prevCreated: sumIf(createdPrev),
          prevWon: sumIf({ $and: [isWon, closedPrev] }),
          prevWonValue: sumIf({ $and: [isWon, closedPrev] }, value),
          prevLost: sumIf({ $and: [isLost, closedPrev] }),
        },
      },
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

function byMonth(rows: Doc[], timeZone: string): PipelineStatsRows['forecast'] {
  const months = new Map<
    string | null,
    { month: string | null; count: number; value: number; weighted: number }
  >();
  for (const d of rows) {
    const month =
      d._id instanceof Date ? DateTime.fromJSDate(d._id, { zone: timeZone }).toFormat('yyyy-MM') : null;
    const m = months.get(month) ?? { month, count: 0, value: 0, weighted: 0 };
    m.count += num(d.count);
    m.value += num(d.value);
    m.weighted += num(d.weighted);
    months.set(month, m);
  }
  return [...months.values()];
}

function readDeals(
  out: Doc,
  timeZone: string,
): Omit<PipelineStatsRows, 'flow' | 'atStart' | 'closes' | 'dwell'> {
  const list = (k: string) => (out[k] as Doc[] | undefined) ?? [];
  const id = (d: Doc) => d._id as Doc;
  return {
    open: list('open').map((d) => ({
      stage: str(d._id),
      count: num(d.count),
      value: num(d.value),
      weighted: num(d.weighted),
      otherCurrency: num(d.otherCurrency),
    })),
    stalled: list('stalled').map((d) => ({ stage: str(d._id), count: num(d.count), value: num(d.value) })),
    stalledDeals: list('stalledDeals').map((d): StalledDealRow => ({
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
    forecast: byMonth(list('forecast'), timeZone),
    closed: list('closed').map((d) => ({
      period: id(d).p as 'cur' | 'prev',
      status: id(d).s as 'won' | 'lost',
      count: num(d.count),
      value: num(d.value),
      cycleMs: num(d.cycleMs),
    })),
    lostReasons: list('lostReasons').map((d) => ({
      period: id(d).p as 'cur' | 'prev',
      key: str(id(d).k),
      count: num(d.count),
      value: num(d.value),
    })),
    created: list('created').map((d) => ({
      period: d._id as 'cur' | 'prev',
      count: num(d.count),
      value: num(d.value),
    })),
    reps: list('reps')
      .map((d) => ({
        ownerId: str(d._id),
        open: num(d.open),
        openValue: num(d.openValue),
        won: num(d.won),
        wonValue: num(d.wonValue),
        lost: num(d.lost),
        prevWon: num(d.prevWon),
        prevWonValue: num(d.prevWonValue),
        prevLost: num(d.prevLost),
      }))
      .filter((r) => r.open + r.won + r.lost + r.prevWon + r.prevLost > 0),
    sources: list('sources')
      .map((d) => ({
        source: str(d._id) || 'other',
        created: num(d.created),
        won: num(d.won),
        wonValue: num(d.wonValue),
        lost: num(d.lost),
        prevCreated: num(d.prevCreated),
        prevWon: num(d.prevWon),
        prevWonValue: num(d.prevWonValue),
        prevLost: num(d.prevLost),
      }))
      .filter((r) => r.created + r.won + r.lost + r.prevCreated + r.prevWon + r.prevLost > 0),
  };
}

// ───────────────────────────── stage changes ─────────────────────────────

const PERIODS = ['cur', 'prev', 'trail'] as const;

export function buildChangesPipeline(
  workspaceId: string,
  w: PeriodWindows,
  opts: StatsOptions,
  ids?: string[],
): Doc[] {
  const { stages, now } = opts;
  const order = rankOrder(stages);
  const nonTerminal = stages.filter((s) => !s.terminal).map((s) => s.key);
  const terminal = stages.filter((s) => s.terminal).map((s) => s.key);
  const wonKey = stages.find((s) => s.terminal === 'won')?.key ?? 'won';
  const lostKey = stages.find((s) => s.terminal === 'lost')?.key ?? 'lost';
  const windows = { cur: w.current, prev: w.previous, trail: w.trailing };
  const earliest = new Date(Math.min(w.trailing.from.getTime(), w.previous.from.getTime()));
  const rank = (i: number) => `r${i}`;

  const match: Doc = { workspaceId, at: { $lt: w.current.to } };
  if (ids) match.dealId = { $in: ids };

  // Per deal: first time each rank was reached (min `at` over changes to that rank or later).
  const firstReached: Doc = {};
  order.forEach((_, i) => {
    firstReached[rank(i)] = {
      $min: {
        $map: {
          input: { $filter: { input: '$h', as: 'c', cond: { $gte: ['$$c.r', i] } } },
          as: 'c',
          in: '$$c.at',
        },
      },
    };
  });
  const lastBefore = (t: Date): Expr => ({
    $arrayElemAt: [{ $filter: { input: '$h', as: 'c', cond: { $lt: ['$$c.at', t] } } }, -1],
  });

  const steps = conversionSteps(stages);
  const firstOpen = steps[0]?.key;
  const needsIdx = order.indexOf('needs');
  const proposalIdx = order.indexOf('proposal');
  const negotiationIdx = order.indexOf('negotiation');
  const fr = (i: number) => `$${rank(i)}`;
  const reachedBy = (i: number, t: Date): Expr =>
    i < 0 ? false : { $and: [isSet(fr(i)), { $lt: [fr(i), t] }] };

  const flowGroup: Doc = { _id: null };
  for (const p of PERIODS) {
    const { from, to } = windows[p];
    for (const s of steps) {
      const i = order.indexOf(s.key);
      const j = order.indexOf(s.nextKey);
      const entered = { $and: [isSet(fr(i)), { $gte: [fr(i), from] }, { $lt: [fr(i), to] }] };
      flowGroup[`e_${p}_${s.key}`] = sumIf(entered);
      flowGroup[`a_${p}_${s.key}`] = sumIf({ $and: [entered, reachedBy(j, to)] });
    }
  }
  for (const p of ['cur', 'prev'] as const) {
    const { from, to } = windows[p];
    const close = `$close_${p}`;
    const closedHere = {
      $and: [
        isSet(close, 'object'),
        { $in: [`${close}.to`, [wonKey, lostKey]] },
        { $gte: [`${close}.at`, from] },
      ],
    };
    const won = { $and: [closedHere, { $eq: [`${close}.to`, wonKey] }] };
    const reachedBeforeClose = (i: number): Expr =>
      i < 0 ? false : { $and: [isSet(fr(i)), { $lte: [fr(i), `${close}.at`] }] };
    flowGroup[`won_${p}`] = sumIf(won);
    flowGroup[`lost_${p}`] = sumIf({ $and: [closedHere, { $eq: [`${close}.to`, lostKey] }] });
    flowGroup[`propWon_${p}`] = sumIf({ $and: [won, reachedBeforeClose(proposalIdx)] });
    flowGroup[`propClosed_${p}`] = sumIf({ $and: [closedHere, reachedBeforeClose(proposalIdx)] });
    flowGroup[`negWon_${p}`] = sumIf({ $and: [won, reachedBeforeClose(negotiationIdx)] });
    flowGroup[`negClosed_${p}`] = sumIf({ $and: [closedHere, reachedBeforeClose(negotiationIdx)] });
    if (firstOpen) {
      const i = order.indexOf(firstOpen);
      const lead = { $and: [isSet(fr(i)), { $gte: [fr(i), from] }, { $lt: [fr(i), to] }] };
      flowGroup[`leads_${p}`] = sumIf(lead);
      flowGroup[`opps_${p}`] = sumIf({ $and: [lead, reachedBy(needsIdx, to)] });
    }
  }
  for (const key of nonTerminal) flowGroup[`start_${key}`] = sumIf({ $eq: ['$start.to', key] });

  // Stays: (stage, enter, exit?) per change; exit is the next change's time.
  const stays: Expr = {
    $map: {
      input: { $range: [0, { $size: '$h' }] },
      as: 'j',
      in: {
        st: { $arrayElemAt: ['$h.to', '$$j'] },
        enter: { $arrayElemAt: ['$h.at', '$$j'] },
        exit: { $ifNull: [{ $arrayElemAt: ['$h.at', { $add: ['$$j', 1] }] }, now] },
      },
    },
  };
  const dwellOf = (p: 'cur' | 'prev'): Expr => {
    const { from, to } = windows[p];
    const end = new Date(Math.min(to.getTime(), now.getTime()));
    return {
      $cond: [
        { $and: [{ $lt: ['$s.enter', end] }, { $gt: ['$s.exit', from] }] },
        { p, d: { $subtract: [{ $min: ['$s.exit', end] }, '$s.enter'] } },
        null,
      ],
    };
  };

  return [
    { $match: match },
    { $sort: { dealId: 1, version: 1 } },
    {
      $group: {
        _id: '$dealId',
        h: { $push: { to: '$to', at: '$at', r: { $indexOfArray: [order, '$to'] } } },
        lastAt: { $max: '$at' },
        lastTo: { $last: '$to' },
      },
    },
    // Deals closed before every window began contribute nothing.
    { $match: { $or: [{ lastAt: { $gte: earliest } }, { lastTo: { $nin: terminal } }] } },
    {
      $project: {
        h: 1,
        ...firstReached,
        close_cur: lastBefore(w.current.to),
        close_prev: lastBefore(w.previous.to),
        start: lastBefore(w.current.from),
      },
    },
    {
      $facet: {
        flow: [{ $group: flowGroup }],
        dwell: [
          { $project: { s: stays } },
          { $unwind: '$s' },
          { $match: { 's.st': { $in: nonTerminal } } },
          { $project: { st: '$s.st', x: [dwellOf('cur'), dwellOf('prev')] } },
          { $unwind: '$x' },
          { $match: { x: { $ne: null } } },
          {
            $group: {
              _id: { p: '$x.p', st: '$st' },
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
): Pick<PipelineStatsRows, 'flow' | 'atStart' | 'closes' | 'dwell'> {
  const g = ((out.flow as Doc[] | undefined) ?? [])[0] ?? {};
  const steps = conversionSteps(stages);
  const flow: PipelineStatsRows['flow'] = [];
  for (const p of PERIODS)
    for (const s of steps)
      flow.push({
        period: p,
        stage: s.key,
        entered: num(g[`e_${p}_${s.key}`]),
        advanced: num(g[`a_${p}_${s.key}`]),
      });
  const closes = (['cur', 'prev'] as const).map((p) => ({
    period: p,
    won: num(g[`won_${p}`]),
    lost: num(g[`lost_${p}`]),
    proposalWon: num(g[`propWon_${p}`]),
    proposalClosed: num(g[`propClosed_${p}`]),
    negotiationWon: num(g[`negWon_${p}`]),
    negotiationClosed: num(g[`negClosed_${p}`]),
    leads: num(g[`leads_${p}`]),
    opportunities: num(g[`opps_${p}`]),
  }));
  const atStart = stages
    .filter((s) => !s.terminal)
    .map((s) => ({ stage: s.key, count: num(g[`start_${s.key}`]) }))
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
