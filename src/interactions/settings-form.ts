/**
 * The settings form: one form for managers, rendered as a modal (Slack), a form
 * card (Feishu) or prompts (console). List-like settings are edited as lines of
 * `a | b | c` text, which every surface can show in a plain text area.
 */
import { fail, ok, type Result } from '../domain/errors.js';
import { presetRules, type Rule, type WorkspaceSettings } from '../domain/settings.js';
import type { CustomFieldDef, CustomFieldType, LostReasonDef, Role, StageDef } from '../domain/types.js';
import { ROLES } from '../domain/types.js';
import { formatDate } from '../i18n/format.js';
import { renderError, renderInvalid, t } from '../i18n/index.js';
import type { Ctx } from '../usecases/context.js';
import { isManager } from '../usecases/context.js';
import { listMembers, setMemberRole, updateSettings, type SettingsPatch } from '../usecases/settings.js';
import type { FormSpec, SubmitOutcome } from './types.js';
import { textMessage } from '../presenters/rich.js';

const pct = (p: number): string => String(Math.round(p * 1000) / 10);

export function stagesToText(stages: readonly StageDef[]): string {
  return stages
    .filter((s) => s.active)
    .map((s) =>
      [
        s.key,
        s.labels.en,
        s.labels['zh-CN'],
        pct(s.probability),
        s.stallDays ?? '-',
        s.checklist.map((c) => `${c.en} / ${c['zh-CN']}`).join('; '),
      ].join(' | '),
    )
    .join('\n');
}

const lostToText = (r: readonly LostReasonDef[]): string =>
  r.map((x) => `${x.key} | ${x.labels.en} | ${x.labels['zh-CN']}`).join('\n');

const customToText = (c: readonly CustomFieldDef[]): string =>
  c
    .map((f) => [f.key, f.labels.en, f.labels['zh-CN'], f.type, (f.options ?? []).join(', ')].join(' | '))
    .join('\n');

