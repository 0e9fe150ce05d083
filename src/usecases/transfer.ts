/**
 * Spreadsheet import and pipeline export (issue 10).
 *
 * Import: the file is read (transfer/parse), its columns mapped (transfer/mapping), and every row validated with
 * the same parsers and stage rules the commands use, against the deal it would update. The preview shows that
 * plan; `runImport` writes it through the deal use cases (createDeal, editDeal, advanceDeal, setNextStep,
 * winDeal, loseDeal), so permissions, history and events are the same as in chat. Closed rows are replayed at
 * their own time (the context's clock is the close date), so the StageChange log carries the spreadsheet's
 * dates. Re-importing a file matches its rows to the deals it created (external id, deal code, or name +
 * company) and changes only what differs.
 *
 * Export: deals are read through a database cursor and written row by row (ExcelJS streaming writer, or CSV),
 * with a second sheet/file of stage changes; headers in the actor's language.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { DateTime } from 'luxon';
import { daysInStage, missingFields, type DealFields } from '../domain/deal.js';
import type { DomainError, InvalidError, Result } from '../domain/errors.js';
import { resolvePeriod } from '../domain/metrics.js';
import {
  parseAmount,
  parseCurrency,
  parseDate,
  parseSource,
  parseText,
  resolveStage,
} from '../domain/parse.js';
import { firstStage, lostStage, stageIndex, stageLabel, wonStage } from '../domain/pipeline.js';
import type { CustomFieldDef, CustomValue, Deal, Locale, Member, StageDef } from '../domain/types.js';
import { formatDate, formatMoney } from '../i18n/format.js';
import { fieldLabel, hasKey, renderError, renderInvalid, t } from '../i18n/index.js';
import { changeReason } from '../presenters/deal.js';
import { importUploads } from '../store/transfer-models.js';
import {
  detectMapping,
  unknownColumns as unknownOf,
  type ImportField,
  type Mapping,
} from '../transfer/mapping.js';
import { readSpreadsheet, type Sheet } from '../transfer/parse.js';
import { abort, isManager, must, run, type Ctx } from './context.js';
import {
  advanceDeal,
  createDeal,
  editDeal,
  LIMITS,
  loseDeal,
  setNextStep,
  winDeal,
  type EditDealInput,
} from './deals.js';
import { updateSettings } from './settings.js';

/** A row warning: a catalogue key under `transfer.warning.` (owner ones take the owner cell). */
type RowWarning = string | { key: string; params: Record<string, string> };

export interface ImportFile {
  buffer: Buffer;
  filename: string;
}

export type ImportMode = 'valid_only' | 'all_or_nothing';
export type UnknownColumnsMode = 'custom' | 'ignore';

export interface RowIssue {
  /** Spreadsheet row number (the header is row 1). */
  row: number;
  /** Localized, one sentence. */
  reason: string;
}

export interface PreviewColumn {
  index: number;
  header: string;
  field: ImportField | null;
  /** Localized name of the field, '' when unmapped. */
  fieldLabel: string;
  /** A column DealPulse computes in its exports (always ignored). */
  computed: boolean;
}

export interface PreviewRow {
  row: number;
  action: 'create' | 'update' | 'unchanged';
  /** The values as they will be stored, formatted for the actor. */
  cells: { field: ImportField; label: string; value: string }[];
}

export interface ImportPreview {
  filename: string;
  format: Sheet['format'];
  encoding?: Sheet['encoding'];
  delimiter?: Sheet['delimiter'];
  columns: PreviewColumn[];
  /** Headers of the columns no field claimed: kept as custom fields or ignored, as the user chooses. */
  unknownColumns: string[];
  total: number;
  valid: number;
  creates: number;
  updates: number;
  unchanged: number;
  invalid: RowIssue[];
  warnings: RowIssue[];
  /** The first rows (up to 5) as they will be imported. */
  sample: PreviewRow[];
}

export interface ImportOptions {
  mode: ImportMode;
  unknownColumns: UnknownColumnsMode;
  /** Idempotency key of the confirmation (a repeated submission creates nothing twice). */
  requestKey?: string | undefined;
}

export interface ImportReport {
  mode: ImportMode;
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: RowIssue[];
  warnings: RowIssue[];
  /** False when all-or-nothing found invalid rows and wrote nothing. */
  written: boolean;
  /** Labels of the custom fields added for unknown columns. */
  customFieldsAdded: string[];
}

const SAMPLE_ROWS = 5;
const LOOKUP_CHUNK = 500;

// ───────────────────────────── row analysis ─────────────────────────────

type Status = 'open' | 'won' | 'lost';

interface RawRow {
  row: number;
  values: Partial<Record<ImportField, string>>;
}

/** A validated row: raw strings for the use cases (which parse them again the same way) plus parsed values. */
interface PlannedRow {
  row: number;
  externalId: string;
  existing?: Deal;
  status: Status;
  /** The open stage the deal is in (closed rows: the stage they closed from). */
  stage: StageDef;
  ownerId?: string;
  input: {
    name: string;
    company?: string;
    amount?: string;
    currency?: string;
    source?: string;
    closeDate?: string;
    bant?: Partial<Record<'budget' | 'authority' | 'need' | 'timeline', string>>;
    custom?: Record<string, string>;
    nextStep?: { text: string; due?: string };
    lostReason?: string;
  };
  parsed: DealFields & { name: string; currency: string; source?: string; nextStep?: string };
  createdAt?: Date;
  stageEnteredAt?: Date;
  closedAt: Date;
  action: 'create' | 'update' | 'unchanged';
  warnings: RowWarning[];
}

type RowProblem = Omit<InvalidError, 'kind' | 'more'> | DomainError;

interface Analysis {
  sheet: Sheet;
  mapping: Mapping;
  planned: PlannedRow[];
  problems: RowIssue[];
  warnings: RowIssue[];
}

const STATUS_WORDS: Record<string, Status> = {
  open: 'open',
  active: 'open',
  inprogress: 'open',
  进行中: 'open',
  跟进中: 'open',
  打开: 'open',
  won: 'won',
  win: 'won',
  closedwon: 'won',
  赢单: 'won',
  成交: 'won',
  已成交: 'won',
  赢: 'won',
  lost: 'lost',
  lose: 'lost',
  closedlost: 'lost',
  输单: 'lost',
  流失: 'lost',
  丢单: 'lost',
  已流失: 'lost',
};

const squash = (s: string): string =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]/gu, '');

