/**
 * Stall alerts over the use cases and the notifier port: the scan of one
 * workspace (claim, then post), escalation, and resolution replies when a deal
 * moves, closes or is snoozed. The clock is the context's.
 *
 * Multi-instance safety: every alert is claimed by inserting its record under a
 * unique (workspaceId, dealId, episode) index before anything is posted; only
 * the instance whose insert succeeds posts. Escalation and resolution are
 * claimed with conditional updates.
 */
import type { Connection } from 'mongoose';
import { planScan, stallEpisode, targetKey, type AlertState, type AlertTarget } from '../domain/alerts.js';
import type { Deal } from '../domain/types.js';
import {
  alertMessage,
  escalationReply,
  overflowMessage,
  resolutionReply,
  resolvedAlertMessage,
  type Resolution,
} from '../presenters/alerts.js';
import type { RichMessage } from '../presenters/rich.js';
import { readyJobsModels, type AlertDoc } from '../store/jobs-models.js';
import type { WorkspaceRecord } from '../store/repo.js';
import { systemContext, type AppDeps, type Ctx } from './context.js';
import { rememberThread, stalledCutoffs } from './deals.js';
import type { DomainEvent } from './events.js';
import type { MessageRef, Notifier, NotifierRegistry } from './notifier.js';

/** What the scheduler's use cases need from the running app (a Core satisfies it). */
export interface JobEnv {
  deps: AppDeps;
  conn: Connection;
  notifiers: NotifierRegistry;
}

export interface ScanCounts {
  stalled: number;
  alerted: number;
  summarised: number;
  escalated: number;
  failed: number;
  quiet: boolean;
}

const MAX_SCAN_DEALS = 100_000;

/** Runs `post` and turns a failure into undefined (logged): one bad post never fails the batch. */
async function attempt<T>(
  deps: AppDeps,
  what: Record<string, unknown>,
  post: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await post();
  } catch (err) {
    deps.logger.warn({ err: errorText(err), ...what }, 'notifier call failed');
    return undefined;
  }
}

export const errorText = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** Which deals have unresolved alert threads, with their record, for the current episodes of `deals`. */
async function currentAlerts(
  env: JobEnv,
  workspaceId: string,
  deals: readonly Deal[],
): Promise<Map<string, AlertState>> {
  const { Alert } = await readyJobsModels(env.conn);
  const out = new Map<string, AlertState>();
  if (deals.length === 0) return out;
  // Unresolved records of the workspace (resolved ones belong to past episodes): no per-deal filter,
  // so the query stays one cheap index scan however many deals are stalled.
  const docs = await Alert.find(
    { workspaceId, resolvedAt: null },
    { dealId: 1, episode: 1, ref: 1, escalatedAt: 1, resolvedAt: 1 },
  ).lean<AlertDoc[]>();
  const episodes = new Map(deals.map((d) => [d.id, stallEpisode(d)]));
  for (const d of docs) {
    if (episodes.get(d.dealId) !== d.episode) continue;
    out.set(d.dealId, {
      dealId: d.dealId,
      episode: d.episode,
      posted: Boolean(d.ref?.id),
      escalatedAt: d.escalatedAt,
      resolvedAt: d.resolvedAt,
    });
  }
  return out;
}

/**
 * Inserts claims; returns the deal ids this instance won. One round trip; a
 * duplicate key means another instance (or an earlier scan) already has it.
 */
