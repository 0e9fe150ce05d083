/**
 * Pipeline metrics and bottleneck diagnosis. Pure: the store aggregates rows
 * (src/store/analytics.ts), this module turns them into KPIs, compares periods
 * and diagnoses bottlenecks. No I/O, no clock, no user-facing text.
 *
 * Definitions (each has a hand-computed test in test/domain/metrics.test.ts):
 *
 * Periods are half-open `[from, to)`. The previous period is the window of the
 * same length right before (calendar periods: the same elapsed span of the
 * previous month/quarter/year, see `resolvePeriod`). The trailing window is the
 * TRAILING_PERIODS windows of the current length (at least MIN_TRAILING_DAYS)
 * before `from`; it is the baseline a stage's conversion is compared with.
 *
 * Stage order ("rank"): the workspace's non-terminal stages in settings order,
 * removed (inactive) ones included so history still ranks, then the won stage.
 * Lost and stage keys no longer in the settings have no rank.
 *
 * Reached: a deal reached stage S at the time of its first StageChange whose
 * target ranks at or after S (creation is the change from null). So a deal that
 * skipped S, or was created directly in a later stage, reached S when it passed
 * it; a backward move never un-reaches anything and re-entering a stage is not a
 * second arrival; lost reaches nothing; a reopened deal keeps what it reached.
 *
 * Conversion of stage S in a period = of the deals that reached S during the
 * period ("entered"), the share that reached the next active stage (or won)
 * before the period ended ("advanced"). No entered deals → null ("—").
 * A stage added mid-period: deals that passed its position later count as
 * having reached it; a stage removed mid-period is no longer reported (its
 * history still ranks).
 *
 * Lead→opportunity: of the deals that reached the first open stage in the
 * period, the share that reached `needs` (Needs Analysis) by the period's end;
 * null when the pipeline has no active `needs` stage.
 *
 * Closing rates: a deal closed in a period when its last StageChange before the
 * period's end goes to won/lost and happened in the period (a deal lost, then
 * reopened and won, counts as lost in the first period and won in the second).
 * Proposal win rate = won / closed among closed deals that had reached
 * `proposal`; negotiation close rate likewise for `negotiation`. Win rate = won /
 * (won + lost) among deals whose current status is won/lost with `closedAt` in
 * the period (the same deals the won/lost values and lost reasons count).
 *
 * Dwell: a stay in S runs from the change into S to the deal's next change (or,
 * still in S, to "now"). A stay counts in a period when it overlaps it, and its
 * length is measured up to min(end of stay, end of period, now): the end is
 * clipped so a period never sees later time, the start is NOT clipped so a deal
 * that has sat in S for 40 days shows 40 days in a 7-day report (clipping the
 * start would cap every dwell at the period length and hide long stalls).
 * Average and median over stays; no stays → null.
 *
 * Sales cycle = average of closedAt − createdAt over deals closed (won or lost)
 * in the period.
 *
 * Money sums (pipeline, weighted, forecast, won/lost value) only add deals in
 * the workspace currency; other-currency deals are counted in `otherCurrency`.
 */
import { DateTime } from 'luxon';
import { invalid, ok, type Result } from './errors.js';
import { parseDuration } from './parse.js';
import { findStage, openStages } from './pipeline.js';
import type { StageDef } from './types.js';

export const DAY_MS = 86_400_000;
/** Trailing windows (of the current period's length) averaged as a stage's conversion baseline. */
export const TRAILING_PERIODS = 3;
/** The trailing window is never shorter than this (short periods would give it no sample). */
export const MIN_TRAILING_DAYS = 90;
/** Fewer deals than this in a stage (current and baseline) never make it a bottleneck. */
export const MIN_SAMPLE = 10;
/** "Clearly below": at least this many percentage points (as a ratio) under the baseline. */
export const CONVERSION_GAP = 0.1;

export interface Period {
  from: Date;
  to: Date;
}

