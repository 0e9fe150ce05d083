/**
 * Rules: managers' "trigger → conditions → action" automations. Event triggers
 * (moved to, won, lost) run from the EventBus; time triggers (stage longer
 * than, next step overdue) run from the stall scan. Every firing is claimed
 * under a unique (workspaceId, ruleId, key) index first, so it acts once.
 */
import { createHmac } from 'node:crypto';
import { isQuietTime } from '../domain/alerts.js';
import { hasScanRules, matchRules, type RuleMatch, type RuleSignal } from '../domain/rules.js';
import type { Rule, RuleAction } from '../domain/settings.js';
import type { Deal } from '../domain/types.js';
import { ruleNotifyMessage, ruleText, taskReminderMessage } from '../presenters/alerts.js';
import { plain } from '../presenters/rich.js';
import { isDuplicateKey, readyJobsModels, type WebhookDeliveryDoc } from '../store/jobs-models.js';
import type { WorkspaceRecord } from '../store/repo.js';
import { errorText, type JobEnv } from './alerts.js';
import { systemContext, type Ctx } from './context.js';
import { addNoteTo } from './deals.js';
import type { DomainEvent } from './events.js';
import type { Destination } from './notifier.js';
import { DAY_MS } from '../domain/deal.js';

/** How rule actions hand work to the scheduler (Agenda in production, a direct call in tests). */
export interface JobsPort {
  enqueueWebhook(deliveryId: string): Promise<void>;
}

export interface RuleCounts {
  fired: number;
  failed: number;
}

function signalOf(event: DomainEvent): RuleSignal | undefined {
  switch (event.type) {
    case 'deal.moved':
      return { type: 'moved', deal: event.deal, to: event.to };
    case 'deal.won':
      return { type: 'won', deal: event.deal };
    case 'deal.lost':
      return { type: 'lost', deal: event.deal };
    default:
      return undefined;
  }
}

/** Runs the rules an event triggers (moved to X, won, lost). */
export async function fireRulesForEvent(
  env: JobEnv,
  jobs: JobsPort,
  event: DomainEvent,
): Promise<RuleCounts> {
  // Spreadsheet imports replay history: a won row is not a new win to kick off.
  if (event.origin === 'import') return { fired: 0, failed: 0 };
  const signal = signalOf(event);
  if (!signal) return { fired: 0, failed: 0 };
  const workspace = await env.deps.store.getWorkspace(event.workspaceId);
  if (!workspace) return { fired: 0, failed: 0 };
  const matches = matchRules(workspace.settings.rules ?? [], signal);
  if (matches.length === 0) return { fired: 0, failed: 0 };
  const ctx = systemContext(env.deps, workspace);
  return runMatches(
    env,
    jobs,
    ctx,
    matches.map((m) => ({ ...m, deal: signal.deal })),
  );
}

/**
 * The time-based rules of one workspace: one query per "stage longer than"
 * rule and one for overdue next steps, whatever the number of deals.
 */
export async function scanRules(
  env: JobEnv,
  jobs: JobsPort,
  workspace: WorkspaceRecord,
): Promise<RuleCounts> {
  const rules = (workspace.settings.rules ?? []).filter((r) => r.enabled);
  if (!hasScanRules(rules)) return { fired: 0, failed: 0 };
  const ctx = systemContext(env.deps, workspace);
  const { now } = ctx;
  const store = env.deps.store;
  const candidates = new Map<string, Deal>();
  const page = { limit: 100_000, sort: { stageEnteredAt: 1 as const } };
  for (const r of rules) {
    if (r.trigger.type !== 'stage_longer_than') continue;
    const before = new Date(now.getTime() - r.trigger.days * DAY_MS);
    const { deals } = await store.listDeals(
      workspace.id,
      { status: 'open', stage: r.trigger.stage, stageEnteredBefore: before },
      page,
    );
    for (const d of deals) candidates.set(d.id, d);
  }
  if (rules.some((r) => r.trigger.type === 'next_step_overdue')) {
    const { deals } = await store.listDeals(workspace.id, { status: 'open', nextStepDueBefore: now }, page);
    for (const d of deals) candidates.set(d.id, d);
  }
  const matches: (RuleMatch & { deal: Deal })[] = [];
  for (const deal of candidates.values())
    for (const m of matchRules(rules, { type: 'scan', deal, now })) matches.push({ ...m, deal });
  return runMatches(env, jobs, ctx, matches);
}

