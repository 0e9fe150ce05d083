/** Workspace settings and roles: managers change settings, admins grant admin. */
import { DateTime } from 'luxon';
import { CronExpressionParser } from 'cron-parser';
import { checkPipeline } from '../domain/pipeline.js';
import type { Rule, WorkspaceSettings } from '../domain/settings.js';
import { LOCALES, ROLES, type Member, type Role } from '../domain/types.js';
import type { WorkspaceRecord } from '../store/repo.js';
import { abort, isManager, run, type Ctx } from './context.js';
import type { Result } from '../domain/errors.js';

export function getSettings(ctx: Ctx): Promise<Result<WorkspaceRecord>> {
  return run(async () => {
    const ws = await ctx.deps.store.getWorkspace(ctx.workspace.id);
    return ws ?? abort({ kind: 'NotFound', entity: 'workspace', ref: ctx.workspace.id });
  });
}

export type SettingsPatch = Partial<Omit<WorkspaceSettings, 'rules'>> & { rules?: Rule[] };

/**
 * Validates and saves a settings change. Stages that disappear from the list
 * stay as inactive so history keeps their labels; a stage with open deals cannot be removed.
 */
export function updateSettings(
  ctx: Ctx,
  patch: SettingsPatch,
  opts: { expectedVersion?: number } = {},
): Promise<Result<WorkspaceRecord>> {
  return run(async () => {
    if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'settings' });
    const current = (await ctx.deps.store.getWorkspace(ctx.workspace.id))!;
    const next: WorkspaceSettings = { ...current.settings, ...patch };
    if (patch.locale !== undefined && !LOCALES.includes(patch.locale))
      abort({ kind: 'Invalid', field: 'locale', value: String(patch.locale), reason: 'locale_unknown' });
    if (patch.timezone !== undefined && !DateTime.local().setZone(patch.timezone).isValid)
      abort({ kind: 'Invalid', field: 'timezone', value: patch.timezone, reason: 'timezone_unknown' });
    if (patch.reviewSchedule !== undefined) {
      try {
        CronExpressionParser.parse(patch.reviewSchedule, { tz: next.timezone });
        if (patch.reviewSchedule.trim().split(/\s+/).length !== 5) throw new Error('five fields');
      } catch {
        abort({ kind: 'Invalid', field: 'schedule', value: patch.reviewSchedule, reason: 'cron_format' });
      }
    }
    if (patch.currency !== undefined && !/^[A-Z]{3}$/.test(patch.currency))
      abort({ kind: 'Invalid', field: 'currency', value: patch.currency, reason: 'currency_format' });
    if (
      patch.alertCap !== undefined &&
      !(Number.isInteger(patch.alertCap) && patch.alertCap >= 1 && patch.alertCap <= 50)
    )
      abort({
        kind: 'Invalid',
        field: 'alertCap',
        value: String(patch.alertCap),
        reason: 'number_range',
        params: { min: 1, max: 50 },
      });
    if (
      patch.escalationFactor !== undefined &&
      !(patch.escalationFactor >= 1 && patch.escalationFactor <= 10)
    )
      abort({
        kind: 'Invalid',
        field: 'escalationFactor',
        value: String(patch.escalationFactor),
        reason: 'number_range',
        params: { min: 1, max: 10 },
      });
    if (patch.quietHours) {
      const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;
      if (!hhmm.test(patch.quietHours.start) || !hhmm.test(patch.quietHours.end))
        abort({
          kind: 'Invalid',
          field: 'quietHours',
          value: `${patch.quietHours.start}-${patch.quietHours.end}`,
          reason: 'time_format',
        });
    }
    if (patch.defaultRole === 'admin' && ctx.actor.role !== 'admin')
      abort({ kind: 'Forbidden', action: 'grant_admin' });
    if (patch.defaultRole !== undefined && !ROLES.includes(patch.defaultRole))
      abort({ kind: 'Invalid', field: 'role', value: String(patch.defaultRole), reason: 'role_unknown' });
    if (patch.stages) {
      const kept = new Set(patch.stages.map((s) => s.key));
      const removed = current.settings.stages.filter((s) => !kept.has(s.key));
      for (const s of removed) {
        const { total } = await ctx.deps.store.listDeals(
          ctx.workspace.id,
          { status: 'open', stage: s.key },
          { limit: 1 },
        );
        if (total > 0) abort({ kind: 'Conflict', reason: 'stage_in_use', ref: s.key });
      }
      next.stages = [...patch.stages, ...removed.map((s) => ({ ...s, active: false }))];
      const problem = checkPipeline(next.stages);
      if (problem) abort({ kind: 'Invalid', ...problem });
    }
    if (patch.rules) {
      const problem = checkRules(patch.rules, next.stages);
      if (problem) abort({ kind: 'Invalid', ...problem });
      // Delivery failures are recorded by the scheduler; a settings save never erases them.
      next.rules = patch.rules.map((r) => {
        const before = current.settings.rules.find((c) => c.id === r.id);
        return before?.lastError && !r.lastError ? { ...r, lastError: before.lastError } : r;
      });
    }
    if (patch.lostReasons && patch.lostReasons.length === 0)
      abort({ kind: 'Invalid', field: 'lostReason', reason: 'list_empty' });
    // The version the caller last saw (the form's, else the context's): a stale form never overwrites a newer save.
    const saved = await ctx.deps.store.saveSettings(
      ctx.workspace.id,
      next,
      opts.expectedVersion ?? ctx.workspace.settingsVersion,
    );
    if (!saved) abort({ kind: 'Conflict', reason: 'concurrent_update', ref: 'settings' });
    ctx.workspace = saved;
    await ctx.deps.bus.publish({
      type: 'settings.updated',
      workspaceId: saved.id,
      actorId: ctx.actor.userId,
    });
    return saved;
  });
}

