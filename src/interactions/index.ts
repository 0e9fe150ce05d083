/**
 * The interaction core: commands, buttons and form submissions from every chat
 * surface become use-case calls; results become Outcomes (a message or a form).
 * Adapters only translate platform payloads to these calls and render Outcomes.
 */
import { randomBytes } from 'node:crypto';
import type { DomainError } from '../domain/errors.js';
import { parseAmount, resolveStage } from '../domain/parse.js';
import { stageLabel } from '../domain/pipeline.js';
import type { Deal } from '../domain/types.js';
import { renderError, t } from '../i18n/index.js';
import {
  confirmation,
  dealCard,
  dealList,
  helpMessage,
  lostReasonText,
  type View,
} from '../presenters/deal.js';
import type { ActionKind, RichMessage } from '../presenters/rich.js';
import { formatDate } from '../i18n/format.js';
import type { Ctx } from '../usecases/context.js';
import {
  addNote,
  advanceDeal,
  assignDeal,
  createDeal,
  dealHistory,
  editDeal,
  getDeal,
  getDealById,
  listDeals,
  loseDeal,
  memberName,
  reopenDeal,
  setNextStep,
  snoozeDeal,
  winDeal,
  type ListScope,
} from '../usecases/deals.js';
import { mentionId, parseCommand, type ParsedCommand } from './commands.js';
import {
  advanceForm,
  decodeState,
  editDealForm,
  formFieldFor,
  lostForm,
  newDealForm,
  nextStepForm,
  noteForm,
  snoozeForm,
} from './forms.js';
import { pipelineCommand } from './pipeline.js';
import { settingsForm, submitSettings } from './settings-form.js';
import { confirmImport, exportUnsupportedOutcome, importHelpOutcome } from './transfer.js';
import type { FormId, FormSpec, Outcome, SubmitOutcome } from './types.js';
import { textMessage } from '../presenters/rich.js';

export type { Outcome, SubmitOutcome, FormSpec, FormId } from './types.js';
export { parseCommand } from './commands.js';

export interface InteractionOptions {
  /** Idempotency key from the platform (trigger id, view id, event id). */
  requestKey?: string;
}

export const view = (ctx: Ctx): View => ({
  locale: ctx.locale,
  settings: ctx.workspace.settings,
  now: ctx.now,
});

type MessageOutcome = Extract<Outcome, { kind: 'message' }>;

const say = (
  message: RichMessage,
  visibility: 'ephemeral' | 'channel' = 'ephemeral',
  dealId?: string,
): MessageOutcome => ({
  kind: 'message',
  message,
  visibility,
  ...(dealId ? { dealId } : {}),
});

export function errorMessage(ctx: Ctx, error: DomainError): RichMessage {
  return textMessage(
    renderError(ctx.locale, error, {
      stages: ctx.workspace.settings.stages,
      customLabels: customLabels(ctx),
    }),
  );
}

const customLabels = (ctx: Ctx): Record<string, string> =>
  Object.fromEntries(ctx.workspace.settings.customFields.map((f) => [f.key, f.labels[ctx.locale]]));

const fail = (ctx: Ctx, error: DomainError): Outcome => ({
  ...say(errorMessage(ctx, error)),
  error: error.kind,
});
const unknownCommand = (ctx: Ctx, word?: string): Outcome => ({
  ...say(helpMessage(ctx.locale, word)),
  ...(word ? { error: 'unknown_command' as const } : {}),
});

/** An unexpected exception: a localized apology with an id that is also in the log. */
export function unexpected(ctx: Pick<Ctx, 'locale' | 'deps'>, err: unknown): RichMessage {
  const id = randomBytes(4).toString('hex');
  ctx.deps.logger.error({ err, errorId: id }, 'unexpected error');
  const dbDown =
    err instanceof Error &&
    /Mongo(Server|Network)|ECONNREFUSED|Server selection timed out|connection .* closed/i.test(
      `${err.name} ${err.message}`,
    );
  return textMessage(t(ctx.locale, dbDown ? 'error.database' : 'error.unexpected', { id }));
}

