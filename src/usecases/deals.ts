/**
 * Deal use cases: the only entry points that change deals. Every surface
 * (Slack, Feishu, console, scheduler, import) passes raw user text; parsing,
 * validation, permissions and tenancy live here.
 */
import { checkTransition, DAY_MS, formatDealCode, missingFields } from '../domain/deal.js';
import type { InvalidError } from '../domain/errors.js';
import {
  parseAmount,
  parseCurrency,
  parseDate,
  parseDealCode,
  parseDuration,
  parseSource,
  parseText,
  resolveStage,
} from '../domain/parse.js';
import { findStage, firstStage, lostStage, nextStage, wonStage } from '../domain/pipeline.js';
import type { Bant, CustomValue, Deal, Note, NoteOrigin, StageDef } from '../domain/types.js';
import type { DealPatch, DealQuery, ThreadKind } from '../store/repo.js';
import type { DomainEvent, EventOrigin } from './events.js';
import { abort, canChangeDeal, isManager, run, type Ctx } from './context.js';
import type { Result } from '../domain/errors.js';

/** The StageChange reason of a reopen without a typed reason; presenters show it localized. */
export const REOPEN_REASON = 'dp:reopen';

export const LIMITS = {
  name: 200,
  company: 200,
  nextStep: 500,
  note: 4000,
  reason: 500,
  bant: 300,
  custom: 500,
};

// ── input shapes (raw text from any surface) ────────────────────────────────
export interface NextStepInput {
  text: string;
  /** Due date as typed: ISO, `tomorrow`, `+3d`, `下周五` … */
  due?: string | undefined;
}

export interface DealFieldsInput {
  /**
   * `import`: a spreadsheet row recording history. Past dates are accepted, the
   * target stage's entry requirements are not enforced, and rules do not fire.
   */
  origin?: EventOrigin | undefined;
  name?: string | undefined;
  company?: string | undefined;
  amount?: string | undefined;
  currency?: string | undefined;
  ownerId?: string | undefined;
  source?: string | undefined;
  closeDate?: string | undefined;
  bant?: Partial<Record<keyof Bant, string | undefined>> | undefined;
  custom?: Record<string, string | undefined> | undefined;
}

export interface CreateDealInput extends DealFieldsInput {
  name: string;
  stage?: string | undefined;
  nextStep?: NextStepInput | undefined;
  /** Idempotency key (trigger/view/event id): a repeat returns the first deal. */
  requestKey?: string | undefined;
  /** History from an import: when the deal was created and entered its stage. */
  createdAt?: Date | undefined;
  stageEnteredAt?: Date | undefined;
  externalId?: string | undefined;
}

/** An event as a use case states it; the workspace, actor and origin are added by `publish`. */
type EventBody = DomainEvent extends infer E
  ? E extends DomainEvent
    ? Omit<E, 'workspaceId' | 'actorId' | 'origin'>
    : never
  : never;

/** Publishes a domain event of the context's workspace and actor. */
function publish(ctx: Ctx, body: EventBody, input: { origin?: EventOrigin | undefined } = {}): Promise<void> {
  return ctx.deps.bus.publish({
    ...body,
    workspaceId: ctx.workspace.id,
    actorId: ctx.actor.userId,
    ...(input.origin ? { origin: input.origin } : {}),
  } as DomainEvent);
}

/** Collects field errors so a form can show them all at once. */
class Problems {
  list: Omit<InvalidError, 'kind' | 'more'>[] = [];
  take<T>(r: Result<T>): T | undefined {
    if (r.ok) return r.value;
    if (r.error.kind === 'Invalid') {
      const { kind: _k, more: _m, ...rest } = r.error;
      this.list.push(rest);
      return undefined;
    }
    return abort(r.error);
  }
  add(p: Omit<InvalidError, 'kind' | 'more'>) {
    this.list.push(p);
  }
  throwIfAny(): void {
    const [first, ...more] = this.list;
    if (first) abort({ kind: 'Invalid', ...first, ...(more.length ? { more } : {}) });
  }
}

function dateOpts(ctx: Ctx, field: string, allowPast = false) {
  return { now: ctx.now, timeZone: ctx.workspace.settings.timezone, locale: ctx.locale, allowPast, field };
}

