/**
 * Chat side of import/export. Adapters call:
 *  - `importOutcome(ctx, file)` with the bytes of a file the user sent (Slack file_input / DM file, Feishu DM
 *    file): the preview message plus the `import` form (mode, unknown columns; state = the stored upload id);
 *  - `confirmImport(ctx, state, values)` (also reached through `submitForm(ctx, 'import', …)`): runs the import
 *    and returns the report;
 *  - `exportFiles(ctx, args)` for `/pipeline export …`: the files to send to the user by DM, with a caption.
 */
import type { DomainError } from '../domain/errors.js';
import { renderError, t } from '../i18n/index.js';
import { hasKey } from '../i18n/index.js';
import type { RichBlock, RichMessage, RichText } from '../presenters/rich.js';
import type { Ctx } from '../usecases/context.js';
import {
  discardUpload,
  exportPipeline,
  loadUpload,
  previewImport,
  runImport,
  saveUpload,
  type ExportFile,
  type ImportFile,
  type ImportMode,
  type ImportPreview,
  type ImportReport,
  type RowIssue,
  type UnknownColumnsMode,
} from '../usecases/transfer.js';
import type { FormSpec, Outcome, SubmitOutcome } from './types.js';
import { textMessage } from '../presenters/rich.js';

/** Rows listed per section of a preview or report (the rest are counted). */
export const MAX_LISTED = 15;

export type ImportStart =
  /** Show `message` to the user (DM / ephemeral) and open or post `form`. */
  | { kind: 'preview'; message: RichMessage; form: FormSpec; preview: ImportPreview }
  /** An error (file unreadable, not a manager …): show it ephemerally. */
  | { kind: 'message'; message: RichMessage };

export type ExportOutcome =
  /** DM these files to the user, with `message` as the comment. */
  { kind: 'files'; files: ExportFile[]; message: RichMessage } | { kind: 'message'; message: RichMessage };

const text = textMessage;

/** Renders an error; file problems come from the transfer catalogue. */
export function transferError(ctx: Ctx, error: DomainError): RichMessage {
  if (
    error.kind === 'Invalid' &&
    error.field === 'file' &&
    error.reason &&
    hasKey(ctx.locale, `transfer.invalid.${error.reason}`)
  )
    return text(t(ctx.locale, `transfer.invalid.${error.reason}`, error.params));
  return text(
    renderError(ctx.locale, error, {
      stages: ctx.workspace.settings.stages,
      customLabels: Object.fromEntries(
        ctx.workspace.settings.customFields.map((f) => [f.key, f.labels[ctx.locale]]),
      ),
    }),
  );
}

function issueList(ctx: Ctx, issues: RowIssue[]): RichBlock[] {
  if (issues.length === 0) return [];
  const items: RichText[] = issues
    .slice(0, MAX_LISTED)
    .map((i) => [t(ctx.locale, 'transfer.preview.row', { row: i.row, reason: i.reason })]);
  const blocks: RichBlock[] = [{ type: 'list', items }];
  if (issues.length > MAX_LISTED)
    blocks.push({
      type: 'context',
      text: [t(ctx.locale, 'transfer.preview.more', { count: issues.length - MAX_LISTED })],
    });
  return blocks;
}