export function settingsForm(ctx: Ctx): Result<FormSpec> {
  if (!isManager(ctx.actor.role)) return fail({ kind: 'Forbidden', action: 'settings' });
  const L = ctx.locale;
  const s = ctx.workspace.settings;
  const presets = presetRules();
  const failures = s.rules
    .filter((r) => r.lastError)
    .map((r) => [
      t(L, 'form.ruleFailure', {
        rule: r.name,
        at: formatDate(new Date(r.lastError!.at), L, s.timezone),
        message: r.lastError!.message,
      }),
    ]);
  return ok({
    id: 'settings',
    title: t(L, 'form.settingsTitle'),
    submitLabel: t(L, 'ui.save'),
    state: JSON.stringify({ v: ctx.workspace.settingsVersion }),
    // Delivery failures of webhook rules stay visible here until a delivery succeeds.
    ...(failures.length ? { intro: failures } : {}),
    fields: [
      {
        name: 'locale',
        label: t(L, 'field.locale'),
        kind: 'select',
        required: true,
        initial: s.locale,
        options: [
          { value: 'en', label: 'English' },
          { value: 'zh-CN', label: '简体中文' },
        ],
      },
      {
        name: 'timezone',
        label: t(L, 'field.timezone'),
        kind: 'text',
        required: true,
        initial: s.timezone,
        hint: t(L, 'accepted.timezone'),
        maxLength: 64,
      },
      {
        name: 'currency',
        label: t(L, 'field.currency'),
        kind: 'text',
        required: true,
        initial: s.currency,
        maxLength: 3,
      },
      {
        name: 'stages',
        label: t(L, 'form.stagesField'),
        kind: 'textarea',
        required: true,
        initial: stagesToText(s.stages),
        maxLength: 2900,
      },
      {
        name: 'lostReasons',
        label: t(L, 'form.lostReasonsField'),
        kind: 'textarea',
        required: true,
        initial: lostToText(s.lostReasons),
        maxLength: 2900,
      },
      {
        name: 'customFields',
        label: t(L, 'form.customFieldsField'),
        kind: 'textarea',
        required: false,
        initial: customToText(s.customFields),
        maxLength: 2900,
      },
      {
        name: 'alertChannel',
        label: t(L, 'form.alertChannel'),
        kind: 'text',
        required: false,
        initial: s.alertChannel,
        maxLength: 100,
      },
      {
        name: 'reviewChannel',
        label: t(L, 'form.reviewChannel'),
        kind: 'text',
        required: false,
        initial: s.reviewChannel,
        maxLength: 100,
      },
      {
        name: 'alertMode',
        label: t(L, 'form.alertMode'),
        kind: 'select',
        required: true,
        initial: s.alertMode,
        options: [
          { value: 'channel', label: t(L, 'form.alertModeChannel') },
          { value: 'dm', label: t(L, 'form.alertModeDm') },
        ],
      },
      {
        name: 'reviewSchedule',
        label: t(L, 'form.reviewSchedule'),
        kind: 'text',
        required: true,
        initial: s.reviewSchedule,
        hint: t(L, 'accepted.schedule'),
        maxLength: 64,
      },
      {
        name: 'quietHours',
        label: t(L, 'form.quietHours'),
        kind: 'text',
        required: false,
        initial: `${s.quietHours.start}-${s.quietHours.end}`,
        maxLength: 11,
      },
      {
        name: 'weekends',
        label: t(L, 'form.weekends'),
        kind: 'checklist',
        required: false,
        initial: s.quietHours.weekends ? 'quiet' : '',
        options: [{ value: 'quiet', label: t(L, 'form.weekendsQuiet') }],
      },
      {
        name: 'alertCap',
        label: t(L, 'form.alertCap'),
        kind: 'text',
        required: true,
        initial: String(s.alertCap),
        maxLength: 3,
      },
      {
        name: 'presets',
        label: t(L, 'form.presetRules'),
        kind: 'checklist',
        required: false,
        initial: presets
          .filter((p) => s.rules.some((r) => r.id === p.id && r.enabled))
          .map((p) => p.id)
          .join(','),
        options: presets.map((p) => ({ value: p.id, label: t(L, `rulePreset.${p.id}`) })),
      },
      { name: 'roles', label: t(L, 'form.rolesField'), kind: 'textarea', required: false, maxLength: 2900 },
    ],
  });
}

type LineProblem = { field: string; line: number; reason: string; value?: string };

function parseStages(
  text: string,
  current: readonly StageDef[],
): { stages: StageDef[]; problem?: LineProblem } {
  const stages: StageDef[] = [];
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const [key = '', en = '', zh = '', prob = '', days = '', checklist = ''] = line
      .split('|')
      .map((x) => x.trim());
    const existing = current.find((s) => s.key === key);
    const p = Number(prob.replace('%', ''));
    if (prob === '' || !Number.isFinite(p))
      return { stages, problem: { field: 'stages', line: i + 1, reason: 'probability_range', value: prob } };
    const terminal = existing?.terminal ?? (key === 'won' ? 'won' : key === 'lost' ? 'lost' : undefined);
    const stall = days === '-' || days === '' ? null : Number(days);
    if (!terminal && (stall === null || !Number.isFinite(stall)))
      return { stages, problem: { field: 'stages', line: i + 1, reason: 'threshold_range', value: days } };
    stages.push({
      key,
      labels: { en: en || zh, 'zh-CN': zh || en },
      probability: p / 100,
      stallDays: terminal ? null : stall,
      checklist: checklist
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean)
        .map((c) => {
          const [a = '', b] = c.split(' / ').map((x) => x.trim());
          return { en: a, 'zh-CN': b ?? a };
        }),
      requiredFields: existing?.requiredFields ?? [],
      ...(terminal ? { terminal } : {}),
      ...(existing?.aliases ? { aliases: existing.aliases } : {}),
      active: true,
    });
  }
  return { stages };
}