/** Parses the editable fields; only keys present in `input` appear in the patch. */
async function parseFields(
  ctx: Ctx,
  input: DealFieldsInput,
  p: Problems,
  current?: Deal,
): Promise<DealPatch> {
  const s = ctx.workspace.settings;
  const patch: DealPatch = {};
  if (input.name !== undefined) {
    const v = p.take(parseText(input.name, { field: 'name', max: LIMITS.name, required: true }));
    if (v !== undefined) patch.name = v;
  }
  if (input.company !== undefined) {
    const v = p.take(parseText(input.company, { field: 'company', max: LIMITS.company }));
    if (v !== undefined) patch.company = v;
  }
  let currency = current?.currency ?? s.currency;
  if (input.currency !== undefined && input.currency.trim() !== '') {
    const v = p.take(parseCurrency(input.currency));
    if (v !== undefined) currency = patch.currency = v;
  }
  if (input.amount !== undefined) {
    if (input.amount.trim() === '') patch.amount = null;
    else {
      const v = p.take(parseAmount(input.amount, currency));
      if (v !== undefined) {
        patch.amount = v.amount;
        if (input.currency === undefined || input.currency.trim() === '' || v.currency !== currency)
          patch.currency = v.currency;
      }
    }
  }
  if (input.ownerId !== undefined && input.ownerId !== '') {
    const owner = await ctx.deps.store.getMember(ctx.workspace.id, input.ownerId);
    if (!owner) p.add({ field: 'owner', value: input.ownerId, reason: 'owner_unknown' });
    else patch.ownerId = owner.userId;
  }
  if (input.source !== undefined && input.source.trim() !== '') {
    const v = p.take(parseSource(input.source));
    if (v !== undefined) patch.source = v;
  }
  if (input.closeDate !== undefined) {
    if (input.closeDate.trim() === '') patch.closeDate = null;
    else {
      const v = p.take(
        parseDate(
          input.closeDate,
          dateOpts(
            ctx,
            'closeDate',
            input.origin === 'import' || Boolean(current && current.status !== 'open'),
          ),
        ),
      );
      if (v !== undefined) patch.closeDate = v;
    }
  }
  if (input.bant) {
    const bant: Bant = { ...(current?.bant ?? {}) };
    for (const key of ['budget', 'authority', 'need', 'timeline'] as const) {
      const raw = input.bant[key];
      if (raw === undefined) continue;
      const v = p.take(parseText(raw, { field: `bant.${key}`, max: LIMITS.bant }));
      if (v !== undefined) bant[key] = v || undefined;
    }
    patch.bant = bant;
  }
  if (input.custom) {
    const custom: Record<string, CustomValue> = { ...(current?.custom ?? {}) };
    for (const [key, raw] of Object.entries(input.custom)) {
      if (raw === undefined) continue;
      const def = s.customFields.find((f) => f.key === key);
      const field = `custom.${key}`;
      if (!def) {
        p.add({ field, value: key, reason: 'custom_unknown' });
        continue;
      }
      const text = raw.trim();
      if (text === '') {
        delete custom[key];
        continue;
      }
      if (def.type === 'number') {
        const n = Number(text.replace(/,/g, ''));
        if (!Number.isFinite(n)) p.add({ field, value: text, reason: 'number_format' });
        else custom[key] = n;
      } else if (def.type === 'date') {
        const d = p.take(parseDate(text, dateOpts(ctx, field, true)));
        if (d) custom[key] = d;
      } else if (def.type === 'select') {
        const opt = def.options?.find((o) => o.toLowerCase() === text.toLowerCase());
        if (!opt)
          p.add({
            field,
            value: text,
            reason: 'option_unknown',
            params: { accepted: (def.options ?? []).join(', ') },
          });
        else custom[key] = opt;
      } else {
        const v = p.take(parseText(text, { field, max: LIMITS.custom }));
        if (v !== undefined) custom[key] = v;
      }
    }
    patch.custom = custom;
  }
  return patch;
}

function parseNextStep(
  ctx: Ctx,
  input: NextStepInput | undefined,
  p: Problems,
  required: boolean,
  allowPast = false,
) {
  if (!input || input.text.trim() === '') {
    if (required) p.add({ field: 'nextStep', reason: 'next_step_required' });
    return undefined;
  }
  const text = p.take(parseText(input.text, { field: 'nextStep', max: LIMITS.nextStep, required: true }));
  let dueAt: Date | null = null;
  if (input.due && input.due.trim() !== '')
    dueAt = p.take(parseDate(input.due, dateOpts(ctx, 'dueDate', allowPast))) ?? null;
  return text === undefined ? undefined : { text, dueAt };
}