export interface PeriodWindows {
  current: Period;
  previous: Period;
  trailing: Period;
}

export type PeriodName = 'cur' | 'prev' | 'trail';

// ───────────────────────────── aggregated rows (store → domain) ─────────────────────────────

/** What `loadPipelineStats` returns: small, bounded by stages/reps/sources/months, never by deals. */
export interface PipelineStatsRows {
  /** Open deals now, per stage. */
  open: { stage: string; count: number; value: number; weighted: number; otherCurrency: number }[];
  /** Open deals past their stage threshold now (not snoozed), per stage. */
  stalled: { stage: string; count: number; value: number }[];
  /** Open deals by expected close month ('YYYY-MM' in the workspace zone; null = no date). */
  forecast: { month: string | null; count: number; value: number; weighted: number }[];
  /** Deals closed in the current/previous period by current status (closedAt). */
  closed: { period: 'cur' | 'prev'; status: 'won' | 'lost'; count: number; value: number; cycleMs: number }[];
  lostReasons: { period: 'cur' | 'prev'; key: string; count: number; value: number }[];
  /** Deals created in the current/previous period. */
  created: { period: 'cur' | 'prev'; count: number; value: number }[];
  reps: {
    ownerId: string;
    open: number;
    openValue: number;
    won: number;
    wonValue: number;
    lost: number;
    prevWon: number;
    prevWonValue: number;
    prevLost: number;
  }[];
  sources: {
    source: string;
    created: number;
    won: number;
    wonValue: number;
    lost: number;
    prevCreated: number;
    prevWon: number;
    prevWonValue: number;
    prevLost: number;
  }[];
  /** Reached/advanced counts per stage (by key) and period. */
  flow: { period: PeriodName; stage: string; entered: number; advanced: number }[];
  /** Open deals per stage at the start of the current period (reconstructed from the log). */
  atStart: { stage: string; count: number }[];
  /** History-based closes per period: all closes, and those that had reached proposal / negotiation. */
  closes: {
    period: 'cur' | 'prev';
    won: number;
    lost: number;
    proposalWon: number;
    proposalClosed: number;
    negotiationWon: number;
    negotiationClosed: number;
    leads: number;
    opportunities: number;
  }[];
  dwell: { period: 'cur' | 'prev'; stage: string; stays: number; totalMs: number; medianMs: number | null }[];
  /** Oldest stalled deals (for lists), oldest first. */
  stalledDeals: StalledDealRow[];
}

export interface StalledDealRow {
  id: string;
  code: string;
  name: string;
  company: string;
  amount: number | null;
  currency: string;
  ownerId: string;
  stage: string;
  stageEnteredAt: Date;
}

// ───────────────────────────── KPIs ─────────────────────────────

export interface Compared<T extends number | null = number | null> {
  current: T;
  previous: T;
  /** current − previous (percentage points for rates); null when either side is null. */
  change: number | null;
}

export interface StageNow {
  key: string;
  count: number;
  value: number;
  weighted: number;
  stalled: number;
  stalledValue: number;
  /** Open deals in this stage at the start of the period (from the StageChange log). */
  countAtStart: number;
  active: boolean;
}

export interface StageFlow {
  key: string;
  /** The stage conversion leads to (next active open stage, or won). */
  nextKey: string;
  entered: Compared<number>;
  advanced: Compared<number>;
  conversion: Compared;
  trailing: { entered: number; advanced: number; conversion: number | null };
}

export interface StageDwell {
  key: string;
  stays: Compared<number>;
  avgDays: Compared;
  medianDays: Compared;
  thresholdDays: number | null;
}

export interface ForecastMonth {
  /** 'YYYY-MM', or null for deals without an expected close date. */
  month: string | null;
  count: number;
  value: number;
  weighted: number;
}

export interface RepRow {
  ownerId: string;
  open: number;
  openValue: number;
  won: Compared<number>;
  wonValue: Compared<number>;
  lost: Compared<number>;
  winRate: Compared;
}