/** The preview as a message: counts, file info, column mapping, sample rows, problems and warnings. */
export function previewMessage(ctx: Ctx, p: ImportPreview): RichMessage {
  const L = ctx.locale;
  const summary = t(L, 'transfer.preview.summary', {
    total: p.total,
    creates: p.creates,
    updates: p.updates,
    unchanged: p.unchanged,
    invalid: p.invalid.length,
  });
  const delimiterName = p.delimiter === ';' ? 'semicolon' : p.delimiter === '\t' ? 'tab' : 'comma';
  const info =
    p.format === 'xlsx'
      ? t(L, 'transfer.preview.fileInfoXlsx')
      : t(L, 'transfer.preview.fileInfoCsv', {
          encoding: (p.encoding ?? 'utf-8').toUpperCase(),
          delimiter: t(L, `transfer.preview.delimiter.${delimiterName}`),
        });
  const mapping: RichText[] = p.columns
    .filter((c) => c.header.trim() !== '')
    .map((c) => [
      c.field
        ? t(L, 'transfer.preview.mapped', { header: c.header, field: c.fieldLabel })
        : c.computed
          ? t(L, 'transfer.preview.computed', { header: c.header })
          : t(L, 'transfer.preview.unmapped', { header: c.header }),
    ]);
  const sep = L === 'zh-CN' ? '；' : '; ';
  const sample: RichText[] = p.sample.map((r) => [
    t(L, 'transfer.preview.sampleRow', {
      row: r.row,
      action: t(L, `transfer.preview.action.${r.action}`),
      cells: r.cells
        .filter((c) => c.value !== '')
        .map((c) => `${c.label}: ${c.value}`)
        .join(sep),
    }),
  ]);
  const blocks: RichBlock[] = [
    { type: 'header', text: t(L, 'transfer.preview.title', { filename: p.filename }) },
    { type: 'text', text: [summary] },
    { type: 'context', text: [info] },
    { type: 'text', text: [{ bold: t(L, 'transfer.preview.mappingTitle') }] },
    { type: 'list', items: mapping },
  ];
  if (sample.length) {
    blocks.push({ type: 'text', text: [{ bold: t(L, 'transfer.preview.sampleTitle') }] });
    blocks.push({ type: 'list', items: sample });
  }
  if (p.invalid.length) {
    blocks.push({ type: 'text', text: [{ bold: t(L, 'transfer.preview.problemsTitle') }] });
    blocks.push(...issueList(ctx, p.invalid));
  }
  if (p.warnings.length) {
    blocks.push({ type: 'text', text: [{ bold: t(L, 'transfer.preview.warningsTitle') }] });
    blocks.push(...issueList(ctx, p.warnings));
  }
  blocks.push({
    type: 'context',
    text: [t(L, p.valid === 0 ? 'transfer.preview.nothingValid' : 'transfer.preview.confirm')],
  });
  return { summary: `${t(L, 'transfer.preview.title', { filename: p.filename })} — ${summary}`, blocks };
}

/** The confirm form: what to do with invalid rows and unknown columns; the state carries the upload id. */
export function importForm(ctx: Ctx, p: ImportPreview, uploadId: string): FormSpec {
  const L = ctx.locale;
  const intro: RichText[] = [
    [
      t(L, 'transfer.preview.summary', {
        total: p.total,
        creates: p.creates,
        updates: p.updates,
        unchanged: p.unchanged,
        invalid: p.invalid.length,
      }),
    ],
  ];
  if (p.unknownColumns.length)
    intro.push([
      t(L, 'transfer.preview.unknownColumns', { list: p.unknownColumns.join(L === 'zh-CN' ? '、' : ', ') }),
    ]);
  const fields: FormSpec['fields'] = [
    {
      name: 'mode',
      label: t(L, 'transfer.form.mode'),
      kind: 'select',
      required: true,
      initial: 'valid_only',
      options: [
        { value: 'valid_only', label: t(L, 'transfer.form.modeValidOnly') },
        { value: 'all_or_nothing', label: t(L, 'transfer.form.modeAllOrNothing') },
      ],
    },
  ];
  if (p.unknownColumns.length)
    fields.push({
      name: 'unknownColumns',
      label: t(L, 'transfer.form.unknownColumns'),
      kind: 'select',
      required: true,
      initial: 'ignore',
      options: [
        { value: 'ignore', label: t(L, 'transfer.form.unknownIgnore') },
        { value: 'custom', label: t(L, 'transfer.form.unknownCustom') },
      ],
    });
  return {
    id: 'import',
    title: t(L, 'transfer.form.title'),
    submitLabel: t(L, 'transfer.form.submit'),
    state: JSON.stringify({ u: uploadId }),
    intro,
    fields,
  };
}

/** A file the user sent with `/deal import`: stores it for an hour and returns the preview and the confirm form. */
export async function importOutcome(ctx: Ctx, file: ImportFile): Promise<ImportStart> {
  const preview = await previewImport(ctx, file);
  if (!preview.ok) return { kind: 'message', message: transferError(ctx, preview.error) };
  const message = previewMessage(ctx, preview.value);
  const saved = await saveUpload(ctx, file);
  if (!saved.ok) return { kind: 'message', message: transferError(ctx, saved.error) };
  return {
    kind: 'preview',
    message,
    form: importForm(ctx, preview.value, saved.value.id),
    preview: preview.value,
  };
}