// ── reads ───────────────────────────────────────────────────────────────────
/** Finds a deal by code (`D-12`, `d12`, `12`) or, failing that, by a unique name/company match. */
export function getDeal(ctx: Ctx, ref: string): Promise<Result<Deal>> {
  return run(() => loadDeal(ctx, ref));
}

async function loadDeal(ctx: Ctx, ref: string): Promise<Deal> {
  const store = ctx.deps.store;
  const ws = ctx.workspace.id;
  const code = parseDealCode(ref);
  if (code.ok) {
    const deal = await store.getDealByNumber(ws, code.value.number);
    if (deal) return deal;
    const near = await store.nearbyDealNumbers(ws, code.value.number);
    return abort({
      kind: 'NotFound',
      entity: 'deal',
      ref: code.value.code,
      suggestions: near.map(formatDealCode),
    });
  }
  const text = ref.trim().slice(0, LIMITS.name);
  if (text.length < 2) return abort(code.error);
  const { deals } = await store.listDeals(ws, { text }, { limit: 5 });
  if (deals.length === 1) return deals[0]!;
  return abort({
    kind: 'NotFound',
    entity: 'deal',
    ref: text,
    suggestions: deals.map((d) => `${d.code} ${d.name}`),
  });
}

export type ListScope =
  | { kind: 'mine' }
  | { kind: 'owner'; ownerId: string }
  | { kind: 'stage'; stage: string }
  | { kind: 'stalled' }
  | { kind: 'search'; text: string }
  | { kind: 'all' };

export interface DealPage {
  deals: Deal[];
  total: number;
  page: number;
  pageSize: number;
}

/** Lists open deals by scope; `stalled` uses each stage's threshold and skips snoozed deals. */
export function listDeals(ctx: Ctx, scope: ListScope, page = 0, pageSize = 10): Promise<Result<DealPage>> {
  return run(async () => {
    const s = ctx.workspace.settings;
    const q: DealQuery = { status: 'open' };
    let sort: Record<string, 1 | -1> = { number: 1 };
    switch (scope.kind) {
      case 'mine':
        q.ownerId = ctx.actor.userId;
        break;
      case 'owner':
        q.ownerId = scope.ownerId;
        break;
      case 'stage':
        q.stage = resolveStageOrAbort(s.stages, scope.stage).key;
        break;
      case 'search': {
        const text = parseText(scope.text, { field: 'filter', max: LIMITS.name, required: true });
        if (!text.ok) abort(text.error);
        q.text = text.value;
        break;
      }
      case 'stalled':
        q.stalled = { now: ctx.now, stages: stalledCutoffs(s.stages, ctx.now) };
        sort = { stageEnteredAt: 1 };
        break;
      case 'all':
        break;
    }
    const safePage = Math.max(0, Math.floor(page));
    const { deals, total } = await ctx.deps.store.listDeals(ctx.workspace.id, q, {
      limit: pageSize,
      skip: safePage * pageSize,
      sort,
    });
    return { deals, total, page: safePage, pageSize };
  });
}

export function stalledCutoffs(stages: readonly StageDef[], now: Date): { key: string; before: Date }[] {
  return stages
    .filter((st) => st.active && !st.terminal && st.stallDays)
    .map((st) => ({ key: st.key, before: new Date(now.getTime() - st.stallDays! * DAY_MS) }));
}

function resolveStageOrAbort(stages: readonly StageDef[], input: string): StageDef {
  const r = resolveStage(
    input,
    stages.filter((x) => x.active),
  );
  if (!r.ok) abort(r.error);
  return r.value;
}