/**
 * Validates rules: unique ids, known stages, positive day counts, a message
 * template, a due window for tasks, and an http(s) webhook with a real secret.
 */
export function checkRules(
  rules: readonly Rule[],
  stages: readonly { key: string; active: boolean }[],
): { field: string; reason: string; value?: string; params?: Record<string, string | number> } | undefined {
  const ids = new Set<string>();
  const stageKnown = (k: string | undefined) =>
    k === undefined || k === '' || stages.some((s) => s.key === k && s.active);
  for (const r of rules) {
    if (!r.id || ids.has(r.id)) return { field: 'rule', reason: 'rule_id', value: r.id };
    ids.add(r.id);
    const t = r.trigger;
    if ((t.type === 'stage_longer_than' || t.type === 'moved_to') && !stageKnown(t.stage))
      return { field: 'stage', reason: 'stage_unknown', value: t.stage };
    if (t.type === 'stage_longer_than' && !(Number.isInteger(t.days) && t.days >= 1 && t.days <= 365))
      return { field: 'rule', reason: 'number_range', value: String(t.days), params: { min: 1, max: 365 } };
    if (!stageKnown(r.conditions.stage))
      return { field: 'stage', reason: 'stage_unknown', value: r.conditions.stage };
    const a = r.action;
    if (a.type === 'notify' && !a.template.trim()) return { field: 'rule', reason: 'text_empty' };
    if (a.type === 'notify' && a.target === 'channel' && !a.channel?.trim())
      return { field: 'channel', reason: 'text_empty' };
    if (a.type === 'task' && !a.text.trim()) return { field: 'rule', reason: 'text_empty' };
    if (a.type === 'task' && !(Number.isInteger(a.dueInDays) && a.dueInDays >= 0 && a.dueInDays <= 365))
      return {
        field: 'rule',
        reason: 'number_range',
        value: String(a.dueInDays),
        params: { min: 0, max: 365 },
      };
    if (a.type === 'webhook') {
      let url: URL | undefined;
      try {
        url = new URL(a.url);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
        return { field: 'rule', reason: 'webhook_url', value: a.url };
      if (a.secret.length < 16) return { field: 'rule', reason: 'webhook_secret', params: { min: 16 } };
    }
  }
  return undefined;
}

/** Managers make reps and managers; only admins grant or take admin. */
export function setMemberRole(ctx: Ctx, userId: string, role: Role): Promise<Result<Member>> {
  return run(async () => {
    if (!ROLES.includes(role))
      abort({ kind: 'Invalid', field: 'role', value: String(role), reason: 'role_unknown' });
    if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'roles' });
    const target = await ctx.deps.store.getMember(ctx.workspace.id, userId);
    if (!target) abort({ kind: 'NotFound', entity: 'user', ref: userId });
    if ((role === 'admin' || target.role === 'admin') && ctx.actor.role !== 'admin')
      abort({ kind: 'Forbidden', action: 'grant_admin' });
    if (target.role === 'admin' && role !== 'admin') {
      const admins = await ctx.deps.store.listMembers(ctx.workspace.id, ['admin']);
      if (admins.length <= 1) abort({ kind: 'Conflict', reason: 'last_admin', ref: userId });
    }
    return (await ctx.deps.store.setRole(ctx.workspace.id, userId, role))!;
  });
}

export function listMembers(ctx: Ctx): Promise<Result<Member[]>> {
  return run(() => ctx.deps.store.listMembers(ctx.workspace.id));
}