/** The report as a message. */
export function reportMessage(ctx: Ctx, filename: string, r: ImportReport): RichMessage {
  const L = ctx.locale;
  const title = t(L, r.written ? 'transfer.report.title' : 'transfer.report.titleAborted', { filename });
  const summary = r.written
    ? t(L, 'transfer.report.summary', {
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        skipped: r.skipped.length,
      })
    : t(L, 'transfer.report.aborted', { count: r.skipped.length });
  const blocks: RichBlock[] = [
    { type: 'header', text: title },
    { type: 'text', text: [summary] },
  ];
  if (r.customFieldsAdded.length)
    blocks.push({
      type: 'context',
      text: [
        t(L, 'transfer.report.customFields', { list: r.customFieldsAdded.join(L === 'zh-CN' ? '、' : ', ') }),
      ],
    });
  if (r.skipped.length) {
    blocks.push({ type: 'text', text: [{ bold: t(L, 'transfer.report.skippedTitle') }] });
    blocks.push(...issueList(ctx, r.skipped));
  }
  if (r.warnings.length) {
    blocks.push({ type: 'text', text: [{ bold: t(L, 'transfer.preview.warningsTitle') }] });
    blocks.push(...issueList(ctx, r.warnings));
  }
  return { summary: `${title} — ${summary}`, blocks };
}

function uploadIdOf(state: string): string {
  try {
    const v = JSON.parse(state) as { u?: unknown };
    return typeof v.u === 'string' ? v.u : '';
  } catch {
    return '';
  }
}

/** Submission of the `import` form: runs the import of the stored upload and returns the report (ephemeral). */
export async function confirmImport(
  ctx: Ctx,
  state: string,
  values: Record<string, string>,
  opts: { requestKey?: string } = {},
): Promise<SubmitOutcome> {
  const id = uploadIdOf(state);
  const file = await loadUpload(ctx, id);
  if (!file.ok) return { kind: 'errors', errors: { _form: transferError(ctx, file.error).summary } };
  const mode: ImportMode = values.mode === 'all_or_nothing' ? 'all_or_nothing' : 'valid_only';
  const unknown: UnknownColumnsMode = values.unknownColumns === 'custom' ? 'custom' : 'ignore';
  const r = await runImport(ctx, file.value, { mode, unknownColumns: unknown, requestKey: opts.requestKey });
  if (!r.ok) return { kind: 'errors', errors: { _form: transferError(ctx, r.error).summary } };
  // A written import is done with the file; an aborted one keeps it so the user can re-run with valid_only.
  if (r.value.written) await discardUpload(ctx, id);
  return { kind: 'done', message: reportMessage(ctx, file.value.filename, r.value), visibility: 'ephemeral' };
}

/** `/deal import` typed without a file: how to send one. */
export function importHelpOutcome(ctx: Ctx): Outcome {
  return { kind: 'message', visibility: 'ephemeral', message: text(t(ctx.locale, 'transfer.help.import')) };
}

/** `/pipeline export` reached through runCommand (a surface that cannot send files). */
export function exportUnsupportedOutcome(ctx: Ctx): Outcome {
  return {
    kind: 'message',
    visibility: 'ephemeral',
    message: text(t(ctx.locale, 'transfer.help.exportUnsupported')),
  };
}

/**
 * Parses `/pipeline export` arguments: `csv`/`xlsx` (default xlsx), `<@U1>`/`@U1` owner, `source:event`,
 * `open`/`won`/`lost` (进行中/成交/流失), the rest is the period (`this quarter`, `last 90d`, `本月` …).
 */
export function parseExportArgs(args: string[]) {
  let format: 'csv' | 'xlsx' = 'xlsx';
  let owner: string | undefined;
  let source: string | undefined;
  let status: 'open' | 'won' | 'lost' | undefined;
  const period: string[] = [];
  const statuses: Record<string, 'open' | 'won' | 'lost'> = {
    open: 'open',
    进行中: 'open',
    won: 'won',
    成交: 'won',
    赢单: 'won',
    lost: 'lost',
    流失: 'lost',
    输单: 'lost',
  };
  for (const a of args) {
    const lower = a.toLowerCase();
    if (lower === 'csv' || lower === 'xlsx' || lower === 'excel') format = lower === 'csv' ? 'csv' : 'xlsx';
    else if (/^<@[^>]+>$/.test(a) || a.startsWith('@')) owner = a;
    else if (/^(source|来源)[:：]/i.test(a)) source = a.replace(/^[^:：]+[:：]/, '');
    else if (statuses[lower]) status = statuses[lower];
    else period.push(a);
  }
  return { format, period: period.join(' ') || undefined, filter: { owner, source, status } };
}

/** `/pipeline export …`: the files to DM to the user, or an error message. */
export async function exportFiles(ctx: Ctx, args: string[]): Promise<ExportOutcome> {
  const input = parseExportArgs(args);
  const r = await exportPipeline(ctx, input);
  if (!r.ok) return { kind: 'message', message: transferError(ctx, r.error) };
  const caption = t(ctx.locale, r.value.deals ? 'transfer.export.ready' : 'transfer.export.empty', {
    deals: r.value.deals,
    changes: r.value.changes,
  });
  return { kind: 'files', files: r.value.files, message: text(caption) };
}