// ── writes ──────────────────────────────────────────────────────────────────
export function createDeal(
  ctx: Ctx,
  input: CreateDealInput,
): Promise<Result<{ deal: Deal; created: boolean }>> {
  return run(async () => {
    const s = ctx.workspace.settings;
    const p = new Problems();
    const patch = await parseFields(ctx, input, p);
    let stage = firstStage(s.stages);
    if (input.stage && input.stage.trim() !== '') {
      const r = resolveStage(
        input.stage,
        s.stages.filter((x) => x.active && !x.terminal),
      );
      const v = p.take(r);
      if (v) stage = v;
    }
    const imported = input.origin === 'import';
    const nextStep = parseNextStep(ctx, input.nextStep, p, false, imported);
    p.throwIfAny();
    const ownerId = patch.ownerId ?? ctx.actor.userId;
    if (ownerId !== ctx.actor.userId && !isManager(ctx.actor.role) && input.ownerId)
      abort({ kind: 'Forbidden', action: 'assign_other' });
    const now = ctx.now;
    const draft = {
      name: patch.name!,
      company: patch.company ?? '',
      amount: patch.amount ?? null,
      closeDate: patch.closeDate ?? null,
      bant: patch.bant ?? {},
      custom: patch.custom ?? {},
    };
    // A deal created directly in a later stage must satisfy that stage's entry requirements
    // (an imported row records where the deal already is: the importer reports what is missing).
    if (stage.key !== firstStage(s.stages).key && !imported) {
      const missing = missingFields(draft, stage, s.customFields);
      if (missing.length)
        abort({
          kind: 'Invalid',
          field: missing[0]!,
          reason: 'required_for_stage',
          params: { stage: stage.key, fields: missing.join(', ') },
        });
    }
    const number = await ctx.deps.store.nextDealNumber(ctx.workspace.id);
    const createdAt = input.createdAt ?? now;
    const result = await ctx.deps.store.insertDeal(
      {
        workspaceId: ctx.workspace.id,
        number,
        code: formatDealCode(number),
        ...draft,
        currency: patch.currency ?? s.currency,
        ownerId,
        stage: stage.key,
        stageEnteredAt: input.stageEnteredAt ?? createdAt,
        status: 'open',
        source: patch.source ?? 'other',
        nextStep,
        snoozedUntil: null,
        createdAt,
        createdBy: ctx.actor.userId,
        closedAt: null,
        updatedAt: now,
        version: 1,
        externalId: input.externalId,
      },
      { requestKey: input.requestKey },
    );
    if (result.created) await publish(ctx, { type: 'deal.created', deal: result.deal }, input);
    return result;
  });
}

/** Loads a deal the actor may change (owner or manager); `open` also requires it not to be closed. */
async function loadForChange(
  ctx: Ctx,
  ref: string,
  action: string,
  opts: { open?: boolean } = {},
): Promise<Deal> {
  const deal = await loadDeal(ctx, ref);
  if (!canChangeDeal(ctx.actor, deal)) abort({ kind: 'Forbidden', action });
  if (opts.open && deal.status !== 'open')
    abort({ kind: 'Conflict', reason: 'already_closed', ref: deal.code });
  return deal;
}

function conflictIfStale(deal: Deal | undefined, ref: string): Deal {
  return deal ?? abort({ kind: 'Conflict', reason: 'concurrent_update', ref });
}

export interface EditDealInput extends DealFieldsInput {
  /** The version the form was opened at; a stale form gets Conflict. */
  expectedVersion?: number | undefined;
}

export function editDeal(ctx: Ctx, ref: string, input: EditDealInput): Promise<Result<Deal>> {
  return run(async () => {
    const deal = await loadForChange(ctx, ref, 'edit');
    const p = new Problems();
    const patch = await parseFields(ctx, input, p, deal);
    p.throwIfAny();
    if (input.expectedVersion !== undefined && input.expectedVersion !== deal.version)
      abort({ kind: 'Conflict', reason: 'concurrent_update', ref: deal.code });
    const updated = conflictIfStale(
      await ctx.deps.store.updateDeal(ctx.workspace.id, deal.id, deal.version, patch, ctx.now),
      deal.code,
    );
    await publish(ctx, { type: 'deal.updated', deal: updated }, input);
    return updated;
  });
}

export interface AdvanceInput extends DealFieldsInput {
  /** Target stage as typed; default: the next stage. */
  stage?: string | undefined;
  /** Required on every advance (the method's mandatory next step). */
  nextStep?: NextStepInput | undefined;
  /** Required when moving backward. */
  reason?: string | undefined;
  expectedVersion?: number | undefined;
}