// ── commands ────────────────────────────────────────────────────────────────
export async function runCommand(ctx: Ctx, line: string, opts: InteractionOptions = {}): Promise<Outcome> {
  const cmd = parseCommand(line);
  if (cmd.root === 'pipeline') {
    if (cmd.sub === 'settings') return settingsOutcome(ctx);
    if (cmd.sub === 'export') return exportUnsupportedOutcome(ctx);
    return pipelineCommand(ctx, cmd.sub, cmd.args);
  }
  if (cmd.root === 'unknown') return unknownCommand(ctx, cmd.word || undefined);
  if (cmd.sub === 'unknown') return unknownCommand(ctx, cmd.word);
  return dealCommand(ctx, cmd, opts);
}

function settingsOutcome(ctx: Ctx): Outcome {
  const r = settingsForm(ctx);
  return r.ok ? { kind: 'form', form: r.value } : fail(ctx, r.error);
}

/** Splits `/deal new` words into name, amount and company: the first word that is an amount separates them. */
export function splitNewArgs(ctx: Ctx, args: string[]): { name?: string; amount?: string; company?: string } {
  const idx = args.findIndex((w) => /\d/.test(w) && parseAmount(w, ctx.workspace.settings.currency).ok);
  if (idx < 0) return args.length ? { name: args.join(' ') } : {};
  const name = args.slice(0, idx).join(' ');
  const company = args.slice(idx + 1).join(' ');
  return { ...(name ? { name } : {}), amount: args[idx]!, ...(company ? { company } : {}) };
}