async function runMatches(
  env: JobEnv,
  jobs: JobsPort,
  ctx: Ctx,
  matches: (RuleMatch & { deal: Deal })[],
): Promise<RuleCounts> {
  const counts: RuleCounts = { fired: 0, failed: 0 };
  if (matches.length === 0) return counts;
  const { RuleFiring } = await readyJobsModels(env.conn);
  for (const m of matches) {
    try {
      await RuleFiring.collection.insertOne({
        workspaceId: ctx.workspace.id,
        ruleId: m.rule.id,
        key: m.key,
        at: ctx.now,
      });
    } catch (err) {
      if (isDuplicateKey(err)) continue;
      throw err;
    }
    try {
      await runAction(env, jobs, ctx, m.rule, m.rule.action, m.deal, m.key);
      counts.fired += 1;
    } catch (err) {
      counts.failed += 1;
      env.deps.logger.warn(
        { err: errorText(err), workspaceId: ctx.workspace.id, ruleId: m.rule.id, deal: m.deal.code },
        'rule action failed',
      );
    }
  }
  return counts;
}

async function runAction(
  env: JobEnv,
  jobs: JobsPort,
  ctx: Ctx,
  rule: Rule,
  action: RuleAction,
  deal: Deal,
  key: string,
): Promise<void> {
  const ws = ctx.workspace;
  const s = ws.settings;
  switch (action.type) {
    case 'notify': {
      const notifier = env.notifiers.for(ws);
      if (!notifier) return;
      const message = ruleNotifyMessage(rule, action.template, deal, s, ctx.locale, ctx.now);
      const to: Destination[] =
        action.target === 'owner'
          ? [{ user: deal.ownerId }]
          : action.target === 'managers'
            ? (await env.deps.store.listMembers(ws.id, ['manager', 'admin'])).map((m) => ({ user: m.userId }))
            : action.channel || s.alertChannel
              ? [{ channel: (action.channel || s.alertChannel)! }]
              : [];
      for (const d of to) await notifier.post(ws, d, message);
      return;
    }
    case 'task': {
      const assignees =
        action.assignee === 'owner'
          ? [deal.ownerId]
          : (await env.deps.store.listMembers(ws.id, ['manager', 'admin'])).map((m) => m.userId);
      const text = plain(ruleText(action.text, deal, s, ctx.locale, ctx.now, rule), (id) => `@${id}`);
      const days = Math.max(0, Math.round(action.dueInDays));
      for (const assigneeId of assignees)
        await addNoteTo(ctx, deal, {
          text,
          origin: 'rule',
          due: days === 0 ? 'today' : `+${days}d`,
          assigneeId,
          sourceKey: `rule:${rule.id}:${key}:${assigneeId}`,
        });
      return;
    }
    case 'webhook': {
      const { WebhookDelivery } = await readyJobsModels(env.conn);
      const id = `${ws.id}:${rule.id}:${key}`;
      const body = JSON.stringify({
        id,
        rule: { id: rule.id, name: rule.name, trigger: rule.trigger.type },
        workspace: ws.id,
        at: ctx.now.toISOString(),
        deal: {
          id: deal.id,
          code: deal.code,
          name: deal.name,
          company: deal.company,
          amount: deal.amount,
          currency: deal.currency,
          stage: deal.stage,
          status: deal.status,
          ownerId: deal.ownerId,
          source: deal.source,
          nextStep: deal.nextStep
            ? { text: deal.nextStep.text, dueAt: deal.nextStep.dueAt?.toISOString() ?? null }
            : null,
        },
      });
      await WebhookDelivery.updateOne(
        { _id: id },
        {
          $setOnInsert: {
            workspaceId: ws.id,
            ruleId: rule.id,
            url: action.url,
            body,
            status: 'pending',
            attempts: 0,
            lastStatus: null,
            lastError: null,
            createdAt: ctx.now,
            updatedAt: ctx.now,
          },
        },
        { upsert: true },
      );
      await jobs.enqueueWebhook(id);
      return;
    }
  }
}

export const SIGNATURE_HEADER = 'X-DealPulse-Signature';

/** `sha256=<hex HMAC-SHA256 of the raw body with the rule's secret>`, as receivers verify it. */
export const signBody = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'skipped';

/**
 * Makes one attempt at a webhook delivery. Throws on failure while retries
 * remain (the scheduler retries with backoff); on the last failure records the
 * error on the rule, where settings show it.
 */
