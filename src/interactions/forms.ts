/** Builders of the platform-neutral forms (modals on Slack, form cards on Feishu, prompts in the console). */
import { randomBytes } from 'node:crypto';
import { missingFields } from '../domain/deal.js';
import { DEAL_SOURCES } from '../domain/parse.js';
import { findStage, nextStage, openStages, stageLabel } from '../domain/pipeline.js';
import type { CustomFieldDef, Deal, Locale, RequirableField, StageDef } from '../domain/types.js';
import { fieldLabel, t } from '../i18n/index.js';
import type { RichText } from '../presenters/rich.js';
import type { Ctx } from '../usecases/context.js';
import { LIMITS } from '../usecases/deals.js';
import type { FormField, FormOption, FormSpec } from './types.js';

export interface FormState {
  /** Deal id. */
  d?: string;
  /** Deal version the form was opened at. */
  v?: number;
  /** Prefilled target stage. */
  s?: string;
  /** A random id of this form instance: the idempotency key of forms that create something. */
  k?: string;
}

export const encodeState = (s: FormState): string => JSON.stringify(s);

/** A fresh form-instance id: submitting the same form twice (double click, redelivery) creates one thing. */
export const formKey = (): string => randomBytes(8).toString('hex');

export function decodeState(raw: string): FormState {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null) return {};
    const o = v as Record<string, unknown>;
    return {
      d: typeof o.d === 'string' ? o.d : undefined,
      v: typeof o.v === 'number' ? o.v : undefined,
      s: typeof o.s === 'string' ? o.s : undefined,
      k: typeof o.k === 'string' && /^[0-9a-f]{1,32}$/.test(o.k) ? o.k : undefined,
    };
  } catch {
    return {};
  }
}

const isoDay = (d: Date | null | undefined, tz: string): string | undefined =>
  d
    ? new Intl.DateTimeFormat('en-CA', {
        timeZone: tz,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      }).format(d)
    : undefined;

function stageOptions(stages: readonly StageDef[], locale: Locale, includeWon: boolean): FormOption[] {
  return stages
    .filter((s) => s.active && (!s.terminal || (includeWon && s.terminal === 'won')))
    .map((s) => ({ value: s.key, label: s.labels[locale] }));
}

function sourceOptions(locale: Locale): FormOption[] {
  return DEAL_SOURCES.map((s) => ({ value: s, label: t(locale, `source.${s}`) }));
}

function bantField(
  locale: Locale,
  key: 'budget' | 'authority' | 'need' | 'timeline',
  initial: string | undefined,
  required: boolean,
): FormField {
  return {
    name: `bant.${key}`,
    label: t(locale, `field.bant.${key}`),
    kind: 'text',
    required,
    initial,
    maxLength: LIMITS.bant,
  };
}

function customField(
  locale: Locale,
  def: CustomFieldDef,
  initial: string | undefined,
  required: boolean,
): FormField {
  const base = { name: `custom.${def.key}`, label: def.labels[locale], required, initial };
  if (def.type === 'select')
    return { ...base, kind: 'select', options: (def.options ?? []).map((o) => ({ value: o, label: o })) };
  if (def.type === 'date') return { ...base, kind: 'date' };
  return { ...base, kind: 'text', maxLength: LIMITS.custom };
}

function customInitial(deal: Deal | undefined, key: string, tz: string): string | undefined {
  const v = deal?.custom[key];
  if (v === undefined) return undefined;
  return v instanceof Date ? isoDay(v, tz) : String(v);
}

/** The fields of a deal, used by the new and edit forms. */
function dealFields(ctx: Ctx, deal: Deal | undefined, prefill: Partial<Record<string, string>>): FormField[] {
  const L = ctx.locale;
  const s = ctx.workspace.settings;
  const tz = s.timezone;
  const fields: FormField[] = [
    {
      name: 'name',
      label: t(L, 'field.name'),
      kind: 'text',
      required: true,
      initial: prefill.name ?? deal?.name,
      maxLength: LIMITS.name,
    },
    {
      name: 'company',
      label: t(L, 'field.company'),
      kind: 'text',
      required: false,
      initial: prefill.company ?? deal?.company,
      maxLength: LIMITS.company,
    },
    {
      name: 'amount',
      label: t(L, 'field.amount'),
      kind: 'text',
      required: false,
      initial: prefill.amount ?? (deal?.amount != null ? String(deal.amount) : undefined),
      placeholder: '50k · 5万 · $1.2M',
      hint: t(L, 'accepted.amount'),
      maxLength: 40,
    },
    {
      name: 'currency',
      label: t(L, 'field.currency'),
      kind: 'text',
      required: false,
      initial: deal?.currency ?? s.currency,
      maxLength: 8,
    },
  ];
  if (!deal)
    fields.push({
      name: 'stage',
      label: t(L, 'field.stage'),
      kind: 'select',
      required: true,
      initial: prefill.stage ?? openStages(s.stages)[0]?.key,
      options: stageOptions(s.stages, L, false),
    });
  fields.push(
    {
      name: 'owner',
      label: t(L, 'field.owner'),
      kind: 'user',
      required: true,
      initial: deal?.ownerId ?? ctx.actor.userId,
    },
    {
      name: 'source',
      label: t(L, 'field.source'),
      kind: 'select',
      required: false,
      initial: deal?.source ?? prefill.source,
      options: sourceOptions(L),
    },
    {
      name: 'closeDate',
      label: t(L, 'field.closeDate'),
      kind: 'date',
      required: false,
      initial: isoDay(deal?.closeDate, tz),
      hint: t(L, 'accepted.closeDate'),
    },
    bantField(L, 'budget', deal?.bant.budget, false),
    bantField(L, 'authority', deal?.bant.authority, false),
    bantField(L, 'need', deal?.bant.need, false),
    bantField(L, 'timeline', deal?.bant.timeline, false),
    ...s.customFields.map((f) => customField(L, f, customInitial(deal, f.key, tz), false)),
  );
  return fields;
}