export interface SourceRow {
  source: string;
  created: Compared<number>;
  won: Compared<number>;
  lost: Compared<number>;
  /** won / (won + lost) of deals closed in the period. */
  conversion: Compared;
  /** Average won deal size. */
  avgDealSize: Compared;
}

export interface PipelineKpis {
  windows: PeriodWindows;
  currency: string;
  now: {
    stages: StageNow[];
    openCount: number;
    pipelineValue: number;
    weightedValue: number;
    stalledCount: number;
    stalledValue: number;
    otherCurrency: number;
    forecast: ForecastMonth[];
    openCountAtStart: number;
  };
  flow: {
    stages: StageFlow[];
    created: Compared<number>;
    leadToOpportunity: Compared;
    proposalWinRate: Compared;
    negotiationCloseRate: Compared;
    winRate: Compared;
    won: Compared<number>;
    lost: Compared<number>;
    wonValue: Compared<number>;
    lostValue: Compared<number>;
  };
  time: { stages: StageDwell[]; salesCycleDays: Compared };
  why: {
    lostReasons: { key: string; count: Compared<number>; value: number }[];
    reps: RepRow[];
    sources: SourceRow[];
  };
  stalledDeals: StalledDealRow[];
}

/** n / d, or null when d is 0 (shown as "—"). */
export function ratio(n: number, d: number): number | null {
  return d > 0 ? n / d : null;
}

export function compare<T extends number | null>(current: T, previous: T): Compared<T> {
  return { current, previous, change: current === null || previous === null ? null : current - previous };
}

/** Non-terminal stage keys in settings order (inactive included), then the won stage: the rank order. */
export function rankOrder(stages: readonly StageDef[]): string[] {
  const won = stages.find((s) => s.terminal === 'won');
  return [...stages.filter((s) => !s.terminal).map((s) => s.key), ...(won ? [won.key] : [])];
}

