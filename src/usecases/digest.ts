/**
 * The pipeline-review digest: one parent message per workspace and period in
 * the review channel, with a thread under it for the discussion. A period is
 * claimed under a unique (workspaceId, periodKey) index before posting, so
 * several instances (and a catch-up after downtime) send it once.
 */
import { CronExpressionParser } from 'cron-parser';
import { byValue } from '../domain/alerts.js';
import { DAY_MS, isStalled } from '../domain/deal.js';
import { formatDate } from '../i18n/format.js';
import { digestFallbackMessage, digestThreadMessage } from '../presenters/alerts.js';
import { digestMessage } from '../presenters/report.js';
import { pipelineReport } from './reports.js';
import type { RichMessage } from '../presenters/rich.js';
import { isDuplicateKey, readyJobsModels } from '../store/jobs-models.js';
import type { WorkspaceRecord } from '../store/repo.js';
import { errorText, type JobEnv } from './alerts.js';
import { systemContext, type Ctx } from './context.js';
import type { MessageRef } from './notifier.js';

export interface DigestPeriod {
  /** Stable id of the period: the scheduled instant in UTC ISO form. */
  key: string;
  /** The scheduled instant. */
  at: Date;
  /** The previous scheduled instant (start of the period under review). */
  previous: Date;
  label: string;
}

/** Builds the digest's parent message; the analytics presenter plugs in here. */
export interface DigestTools {
  /** A link to the deal's stall-alert thread, when it has one and the platform links messages. */
  alertThreadLink(dealId: string): Promise<string | undefined>;
}

export type DigestBuilder = (ctx: Ctx, period: DigestPeriod, tools?: DigestTools) => Promise<RichMessage>;

/** Tolerance for instances whose clocks run slightly behind the one that scheduled the run. */
const EARLY_GRACE_MS = 60_000;

export const reviewSchedule = (env: JobEnv, ws: WorkspaceRecord): string =>
  ws.settings.reviewSchedule?.trim() || env.deps.defaults.reviewSchedule;

/** The period a run at `now` reports on: the latest scheduled instant at or before `now`. */
export function digestPeriod(
  schedule: string,
  timeZone: string,
  now: Date,
  locale: Ctx['locale'] = 'en',
): DigestPeriod {
  const it = CronExpressionParser.parse(schedule, {
    tz: timeZone,
    currentDate: new Date(now.getTime() + EARLY_GRACE_MS),
  });
  const at = it.prev().toDate();
  const previous = it.prev().toDate();
  return { key: at.toISOString(), at, previous, label: formatDate(at, locale, timeZone) };
}

/** The next scheduled instant after `now` (for settings and tests). */
export function nextDigestAt(schedule: string, timeZone: string, now: Date): Date {
  return CronExpressionParser.parse(schedule, { tz: timeZone, currentDate: now }).next().toDate();
}

/**
 * The review digest: the analytics report over the length of one review period
 * (the time between two scheduled reviews), presented with the funnel image, KPIs against the
 * previous period, bottlenecks, top stalled deals and the per-rep table.
 */
export const reportDigest: DigestBuilder = async (ctx, period, tools) => {
  const days = Math.max(1, Math.round((period.at.getTime() - period.previous.getTime()) / DAY_MS));
  // The period's length comes from the schedule; stalled deals and open values are as of now.
  const report = await pipelineReport(ctx, { period: `${days}d` });
  if (!report.ok) throw new Error(`digest report failed: ${JSON.stringify(report.error)}`);
  const links = new Map<string, string>();
  if (tools)
    for (const d of report.value.kpis.stalledDeals) {
      const url = await tools.alertThreadLink(d.id).catch(() => undefined);
      if (url) links.set(d.id, url);
    }
  return digestMessage(report.value, undefined, { links });
};