function parseLost(text: string): { reasons: LostReasonDef[]; problem?: LineProblem } {
  const reasons: LostReasonDef[] = [];
  for (const [i, line] of text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .entries()) {
    const [key = '', en = '', zh = ''] = line.split('|').map((x) => x.trim());
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(key))
      return {
        reasons,
        problem: { field: 'lostReasons', line: i + 1, reason: 'stage_key_format', value: key },
      };
    reasons.push({ key, labels: { en: en || zh || key, 'zh-CN': zh || en || key } });
  }
  return { reasons };
}

const CUSTOM_TYPES: CustomFieldType[] = ['text', 'number', 'date', 'select'];

function parseCustom(text: string): { fields: CustomFieldDef[]; problem?: LineProblem } {
  const fields: CustomFieldDef[] = [];
  for (const [i, line] of text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .entries()) {
    const [key = '', en = '', zh = '', type = 'text', options = ''] = line.split('|').map((x) => x.trim());
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(key))
      return {
        fields,
        problem: { field: 'customFields', line: i + 1, reason: 'stage_key_format', value: key },
      };
    if (!CUSTOM_TYPES.includes(type as CustomFieldType))
      return {
        fields,
        problem: { field: 'customFields', line: i + 1, reason: 'option_unknown', value: type },
      };
    fields.push({
      key,
      labels: { en: en || zh || key, 'zh-CN': zh || en || key },
      type: type as CustomFieldType,
      ...(type === 'select'
        ? {
            options: options
              .split(',')
              .map((o) => o.trim())
              .filter(Boolean),
          }
        : {}),
    });
  }
  return { fields };
}