/** Active open stages, each with the stage its conversion leads to. */
export function conversionSteps(stages: readonly StageDef[]): { key: string; nextKey: string }[] {
  const open = openStages(stages);
  const won = stages.find((s) => s.terminal === 'won');
  return open.map((s, i) => ({ key: s.key, nextKey: open[i + 1]?.key ?? won?.key ?? 'won' }));
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Turns aggregated rows into KPIs. */
export function computeKpis(
  rows: PipelineStatsRows,
  stages: readonly StageDef[],
  windows: PeriodWindows,
  currency: string,
): PipelineKpis {
  const order = rankOrder(stages);
  const byRank = (a: string, b: string) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
  };

  // now: every active open stage, plus any other stage that still holds open deals.
  const nowKeys = new Set(openStages(stages).map((s) => s.key));
  for (const r of rows.open) if (r.count > 0) nowKeys.add(r.stage);
  const nowStages: StageNow[] = [...nowKeys].sort(byRank).map((key) => {
    const o = rows.open.find((r) => r.stage === key);
    const st = rows.stalled.find((r) => r.stage === key);
    const def = findStage(stages, key);
    return {
      key,
      count: o?.count ?? 0,
      value: o?.value ?? 0,
      weighted: o?.weighted ?? 0,
      stalled: st?.count ?? 0,
      stalledValue: st?.value ?? 0,
      countAtStart: rows.atStart.find((r) => r.stage === key)?.count ?? 0,
      active: Boolean(def?.active && !def.terminal),
    };
  });

  // flow
  const flowOf = (p: PeriodName, key: string) => rows.flow.find((r) => r.period === p && r.stage === key);
  const flowStages: StageFlow[] = conversionSteps(stages).map(({ key, nextKey }) => {
    const cur = flowOf('cur', key);
    const prev = flowOf('prev', key);
    const trail = flowOf('trail', key);
    const e = compare(cur?.entered ?? 0, prev?.entered ?? 0);
    const a = compare(cur?.advanced ?? 0, prev?.advanced ?? 0);
    return {
      key,
      nextKey,
      entered: e,
      advanced: a,
      conversion: compare(ratio(a.current, e.current), ratio(a.previous, e.previous)),
      trailing: {
        entered: trail?.entered ?? 0,
        advanced: trail?.advanced ?? 0,
        conversion: ratio(trail?.advanced ?? 0, trail?.entered ?? 0),
      },
    };
  });
  const closes = (p: 'cur' | 'prev') => rows.closes.find((r) => r.period === p);
  const hasNeeds = stages.some((s) => s.key === 'needs' && s.active && !s.terminal);
  const closedRate = (
    p: 'cur' | 'prev',
    won: 'proposalWon' | 'negotiationWon',
    closed: 'proposalClosed' | 'negotiationClosed',
  ) => ratio(closes(p)?.[won] ?? 0, closes(p)?.[closed] ?? 0);
  const closed = (p: 'cur' | 'prev', status: 'won' | 'lost') =>
    rows.closed.find((r) => r.period === p && r.status === status);
  const count = (p: 'cur' | 'prev', s: 'won' | 'lost') => closed(p, s)?.count ?? 0;
  const value = (p: 'cur' | 'prev', s: 'won' | 'lost') => closed(p, s)?.value ?? 0;
  const winRate = (p: 'cur' | 'prev') => ratio(count(p, 'won'), count(p, 'won') + count(p, 'lost'));
  const cycle = (p: 'cur' | 'prev') => {
    const n = count(p, 'won') + count(p, 'lost');
    const ms = (closed(p, 'won')?.cycleMs ?? 0) + (closed(p, 'lost')?.cycleMs ?? 0);
    return n > 0 ? ms / n / DAY_MS : null;
  };
  const created = (p: 'cur' | 'prev') => rows.created.find((r) => r.period === p)?.count ?? 0;

  // time
  const dwellOf = (p: 'cur' | 'prev', key: string) =>
    rows.dwell.find((r) => r.period === p && r.stage === key);
  const avg = (r: { stays: number; totalMs: number } | undefined) =>
    r && r.stays > 0 ? r.totalMs / r.stays / DAY_MS : null;
  const med = (r: { medianMs: number | null } | undefined) =>
    r && r.medianMs !== null ? r.medianMs / DAY_MS : null;
  const dwellStages: StageDwell[] = openStages(stages).map((s) => {
    const cur = dwellOf('cur', s.key);
    const prev = dwellOf('prev', s.key);
    return {
      key: s.key,
      stays: compare(cur?.stays ?? 0, prev?.stays ?? 0),
      avgDays: compare(avg(cur), avg(prev)),
      medianDays: compare(med(cur), med(prev)),
      thresholdDays: s.stallDays,
    };
  });

  // why
  const reasonKeys = [...new Set(rows.lostReasons.map((r) => r.key))];
  const lostReasons = reasonKeys
    .map((key) => {
      const cur = rows.lostReasons.find((r) => r.period === 'cur' && r.key === key);
      const prev = rows.lostReasons.find((r) => r.period === 'prev' && r.key === key);
      return { key, count: compare(cur?.count ?? 0, prev?.count ?? 0), value: cur?.value ?? 0 };
    })
    .filter((r) => r.count.current > 0 || r.count.previous > 0)
    .sort(
      (a, b) =>
        b.count.current - a.count.current ||
        b.count.previous - a.count.previous ||
        a.key.localeCompare(b.key),
    );
  const reps: RepRow[] = rows.reps
    .map((r) => ({
      ownerId: r.ownerId,
      open: r.open,
      openValue: r.openValue,
      won: compare(r.won, r.prevWon),
      wonValue: compare(r.wonValue, r.prevWonValue),
      lost: compare(r.lost, r.prevLost),
      winRate: compare(ratio(r.won, r.won + r.lost), ratio(r.prevWon, r.prevWon + r.prevLost)),
    }))
    .sort(
      (a, b) =>
        b.wonValue.current - a.wonValue.current ||
        b.openValue - a.openValue ||
        a.ownerId.localeCompare(b.ownerId),
    );
  const sources: SourceRow[] = rows.sources
    .map((r) => ({
      source: r.source,
      created: compare(r.created, r.prevCreated),
      won: compare(r.won, r.prevWon),
      lost: compare(r.lost, r.prevLost),
      conversion: compare(ratio(r.won, r.won + r.lost), ratio(r.prevWon, r.prevWon + r.prevLost)),
      avgDealSize: compare(ratio(r.wonValue, r.won), ratio(r.prevWonValue, r.prevWon)),
    }))
    .sort(
      (a, b) =>
        b.created.current - a.created.current ||
        b.won.current - a.won.current ||
        a.source.localeCompare(b.source),
    );

  const forecast = [...rows.forecast].sort((a, b) =>
    a.month === b.month ? 0 : a.month === null ? 1 : b.month === null ? -1 : a.month.localeCompare(b.month),
  );

  return {
    windows,
    currency,
    now: {
      stages: nowStages,
      openCount: sum(rows.open.map((r) => r.count)),
      pipelineValue: sum(rows.open.map((r) => r.value)),
      weightedValue: sum(rows.open.map((r) => r.weighted)),
      stalledCount: sum(rows.stalled.map((r) => r.count)),
      stalledValue: sum(rows.stalled.map((r) => r.value)),
      otherCurrency: sum(rows.open.map((r) => r.otherCurrency)),
      forecast,
      openCountAtStart: sum(rows.atStart.map((r) => r.count)),
    },
    flow: {
      stages: flowStages,
      created: compare(created('cur'), created('prev')),
      leadToOpportunity: hasNeeds
        ? compare(
            ratio(closes('cur')?.opportunities ?? 0, closes('cur')?.leads ?? 0),
            ratio(closes('prev')?.opportunities ?? 0, closes('prev')?.leads ?? 0),
          )
        : compare<number | null>(null, null),
      proposalWinRate: compare(
        closedRate('cur', 'proposalWon', 'proposalClosed'),
        closedRate('prev', 'proposalWon', 'proposalClosed'),
      ),
      negotiationCloseRate: compare(
        closedRate('cur', 'negotiationWon', 'negotiationClosed'),
        closedRate('prev', 'negotiationWon', 'negotiationClosed'),
      ),
      winRate: compare(winRate('cur'), winRate('prev')),
      won: compare(count('cur', 'won'), count('prev', 'won')),
      lost: compare(count('cur', 'lost'), count('prev', 'lost')),
      wonValue: compare(value('cur', 'won'), value('prev', 'won')),
      lostValue: compare(value('cur', 'lost'), value('prev', 'lost')),
    },
    time: { stages: dwellStages, salesCycleDays: compare(cycle('cur'), cycle('prev')) },
    why: { lostReasons, reps, sources },
    stalledDeals: rows.stalledDeals,
  };
}

