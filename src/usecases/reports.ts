/**
 * Report use cases behind `/pipeline`, `/pipeline forecast`, `/pipeline stalled`
 * and the weekly digest. Two database round trips per pipeline report whatever
 * the number of deals (see store/analytics.ts).
 *
 * Who sees what: managers and admins see everything and may filter by any rep.
 * Reps see the team summary too (the method runs the pipeline review in the open,
 * and the numbers carry no deal details beyond the stalled list every channel
 * member already sees in alerts), may filter by themselves, but get Forbidden
 * for another rep's filter, and their report carries no per-rep table.
 */
import type { Result } from '../domain/errors.js';
import {
  computeKpis,
  diagnoseBottlenecks,
  resolvePeriod,
  type Bottleneck,
  type PipelineKpis,
  type ResolvedPeriod,
} from '../domain/metrics.js';
import { parseSource } from '../domain/parse.js';
import type { Deal, Locale, LostReasonDef, StageDef } from '../domain/types.js';
import { loadPipelineStats } from '../store/analytics.js';
import { abort, isManager, run, type Ctx } from './context.js';
import { listDeals } from './deals.js';

export interface PipelineReportInput {
  /** As typed: `last 90d`, `30d`, `this quarter`, `本月` … Default: the last 30 days. */
  period?: string | undefined;
  /** A user id, or a mention token `<@U123>` / `<@U123|name>` / `@U123`. */
  owner?: string | undefined;
  /** A source key or alias (`event`, `展会` …). */
  source?: string | undefined;
}

export interface PipelineReport {
  kpis: PipelineKpis;
  /** Strongest first; empty when nothing is clearly stuck. */
  bottlenecks: Bottleneck[];
  period: ResolvedPeriod;
  filter: { ownerId?: string | undefined; source?: string | undefined };
  stages: StageDef[];
  lostReasons: LostReasonDef[];
  locale: Locale;
  timeZone: string;
  currency: string;
  /** Whether the per-rep table may be shown to this actor. */
  showReps: boolean;
  generatedAt: Date;
  /** Database commands used (constant). */
  roundTrips: number;
}

export interface StalledReport {
  deals: Deal[];
  total: number;
  stages: StageDef[];
  locale: Locale;
  timeZone: string;
  now: Date;
}

/** Mention forms adapters produce, or a bare id. */
function ownerIdFrom(input: string): string {
  const s = input.trim();
  const m = /^<@([^>|]+)(?:\|[^>]*)?>$/.exec(s) ?? /^@(\S+)$/.exec(s);
  return m?.[1] ?? s;
}

/** Conversion targets a manager may set per stage (settings field `conversionTargets`, 0..1). */
function targetsOf(ctx: Ctx): Record<string, number> | undefined {
  return ctx.workspace.settings.conversionTargets;
}

/** KPIs, comparison with the previous period and bottlenecks for the workspace (optionally one rep or source). */
export function pipelineReport(ctx: Ctx, input: PipelineReportInput = {}): Promise<Result<PipelineReport>> {
  return run(async () => {
    const s = ctx.workspace.settings;
    const period = resolvePeriod(input.period, ctx.now, s.timezone);
    if (!period.ok) abort(period.error);
    const filter: PipelineReport['filter'] = {};
    if (input.owner !== undefined && input.owner.trim() !== '') {
      const ownerId = ownerIdFrom(input.owner);
      if (ownerId !== ctx.actor.userId && !isManager(ctx.actor.role))
        abort({ kind: 'Forbidden', action: 'report_other_owner' });
      const member = await ctx.deps.store.getMember(ctx.workspace.id, ownerId);
      if (!member) abort({ kind: 'NotFound', entity: 'user', ref: ownerId });
      filter.ownerId = member.userId;
    }
    if (input.source !== undefined && input.source.trim() !== '') {
      const src = parseSource(input.source);
      if (!src.ok) abort(src.error);
      filter.source = src.value;
    }
    const { rows, roundTrips } = await loadPipelineStats(
      ctx.deps.store.models,
      ctx.workspace.id,
      period.value,
      filter,
      {
        stages: s.stages,
        currency: s.currency,
        timeZone: s.timezone,
        now: ctx.now,
      },
    );
    const kpis = computeKpis(rows, s.stages, period.value, s.currency);
    return {
      kpis,
      bottlenecks: diagnoseBottlenecks(kpis, s.stages, { targets: targetsOf(ctx) }),
      period: period.value,
      filter,
      stages: s.stages,
      lostReasons: s.lostReasons,
      locale: ctx.locale,
      timeZone: s.timezone,
      currency: s.currency,
      showReps: isManager(ctx.actor.role),
      generatedAt: ctx.now,
      roundTrips,
    };
  });
}

/** The forecast is part of every pipeline report; this is the same report, named for `/pipeline forecast`. */
export function forecastReport(ctx: Ctx, input: PipelineReportInput = {}): Promise<Result<PipelineReport>> {
  return pipelineReport(ctx, input);
}

/** Open deals past their stage threshold (not snoozed), oldest first. */
export function stalledReport(ctx: Ctx, opts: { limit?: number } = {}): Promise<Result<StalledReport>> {
  return run(async () => {
    const page = await listDeals(ctx, { kind: 'stalled' }, 0, opts.limit ?? 10);
    if (!page.ok) abort(page.error);
    const s = ctx.workspace.settings;
    return {
      deals: page.value.deals,
      total: page.value.total,
      stages: s.stages,
      locale: ctx.locale,
      timeZone: s.timezone,
      now: ctx.now,
    };
  });
}