/** Moves an open deal to another stage (forward with entry requirements, backward with a reason). */
export function advanceDeal(
  ctx: Ctx,
  ref: string,
  input: AdvanceInput,
): Promise<Result<{ deal: Deal; from: string }>> {
  return run(async () => {
    const s = ctx.workspace.settings;
    const deal = await loadForChange(ctx, ref, 'advance', { open: true });
    const p = new Problems();
    let target: StageDef | undefined;
    if (input.stage && input.stage.trim() !== '')
      target = p.take(
        resolveStage(
          input.stage,
          s.stages.filter((x) => x.active),
        ),
      );
    else target = nextStage(s.stages, deal.stage);
    const patch = await parseFields(ctx, input, p, deal);
    const nextStep = parseNextStep(
      ctx,
      input.nextStep,
      p,
      target?.terminal !== 'won' && target?.terminal !== 'lost',
      input.origin === 'import',
    );
    const reason = input.reason?.trim()
      ? p.take(parseText(input.reason, { field: 'reason', max: LIMITS.reason }))
      : undefined;
    p.throwIfAny();
    if (!target) return abort({ kind: 'Invalid', field: 'stage', reason: 'stage_unknown' });
    if (target.terminal === 'lost')
      return abort({ kind: 'Invalid', field: 'stage', value: target.key, reason: 'use_lost_command' });
    if (input.expectedVersion !== undefined && input.expectedVersion !== deal.version)
      abort({ kind: 'Conflict', reason: 'concurrent_update', ref: deal.code });
    const merged = { ...deal, ...patch } as Deal;
    const check = checkTransition(s.stages, merged, target.key, {
      reason,
      customFields: s.customFields,
      skipRequirements: input.origin === 'import',
    });
    if (!check.ok) abort(check.error);
    const isWon = target.terminal === 'won';
    const moved = conflictIfStale(
      await ctx.deps.store.moveDeal(
        ctx.workspace.id,
        deal,
        target.key,
        ctx.actor.userId,
        ctx.now,
        {
          ...patch,
          ...(nextStep ? { nextStep } : {}),
          snoozedUntil: null,
          ...(isWon ? { status: 'won' as const, closedAt: ctx.now } : {}),
        },
        reason,
      ),
      deal.code,
    );
    await publish(
      ctx,
      isWon
        ? { type: 'deal.won', deal: moved, from: deal.stage }
        : { type: 'deal.moved', deal: moved, from: deal.stage, to: target.key },
      input,
    );
    return { deal: moved, from: deal.stage };
  });
}

/** Marks an open deal won (the won stage's requirements, e.g. an amount, apply). */
export function winDeal(
  ctx: Ctx,
  ref: string,
  input: { amount?: string; origin?: EventOrigin } = {},
): Promise<Result<{ deal: Deal; from: string }>> {
  const won = wonStage(ctx.workspace.settings.stages);
  return advanceDeal(ctx, ref, { stage: won?.key ?? 'won', amount: input.amount, origin: input.origin });
}

export interface LoseInput {
  origin?: EventOrigin | undefined;
  /** A lost-reason key or label from the workspace's picklist, or free text. */
  reason: string;
  /** Free-text detail next to a picklist reason. */
  detail?: string | undefined;
  expectedVersion?: number | undefined;
}

/** Closes a deal as lost; a reason is mandatory (the method's rule). */
export function loseDeal(
  ctx: Ctx,
  ref: string,
  input: LoseInput,
): Promise<Result<{ deal: Deal; from: string }>> {
  return run(async () => {
    const s = ctx.workspace.settings;
    const deal = await loadForChange(ctx, ref, 'lose', { open: true });
    const p = new Problems();
    const raw = p.take(
      parseText(input.reason ?? '', { field: 'lostReason', max: LIMITS.reason, required: true }),
    );
    const detail = input.detail?.trim()
      ? p.take(parseText(input.detail, { field: 'lostReason', max: LIMITS.reason }))
      : undefined;
    p.throwIfAny();
    const lower = raw!.toLowerCase();
    const picked = s.lostReasons.find(
      (r) => r.key === lower || r.labels.en.toLowerCase() === lower || r.labels['zh-CN'] === raw,
    );
    const lostReason = picked
      ? { key: picked.key, text: detail }
      : { key: 'other', text: detail ? `${raw} — ${detail}` : raw };
    if (input.expectedVersion !== undefined && input.expectedVersion !== deal.version)
      abort({ kind: 'Conflict', reason: 'concurrent_update', ref: deal.code });
    const lost = lostStage(s.stages);
    const moved = conflictIfStale(
      await ctx.deps.store.moveDeal(
        ctx.workspace.id,
        deal,
        lost?.key ?? 'lost',
        ctx.actor.userId,
        ctx.now,
        {
          status: 'lost',
          lostReason,
          closedAt: ctx.now,
          snoozedUntil: null,
        },
        lostReason.text ?? lostReason.key,
      ),
      deal.code,
    );
    await publish(ctx, { type: 'deal.lost', deal: moved, from: deal.stage }, input);
    return { deal: moved, from: deal.stage };
  });
}