/** A digest from the store alone: KPIs, the top stalled deals by value and a per-rep table. */
export const fallbackDigest: DigestBuilder = async (ctx, period) => {
  const s = ctx.workspace.settings;
  const { deals } = await ctx.deps.store.listDeals(ctx.workspace.id, { status: 'open' }, { limit: 100_000 });
  const stalled = deals.filter((d) => isStalled(d, s.stages, ctx.now)).sort(byValue);
  const inCurrency = (d: { amount: number | null; currency: string }) =>
    d.currency === s.currency ? (d.amount ?? 0) : 0;
  const reps = new Map<string, { userId: string; open: number; value: number; stalled: number }>();
  for (const d of deals) {
    const r = reps.get(d.ownerId) ?? { userId: d.ownerId, open: 0, value: 0, stalled: 0 };
    r.open += 1;
    r.value += inCurrency(d);
    reps.set(d.ownerId, r);
  }
  for (const d of stalled) reps.get(d.ownerId)!.stalled += 1;
  return digestFallbackMessage(
    {
      period: period.label,
      currency: s.currency,
      open: deals.length,
      value: deals.reduce((sum, d) => sum + inCurrency(d), 0),
      stalled,
      reps: [...reps.values()].sort((a, b) => b.value - a.value || a.userId.localeCompare(b.userId)),
    },
    s,
    ctx.locale,
    ctx.now,
  );
};

export type DigestResult =
  | { posted: true; ref: MessageRef; periodKey: string }
  | {
      posted: false;
      reason: 'already_sent' | 'no_channel' | 'no_notifier' | 'post_failed';
      periodKey: string;
    };

/**
 * Posts the digest of the period that `now` falls in, unless some instance
 * already did. `onDemand` (`/pipeline review`) posts without claiming a period.
 */
export async function postDigest(
  env: JobEnv,
  workspace: WorkspaceRecord,
  opts: { build?: DigestBuilder; onDemand?: boolean } = {},
): Promise<DigestResult> {
  const ctx = systemContext(env.deps, workspace);
  const s = workspace.settings;
  const period = digestPeriod(reviewSchedule(env, workspace), s.timezone, ctx.now, ctx.locale);
  const periodKey = opts.onDemand ? `manual:${ctx.now.toISOString()}` : period.key;
  const notifier = env.notifiers.for(workspace);
  if (!notifier) return { posted: false, reason: 'no_notifier', periodKey };
  const channel = s.reviewChannel || s.alertChannel;
  if (!channel) return { posted: false, reason: 'no_channel', periodKey };
  const { Digest } = await readyJobsModels(env.conn);
  if (!opts.onDemand) {
    try {
      await Digest.collection.insertOne({
        workspaceId: workspace.id,
        periodKey,
        claimedAt: ctx.now,
        postedAt: null,
      });
    } catch (err) {
      if (isDuplicateKey(err)) return { posted: false, reason: 'already_sent', periodKey };
      throw err;
    }
  }
  let ref: MessageRef;
  try {
    const tools: DigestTools = {
      alertThreadLink: async (dealId) => {
        const ref = await env.deps.store.latestThread(workspace.id, dealId, 'alert');
        return ref && notifier.permalink ? notifier.permalink(workspace, ref) : undefined;
      },
    };
    const message = await (opts.build ?? reportDigest)(ctx, period, tools);
    ref = await notifier.post(workspace, { channel }, message);
  } catch (err) {
    // Release the claim so the retry (Agenda backoff) or the next instance can send it.
    if (!opts.onDemand) await Digest.deleteOne({ workspaceId: workspace.id, periodKey });
    env.deps.logger.warn({ err: errorText(err), workspaceId: workspace.id, periodKey }, 'digest post failed');
    throw err;
  }
  if (!opts.onDemand)
    await Digest.updateOne({ workspaceId: workspace.id, periodKey }, { $set: { ref, postedAt: ctx.now } });
  try {
    await notifier.reply(workspace, ref, digestThreadMessage(ctx.locale));
  } catch (err) {
    env.deps.logger.warn(
      { err: errorText(err), workspaceId: workspace.id, periodKey },
      'digest thread reply failed',
    );
  }
  return { posted: true, ref, periodKey };
}