// ───────────────────────────── bottlenecks ─────────────────────────────

export type BottleneckKind = 'conversion_and_dwell' | 'low_conversion' | 'long_dwell';

/** Suggestion keys; the catalogue renders them under `analytics.suggest.<key>`. */
export const SUGGESTIONS = {
  leadQuality: ['lead_channels', 'lead_icp', 'lead_scoring'],
  proposal: ['proposal_training', 'proposal_templates', 'proposal_pricing'],
  longCycle: ['cycle_reminders', 'cycle_next_step', 'cycle_reviews'],
} as const;
export type SuggestionKey = (typeof SUGGESTIONS)[keyof typeof SUGGESTIONS][number];

export interface Bottleneck {
  stage: string;
  kind: BottleneckKind;
  /** Current conversion and what it was compared with. */
  conversion: number | null;
  baseline: number | null;
  baselineKind: 'target' | 'trailing' | null;
  /** Median dwell (days) and the stage threshold. */
  medianDays: number | null;
  thresholdDays: number | null;
  /** Deals that entered the stage in the period. */
  sample: number;
  suggestions: SuggestionKey[];
}

export interface DiagnoseOptions {
  /** Conversion targets a manager set, by stage key (0..1); they replace the trailing average. */
  targets?: Record<string, number> | undefined;
  minSample?: number;
  gap?: number;
}