async function claim(env: JobEnv, docs: AlertDoc[]): Promise<Set<string>> {
  const won = new Set<string>();
  if (docs.length === 0) return won;
  const { Alert } = await readyJobsModels(env.conn);
  const failed = new Set<number>();
  try {
    await Alert.collection.insertMany(docs, { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : undefined;
    if (!list) throw err;
    for (const e of list as { index: number; code?: number; err?: { code?: number } }[]) {
      const code = e.code ?? e.err?.code;
      if (code !== 11000) throw err;
      failed.add(e.index);
    }
  }
  docs.forEach((d, i) => {
    if (!failed.has(i)) won.add(d.dealId);
  });
  return won;
}

const destination = (target: AlertTarget) =>
  'channel' in target ? { channel: target.channel } : { user: target.user };

/** Scans one workspace: posts new alerts (capped, value first), the overflow summary and escalations. */
export async function scanWorkspace(env: JobEnv, workspace: WorkspaceRecord): Promise<ScanCounts> {
  const ctx = systemContext(env.deps, workspace);
  const counts: ScanCounts = { stalled: 0, alerted: 0, summarised: 0, escalated: 0, failed: 0, quiet: false };
  const notifier = env.notifiers.for(workspace);
  if (!notifier) return counts;
  const { now } = ctx;
  const s = workspace.settings;
  const { deals } = await env.deps.store.listDeals(
    workspace.id,
    { status: 'open', stalled: { now, stages: stalledCutoffs(s.stages, now) } },
    { limit: MAX_SCAN_DEALS, sort: { stageEnteredAt: 1 } },
  );
  counts.stalled = deals.length;
  if (deals.length === 0) return counts;
  const alerts = await currentAlerts(env, workspace.id, deals);
  const plan = planScan({ now, settings: s, candidates: deals, alerts });
  if (plan.quiet) {
    counts.quiet = true;
    return counts;
  }
  const claims: AlertDoc[] = [];
  for (const g of plan.groups) {
    const target = targetKey(g.target);
    const base = {
      workspaceId: workspace.id,
      target,
      claimedAt: now,
      postedAt: null,
      escalatedAt: null,
      resolvedAt: null,
    };
    for (const d of g.alert)
      claims.push({ ...base, dealId: d.id, episode: stallEpisode(d), summarised: false });
    for (const d of g.summarise)
      claims.push({ ...base, dealId: d.id, episode: stallEpisode(d), summarised: true });
  }
  const won = await claim(env, claims);
  const { Alert } = await readyJobsModels(env.conn);
  const posted: { dealId: string; episode: string; ref: MessageRef }[] = [];
  const released: { dealId: string; episode: string }[] = [];
  for (const g of plan.groups) {
    const to = destination(g.target);
    for (const deal of g.alert.filter((d) => won.has(d.id))) {
      const ref = await attempt(
        env.deps,
        { job: 'stall-scan', workspaceId: workspace.id, deal: deal.code },
        () => notifier.post(workspace, to, alertMessage(deal, s, ctx.locale, now)),
      );
      if (!ref) {
        counts.failed += 1;
        released.push({ dealId: deal.id, episode: stallEpisode(deal) });
        continue;
      }
      counts.alerted += 1;
      posted.push({ dealId: deal.id, episode: stallEpisode(deal), ref });
      await rememberThread(ctx, ref, deal.id, 'alert');
    }
    const rest = g.summarise.filter((d) => won.has(d.id));
    if (rest.length > 0) {
      const ref = await attempt(
        env.deps,
        { job: 'stall-scan', workspaceId: workspace.id, overflow: rest.length },
        () => notifier.post(workspace, to, overflowMessage(rest, s, ctx.locale, now, s.alertCap)),
      );
      if (ref) counts.summarised += rest.length;
      else {
        counts.failed += 1;
        for (const d of rest) released.push({ dealId: d.id, episode: stallEpisode(d) });
      }
    }
  }
  // One round trip records every posted ref; failed claims are released so the next scan retries them.
  const ops = [
    ...posted.map((p) => ({
      updateOne: {
        filter: { workspaceId: workspace.id, dealId: p.dealId, episode: p.episode },
        update: { $set: { ref: p.ref, postedAt: now } },
      },
    })),
    ...released.map((r) => ({
      deleteOne: { filter: { workspaceId: workspace.id, dealId: r.dealId, episode: r.episode } },
    })),
  ];
  if (ops.length) await Alert.bulkWrite(ops, { ordered: false });
  if (plan.escalate.length) counts.escalated = await escalate(env, ctx, notifier, plan.escalate);
  return counts;
}

async function escalate(env: JobEnv, ctx: Ctx, notifier: Notifier, deals: Deal[]): Promise<number> {
  const { Alert } = await readyJobsModels(env.conn);
  const managers = (await env.deps.store.listMembers(ctx.workspace.id, ['manager', 'admin'])).map(
    (m) => m.userId,
  );
  if (managers.length === 0) return 0;
  let n = 0;
  for (const deal of deals) {
    const filter = { workspaceId: ctx.workspace.id, dealId: deal.id, episode: stallEpisode(deal) };
    const doc = await Alert.findOneAndUpdate(
      { ...filter, escalatedAt: null, resolvedAt: null, 'ref.id': { $type: 'string' } },
      { $set: { escalatedAt: ctx.now } },
      { returnDocument: 'after', lean: true },
    );
    if (!doc?.ref) continue;
    const ref = await attempt(
      env.deps,
      { job: 'stall-scan', workspaceId: ctx.workspace.id, escalate: deal.code },
      () =>
        notifier.reply(
          ctx.workspace,
          doc.ref!,
          escalationReply(deal, ctx.workspace.settings, ctx.locale, managers, ctx.now),
        ),
    );
    if (ref) n += 1;
    else await Alert.updateOne(filter, { $set: { escalatedAt: null } });
  }
  return n;
}

const RESOLVING: Partial<Record<DomainEvent['type'], Resolution>> = {
  'deal.moved': 'moved',
  'deal.won': 'won',
  'deal.lost': 'lost',
  'deal.snoozed': 'snoozed',
};

/**
 * When a deal with open alerts advances, wins, loses or is snoozed: replies in
 * each alert thread and updates the alert ("Moved to Proposal by @x").
 * Returns how many alerts were resolved.
 */
export async function resolveAlerts(env: JobEnv, event: DomainEvent): Promise<number> {
  const resolution = RESOLVING[event.type];
  if (!resolution || !('deal' in event)) return 0;
  const { Alert } = await readyJobsModels(env.conn);
  const open = await Alert.find({
    workspaceId: event.workspaceId,
    dealId: event.deal.id,
    resolvedAt: null,
  }).lean<AlertDoc[]>();
  if (open.length === 0) return 0;
  const workspace = await env.deps.store.getWorkspace(event.workspaceId);
  if (!workspace) return 0;
  const ctx = systemContext(env.deps, workspace);
  const notifier = env.notifiers.for(workspace);
  let n = 0;
  for (const a of open) {
    const claimed = await Alert.updateOne(
      { workspaceId: a.workspaceId, dealId: a.dealId, episode: a.episode, resolvedAt: null },
      { $set: { resolvedAt: ctx.now, resolution } },
    );
    if (claimed.modifiedCount !== 1 || !a.ref?.id || !notifier) continue;
    const ref = a.ref;
    const s = workspace.settings;
    const reply: RichMessage = resolutionReply(event.deal, s, ctx.locale, resolution, event.actorId);
    const where = { job: 'resolve', workspaceId: workspace.id, deal: event.deal.code };
    await attempt(env.deps, where, () => notifier.reply(workspace, ref, reply));
    await attempt(env.deps, where, () =>
      notifier.update(
        workspace,
        ref,
        resolvedAlertMessage(event.deal, s, ctx.locale, resolution, event.actorId, ctx.now),
      ),
    );
    n += 1;
  }
  return n;
}