function nextStepFields(ctx: Ctx, deal: Deal | undefined, required: boolean): FormField[] {
  const L = ctx.locale;
  return [
    {
      name: 'nextStep.text',
      label: t(L, 'form.nextStepText'),
      kind: 'textarea',
      required,
      initial: undefined,
      maxLength: LIMITS.nextStep,
      placeholder: deal?.nextStep?.text,
    },
    {
      name: 'nextStep.due',
      label: t(L, 'form.nextStepDue'),
      kind: 'date',
      required: false,
      hint: t(L, 'accepted.dueDate'),
    },
  ];
}

export function newDealForm(ctx: Ctx, prefill: Partial<Record<string, string>> = {}): FormSpec {
  return {
    id: 'deal_new',
    title: t(ctx.locale, 'form.newTitle'),
    submitLabel: t(ctx.locale, 'ui.create'),
    state: encodeState({ k: formKey() }),
    fields: [...dealFields(ctx, undefined, prefill), ...nextStepFields(ctx, undefined, false)],
  };
}

export function editDealForm(ctx: Ctx, deal: Deal): FormSpec {
  return {
    id: 'deal_edit',
    title: t(ctx.locale, 'form.editTitle', { code: deal.code }),
    submitLabel: t(ctx.locale, 'ui.save'),
    state: encodeState({ d: deal.id, v: deal.version }),
    fields: dealFields(ctx, deal, {}),
  };
}

const requirableToField = (ctx: Ctx, f: RequirableField, deal: Deal): FormField | undefined => {
  const L = ctx.locale;
  const s = ctx.workspace.settings;
  switch (f) {
    case 'company':
      return {
        name: 'company',
        label: t(L, 'field.company'),
        kind: 'text',
        required: true,
        initial: deal.company,
        maxLength: LIMITS.company,
      };
    case 'amount':
      return {
        name: 'amount',
        label: t(L, 'field.amount'),
        kind: 'text',
        required: true,
        initial: deal.amount != null ? String(deal.amount) : undefined,
        hint: t(L, 'accepted.amount'),
        maxLength: 40,
      };
    case 'closeDate':
      return {
        name: 'closeDate',
        label: t(L, 'field.closeDate'),
        kind: 'date',
        required: true,
        initial: isoDay(deal.closeDate, s.timezone),
        hint: t(L, 'accepted.closeDate'),
      };
    case 'bant.budget':
    case 'bant.authority':
    case 'bant.need':
    case 'bant.timeline': {
      const key = f.slice(5) as 'budget' | 'authority' | 'need' | 'timeline';
      return bantField(L, key, deal.bant[key], true);
    }
    default: {
      const def = s.customFields.find((c) => `custom.${c.key}` === f);
      return def ? customField(L, def, customInitial(deal, def.key, s.timezone), true) : undefined;
    }
  }
};

/**
 * Advance form: target stage (default next), the target's entry checklist, the
 * fields it still requires, the mandatory next step and a reason field.
 */