/**
 * A stage is a bottleneck when (a) its conversion is at least `gap` below its
 * baseline — the manager's target for the stage, else its own trailing average —
 * with at least `minSample` deals entered in the period (and, for a trailing
 * baseline, in the trailing window); and/or (b) its median dwell in the period
 * exceeds the stage's stall threshold with at least `minSample` stays. Both
 * together come first, then low conversion (largest gap first), then long dwell
 * (largest median/threshold ratio first).
 *
 * Suggestions: low conversion before the `proposal` stage → lead quality;
 * at or after `proposal` → proposal practice; long dwell → long-cycle remedies.
 */
export function diagnoseBottlenecks(
  kpis: PipelineKpis,
  stages: readonly StageDef[],
  opts: DiagnoseOptions = {},
): Bottleneck[] {
  const minSample = opts.minSample ?? MIN_SAMPLE;
  const gap = opts.gap ?? CONVERSION_GAP;
  const open = openStages(stages);
  const proposalIdx = open.findIndex((s) => s.key === 'proposal');
  // Without a `proposal` stage, the later half of the pipeline counts as the proposal side.
  const proposalFrom = proposalIdx >= 0 ? proposalIdx : Math.ceil(open.length / 2);
  const found: (Bottleneck & { score: number })[] = [];
  for (const flow of kpis.flow.stages) {
    const idx = open.findIndex((s) => s.key === flow.key);
    const dwell = kpis.time.stages.find((d) => d.key === flow.key);
    const target = opts.targets?.[flow.key];
    const hasTarget = typeof target === 'number' && target >= 0 && target <= 1;
    const baseline = hasTarget
      ? target
      : flow.trailing.entered >= minSample
        ? flow.trailing.conversion
        : null;
    const conversion = flow.conversion.current;
    const low =
      flow.entered.current >= minSample &&
      conversion !== null &&
      baseline !== null &&
      baseline - conversion >= gap - 1e-9;
    const medianDays = dwell?.medianDays.current ?? null;
    const threshold = dwell?.thresholdDays ?? null;
    const long =
      (dwell?.stays.current ?? 0) >= minSample &&
      medianDays !== null &&
      threshold !== null &&
      threshold > 0 &&
      medianDays > threshold;
    if (!low && !long) continue;
    const suggestions: SuggestionKey[] = [];
    if (low) suggestions.push(...(idx < proposalFrom ? SUGGESTIONS.leadQuality : SUGGESTIONS.proposal));
    if (long) suggestions.push(...SUGGESTIONS.longCycle);
    const kind: BottleneckKind = low && long ? 'conversion_and_dwell' : low ? 'low_conversion' : 'long_dwell';
    const score = low ? baseline! - conversion! : medianDays! / threshold!;
    found.push({
      stage: flow.key,
      kind,
      conversion,
      baseline,
      baselineKind: baseline === null ? null : hasTarget ? 'target' : 'trailing',
      medianDays,
      thresholdDays: threshold,
      sample: flow.entered.current,
      suggestions,
      score,
    });
  }
  const rank: Record<BottleneckKind, number> = { conversion_and_dwell: 0, low_conversion: 1, long_dwell: 2 };
  return found
    .sort((a, b) => rank[a.kind] - rank[b.kind] || b.score - a.score)
    .map(({ score: _score, ...b }) => b);
}

// ───────────────────────────── periods ─────────────────────────────

export type PeriodKind =
  'rolling' | 'this_month' | 'this_quarter' | 'this_year' | 'last_month' | 'last_quarter' | 'last_year';