/** The settings version the form was opened at (its state), so a stale form cannot overwrite a newer save. */
function formVersion(state: string): number | undefined {
  try {
    const v = (JSON.parse(state) as { v?: unknown }).v;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function submitSettings(
  ctx: Ctx,
  values: Record<string, string>,
  state = '{}',
): Promise<SubmitOutcome> {
  const L = ctx.locale;
  const errors: Record<string, string> = {};
  const lineError = (p: LineProblem) => {
    const problem = renderInvalid(L, {
      field: p.field === 'stages' ? 'stage' : p.field,
      value: p.value,
      reason: p.reason,
      params: { accepted: CUSTOM_TYPES.join(', ') },
    });
    errors[p.field] = t(L, 'form.line', { line: p.line, problem });
  };
  const current = ctx.workspace.settings;
  const patch: SettingsPatch = {};
  if (values.locale !== undefined) patch.locale = values.locale as WorkspaceSettings['locale'];
  if (values.timezone !== undefined) patch.timezone = values.timezone.trim();
  if (values.currency !== undefined) patch.currency = values.currency.trim().toUpperCase();
  if (values.stages !== undefined) {
    const r = parseStages(values.stages, current.stages);
    if (r.problem) lineError(r.problem);
    else patch.stages = r.stages;
  }
  if (values.lostReasons !== undefined) {
    const r = parseLost(values.lostReasons);
    if (r.problem) lineError(r.problem);
    else patch.lostReasons = r.reasons;
  }
  if (values.customFields !== undefined) {
    const r = parseCustom(values.customFields);
    if (r.problem) lineError(r.problem);
    else patch.customFields = r.fields;
  }
  if (values.alertChannel !== undefined) patch.alertChannel = values.alertChannel.trim() || undefined;
  if (values.reviewChannel !== undefined) patch.reviewChannel = values.reviewChannel.trim() || undefined;
  if (values.alertMode === 'channel' || values.alertMode === 'dm') patch.alertMode = values.alertMode;
  if (values.reviewSchedule !== undefined) patch.reviewSchedule = values.reviewSchedule.trim();
  if (values.quietHours !== undefined && values.quietHours.trim() !== '') {
    const [start = '', end = ''] = values.quietHours.split('-').map((x) => x.trim());
    patch.quietHours = { start, end, weekends: (values.weekends ?? '').split(',').includes('quiet') };
  } else if (values.weekends !== undefined) {
    patch.quietHours = { ...current.quietHours, weekends: values.weekends.split(',').includes('quiet') };
  }
  if (values.alertCap !== undefined) {
    const n = Number(values.alertCap.trim());
    if (!Number.isInteger(n))
      errors.alertCap = renderInvalid(L, {
        field: 'alertCap',
        value: values.alertCap,
        reason: 'number_format',
      });
    else patch.alertCap = n;
  }
  if (values.presets !== undefined) {
    const enabled = new Set(
      values.presets
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    );
    const presets = presetRules();
    const others = current.rules.filter((r) => !presets.some((p) => p.id === r.id));
    const chosen: Rule[] = presets.map((p) => ({
      ...(current.rules.find((r) => r.id === p.id) ?? p),
      enabled: enabled.has(p.id),
    }));
    patch.rules = [...chosen.filter((r) => r.enabled || current.rules.some((c) => c.id === r.id)), ...others];
  }
  const roleChanges: { userId: string; role: Role; line: number }[] = [];
  for (const [i, line] of (values.roles ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .entries()) {
    const [user = '', role = ''] = line.split('|').map((x) => x.trim());
    const id = /^<@([^>|]+)/.exec(user)?.[1] ?? user.replace(/^@/, '');
    if (!ROLES.includes(role as Role)) {
      errors.roles = t(L, 'form.line', {
        line: i + 1,
        problem: renderInvalid(L, { field: 'role', value: role, reason: 'role_unknown' }),
      });
      break;
    }
    roleChanges.push({ userId: id, role: role as Role, line: i + 1 });
  }
  // Check every role change before anything is written: nothing is half-saved.
  const members = await listMembers(ctx);
  const adminIds = new Set(
    members.ok ? members.value.filter((m) => m.role === 'admin').map((m) => m.userId) : [],
  );
  for (const rc of roleChanges) {
    if (rc.role === 'admin') adminIds.add(rc.userId);
    else adminIds.delete(rc.userId);
  }
  if (adminIds.size === 0) errors.roles = renderError(L, { kind: 'Conflict', reason: 'last_admin' });
  for (const rc of roleChanges) {
    const target = members.ok ? members.value.find((m) => m.userId === rc.userId) : undefined;
    const problem = !target
      ? renderError(L, { kind: 'NotFound', entity: 'user', ref: rc.userId })
      : (rc.role === 'admin' || target.role === 'admin') && ctx.actor.role !== 'admin'
        ? renderError(L, { kind: 'Forbidden', action: 'grant_admin' })
        : undefined;
    if (problem) {
      errors.roles = t(L, 'form.line', { line: rc.line, problem });
      break;
    }
  }
  if (Object.keys(errors).length) return { kind: 'errors', errors };
  const expectedVersion = formVersion(state);
  const saved = await updateSettings(ctx, patch, expectedVersion === undefined ? {} : { expectedVersion });
  if (!saved.ok) {
    const e = saved.error;
    if (e.kind === 'Invalid') {
      const field = ['stage', 'stageKey', 'label', 'probability', 'threshold'].includes(e.field)
        ? 'stages'
        : e.field === 'lostReason'
          ? 'lostReasons'
          : e.field === 'schedule'
            ? 'reviewSchedule'
            : e.field;
      return { kind: 'errors', errors: { [field]: renderInvalid(L, e) } };
    }
    return { kind: 'errors', errors: { _form: renderError(L, e) } };
  }
  for (const rc of roleChanges) {
    const r = await setMemberRole(ctx, rc.userId, rc.role);
    if (!r.ok) {
      return {
        kind: 'errors',
        errors: { roles: t(L, 'form.line', { line: rc.line, problem: renderError(L, r.error) }) },
      };
    }
  }
  return {
    kind: 'done',
    message: textMessage(t(L, 'form.settingsSaved')),
    visibility: 'ephemeral',
  };
}