export function advanceForm(ctx: Ctx, deal: Deal, targetKey?: string): FormSpec {
  const L = ctx.locale;
  const s = ctx.workspace.settings;
  const target = (targetKey ? findStage(s.stages, targetKey) : undefined) ?? nextStage(s.stages, deal.stage);
  const intro: RichText[] = [
    [
      t(L, 'form.dealSummary', {
        code: deal.code,
        name: deal.name,
        stage: stageLabel(s.stages, deal.stage, L),
      }),
    ],
  ];
  const fields: FormField[] = [
    {
      name: 'stage',
      label: t(L, 'form.targetStage'),
      kind: 'select',
      required: true,
      initial: target?.key,
      options: stageOptions(s.stages, L, true).filter((o) => o.value !== deal.stage),
    },
  ];
  if (target) {
    if (target.checklist.length) {
      intro.push([{ bold: t(L, 'form.checklistIntro', { stage: target.labels[L] }).replace(/\*/g, '') }]);
      fields.push({
        name: 'checklist',
        label: t(L, 'deal.checklist', { stage: target.labels[L] }),
        kind: 'checklist',
        required: false,
        options: target.checklist.map((c, i) => ({ value: String(i), label: c[L] })),
      });
    }
    const missing = missingFields(deal, target, s.customFields);
    if (missing.length)
      intro.push([
        t(L, 'form.requiredIntro', {
          stage: target.labels[L],
          fields: missing.map((f) => fieldLabel(L, f)).join(L === 'zh-CN' ? '、' : ', '),
        }),
      ]);
    for (const f of missing) {
      const field = requirableToField(ctx, f, deal);
      if (field) fields.push(field);
    }
  }
  fields.push(...nextStepFields(ctx, deal, target?.terminal !== 'won'));
  fields.push({
    name: 'reason',
    label: t(L, 'form.reasonBackward'),
    kind: 'text',
    required: false,
    maxLength: LIMITS.reason,
  });
  return {
    id: 'deal_advance',
    title: t(L, 'form.advanceTitle', { code: deal.code }),
    submitLabel: t(L, 'ui.advance'),
    state: encodeState({ d: deal.id, v: deal.version, s: target?.key }),
    intro,
    fields,
  };
}

export function lostForm(ctx: Ctx, deal: Deal): FormSpec {
  const L = ctx.locale;
  return {
    id: 'deal_lost',
    title: t(L, 'form.lostTitle', { code: deal.code }),
    submitLabel: t(L, 'ui.lost'),
    state: encodeState({ d: deal.id, v: deal.version }),
    intro: [
      [
        t(L, 'form.dealSummary', {
          code: deal.code,
          name: deal.name,
          stage: stageLabel(ctx.workspace.settings.stages, deal.stage, L),
        }),
      ],
    ],
    fields: [
      {
        name: 'reason',
        label: t(L, 'field.lostReason'),
        kind: 'select',
        required: true,
        options: ctx.workspace.settings.lostReasons.map((r) => ({ value: r.key, label: r.labels[L] })),
      },
      {
        name: 'detail',
        label: t(L, 'form.lostDetail'),
        kind: 'textarea',
        required: false,
        maxLength: LIMITS.reason,
      },
    ],
  };
}

export function nextStepForm(ctx: Ctx, deal: Deal): FormSpec {
  return {
    id: 'next_step',
    title: t(ctx.locale, 'form.nextStepTitle', { code: deal.code }),
    submitLabel: t(ctx.locale, 'ui.save'),
    state: encodeState({ d: deal.id, v: deal.version }),
    fields: nextStepFields(ctx, deal, true),
  };
}

export function noteForm(ctx: Ctx, deal: Deal): FormSpec {
  return {
    id: 'note',
    title: t(ctx.locale, 'form.noteTitle', { code: deal.code }),
    submitLabel: t(ctx.locale, 'ui.save'),
    state: encodeState({ d: deal.id, k: formKey() }),
    fields: [
      {
        name: 'text',
        label: t(ctx.locale, 'field.note'),
        kind: 'textarea',
        required: true,
        maxLength: LIMITS.note,
      },
    ],
  };
}

export function snoozeForm(ctx: Ctx, deal: Deal): FormSpec {
  const L = ctx.locale;
  return {
    id: 'snooze',
    title: t(L, 'form.snoozeTitle', { code: deal.code }),
    submitLabel: t(L, 'ui.snooze'),
    state: encodeState({ d: deal.id }),
    fields: [
      {
        name: 'duration',
        label: t(L, 'form.duration'),
        kind: 'select',
        required: true,
        initial: '3d',
        options: [
          { value: '1d', label: t(L, 'ui.snooze1d') },
          { value: '3d', label: t(L, 'ui.snooze3d') },
          { value: '1w', label: t(L, 'ui.snooze1w') },
        ],
      },
    ],
  };
}

/** Maps an error's field to the form field that shows it. */
export function formFieldFor(errorField: string, form: FormSpec | undefined): string {
  const alias: Record<string, string> = {
    nextStep: 'nextStep.text',
    dueDate: 'nextStep.due',
    lostReason: 'reason',
    note: 'text',
    owner: 'owner',
    code: '_form',
  };
  const name = alias[errorField] ?? errorField;
  if (!form) return name;
  return form.fields.some((f) => f.name === name) ? name : '_form';
}