export interface ResolvedPeriod extends PeriodWindows {
  kind: PeriodKind;
  /** Length in days of a rolling window. */
  days?: number;
}

export const DEFAULT_PERIOD_DAYS = 30;

const CALENDAR: Record<string, PeriodKind> = {
  'this month': 'this_month',
  mtd: 'this_month',
  本月: 'this_month',
  这个月: 'this_month',
  'this quarter': 'this_quarter',
  qtd: 'this_quarter',
  本季度: 'this_quarter',
  这个季度: 'this_quarter',
  本季: 'this_quarter',
  'this year': 'this_year',
  ytd: 'this_year',
  今年: 'this_year',
  本年: 'this_year',
  'last month': 'last_month',
  上月: 'last_month',
  上个月: 'last_month',
  'last quarter': 'last_quarter',
  上季度: 'last_quarter',
  上个季度: 'last_quarter',
  'last year': 'last_year',
  去年: 'last_year',
};

/** Builds the windows for a current period: previous as given, trailing = TRAILING_PERIODS lengths before `from`. */
export function windowsFor(current: Period, previous?: Period): PeriodWindows {
  const len = current.to.getTime() - current.from.getTime();
  return {
    current,
    previous: previous ?? { from: new Date(current.from.getTime() - len), to: current.from },
    trailing: {
      from: new Date(current.from.getTime() - Math.max(TRAILING_PERIODS * len, MIN_TRAILING_DAYS * DAY_MS)),
      to: current.from,
    },
  };
}

/**
 * Resolves what a manager typed after `/pipeline`: nothing (last 30 days), a rolling window
 * (`last 90d`, `90d`, `past 2 weeks`, `最近90天`, `近3个月`) or a calendar period (`this month`,
 * `this quarter`, `this year`, `last month`, `last quarter`, `last year`, `本月`, `本季度`, `今年`,
 * `上个月`, `上季度`, `去年`) in the workspace time zone. The previous period of a rolling window is
 * the same length before it; of a calendar period to date, the same elapsed span of the previous
 * unit; of a full last unit, the unit before. Field 'period', reason 'period_format'.
 */
export function resolvePeriod(
  input: string | undefined,
  now: Date,
  timeZone: string,
): Result<ResolvedPeriod> {
  const s = (input ?? '').normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
  if (s === '') return ok(rolling(DEFAULT_PERIOD_DAYS, now));
  const kind = CALENDAR[s];
  if (kind) return ok(calendar(kind, now, timeZone));
  const rest = s.replace(/^(?:the )?(?:last|past|previous)\s*|^(?:最近|近|过去)\s*/u, '');
  const d = parseDuration(rest);
  if (!d.ok) return invalid('period', input, 'period_format');
  return ok(rolling(d.value.days, now));
}

function rolling(days: number, now: Date): ResolvedPeriod {
  const current = { from: new Date(now.getTime() - days * DAY_MS), to: now };
  return { kind: 'rolling', days, ...windowsFor(current) };
}

function calendar(kind: PeriodKind, now: Date, timeZone: string): ResolvedPeriod {
  const unit = kind.endsWith('month') ? 'month' : kind.endsWith('quarter') ? 'quarter' : 'year';
  const local = DateTime.fromJSDate(now, { zone: timeZone });
  const start = local.startOf(unit);
  const step = { [`${unit}s`]: 1 };
  if (kind.startsWith('this')) {
    const prevStart = start.minus(step);
    const elapsed = now.getTime() - start.toMillis();
    const prevEnd = Math.min(prevStart.toMillis() + elapsed, start.toMillis());
    return {
      kind,
      ...windowsFor(
        { from: start.toJSDate(), to: now },
        { from: prevStart.toJSDate(), to: new Date(prevEnd) },
      ),
    };
  }
  const from = start.minus(step);
  return {
    kind,
    ...windowsFor(
      { from: from.toJSDate(), to: start.toJSDate() },
      { from: from.minus(step).toJSDate(), to: from.toJSDate() },
    ),
  };
}