async function dealCommand(
  ctx: Ctx,
  cmd: Extract<ParsedCommand, { root: 'deal' }>,
  opts: InteractionOptions,
): Promise<Outcome> {
  const v = view(ctx);
  const [ref, ...rest] = cmd.args;
  if (cmd.sub === 'help') return say(helpMessage(ctx.locale));
  if (cmd.sub === 'new') {
    const parts = splitNewArgs(ctx, cmd.args);
    if (!parts.name || !parts.amount) return { kind: 'form', form: newDealForm(ctx, parts) };
    const r = await createDeal(ctx, { ...parts, name: parts.name, requestKey: opts.requestKey });
    if (!r.ok) {
      // Inline details that don't validate: open the form with them so the user can fix them.
      return r.error.kind === 'Invalid'
        ? { kind: 'form', form: newDealForm(ctx, parts) }
        : fail(ctx, r.error);
    }
    return say(confirmation(v, r.value.deal, 'deal.created', {}, { edit: true }), 'channel', r.value.deal.id);
  }
  if (cmd.sub === 'list') return listOutcome(ctx, cmd.args);
  if (cmd.sub === 'import') return importHelpOutcome(ctx);
  if (!ref) return { ...say(helpMessage(ctx.locale)), error: 'Invalid' }; // a deal code or user is missing
  switch (cmd.sub) {
    case 'show': {
      const r = await dealHistory(ctx, ref);
      if (!r.ok) return fail(ctx, r.error);
      return say(dealCard(v, r.value.deal, { changes: r.value.changes, notes: r.value.notes }));
    }
    case 'advance': {
      const r = await getDeal(ctx, ref);
      if (!r.ok) return fail(ctx, r.error);
      if (r.value.status !== 'open')
        return fail(ctx, { kind: 'Conflict', reason: 'already_closed', ref: r.value.code });
      let target: string | undefined;
      if (rest.length) {
        const st = resolveStage(
          rest.join(' '),
          ctx.workspace.settings.stages.filter((s) => s.active),
        );
        if (!st.ok) return fail(ctx, st.error);
        target = st.value.key;
        if (st.value.terminal === 'lost') return { kind: 'form', form: lostForm(ctx, r.value) };
      }
      return { kind: 'form', form: advanceForm(ctx, r.value, target) };
    }
    case 'won': {
      const r = await winDeal(ctx, ref);
      if (r.ok) return say(confirmation(v, r.value.deal, 'deal.won', {}), 'channel', r.value.deal.id);
      if (r.error.kind === 'Invalid') {
        const d = await getDeal(ctx, ref);
        if (d.ok) return { kind: 'form', form: advanceForm(ctx, d.value, 'won') };
      }
      return fail(ctx, r.error);
    }
    case 'lost': {
      if (rest.length === 0) {
        const d = await getDeal(ctx, ref);
        if (!d.ok) return fail(ctx, d.error);
        if (d.value.status !== 'open')
          return fail(ctx, { kind: 'Conflict', reason: 'already_closed', ref: d.value.code });
        return { kind: 'form', form: lostForm(ctx, d.value) };
      }
      const r = await loseDeal(ctx, ref, { reason: rest.join(' ') });
      if (!r.ok) return fail(ctx, r.error);
      return say(lostConfirmation(v, r.value.deal), 'channel', r.value.deal.id);
    }
    case 'reopen': {
      const r = await reopenDeal(ctx, ref, rest.length ? { stage: rest.join(' ') } : {});
      if (!r.ok) return fail(ctx, r.error);
      return say(
        confirmation(v, r.value, 'deal.reopened', {
          stage: stageLabel(ctx.workspace.settings.stages, r.value.stage, ctx.locale),
        }),
        'channel',
        r.value.id,
      );
    }
    case 'note': {
      if (rest.length === 0) {
        const d = await getDeal(ctx, ref);
        return d.ok ? { kind: 'form', form: noteForm(ctx, d.value) } : fail(ctx, d.error);
      }
      const r = await addNote(ctx, ref, {
        text: rest.join(' '),
        sourceKey: opts.requestKey ? `req:${opts.requestKey}` : undefined,
      });
      if (!r.ok) return fail(ctx, r.error);
      return say(textMessage(t(ctx.locale, 'deal.noteAdded', { code: r.value.deal.code })));
    }
    case 'next': {
      const d = await getDeal(ctx, ref);
      if (!d.ok) return fail(ctx, d.error);
      if (rest.length === 0) return { kind: 'form', form: nextStepForm(ctx, d.value) };
      const r = await setNextStep(ctx, ref, { text: rest.join(' ') });
      if (!r.ok) return fail(ctx, r.error);
      return say(confirmation(v, r.value, 'deal.nextStepSet', { text: r.value.nextStep?.text ?? '' }));
    }
    case 'assign': {
      const who = rest[0] ? (mentionId(rest[0]) ?? rest[0].replace(/^@/, '')) : '';
      if (!who) return { ...say(helpMessage(ctx.locale)), error: 'Invalid' }; // a deal code or user is missing
      const r = await assignDeal(ctx, ref, who);
      if (!r.ok) return fail(ctx, r.error);
      return say(
        confirmation(v, r.value, 'deal.assigned', { owner: await memberName(ctx, r.value.ownerId) }),
        'channel',
        r.value.id,
      );
    }
    case 'snooze': {
      if (rest.length === 0) {
        const d = await getDeal(ctx, ref);
        return d.ok ? { kind: 'form', form: snoozeForm(ctx, d.value) } : fail(ctx, d.error);
      }
      const r = await snoozeDeal(ctx, ref, rest.join(' '));
      if (!r.ok) return fail(ctx, r.error);
      return say(snoozedMessage(ctx, r.value));
    }
    case 'edit': {
      const d = await getDeal(ctx, ref);
      return d.ok ? { kind: 'form', form: editDealForm(ctx, d.value) } : fail(ctx, d.error);
    }
  }
  return say(helpMessage(ctx.locale));
}