export async function deliverWebhook(
  env: JobEnv,
  deliveryId: string,
  opts: { final: boolean; timeoutMs?: number },
): Promise<DeliveryOutcome> {
  const { WebhookDelivery } = await readyJobsModels(env.conn);
  const d = await WebhookDelivery.findOne({ _id: deliveryId }).lean<WebhookDeliveryDoc>();
  if (!d || d.status !== 'pending') return 'skipped';
  const workspace = await env.deps.store.getWorkspace(d.workspaceId);
  const rule = workspace?.settings.rules?.find((r) => r.id === d.ruleId);
  const now = env.deps.now();
  if (!workspace || !rule || rule.action.type !== 'webhook') {
    await WebhookDelivery.updateOne(
      { _id: deliveryId },
      { $set: { status: 'failed', lastError: 'rule removed', updatedAt: now } },
    );
    return 'skipped';
  }
  let status: number | null = null;
  let problem: string | undefined;
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'DealPulse-Webhook/1',
        [SIGNATURE_HEADER]: signBody(rule.action.secret, d.body),
        'X-DealPulse-Delivery': deliveryId,
      },
      body: d.body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    status = res.status;
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) problem = `HTTP ${res.status}`;
  } catch (err) {
    problem = errorText(err);
  }
  if (!problem) {
    await WebhookDelivery.updateOne(
      { _id: deliveryId },
      {
        $set: { status: 'delivered', lastStatus: status, lastError: null, updatedAt: now },
        $inc: { attempts: 1 },
      },
    );
    if (rule.lastError) await setRuleError(env, workspace.id, rule.id, undefined);
    return 'delivered';
  }
  await WebhookDelivery.updateOne(
    { _id: deliveryId },
    {
      $set: {
        lastStatus: status,
        lastError: problem,
        updatedAt: now,
        ...(opts.final ? { status: 'failed' } : {}),
      },
      $inc: { attempts: 1 },
    },
  );
  if (!opts.final) throw new Error(`webhook ${deliveryId}: ${problem}`);
  await setRuleError(env, workspace.id, rule.id, { at: now, message: problem });
  return 'failed';
}

/** Records (or clears) a rule's last delivery error in the settings, retrying on concurrent edits. */
async function setRuleError(
  env: JobEnv,
  workspaceId: string,
  ruleId: string,
  lastError: Rule['lastError'],
): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    const ws = await env.deps.store.getWorkspace(workspaceId);
    if (!ws?.settings.rules?.some((r) => r.id === ruleId)) return;
    const rules = ws.settings.rules.map((r) => (r.id === ruleId ? { ...r, lastError } : r));
    if (await env.deps.store.saveSettings(workspaceId, { ...ws.settings, rules }, ws.settingsVersion)) return;
  }
}

/** Recent webhook deliveries of a workspace's rules, newest first (for settings). */
export async function webhookDeliveries(
  env: JobEnv,
  workspaceId: string,
  limit = 20,
): Promise<WebhookDeliveryDoc[]> {
  return (await readyJobsModels(env.conn)).WebhookDelivery.find({ workspaceId })
    .sort({ createdAt: -1 })
    .limit(limit)
    .lean<WebhookDeliveryDoc[]>();
}

/** DMs assignees whose follow-up tasks are due (outside quiet hours). Each task is reminded once. */
export async function remindDueTasks(env: JobEnv, workspace: WorkspaceRecord): Promise<number> {
  const ctx = systemContext(env.deps, workspace);
  const s = workspace.settings;
  if (isQuietTime(ctx.now, s.quietHours, s.timezone)) return 0;
  const notifier = env.notifiers.for(workspace);
  if (!notifier) return 0;
  const Note = env.deps.store.models.Note;
  const due = await Note.find(
    {
      workspaceId: workspace.id,
      dueAt: { $lte: ctx.now },
      assigneeId: { $type: 'string' },
      remindedAt: { $exists: false },
    },
    { dealId: 1, text: 1, dueAt: 1, assigneeId: 1 },
  )
    .sort({ dueAt: 1 })
    .limit(200)
    .lean();
  if (due.length === 0) return 0;
  const { deals } = await env.deps.store.listDeals(
    workspace.id,
    { ids: [...new Set(due.map((n) => n.dealId))] },
    { limit: due.length },
  );
  const byId = new Map(deals.map((d) => [d.id, d]));
  let n = 0;
  for (const note of due) {
    const deal = byId.get(note.dealId);
    const claimed = await Note.updateOne(
      { _id: note._id, workspaceId: workspace.id, remindedAt: { $exists: false } },
      { $set: { remindedAt: ctx.now } },
    );
    if (claimed.modifiedCount !== 1 || !deal || !note.assigneeId || !note.dueAt) continue;
    try {
      await notifier.post(
        workspace,
        { user: note.assigneeId },
        taskReminderMessage(deal, note.text, note.dueAt, note.assigneeId, s, ctx.locale),
      );
      n += 1;
    } catch (err) {
      await Note.updateOne({ _id: note._id, workspaceId: workspace.id }, { $unset: { remindedAt: '' } });
      env.deps.logger.warn(
        { err: errorText(err), workspaceId: workspace.id, deal: deal.code },
        'task reminder failed',
      );
    }
  }
  return n;
}