/** `row:` + a stable hash of (name, company), case- and space-insensitive. */
export function rowExternalId(name: string, company: string): string {
  const key = `${squash(name)}\u0000${squash(company)}`;
  return `row:${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}

const DATE_FIELDS: readonly ImportField[] = [
  'closeDate',
  'nextStepDue',
  'createdAt',
  'stageEnteredAt',
  'closedAt',
];

/**
 * Excel writes `d/m/yyyy` or `m/d/yyyy` in CSV depending on the PC's region. A column where some day is > 12
 * shows the order; its values are rewritten as ISO. A column that never shows it is left as is (those values
 * are rejected as ambiguous, with the ISO format as the hint).
 */
export function normalizeDateColumn(values: string[]): string[] {
  const re = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(\s.*)?$/;
  let dayFirst = false;
  let monthFirst = false;
  for (const v of values) {
    const m = re.exec(v.trim());
    if (!m) continue;
    if (Number(m[1]) > 12) dayFirst = true;
    if (Number(m[2]) > 12) monthFirst = true;
  }
  if (dayFirst === monthFirst) return values;
  return values.map((v) => {
    const m = re.exec(v.trim());
    if (!m) return v;
    const [a, b] = [m[1]!.padStart(2, '0'), m[2]!.padStart(2, '0')];
    const [day, month] = dayFirst ? [a, b] : [b, a];
    return `${m[3]}-${month}-${day}${m[4] ?? ''}`;
  });
}

/** ExcelJS numbers such as `1234.567` would read as ambiguous European thousands: give them as decimals. */
function amountText(raw: string, format: Sheet['format']): string {
  if (format === 'xlsx' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) {
    const n = Number(raw);
    if (Number.isFinite(n)) return n.toFixed(2);
  }
  return raw;
}

function rawRows(sheet: Sheet, mapping: Mapping): RawRow[] {
  const cols = mapping.columns.filter((c) => c.field !== null);
  const columnValues = new Map<number, string[]>();
  for (const c of cols) {
    let values = sheet.rows.map((r) => r[c.index] ?? '');
    if (DATE_FIELDS.includes(c.field!)) values = normalizeDateColumn(values);
    if (c.field === 'amount') values = values.map((v) => amountText(v, sheet.format));
    columnValues.set(c.index, values);
  }
  return sheet.rows.map((_, i) => {
    const values: RawRow['values'] = {};
    for (const c of cols) values[c.field!] = columnValues.get(c.index)![i] ?? '';
    return { row: sheet.rowNumbers[i] ?? i + 2, values };
  });
}

/** Owner cells: e-mail, user id, `<@U1>` mention or display name (unique, case-insensitive). */
function ownerMatcher(members: Member[]) {
  const byEmail = new Map<string, Member>();
  const byId = new Map<string, Member>();
  const byName = new Map<string, Member[]>();
  for (const m of members) {
    if (m.email) byEmail.set(m.email.trim().toLowerCase(), m);
    byId.set(m.userId, m);
    const k = squash(m.displayName);
    if (k) byName.set(k, [...(byName.get(k) ?? []), m]);
  }
  return (cell: string): Member | undefined => {
    const s = cell.trim();
    const mention = /^<@([^>|]+)(?:\|[^>]*)?>$/.exec(s) ?? /^@(\S+)$/.exec(s);
    const id = mention?.[1] ?? s;
    const hit = byEmail.get(s.toLowerCase()) ?? byId.get(id);
    if (hit) return hit;
    const named = byName.get(squash(s));
    return named?.length === 1 ? named[0] : undefined;
  };
}

const sameDay = (a: Date | null | undefined, b: Date | null | undefined): boolean =>
  (a?.getTime() ?? null) === (b?.getTime() ?? null);

async function loadExisting(ctx: Ctx, rows: { externalId: string; code?: number; nameKey: string }[]) {
  const Deal = ctx.deps.store.models.Deal;
  const ws = ctx.workspace.id;
  const ids = new Map<string, string>();
  const byExternal = new Map<string, string>();
  const byCode = new Map<number, string>();
  const byName = new Map<string, string>();
  for (let i = 0; i < rows.length; i += LOOKUP_CHUNK) {
    const chunk = rows.slice(i, i + LOOKUP_CHUNK);
    const codes = chunk.map((r) => r.code).filter((n): n is number => n !== undefined);
    const docs = await Deal.find(
      {
        workspaceId: ws,
        $or: [
          { externalId: { $in: chunk.map((r) => r.externalId) } },
          ...(codes.length ? [{ number: { $in: codes } }] : []),
        ],
      },
      { _id: 1, externalId: 1, number: 1 },
    ).lean();
    for (const d of docs) {
      const id = String(d._id);
      ids.set(id, id);
      if (d.externalId) byExternal.set(d.externalId, id);
      byCode.set(d.number, id);
    }
  }
  // Deals created in chat have no external id: match the rows nothing else matched by name + company
  // (case-insensitive), reading the name and company of those deals once.
  const unmatched = rows.some(
    (r) => !byExternal.has(r.externalId) && (r.code === undefined || !byCode.has(r.code)),
  );
  if (unmatched) {
    const named = Deal.find(
      { workspaceId: ws, externalId: { $exists: false } },
      { _id: 1, name: 1, company: 1 },
    )
      .lean()
      .cursor({ batchSize: 1000 });
    for await (const d of named) {
      const key = `${d.name.trim().toLowerCase()}\u0000${(d.company ?? '').trim().toLowerCase()}`;
      if (!byName.has(key)) byName.set(key, String(d._id));
    }
  }
  const wanted = new Set(ids.keys());
  for (const r of rows) {
    const id = byName.get(r.nameKey);
    if (id && !byExternal.has(r.externalId)) wanted.add(id);
  }
  const deals = new Map<string, Deal>();
  const all = [...wanted];
  for (let i = 0; i < all.length; i += LOOKUP_CHUNK) {
    const chunk = all.slice(i, i + LOOKUP_CHUNK);
    const { deals: page } = await ctx.deps.store.listDeals(ws, { ids: chunk }, { limit: chunk.length });
    for (const d of page) deals.set(d.id, d);
  }
  return (r: { externalId: string; code?: number; nameKey: string }): Deal | undefined => {
    const id =
      byExternal.get(r.externalId) ??
      (r.code !== undefined ? byCode.get(r.code) : undefined) ??
      byName.get(r.nameKey);
    return id ? deals.get(id) : undefined;
  };
}

const dateOpts = (ctx: Ctx, now: Date, field: string, allowPast: boolean) => ({
  now,
  timeZone: ctx.workspace.settings.timezone,
  locale: ctx.locale,
  allowPast,
  field,
});

function customValue(ctx: Ctx, def: CustomFieldDef, text: string, p: RowProblem[]): CustomValue | undefined {
  const field = `custom.${def.key}`;
  if (def.type === 'number') {
    const n = Number(text.replace(/,/g, ''));
    if (Number.isFinite(n)) return n;
    p.push({ field, value: text, reason: 'number_format' });
    return undefined;
  }
  if (def.type === 'date') {
    const d = parseDate(text, dateOpts(ctx, ctx.now, field, true));
    if (d.ok) return d.value;
    p.push(d.error);
    return undefined;
  }
  if (def.type === 'select') {
    const opt = def.options?.find((o) => o.toLowerCase() === text.toLowerCase());
    if (opt) return opt;
    p.push({
      field,
      value: text,
      reason: 'option_unknown',
      params: { accepted: (def.options ?? []).join(', ') },
    });
    return undefined;
  }
  const v = parseText(text, { field, max: LIMITS.custom });
  if (v.ok) return v.value;
  p.push(v.error);
  return undefined;
}

/** Validates one row against what the deal use cases will accept; returns the plan or the problems. */
function planRow(
  ctx: Ctx,
  raw: RawRow,
  env: {
    findOwner: (cell: string) => Member | undefined;
    existing: Deal | undefined;
    externalId: string;
    customFields: CustomFieldDef[];
  },
): { plan?: PlannedRow; problems: RowProblem[]; warnings: RowWarning[] } {
  const s = ctx.workspace.settings;
  const v = raw.values;
  const get = (f: ImportField): string => (v[f] ?? '').trim();
  const problems: RowProblem[] = [];
  const warnings: RowWarning[] = [];
  const take = <T>(r: Result<T>): T | undefined => {
    if (r.ok) return r.value;
    problems.push(r.error);
    return undefined;
  };
  const existing = env.existing;

  const name = take(parseText(get('name'), { field: 'name', max: LIMITS.name, required: true }));
  const company = take(parseText(get('company'), { field: 'company', max: LIMITS.company }));
  let currency = existing?.currency ?? s.currency;
  if (get('currency')) currency = take(parseCurrency(get('currency'))) ?? currency;
  let amount: number | null | undefined;
  if (get('amount')) {
    const a = take(parseAmount(get('amount'), currency));
    if (a) {
      amount = a.amount;
      currency = a.currency;
    }
  }
  const source = get('source') ? take(parseSource(get('source'))) : undefined;

  // Stage and status.
  const active = s.stages.filter((x) => x.active);
  let stage: StageDef | undefined;
  let status: Status = 'open';
  if (get('stage')) {
    stage = take(resolveStage(get('stage'), active));
    if (stage?.terminal) {
      status = stage.terminal;
      stage = undefined;
    }
  }
  if (get('status')) {
    const word = STATUS_WORDS[squash(get('status'))];
    const asStage = word ? undefined : resolveStage(get('status'), active);
    const st = word ?? (asStage?.ok && asStage.value.terminal ? asStage.value.terminal : undefined);
    if (!st) problems.push({ field: 'status', value: get('status'), reason: 'status_unknown' });
    else if (st !== 'open') status = st;
  }
  const first = firstStage(s.stages);
  const target =
    stage ?? (existing && existing.status === 'open' ? findOpen(s.stages, existing.stage) : first);

  // Owner: unknown → the importing manager (new deals) or unchanged (existing deals), with a warning.
  let ownerId: string | undefined;
  if (get('owner')) {
    const owner = env.findOwner(get('owner'));
    if (owner) ownerId = owner.userId;
    else warnings.push(existing ? 'owner_unknown_kept' : 'owner_unknown');
  }

  // Dates: history dates may be past, never future.
  const pastDate = (f: 'createdAt' | 'stageEnteredAt' | 'closedAt'): Date | undefined => {
    if (!get(f)) return undefined;
    const d = take(parseDate(get(f), dateOpts(ctx, ctx.now, f, true)));
    if (d && d.getTime() > ctx.now.getTime()) {
      problems.push({ field: f, value: get(f), reason: 'date_future' });
      return undefined;
    }
    return d;
  };
  let createdAt = pastDate('createdAt');
  const stageEnteredAt = pastDate('stageEnteredAt');
  let closedAt: Date = ctx.now;
  if (status !== 'open') {
    const closeDay = get('closeDate')
      ? parseDate(get('closeDate'), dateOpts(ctx, ctx.now, 'closeDate', true))
      : undefined;
    closedAt =
      pastDate('closedAt') ??
      stageEnteredAt ??
      (closeDay?.ok && closeDay.value.getTime() <= ctx.now.getTime() ? closeDay.value : ctx.now);
  }
  if (!createdAt && !existing) createdAt = status === 'open' ? stageEnteredAt : undefined;
  if (createdAt && status !== 'open' && createdAt.getTime() > closedAt.getTime())
    problems.push({
      field: 'closedAt',
      value: get('closedAt') || get('stageEnteredAt'),
      reason: 'closed_before_created',
    });
  if (createdAt && stageEnteredAt && status === 'open' && stageEnteredAt.getTime() < createdAt.getTime())
    problems.push({ field: 'stageEnteredAt', value: get('stageEnteredAt'), reason: 'stage_before_created' });
  // A closed deal is created and closed at its close date, so its dates are checked against that day.
  const refNow = status === 'open' ? ctx.now : closedAt;
  if (!createdAt && status !== 'open' && !existing) createdAt = closedAt;
  let closeDate: Date | null | undefined;
  if (get('closeDate'))
    closeDate = take(parseDate(get('closeDate'), dateOpts(ctx, refNow, 'closeDate', true)));

  let nextStep: { text: string; due?: string } | undefined;
  if (status === 'open' && get('nextStep')) {
    const text = take(
      parseText(get('nextStep'), { field: 'nextStep', max: LIMITS.nextStep, required: true }),
    );
    if (get('nextStepDue')) take(parseDate(get('nextStepDue'), dateOpts(ctx, ctx.now, 'dueDate', true)));
    if (text) nextStep = { text, ...(get('nextStepDue') ? { due: get('nextStepDue') } : {}) };
  }
  let lostReason: string | undefined;
  if (status === 'lost') {
    if (!get('lostReason')) problems.push({ field: 'lostReason', reason: 'lost_reason_required' });
    else lostReason = take(parseText(get('lostReason'), { field: 'lostReason', max: LIMITS.reason }));
  }
  const bant: PlannedRow['input']['bant'] = {};
  for (const k of ['budget', 'authority', 'need', 'timeline'] as const) {
    const text = get(`bant.${k}`);
    if (text && take(parseText(text, { field: `bant.${k}`, max: LIMITS.bant })) !== undefined) bant[k] = text;
  }
  const customRaw: Record<string, string> = {};
  const custom: Record<string, CustomValue> = { ...(existing?.custom ?? {}) };
  for (const def of env.customFields) {
    const text = get(`custom.${def.key}`);
    if (!text) continue;
    const cv = customValue(ctx, def, text, problems);
    if (cv !== undefined) {
      customRaw[def.key] = text;
      custom[def.key] = cv;
    }
  }

  if (problems.length || !name || !target) return { problems, warnings };

  const parsed: PlannedRow['parsed'] = {
    name,
    company: company || existing?.company || '',
    amount: amount ?? existing?.amount ?? null,
    currency,
    closeDate: closeDate === undefined ? (existing?.closeDate ?? null) : closeDate,
    bant: { ...(existing?.bant ?? {}), ...bant },
    custom,
    ...(source ? { source } : {}),
    ...(nextStep ? { nextStep: nextStep.text } : {}),
  };
  const input: PlannedRow['input'] = {
    name,
    ...(company ? { company } : {}),
    ...(get('amount') ? { amount: get('amount') } : {}),
    ...(get('currency') ? { currency: get('currency') } : {}),
    ...(source ? { source } : {}),
    ...(get('closeDate') ? { closeDate: get('closeDate') } : {}),
    ...(Object.keys(bant).length ? { bant } : {}),
    ...(Object.keys(customRaw).length ? { custom: customRaw } : {}),
    ...(nextStep ? { nextStep } : {}),
    ...(lostReason ? { lostReason } : {}),
  };

  // A row records where the deal already is: fields its stage would require are reported, not enforced.
  const rule = (st: StageDef | undefined, custom = true) => {
    if (!st) return;
    const missing = missingFields(parsed, st, custom ? s.customFields : []);
    if (missing.length)
      warnings.push({
        key: 'stage_requirements',
        params: {
          stage: st.labels[ctx.locale],
          fields: missing.map((f) => fieldLabel(ctx.locale, f)).join(ctx.locale === 'zh-CN' ? '、' : ', '),
        },
      });
  };
  let action: PlannedRow['action'] = 'create';
  if (!existing) {
    if (target.key !== first.key) rule(target);
    if (status === 'won') rule(wonStage(s.stages), false);
  } else {
    const stageChanges = status === 'open' && target.key !== existing.stage;
    if (existing.status !== 'open') {
      if (status !== existing.status)
        problems.push({ kind: 'Conflict', reason: 'already_closed', ref: existing.code });
    } else {
      if (stageChanges) {
        const forward = stageIndex(s.stages, target.key) > stageIndex(s.stages, existing.stage);
        if (forward) rule(target);
        if (!nextStep && !existing.nextStep?.text)
          problems.push({ field: 'nextStep', reason: 'next_step_required' });
      }
      if (status === 'won') rule(wonStage(s.stages), false);
    }
    const changed =
      stageChanges ||
      status !== existing.status ||
      name !== existing.name ||
      (company !== undefined && company !== '' && company !== existing.company) ||
      (amount !== undefined && amount !== existing.amount) ||
      currency !== existing.currency ||
      (ownerId !== undefined && ownerId !== existing.ownerId) ||
      (source !== undefined && source !== existing.source) ||
      (closeDate !== undefined && !sameDay(closeDate, existing.closeDate)) ||
      (nextStep !== undefined && nextStep.text !== existing.nextStep?.text) ||
      Object.entries(bant).some(([k, val]) => existing.bant[k as keyof Deal['bant']] !== val) ||
      Object.keys(customRaw).some((k) => !sameCustom(custom[k], existing.custom[k]));
    action = changed ? 'update' : 'unchanged';
  }
  if (problems.length) return { problems, warnings };
  return {
    plan: {
      row: raw.row,
      externalId: env.externalId,
      ...(existing ? { existing } : {}),
      status,
      stage: target,
      ...(ownerId ? { ownerId } : {}),
      input,
      parsed,
      ...(createdAt ? { createdAt } : {}),
      ...(stageEnteredAt ? { stageEnteredAt } : {}),
      closedAt,
      action,
      warnings,
    },
    problems,
    warnings,
  };
}

function sameCustom(a: CustomValue | undefined, b: CustomValue | undefined): boolean {
  if (a instanceof Date || b instanceof Date)
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  return a === b;
}

function findOpen(stages: readonly StageDef[], key: string): StageDef {
  return stages.find((s) => s.key === key && !s.terminal) ?? firstStage(stages);
}

/** Extra import fields have no core label: render them with the transfer catalogue's header names. */
const EXTRA_FIELDS = ['createdAt', 'stageEnteredAt', 'closedAt', 'status'];

export function renderRowProblem(ctx: Ctx, p: RowProblem): string {
  const L = ctx.locale;
  const customLabels: Record<string, string> = Object.fromEntries(
    ctx.workspace.settings.customFields.map((f) => [f.key, f.labels[L]]),
  );
  const opts = { stages: ctx.workspace.settings.stages, customLabels };
  if ('kind' in p) return renderError(L, p, opts);
  if (p.reason && hasKey(L, `transfer.reason.${p.reason}`)) {
    return t(L, `transfer.reason.${p.reason}`, {
      ...p.params,
      value: p.value ?? '',
      field: EXTRA_FIELDS.includes(p.field)
        ? t(L, `transfer.header.${p.field}`)
        : fieldLabel(L, p.field, opts.stages, customLabels),
    });
  }
  if (EXTRA_FIELDS.includes(p.field)) {
    for (const f of EXTRA_FIELDS) customLabels[`__${f}`] = t(L, `transfer.header.${f}`);
    return renderInvalid(L, { ...p, field: `custom.__${p.field}` }, opts);
  }
  return renderInvalid(L, p, opts);
}

async function analyze(ctx: Ctx, file: ImportFile): Promise<Analysis> {
  if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'import' });
  const sheet = must(await readSpreadsheet(file.buffer, file.filename));
  const s = ctx.workspace.settings;
  const mapping = detectMapping(sheet.headers, s.customFields);
  if (!mapping.columns.some((c) => c.field === 'name'))
    abort({ kind: 'Invalid', field: 'file', reason: 'no_name_column' });
  const raws = rawRows(sheet, mapping);
  const members = must(await run(() => ctx.deps.store.listMembers(ctx.workspace.id)));
  const findOwner = ownerMatcher(members);
  const keyed = raws.map((r) => {
    const name = (r.values.name ?? '').trim();
    const company = (r.values.company ?? '').trim();
    const explicit = (r.values.externalId ?? '').trim();
    const codeMatch = /^d-?(\d{1,9})$/i.exec((r.values.code ?? '').trim());
    return {
      raw: r,
      externalId: explicit ? explicit.slice(0, 200) : rowExternalId(name, company),
      ...(codeMatch ? { code: Number(codeMatch[1]) } : {}),
      nameKey: `${name.toLowerCase()}\u0000${company.toLowerCase()}`,
    };
  });
  const lookup = await loadExisting(ctx, keyed);
  const planned: PlannedRow[] = [];
  const problems: RowIssue[] = [];
  const warnings: RowIssue[] = [];
  const seen = new Map<string, number>();
  for (const k of keyed) {
    const existing = lookup(k);
    const identity = existing ? `deal:${existing.id}` : `ext:${k.externalId}`;
    const firstRow = seen.get(identity);
    if (firstRow !== undefined) {
      problems.push({
        row: k.raw.row,
        reason: t(ctx.locale, 'transfer.reason.duplicate_row', { first: firstRow }),
      });
      continue;
    }
    seen.set(identity, k.raw.row);
    const r = planRow(ctx, k.raw, {
      findOwner,
      existing,
      externalId: k.externalId,
      customFields: s.customFields,
    });
    for (const w of r.warnings)
      warnings.push({
        row: k.raw.row,
        reason:
          typeof w === 'string'
            ? t(ctx.locale, `transfer.warning.${w}`, { value: (k.raw.values.owner ?? '').trim() })
            : t(ctx.locale, `transfer.warning.${w.key}`, w.params),
      });
    if (r.plan) planned.push(r.plan);
    else
      problems.push({
        row: k.raw.row,
        reason: r.problems.map((p) => renderRowProblem(ctx, p)).join(' '),
      });
  }
  problems.sort((a, b) => a.row - b.row);
  return { sheet, mapping, planned, problems, warnings };
}

function previewCells(ctx: Ctx, plan: PlannedRow, members: Map<string, string>): PreviewRow['cells'] {
  const L = ctx.locale;
  const s = ctx.workspace.settings;
  const tz = s.timezone;
  const cell = (field: ImportField, value: string) => ({
    field,
    label: t(L, `transfer.header.${field}`),
    value,
  });
  const p = plan.parsed;
  const ownerId = plan.ownerId ?? plan.existing?.ownerId ?? ctx.actor.userId;
  const cells = [
    cell('name', p.name),
    cell('company', p.company),
    cell('amount', p.amount === null ? '' : formatMoney(p.amount, p.currency, L)),
    cell(
      'stage',
      plan.status === 'open'
        ? stageLabel(s.stages, plan.stage.key, L)
        : stageLabel(
            s.stages,
            (plan.status === 'won' ? wonStage(s.stages) : lostStage(s.stages))?.key ?? plan.status,
            L,
          ),
    ),
    cell('owner', members.get(ownerId) || ownerId),
    cell('closeDate', p.closeDate ? formatDate(p.closeDate, L, tz) : ''),
  ];
  if (plan.createdAt) cells.push(cell('createdAt', formatDate(plan.createdAt, L, tz)));
  if (plan.stageEnteredAt) cells.push(cell('stageEnteredAt', formatDate(plan.stageEnteredAt, L, tz)));
  if (p.nextStep) cells.push(cell('nextStep', p.nextStep));
  return cells;
}

/**
 * Reads and validates a file without writing anything: the mapping, the first rows as they will be imported,
 * which rows are invalid and why. Managers only. Invalid 'file' errors: see transfer/parse.ts and `no_name_column`.
 */
export function previewImport(ctx: Ctx, file: ImportFile): Promise<Result<ImportPreview>> {
  return run(async () => {
    const a = await analyze(ctx, file);
    const L = ctx.locale;
    const s = ctx.workspace.settings;
    const customLabels = Object.fromEntries(s.customFields.map((f) => [f.key, f.labels[L]]));
    const members = new Map(
      must(await run(() => ctx.deps.store.listMembers(ctx.workspace.id))).map((m) => [
        m.userId,
        m.displayName,
      ]),
    );
    return {
      filename: file.filename,
      format: a.sheet.format,
      ...(a.sheet.encoding ? { encoding: a.sheet.encoding } : {}),
      ...(a.sheet.delimiter ? { delimiter: a.sheet.delimiter } : {}),
      columns: a.mapping.columns.map((c) => ({
        index: c.index,
        header: c.header,
        field: c.field,
        fieldLabel: c.field
          ? c.field.startsWith('custom.')
            ? (customLabels[c.field.slice(7)] ?? c.field.slice(7))
            : t(L, `transfer.header.${c.field}`)
          : '',
        computed: Boolean(c.computed),
      })),
      unknownColumns: unknownOf(a.mapping).map((c) => c.header),
      total: a.sheet.rows.length,
      valid: a.planned.length,
      creates: a.planned.filter((p) => p.action === 'create').length,
      updates: a.planned.filter((p) => p.action === 'update').length,
      unchanged: a.planned.filter((p) => p.action === 'unchanged').length,
      invalid: a.problems,
      warnings: a.warnings,
      sample: a.planned.slice(0, SAMPLE_ROWS).map((p) => ({
        row: p.row,
        action: p.action,
        cells: previewCells(ctx, p, members),
      })),
    };
  });
}

/** A custom-field key for a header: ASCII slug, or a hash for headers without ASCII letters. */
function customKeyFor(header: string, taken: Set<string>): string {
  const slug = header
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 24);
  let key = /^[a-z]/.test(slug)
    ? slug
    : `col_${createHash('sha256').update(header).digest('hex').slice(0, 8)}`;
  for (let i = 2; taken.has(key); i++) key = `${key.replace(/_\d+$/, '')}_${i}`;
  taken.add(key);
  return key;
}

/** A text custom field per unknown column (labels = the header); nothing is saved here. */
function customFieldsFor(ctx: Ctx, headers: string[]): CustomFieldDef[] {
  const taken = new Set(ctx.workspace.settings.customFields.map((f) => f.key));
  return headers.map((h) => ({
    key: customKeyFor(h, taken),
    labels: { en: h.slice(0, 100), 'zh-CN': h.slice(0, 100) },
    type: 'text',
  }));
}

/** The context as if `defs` were already in the settings (to validate rows before anything is written). */
const withCustomFields = (ctx: Ctx, defs: CustomFieldDef[]): Ctx =>
  defs.length
    ? {
        ...ctx,
        workspace: {
          ...ctx.workspace,
          settings: {
            ...ctx.workspace.settings,
            customFields: [...ctx.workspace.settings.customFields, ...defs],
          },
        },
      }
    : ctx;

/** Saves the new custom fields (one settings write) and returns the context with them. */
async function saveCustomFields(ctx: Ctx, defs: CustomFieldDef[]): Promise<Ctx> {
  if (defs.length === 0) return ctx;
  const s = ctx.workspace.settings;
  const updated = must(await updateSettings(ctx, { customFields: [...s.customFields, ...defs] }));
  return { ...ctx, workspace: updated };
}

const at = (ctx: Ctx, when: Date): Ctx => ({ ...ctx, now: when });

function editInput(plan: PlannedRow, deal: Deal): EditDealInput {
  const i = plan.input;
  const p = plan.parsed;
  const out: EditDealInput = {};
  if (p.name !== deal.name) out.name = i.name;
  if (i.company !== undefined && i.company !== deal.company) out.company = i.company;
  if (i.amount !== undefined && (p.amount !== deal.amount || p.currency !== deal.currency)) {
    out.amount = i.amount;
    if (i.currency) out.currency = i.currency;
  } else if (i.currency !== undefined && p.currency !== deal.currency) out.currency = i.currency;
  if (plan.ownerId && plan.ownerId !== deal.ownerId) out.ownerId = plan.ownerId;
  if (p.source !== undefined && p.source !== deal.source) out.source = p.source;
  if (i.closeDate !== undefined && !sameDay(p.closeDate, deal.closeDate)) out.closeDate = i.closeDate;
  if (i.bant && Object.entries(i.bant).some(([k, v]) => deal.bant[k as keyof Deal['bant']] !== v))
    out.bant = i.bant;
  if (i.custom && Object.keys(i.custom).some((k) => !sameCustom(p.custom[k], deal.custom[k])))
    out.custom = i.custom;
  return out;
}

/** Writes one planned row through the deal use cases; returns the failure, if any. */
async function writeRow(
  ctx: Ctx,
  plan: PlannedRow,
  requestKey: string | undefined,
): Promise<{ outcome: 'created' | 'updated' | 'unchanged' } | { error: DomainError }> {
  const s = ctx.workspace.settings;
  const i = plan.input;
  const closing = plan.status !== 'open';
  const when = closing ? at(ctx, plan.closedAt) : ctx;
  const close = async (code: string) => {
    const r =
      plan.status === 'won'
        ? await winDeal(when, code, { origin: 'import' })
        : await loseDeal(when, code, { reason: i.lostReason ?? '', origin: 'import' });
    return r.ok ? undefined : r.error;
  };
  if (!plan.existing) {
    const created = await createDeal(when, {
      origin: 'import',
      name: i.name,
      company: i.company,
      amount: i.amount,
      currency: i.currency,
      ownerId: plan.ownerId,
      source: i.source,
      closeDate: i.closeDate,
      bant: i.bant,
      custom: i.custom,
      stage: plan.stage.key,
      nextStep: closing ? undefined : i.nextStep,
      createdAt: plan.createdAt,
      stageEnteredAt: closing ? plan.createdAt : (plan.stageEnteredAt ?? plan.createdAt),
      externalId: plan.externalId,
      requestKey: requestKey ? `${requestKey}:${plan.row}` : undefined,
    });
    if (!created.ok) return { error: created.error };
    if (!created.value.created) return { outcome: 'unchanged' };
    if (closing) {
      const err = await close(created.value.deal.code);
      if (err) return { error: err };
    }
    return { outcome: 'created' };
  }
  if (plan.action === 'unchanged') return { outcome: 'unchanged' };
  const deal = plan.existing;
  const edit = editInput(plan, deal);
  if (Object.keys(edit).length) {
    const r = await editDeal(when, deal.code, { ...edit, origin: 'import', expectedVersion: deal.version });
    if (!r.ok) return { error: r.error };
  }
  if (deal.status === 'open') {
    const stageChanges = plan.status === 'open' && plan.stage.key !== deal.stage;
    if (stageChanges) {
      const dueOk = deal.nextStep?.dueAt && deal.nextStep.dueAt.getTime() >= ctx.now.getTime();
      const nextStep = i.nextStep ?? {
        text: deal.nextStep?.text ?? '',
        ...(dueOk
          ? { due: DateTime.fromJSDate(deal.nextStep!.dueAt!, { zone: s.timezone }).toISODate()! }
          : {}),
      };
      const r = await advanceDeal(ctx, deal.code, {
        origin: 'import',
        stage: plan.stage.key,
        nextStep,
        reason: t(ctx.locale, 'transfer.importReason'),
      });
      if (!r.ok) return { error: r.error };
    } else if (i.nextStep && i.nextStep.text !== deal.nextStep?.text) {
      const r = await setNextStep(ctx, deal.code, { ...i.nextStep, origin: 'import' });
      if (!r.ok) return { error: r.error };
    }
    if (closing) {
      const err = await close(deal.code);
      if (err) return { error: err };
    }
  }
  return { outcome: 'updated' };
}

/**
 * Imports a file. `valid_only` writes the valid rows and reports the rest; `all_or_nothing` validates every row
 * first and writes nothing when any row is invalid. Unknown columns become text custom fields (`custom`) or are
 * ignored. Managers only.
 */
export function runImport(ctx: Ctx, file: ImportFile, opts: ImportOptions): Promise<Result<ImportReport>> {
  return run(async () => {
    if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'import' });
    let defs: CustomFieldDef[] = [];
    if (opts.unknownColumns === 'custom') {
      const sheet = must(await readSpreadsheet(file.buffer, file.filename));
      const unknown = unknownOf(detectMapping(sheet.headers, ctx.workspace.settings.customFields));
      defs = customFieldsFor(
        ctx,
        unknown.map((u) => u.header),
      );
    }
    // Rows are validated against the settings as they will be; the new fields are saved only if rows get written.
    const a = await analyze(withCustomFields(ctx, defs), file);
    const added = defs.map((d) => d.labels[ctx.locale]);
    const report: ImportReport = {
      mode: opts.mode,
      total: a.sheet.rows.length,
      created: 0,
      updated: 0,
      unchanged: 0,
      skipped: [...a.problems],
      warnings: a.warnings,
      written: true,
      customFieldsAdded: added,
    };
    if (opts.mode === 'all_or_nothing' && a.problems.length > 0)
      return { ...report, written: false, customFieldsAdded: [] };
    const c = await saveCustomFields(ctx, defs);
    for (const plan of a.planned) {
      let r: Awaited<ReturnType<typeof writeRow>>;
      try {
        r = await writeRow(c, plan, opts.requestKey);
      } catch (err) {
        // Another import of the same rows created the deal a moment ago (unique external id).
        if ((err as { code?: number }).code !== 11000) throw err;
        r = { error: { kind: 'Conflict', reason: 'duplicate' } };
      }
      if ('error' in r) report.skipped.push({ row: plan.row, reason: renderRowProblem(c, r.error) });
      else report[r.outcome]++;
    }
    report.skipped.sort((x, y) => x.row - y.row);
    c.deps.logger.info(
      {
        workspaceId: c.workspace.id,
        actor: c.actor.userId,
        total: report.total,
        created: report.created,
        updated: report.updated,
        skipped: report.skipped.length,
      },
      'spreadsheet import',
    );
    return report;
  });
}

// ───────────────────────────── uploads ─────────────────────────────

/** Keeps an uploaded file for an hour (until the user confirms the import); returns its id. */
export function saveUpload(ctx: Ctx, file: ImportFile): Promise<Result<{ id: string }>> {
  return run(async () => {
    if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'import' });
    if (file.buffer.length > 10 * 1024 * 1024)
      abort({ kind: 'Invalid', field: 'file', reason: 'file_too_large', params: { max: '10 MB' } });
    const Upload = await importUploads(ctx.deps.store.conn);
    const doc = await Upload.create({
      workspaceId: ctx.workspace.id,
      userId: ctx.actor.userId,
      filename: file.filename.slice(0, 200),
      data: file.buffer,
      size: file.buffer.length,
      createdAt: ctx.deps.now(),
    });
    return { id: String(doc._id) };
  });
}

/** The upload of this user in this workspace; Invalid 'file' `upload_expired` when it is gone. */
export function loadUpload(ctx: Ctx, id: string): Promise<Result<ImportFile>> {
  return run(async () => {
    const Upload = await importUploads(ctx.deps.store.conn);
    const doc = /^[0-9a-f]{24}$/.test(id)
      ? await Upload.findOne({ _id: id, workspaceId: ctx.workspace.id, userId: ctx.actor.userId }).lean()
      : null;
    if (!doc) abort({ kind: 'Invalid', field: 'file', reason: 'upload_expired' });
    const data = doc.data as unknown;
    const buffer = Buffer.isBuffer(data)
      ? data
      : Buffer.from((data as { buffer: ArrayBuffer | Uint8Array }).buffer as Uint8Array);
    return { buffer, filename: doc.filename };
  });
}

export function discardUpload(ctx: Ctx, id: string): Promise<Result<void>> {
  return run(async () => {
    if (!/^[0-9a-f]{24}$/.test(id)) return;
    const Upload = await importUploads(ctx.deps.store.conn);
    await Upload.deleteOne({ _id: id, workspaceId: ctx.workspace.id, userId: ctx.actor.userId });
  });
}

// ───────────────────────────── export ─────────────────────────────

export interface ExportInput {
  format: 'csv' | 'xlsx';
  /** As typed (`this quarter`, `last 90d`, `本月` …): deals open at some point in the period. Default: all deals. */
  period?: string | undefined;
  filter?: {
    /** User id or mention token. */
    owner?: string | undefined;
    /** Source key or alias. */
    source?: string | undefined;
    status?: 'open' | 'won' | 'lost' | undefined;
  };
}

export interface ExportFile {
  filename: string;
  mime: string;
  buffer: Buffer;
}

export interface ExportResult {
  files: ExportFile[];
  deals: number;
  changes: number;
}

export const DEAL_COLUMNS = [
  'code',
  'externalId',
  'name',
  'company',
  'amount',
  'currency',
  'stage',
  'status',
  'owner',
  'source',
  'closeDate',
  'nextStep',
  'nextStepDue',
  'createdAt',
  'stageEnteredAt',
  'daysInStage',
  'closedAt',
  'lostReason',
  'bant.budget',
  'bant.authority',
  'bant.need',
  'bant.timeline',
  'updatedAt',
] as const;
export const CHANGE_COLUMNS = ['code', 'name', 'from', 'to', 'at', 'by', 'reason'] as const;

type Cell = string | number | Date | null;
type CellKind = 'text' | 'money' | 'number' | 'date' | 'datetime';

const COLUMN_KIND: Partial<Record<string, CellKind>> = {
  amount: 'money',
  daysInStage: 'number',
  closeDate: 'date',
  nextStepDue: 'date',
  createdAt: 'date',
  stageEnteredAt: 'date',
  closedAt: 'date',
  updatedAt: 'datetime',
  at: 'datetime',
};

/** Sheet/file writer: xlsx through ExcelJS's streaming WorkbookWriter, CSV (UTF-8 BOM, CRLF) as text chunks. */
interface TableWriter {
  sheet(name: string, headers: string[], kinds: CellKind[]): void;
  row(cells: Cell[]): Promise<void>;
  finish(): Promise<Buffer[]>;
}

/** Excel shows wall-clock values: a Date in the workspace zone becomes the UTC instant of that wall clock. */
function wallClock(d: Date, tz: string, withTime: boolean): Date {
  const local = DateTime.fromJSDate(d, { zone: tz });
  return new Date(
    Date.UTC(local.year, local.month - 1, local.day, withTime ? local.hour : 0, withTime ? local.minute : 0),
  );
}

function xlsxWriter(tz: string): TableWriter {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    out.on('error', reject);
  });
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: true,
    useSharedStrings: false,
  });
  let ws: ExcelJS.Worksheet | undefined;
  let kinds: CellKind[] = [];
  return {
    sheet(name, headers, k) {
      ws?.commit();
      kinds = k;
      ws = wb.addWorksheet(name.slice(0, 31), { views: [{ state: 'frozen', ySplit: 1 }] });
      ws.columns = headers.map((h, i) => ({
        header: h,
        width: Math.min(40, Math.max(10, [...h].length + 4)),
        style:
          kinds[i] === 'money'
            ? { numFmt: '#,##0.00' }
            : kinds[i] === 'date'
              ? { numFmt: 'yyyy-mm-dd' }
              : kinds[i] === 'datetime'
                ? { numFmt: 'yyyy-mm-dd hh:mm' }
                : {},
      }));
      ws.getRow(1).font = { bold: true };
    },
    async row(cells) {
      const values = cells.map((c, i) =>
        c instanceof Date ? wallClock(c, tz, kinds[i] === 'datetime') : c === null ? null : c,
      );
      ws!.addRow(values).commit();
    },
    async finish() {
      ws?.commit();
      await wb.commit();
      await done;
      return [Buffer.concat(chunks)];
    },
  };
}

/** Cells starting with = + - @ (or a tab/CR) are prefixed with ' so spreadsheets never run them as formulas. */
function csvCell(v: Cell, kind: CellKind, tz: string): string {
  let s: string;
  if (v === null) s = '';
  else if (v instanceof Date)
    s =
      DateTime.fromJSDate(v, { zone: tz }).toFormat(
        kind === 'datetime' ? 'yyyy-MM-dd HH:mm' : 'yyyy-MM-dd',
      ) ?? '';
  else if (typeof v === 'number') s = String(v);
  else s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvWriter(tz: string): TableWriter {
  const files: Buffer[] = [];
  let parts: string[] = [];
  let kinds: CellKind[] = [];
  let started = false;
  const flush = () => {
    if (started) files.push(Buffer.from(`\uFEFF${parts.join('')}`, 'utf8'));
    parts = [];
  };
  return {
    sheet(_name, headers, k) {
      flush();
      started = true;
      kinds = k;
      parts.push(`${headers.map((h) => csvCell(h, 'text', tz)).join(',')}\r\n`);
    },
    async row(cells) {
      parts.push(`${cells.map((c, i) => csvCell(c, kinds[i] ?? 'text', tz)).join(',')}\r\n`);
    },
    async finish() {
      flush();
      return files;
    },
  };
}

interface LeanDeal {
  _id: unknown;
  number: number;
  code: string;
  externalId?: string;
  name: string;
  company?: string;
  amount?: number | null;
  currency: string;
  stage: string;
  status: Status;
  ownerId: string;
  source?: string;
  closeDate?: Date | null;
  nextStep?: { text?: string; dueAt?: Date | null };
  createdAt: Date;
  stageEnteredAt: Date;
  closedAt?: Date | null;
  lostReason?: { key?: string; text?: string };
  bant?: Record<string, string | undefined>;
  custom?: Record<string, CustomValue>;
  updatedAt: Date;
}

function lostReasonText(
  locale: Locale,
  reasons: readonly { key: string; labels: Record<Locale, string> }[],
  lr: LeanDeal['lostReason'],
): string {
  if (!lr) return '';
  const label = lr.key ? reasons.find((r) => r.key === lr.key)?.labels[locale] : undefined;
  if (label && lr.key !== 'other') return lr.text ? `${label} — ${lr.text}` : label;
  return lr.text ?? label ?? '';
}

/**
 * Exports the workspace's deals (one row each: all fields, custom fields, stage dates, days in stage) and the
 * stage changes of those deals, as an xlsx with two worksheets or two CSV files. Managers only.
 */
export function exportPipeline(ctx: Ctx, input: ExportInput): Promise<Result<ExportResult>> {
  return run(async () => {
    if (!isManager(ctx.actor.role)) abort({ kind: 'Forbidden', action: 'export' });
    const s = ctx.workspace.settings;
    const L = ctx.locale;
    const tz = s.timezone;
    const filter: Record<string, unknown> = { workspaceId: ctx.workspace.id };
    if (input.period && input.period.trim()) {
      const p = must(resolvePeriod(input.period, ctx.now, tz));
      // Deals that existed during the period and were not closed before it began.
      filter.createdAt = { $lt: p.current.to };
      filter.$or = [{ status: 'open' }, { closedAt: { $gte: p.current.from } }];
    }
    const f = input.filter ?? {};
    if (f.owner && f.owner.trim()) {
      const m = /^<@([^>|]+)(?:\|[^>]*)?>$/.exec(f.owner.trim()) ?? /^@(\S+)$/.exec(f.owner.trim());
      const id = m?.[1] ?? f.owner.trim();
      const member = await ctx.deps.store.getMember(ctx.workspace.id, id);
      if (!member) abort({ kind: 'NotFound', entity: 'user', ref: id });
      filter.ownerId = member.userId;
    }
    if (f.source && f.source.trim()) filter.source = must(parseSource(f.source));
    if (f.status) filter.status = f.status;

    const members = new Map(
      (await ctx.deps.store.listMembers(ctx.workspace.id)).map((m) => [m.userId, m.displayName || m.userId]),
    );
    const who = (id: string) => members.get(id) ?? id;
    const writer = input.format === 'xlsx' ? xlsxWriter(tz) : csvWriter(tz);
    const custom = s.customFields;
    const headers = [
      ...DEAL_COLUMNS.map((c) => t(L, `transfer.header.${c}`)),
      ...custom.map((c) => c.labels[L]),
    ];
    const kinds: CellKind[] = [
      ...DEAL_COLUMNS.map((c) => COLUMN_KIND[c] ?? 'text'),
      ...custom.map((c): CellKind => (c.type === 'number' ? 'number' : c.type === 'date' ? 'date' : 'text')),
    ];
    writer.sheet(t(L, 'transfer.export.dealsSheet'), headers, kinds);
    const exported = new Map<string, { code: string; name: string }>();
    const deals = ctx.deps.store.models.Deal.find(filter)
      .sort({ number: 1 })
      .lean()
      .cursor({ batchSize: 500 });
    for await (const raw of deals) {
      const d = raw as unknown as LeanDeal;
      exported.set(String(d._id), { code: d.code, name: d.name });
      const days = d.status === 'open' ? Math.floor(daysInStage(d, ctx.now)) : null;
      const row: Cell[] = [
        d.code,
        d.externalId ?? '',
        d.name,
        d.company ?? '',
        d.amount ?? null,
        d.currency,
        stageLabel(s.stages, d.stage, L),
        t(L, `status.${d.status}`),
        who(d.ownerId),
        d.source ? t(L, `source.${d.source}`) : '',
        d.closeDate ?? null,
        d.nextStep?.text ?? '',
        d.nextStep?.dueAt ?? null,
        d.createdAt,
        d.stageEnteredAt,
        days,
        d.closedAt ?? null,
        lostReasonText(L, s.lostReasons, d.lostReason),
        d.bant?.budget ?? '',
        d.bant?.authority ?? '',
        d.bant?.need ?? '',
        d.bant?.timeline ?? '',
        d.updatedAt,
        ...custom.map((c): Cell => {
          const v = d.custom?.[c.key];
          return v === undefined || v === null
            ? ''
            : v instanceof Date || typeof v === 'number'
              ? v
              : String(v);
        }),
      ];
      await writer.row(row);
    }
    writer.sheet(
      t(L, 'transfer.export.changesSheet'),
      CHANGE_COLUMNS.map((c) => t(L, `transfer.header.change.${c}`)),
      CHANGE_COLUMNS.map((c) => COLUMN_KIND[c] ?? 'text'),
    );
    let changes = 0;
    const cursor = ctx.deps.store.models.StageChange.find({ workspaceId: ctx.workspace.id })
      .sort({ at: 1, dealId: 1, version: 1 })
      .lean()
      .cursor({ batchSize: 1000 });
    for await (const raw of cursor) {
      const c = raw as unknown as {
        dealId: string;
        from?: string | null;
        to: string;
        at: Date;
        by: string;
        reason?: string;
      };
      const deal = exported.get(c.dealId);
      if (!deal) continue;
      changes++;
      await writer.row([
        deal.code,
        deal.name,
        c.from ? stageLabel(s.stages, c.from, L) : '',
        stageLabel(s.stages, c.to, L),
        c.at,
        who(c.by),
        changeReason({ locale: L, settings: s, now: ctx.now }, c),
      ]);
    }
    const buffers = await writer.finish();
    const day = DateTime.fromJSDate(ctx.now, { zone: tz }).toISODate();
    const files: ExportFile[] =
      input.format === 'xlsx'
        ? [
            {
              filename: `dealpulse-pipeline-${day}.xlsx`,
              mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
              buffer: buffers[0]!,
            },
          ]
        : [
            { filename: `dealpulse-deals-${day}.csv`, mime: 'text/csv', buffer: buffers[0]! },
            { filename: `dealpulse-stage-changes-${day}.csv`, mime: 'text/csv', buffer: buffers[1]! },
          ];
    return { files, deals: exported.size, changes };
  });
}