function snoozedMessage(ctx: Ctx, deal: Deal): RichMessage {
  const until = deal.snoozedUntil
    ? formatDate(deal.snoozedUntil, ctx.locale, ctx.workspace.settings.timezone)
    : '';
  return textMessage(t(ctx.locale, 'deal.snoozed', { code: deal.code, until }));
}

function lostConfirmation(v: View, deal: Deal): RichMessage {
  return confirmation(v, deal, 'deal.lost', { reason: lostReasonText(v, deal) });
}

async function listOutcome(ctx: Ctx, args: string[], page = 0): Promise<Outcome> {
  const first = args[0];
  const lower = first?.toLowerCase();
  let scope: ListScope = { kind: 'mine' };
  if (!first || lower === 'mine' || first === '我的') scope = { kind: 'mine' };
  else if (lower === 'stalled' || first === '停滞') scope = { kind: 'stalled' };
  else if (lower === 'all' || first === '全部') scope = { kind: 'all' };
  else if (mentionId(first) || first.startsWith('@'))
    scope = { kind: 'owner', ownerId: mentionId(first) ?? first.slice(1) };
  else {
    const st = resolveStage(
      args.join(' '),
      ctx.workspace.settings.stages.filter((s) => s.active && !s.terminal),
    );
    scope = st.ok ? { kind: 'stage', stage: st.value.key } : { kind: 'search', text: args.join(' ') };
  }
  const r = await listDeals(ctx, scope, page, 10);
  if (!r.ok) return fail(ctx, r.error);
  const title = await listTitle(ctx, scope);
  const encoded = (p: number) => JSON.stringify({ a: args.join(' '), p });
  return say(dealList(view(ctx), r.value, title, encoded));
}

async function listTitle(ctx: Ctx, scope: ListScope): Promise<string> {
  const L = ctx.locale;
  switch (scope.kind) {
    case 'mine':
    case 'stalled':
    case 'all':
      return t(L, `deal.list.${scope.kind}`);
    case 'owner':
      return t(L, 'deal.list.owner', { owner: await memberName(ctx, scope.ownerId) });
    case 'stage':
      return t(L, 'deal.list.stage', { stage: stageLabel(ctx.workspace.settings.stages, scope.stage, L) });
    case 'search':
      return t(L, 'deal.list.search', { text: scope.text });
  }
}

// ── buttons ─────────────────────────────────────────────────────────────────
export async function runAction(
  ctx: Ctx,
  action: ActionKind,
  value: string,
  opts: InteractionOptions = {},
): Promise<Outcome> {
  if (action === 'page') {
    let parsed: { a?: unknown; p?: unknown } = {};
    try {
      parsed = JSON.parse(value) as typeof parsed;
    } catch {
      /* a malformed value lists the first page */
    }
    const args = typeof parsed.a === 'string' && parsed.a ? parsed.a.split(' ') : [];
    return listOutcome(ctx, args, typeof parsed.p === 'number' ? parsed.p : 0);
  }
  const r = await getDealById(ctx, value);
  if (!r.ok) return fail(ctx, r.error);
  const deal = r.value;
  const v = view(ctx);
  switch (action) {
    case 'advance':
      if (deal.status !== 'open')
        return fail(ctx, { kind: 'Conflict', reason: 'already_closed', ref: deal.code });
      return { kind: 'form', form: advanceForm(ctx, deal) };
    case 'next_step':
      return { kind: 'form', form: nextStepForm(ctx, deal) };
    case 'note':
      return { kind: 'form', form: noteForm(ctx, deal) };
    case 'snooze':
      return { kind: 'form', form: snoozeForm(ctx, deal) };
    case 'lost':
      if (deal.status !== 'open')
        return fail(ctx, { kind: 'Conflict', reason: 'already_closed', ref: deal.code });
      return { kind: 'form', form: lostForm(ctx, deal) };
    case 'edit':
      return { kind: 'form', form: editDealForm(ctx, deal) };
    case 'won': {
      const w = await winDeal(ctx, deal.code);
      if (w.ok) return say(confirmation(v, w.value.deal, 'deal.won', {}), 'channel', deal.id);
      return w.error.kind === 'Invalid'
        ? { kind: 'form', form: advanceForm(ctx, deal, 'won') }
        : fail(ctx, w.error);
    }
    case 'show': {
      const h = await dealHistory(ctx, deal.code);
      return h.ok
        ? say(dealCard(v, h.value.deal, { changes: h.value.changes, notes: h.value.notes }))
        : fail(ctx, h.error);
    }
    case 'snooze_1d':
    case 'snooze_3d':
    case 'snooze_1w': {
      const dur = action === 'snooze_1d' ? '1d' : action === 'snooze_3d' ? '3d' : '1w';
      const s = await snoozeDeal(ctx, deal.code, dur);
      return s.ok ? say(snoozedMessage(ctx, s.value)) : fail(ctx, s.error);
    }
  }
  void opts;
  return say(helpMessage(ctx.locale));
}