/** Managers reopen a won or lost deal into an open stage (default: the stage it closed from). */
export function reopenDeal(
  ctx: Ctx,
  ref: string,
  input: { stage?: string; reason?: string } = {},
): Promise<Result<Deal>> {
  return run(async () => {
    if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'reopen' });
    const s = ctx.workspace.settings;
    const deal = await loadDeal(ctx, ref);
    if (deal.status === 'open') abort({ kind: 'Conflict', reason: 'not_closed', ref: deal.code });
    let target: StageDef | undefined;
    if (input.stage)
      target = resolveStageOrAbort(
        s.stages.filter((x) => !x.terminal),
        input.stage,
      );
    else {
      const history = await ctx.deps.store.stageChanges(ctx.workspace.id, deal.id);
      const last = [...history].reverse().find((c) => c.to === deal.stage);
      target = findStage(s.stages, last?.from ?? '') ?? firstStage(s.stages);
      if (target.terminal || !target.active) target = firstStage(s.stages);
    }
    const reopened = conflictIfStale(
      await ctx.deps.store.moveDeal(
        ctx.workspace.id,
        deal,
        target.key,
        ctx.actor.userId,
        ctx.now,
        {
          status: 'open',
          closedAt: null,
          lostReason: undefined,
        },
        input.reason?.slice(0, LIMITS.reason) ?? REOPEN_REASON,
      ),
      deal.code,
    );
    await publish(ctx, { type: 'deal.reopened', deal: reopened });
    return reopened;
  });
}

export function setNextStep(
  ctx: Ctx,
  ref: string,
  input: NextStepInput & { origin?: EventOrigin },
): Promise<Result<Deal>> {
  return run(async () => {
    const deal = await loadForChange(ctx, ref, 'next_step');
    const p = new Problems();
    const nextStep = parseNextStep(ctx, input, p, true, input.origin === 'import');
    p.throwIfAny();
    const updated = conflictIfStale(
      await ctx.deps.store.updateDeal(ctx.workspace.id, deal.id, deal.version, { nextStep }, ctx.now),
      deal.code,
    );
    await publish(ctx, { type: 'deal.updated', deal: updated }, input);
    return updated;
  });
}

export function assignDeal(ctx: Ctx, ref: string, ownerId: string): Promise<Result<Deal>> {
  return run(async () => {
    const deal = await loadForChange(ctx, ref, 'assign');
    const owner = await ctx.deps.store.getMember(ctx.workspace.id, ownerId);
    if (!owner) abort({ kind: 'NotFound', entity: 'user', ref: ownerId });
    const updated = conflictIfStale(
      await ctx.deps.store.updateDeal(
        ctx.workspace.id,
        deal.id,
        deal.version,
        { ownerId: owner.userId },
        ctx.now,
      ),
      deal.code,
    );
    await publish(ctx, { type: 'deal.assigned', deal: updated, previousOwnerId: deal.ownerId });
    return updated;
  });
}

/** Silences stall alerts for a while (`1d`, `3 days`, `1w`, `3天`). */
export function snoozeDeal(ctx: Ctx, ref: string, duration: string): Promise<Result<Deal>> {
  return run(async () => {
    const deal = await loadForChange(ctx, ref, 'snooze', { open: true });
    const d = parseDuration(duration);
    if (!d.ok) abort(d.error);
    if (d.value.days > 90)
      abort({
        kind: 'Invalid',
        field: 'duration',
        value: duration,
        reason: 'duration_too_long',
        params: { max: 90 },
      });
    const until = new Date(ctx.now.getTime() + d.value.days * DAY_MS);
    const updated = conflictIfStale(
      await ctx.deps.store.updateDeal(
        ctx.workspace.id,
        deal.id,
        deal.version,
        { snoozedUntil: until },
        ctx.now,
      ),
      deal.code,
    );
    await publish(ctx, { type: 'deal.snoozed', deal: updated });
    return updated;
  });
}