// ── form submissions ────────────────────────────────────────────────────────
/** Builds the form again (for mapping error fields) without I/O where possible. */
async function formFor(
  ctx: Ctx,
  id: FormId,
  dealId: string | undefined,
  target?: string,
): Promise<FormSpec | undefined> {
  if (id === 'deal_new') return newDealForm(ctx);
  if (!dealId) return undefined;
  const d = await getDealById(ctx, dealId);
  if (!d.ok) return undefined;
  switch (id) {
    case 'deal_edit':
      return editDealForm(ctx, d.value);
    case 'deal_advance':
      return advanceForm(ctx, d.value, target);
    case 'deal_lost':
      return lostForm(ctx, d.value);
    case 'next_step':
      return nextStepForm(ctx, d.value);
    case 'note':
      return noteForm(ctx, d.value);
    case 'snooze':
      return snoozeForm(ctx, d.value);
    default:
      return undefined;
  }
}

function errorsOutcome(ctx: Ctx, error: DomainError, form: FormSpec | undefined): SubmitOutcome {
  if (error.kind !== 'Invalid')
    return { kind: 'errors', errors: { _form: errorMessage(ctx, error).summary } };
  const errors: Record<string, string> = {};
  const opts = { stages: ctx.workspace.settings.stages, customLabels: customLabels(ctx) };
  for (const e of [error, ...(error.more ?? [])]) {
    const name = formFieldFor(e.field, form);
    const text = renderError(
      ctx.locale,
      { kind: 'Invalid', field: e.field, value: e.value, reason: e.reason, params: e.params },
      opts,
    );
    errors[name] = errors[name] ? `${errors[name]}\n${text}` : text;
  }
  return { kind: 'errors', errors };
}

const val = (values: Record<string, string>, k: string): string | undefined => {
  const v = values[k];
  return v === undefined ? undefined : v;
};

function dealInput(values: Record<string, string>) {
  const custom: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (k.startsWith('custom.')) custom[k.slice(7)] = v;
  return {
    name: val(values, 'name'),
    company: val(values, 'company'),
    amount: val(values, 'amount'),
    currency: val(values, 'currency'),
    ownerId: val(values, 'owner'),
    source: val(values, 'source'),
    closeDate: val(values, 'closeDate'),
    bant: {
      budget: val(values, 'bant.budget'),
      authority: val(values, 'bant.authority'),
      need: val(values, 'bant.need'),
      timeline: val(values, 'bant.timeline'),
    },
    custom,
  };
}

export async function submitForm(
  ctx: Ctx,
  form: FormId,
  rawState: string,
  values: Record<string, string>,
  opts: InteractionOptions = {},
): Promise<SubmitOutcome> {
  const state = decodeState(rawState);
  // A form that creates something carries its own id: the same form submitted twice creates it once.
  const requestKey = state.k ? `form:${state.k}` : opts.requestKey;
  const v = view(ctx);
  const done = (
    message: RichMessage,
    visibility: 'ephemeral' | 'channel',
    dealId?: string,
  ): SubmitOutcome => ({
    kind: 'done',
    message,
    visibility,
    ...(dealId ? { dealId } : {}),
  });
  const invalid = async (error: DomainError) =>
    errorsOutcome(ctx, error, await formFor(ctx, form, state.d, values.stage ?? state.s));
  const nextStep = { text: values['nextStep.text'] ?? '', due: values['nextStep.due'] };
  if (form === 'settings') return submitSettings(ctx, values, rawState);
  if (form === 'import') return confirmImport(ctx, rawState, values, opts);
  if (form === 'deal_new') {
    const r = await createDeal(ctx, {
      ...dealInput(values),
      name: values.name ?? '',
      stage: values.stage,
      nextStep: nextStep.text.trim() ? nextStep : undefined,
      requestKey,
    });
    if (!r.ok) return invalid(r.error);
    return done(confirmation(v, r.value.deal, 'deal.created', {}), 'channel', r.value.deal.id);
  }
  if (!state.d)
    return {
      kind: 'errors',
      errors: { _form: errorMessage(ctx, { kind: 'NotFound', entity: 'deal', ref: '?' }).summary },
    };
  const d = await getDealById(ctx, state.d);
  if (!d.ok) return { kind: 'errors', errors: { _form: errorMessage(ctx, d.error).summary } };
  const code = d.value.code;
  switch (form) {
    case 'deal_edit': {
      const r = await editDeal(ctx, code, { ...dealInput(values), expectedVersion: state.v });
      if (!r.ok) return invalid(r.error);
      return done(confirmation(v, r.value, 'deal.updated', {}), 'ephemeral');
    }
    case 'deal_advance': {
      const input = dealInput(values);
      const r = await advanceDeal(ctx, code, {
        ...input,
        ownerId: undefined,
        stage: values.stage ?? state.s,
        nextStep,
        reason: values.reason,
        expectedVersion: state.v,
      });
      if (!r.ok) return invalid(r.error);
      const moved = r.value.deal;
      if (moved.status === 'won') return done(confirmation(v, moved, 'deal.won', {}), 'channel', moved.id);
      const s = ctx.workspace.settings.stages;
      return done(
        confirmation(v, moved, 'deal.moved', {
          from: stageLabel(s, r.value.from, ctx.locale),
          to: stageLabel(s, moved.stage, ctx.locale),
        }),
        'channel',
        moved.id,
      );
    }
    case 'deal_lost': {
      const r = await loseDeal(ctx, code, {
        reason: values.reason ?? '',
        detail: values.detail,
        expectedVersion: state.v,
      });
      if (!r.ok) return invalid(r.error);
      return done(lostConfirmation(v, r.value.deal), 'channel', r.value.deal.id);
    }
    case 'next_step': {
      const r = await setNextStep(ctx, code, nextStep);
      if (!r.ok) return invalid(r.error);
      return done(
        confirmation(v, r.value, 'deal.nextStepSet', { text: r.value.nextStep?.text ?? '' }),
        'ephemeral',
      );
    }
    case 'note': {
      const r = await addNote(ctx, code, {
        text: values.text ?? '',
        sourceKey: requestKey ? `req:${requestKey}` : undefined,
      });
      if (!r.ok) return invalid(r.error);
      return done(textMessage(t(ctx.locale, 'deal.noteAdded', { code })), 'ephemeral');
    }
    case 'snooze': {
      const r = await snoozeDeal(ctx, code, values.duration ?? '');
      if (!r.ok) return invalid(r.error);
      return done(snoozedMessage(ctx, r.value), 'ephemeral');
    }
    default:
      return { kind: 'errors', errors: { _form: t(ctx.locale, 'forbidden.generic') } };
  }
}