export interface AddNoteInput {
  text: string;
  origin?: NoteOrigin;
  permalink?: string | undefined;
  /** Idempotency key: the message id a note came from. */
  sourceKey?: string | undefined;
  /** A follow-up task: due date as typed and who does it. */
  due?: string | undefined;
  assigneeId?: string | undefined;
}

/**
 * Adds a note. Any member may comment on a deal of their workspace (threads are
 * where the team unblocks deals); only changes to the deal itself are restricted.
 */
export function addNote(
  ctx: Ctx,
  ref: string,
  input: AddNoteInput,
): Promise<Result<{ note: Note; deal: Deal; created: boolean }>> {
  return run(async () => {
    const deal = await loadDeal(ctx, ref);
    return addNoteTo(ctx, deal, input);
  });
}

/** Adds a note to a deal already loaded (thread replies know the deal id). */
export async function addNoteTo(
  ctx: Ctx,
  deal: Deal,
  input: AddNoteInput,
): Promise<{ note: Note; deal: Deal; created: boolean }> {
  const p = new Problems();
  const text = p.take(parseText(input.text, { field: 'note', max: LIMITS.note, required: true }));
  const dueAt = input.due ? p.take(parseDate(input.due, dateOpts(ctx, 'dueDate'))) : undefined;
  p.throwIfAny();
  const { note, created } = await ctx.deps.store.addNote({
    workspaceId: ctx.workspace.id,
    dealId: deal.id,
    authorId: ctx.actor.userId,
    text: text!,
    at: ctx.now,
    origin: input.origin ?? 'command',
    permalink: input.permalink,
    sourceKey: input.sourceKey,
    dueAt: dueAt ?? undefined,
    assigneeId: input.assigneeId,
  });
  if (created) await publish(ctx, { type: 'note.added', deal, note });
  return { note, deal, created };
}

/** A member's display name for headings (the user id when unknown). */
export async function memberName(ctx: Ctx, userId: string): Promise<string> {
  const m = await ctx.deps.store.getMember(ctx.workspace.id, userId);
  return m?.displayName || userId;
}

export function getDealById(ctx: Ctx, id: string): Promise<Result<Deal>> {
  return run(async () => {
    const deal = await ctx.deps.store.getDealById(ctx.workspace.id, id);
    return deal ?? abort({ kind: 'NotFound', entity: 'deal', ref: id });
  });
}

export function dealHistory(ctx: Ctx, ref: string) {
  return run(async () => {
    const deal = await loadDeal(ctx, ref);
    const [changes, notes] = await Promise.all([
      ctx.deps.store.stageChanges(ctx.workspace.id, deal.id),
      ctx.deps.store.listNotes(ctx.workspace.id, deal.id, 5),
    ]);
    return { deal, changes, notes };
  });
}

/** Remembers that replies under a posted message are about a deal. */
export function rememberThread(
  ctx: Ctx,
  ref: { channel: string; id: string },
  dealId: string,
  kind: ThreadKind,
) {
  return run(() => ctx.deps.store.linkThread(ctx.workspace.id, ref, dealId, kind, ctx.now));
}

/**
 * A reply in a thread under a DealPulse message about a deal becomes a note on
 * that deal. Returns `undefined` (not an error) when the thread is not about a deal.
 * Redelivered replies (same `messageId`) add nothing.
 */
export function noteFromThreadReply(
  ctx: Ctx,
  input: {
    channel: string;
    rootId: string;
    messageId: string;
    text: string;
    /** The reply's link, or a function fetching it: called only when the thread is about a deal. */
    permalink?: string | (() => Promise<string | undefined>);
  },
): Promise<Result<{ note: Note; deal: Deal; created: boolean } | undefined>> {
  return run(async () => {
    const dealId = await ctx.deps.store.dealIdForThread(ctx.workspace.id, input.channel, input.rootId);
    if (!dealId) return undefined;
    const deal = await ctx.deps.store.getDealById(ctx.workspace.id, dealId);
    if (!deal) return undefined;
    const permalink = typeof input.permalink === 'function' ? await input.permalink() : input.permalink;
    return addNoteTo(ctx, deal, {
      text: input.text,
      origin: 'thread',
      permalink,
      sourceKey: `msg:${input.channel}:${input.messageId}`,
    });
  });
}
