/**
 * Spreadsheet import and pipeline export on Slack (issue 10).
 *
 * Import has two entry points, both managers only:
 * - `/deal import` opens a modal with a `file_input`; its submission is acked at once with a
 *   "reading…" view, the file is downloaded with the bot token, and the modal becomes the
 *   import form while the preview arrives in the user's DM with the bot;
 * - a spreadsheet shared with the bot in its DM (`message` / `file_share`) gets the preview in
 *   the DM with a "Review and import" button that opens the form.
 * Submitting the form is acked at once; the import runs afterwards and the report is DMed.
 *
 * Export: `/pipeline export …` is acked, then the files are built and uploaded into the user's
 * DM with the bot (conversations.open + files.uploadV2, one message with every file).
 */
import type { webApi } from '@slack/bolt';
import type { DomainError } from '../../domain/errors.js';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import type { FormSpec } from '../../interactions/types.js';
import {
  exportFiles,
  importForm,
  importOutcome,
  transferError,
  type ImportStart,
} from '../../interactions/transfer.js';
import type { RichMessage } from '../../presenters/rich.js';
import { MAX_FILE_BYTES } from '../../transfer/parse.js';
import { isManager, type Ctx } from '../../usecases/context.js';
import { loadUpload, previewImport } from '../../usecases/transfer.js';
import { LIMITS } from './limits.js';
import { clip, renderMessage, type SlackBlock } from './render.js';
import { notice, sendEphemeral, type SlackEnv, type Surface } from './runtime.js';
import { textMessage } from '../../presenters/rich.js';

type WebClient = webApi.WebClient;

/** callback_id of the modal with the file input opened by `/deal import`. */
export const IMPORT_FILE_CALLBACK = 'dp:import:file';
/** Block id of the file input (its element uses action id `v` like every DealPulse input). */
export const IMPORT_FILE_BLOCK = 'file';
/** The "Review and import" button under a DM preview (outside the `dp:` deal-button namespace). */
export const IMPORT_OPEN_ACTION = 'dpimport:open';

/** Extensions the import reads (old .xls is refused by the core with an explanation). */
const SPREADSHEET = /\.(xlsx|xlsm|xls|csv|tsv|txt)$/i;

export const isSpreadsheet = (name: string | undefined): boolean => SPREADSHEET.test((name ?? '').trim());

/** A file as Slack describes it (file_input state, `files[]` of a file_share event, files.info). */
export interface SlackFile {
  id: string;
  name?: string;
  title?: string;
  size?: number;
  mimetype?: string;
  url_private?: string;
  url_private_download?: string;
}

/**
 * The forms of recent import previews, by upload id, so the DM button opens the modal at once
 * (Slack's trigger id is valid for 3 seconds). After a restart the form is rebuilt from the upload.
 */
export class ImportForms {
  private readonly forms = new Map<string, { at: number; form: FormSpec }>();
  constructor(
    private readonly ttlMs = 60 * 60_000,
    private readonly max = 500,
    private readonly clock: () => number = Date.now,
  ) {}

  set(key: string, form: FormSpec): void {
    if (this.forms.size >= this.max) {
      const oldest = this.forms.keys().next().value;
      if (oldest !== undefined) this.forms.delete(oldest);
    }
    this.forms.set(key, { at: this.clock(), form });
  }

  delete(key: string): void {
    this.forms.delete(key);
  }

  get(key: string): FormSpec | undefined {
    const hit = this.forms.get(key);
    if (!hit) return undefined;
    if (this.clock() - hit.at > this.ttlMs) {
      this.forms.delete(key);
      return undefined;
    }
    return hit.form;
  }
}

export const formKey = (ctx: Ctx, state: string): string =>
  `${ctx.workspace.id}:${ctx.actor.userId}:${state}`;

const text = textMessage;
const error = (ctx: Ctx, e: DomainError): ImportStart => ({
  kind: 'message',
  message: transferError(ctx, e),
});

/** The refusal for reps, or undefined for managers. */
export function importRefusal(ctx: Ctx): RichMessage | undefined {
  return isManager(ctx.actor.role) ? undefined : transferError(ctx, { kind: 'Forbidden', action: 'import' });
}

/** Only send the bot token to Slack itself (or to the API host the app is configured with). */
function trustedUrl(url: string, client: WebClient): boolean {
  try {
    const u = new URL(url);
    const api = new URL(client.slackApiUrl);
    if (u.origin === api.origin) return true;
    return u.protocol === 'https:' && (u.hostname === 'slack.com' || u.hostname.endsWith('.slack.com'));
  } catch {
    return false;
  }
}

export class FileDownloadError extends Error {}

/**
 * Downloads a file the user shared, with the bot token (scope files:read). Reads at most one byte
 * more than the import accepts, so an oversized file is reported by the core without being kept.
 */
export async function downloadFile(
  client: WebClient,
  file: SlackFile,
): Promise<{ buffer: Buffer; name: string }> {
  let f = file;
  if (!f.url_private_download && !f.url_private) {
    const info = await client.files.info({ file: f.id });
    f = { ...f, ...(info.file as SlackFile | undefined) };
  }
  const name = f.name || f.title || 'upload';
  const url = f.url_private_download ?? f.url_private;
  if (!url || !trustedUrl(url, client)) throw new FileDownloadError('file has no Slack download URL');
  if (f.size !== undefined && f.size > MAX_FILE_BYTES)
    return { buffer: Buffer.alloc(MAX_FILE_BYTES + 1), name };
  const res = await fetch(url, { headers: { Authorization: `Bearer ${client.token ?? ''}` } });
  // Without files:read Slack answers with its login page instead of the file.
  if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html') || !res.body) {
    await res.body?.cancel();
    throw new FileDownloadError(`file download failed: HTTP ${res.status}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    size += value.length;
    if (size > MAX_FILE_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return { buffer: Buffer.concat(chunks).subarray(0, MAX_FILE_BYTES + 1), name };
}

/** Checks, downloads and previews a shared file: the preview with its form, or a message to show. */
export async function startImport(
  env: SlackEnv,
  ctx: Ctx,
  client: WebClient,
  file: SlackFile,
): Promise<ImportStart> {
  const refusal = importRefusal(ctx);
  if (refusal) return { kind: 'message', message: refusal };
  if (!isSpreadsheet(file.name ?? file.title))
    return error(ctx, {
      kind: 'Invalid',
      field: 'file',
      reason: 'file_type',
      params: { accepted: '.xlsx, .csv' },
    });
  let downloaded: { buffer: Buffer; name: string };
  try {
    downloaded = await downloadFile(client, file);
  } catch (err) {
    env.logger.warn(
      { err: { message: (err as Error).message }, file: file.id },
      'Slack file download failed',
    );
    return { kind: 'message', message: text(t(ctx.locale, 'slack.import.downloadFailed')) };
  }
  const start = await importOutcome(ctx, { buffer: downloaded.buffer, filename: downloaded.name });
  if (start.kind === 'preview') env.importForms.set(formKey(ctx, start.form.state), start.form);
  return start;
}

/** The import form of an upload: remembered from its preview, or rebuilt from the stored file. */
export async function importFormFor(env: SlackEnv, ctx: Ctx, state: string): Promise<FormSpec | RichMessage> {
  const cached = env.importForms.get(formKey(ctx, state));
  if (cached) return cached;
  const refusal = importRefusal(ctx);
  if (refusal) return refusal;
  let id = '';
  try {
    const v = JSON.parse(state) as { u?: unknown };
    id = typeof v.u === 'string' ? v.u : '';
  } catch {
    id = '';
  }
  const file = await loadUpload(ctx, id);
  if (!file.ok) return transferError(ctx, file.error);
  const preview = await previewImport(ctx, file.value);
  if (!preview.ok) return transferError(ctx, preview.error);
  return importForm(ctx, preview.value, id);
}

/** The preview message with a button that opens the import form (for the DM). */
export function previewBlocks(
  message: RichMessage,
  form: FormSpec,
  locale: Locale,
): { text: string; blocks: SlackBlock[] } {
  const { text: fallback, blocks } = renderMessage(message, locale, {
    maxBlocks: LIMITS.messageBlocks - 1,
  });
  return {
    text: fallback,
    blocks: [
      ...blocks,
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: IMPORT_OPEN_ACTION,
            style: 'primary',
            text: { type: 'plain_text', text: clip(t(locale, 'slack.import.review'), 75), emoji: true },
            value: form.state,
          },
        ],
      },
    ],
  };
}

/** Posts an import preview to the user's DM with the bot, with the button that opens the form. */
export async function postPreview(
  client: WebClient,
  channel: string,
  start: Extract<ImportStart, { kind: 'preview' }>,
  locale: Locale,
): Promise<void> {
  const { text: fallback, blocks } = previewBlocks(start.message, start.form, locale);
  await client.chat.postMessage({
    channel,
    text: fallback,
    blocks,
    unfurl_links: false,
    unfurl_media: false,
  });
}

// ── modals ─────────────────────────────────────────────────────────────────
const plainText = (s: string, max: number) => ({
  type: 'plain_text' as const,
  text: clip(s, max) || ' ',
  emoji: true,
});

/** The `/deal import` modal: one file input (xlsx or csv). */
export function fileModal(locale: Locale, channel?: string) {
  return {
    type: 'modal' as const,
    callback_id: IMPORT_FILE_CALLBACK,
    title: plainText(t(locale, 'slack.import.title'), LIMITS.viewTitle),
    submit: plainText(t(locale, 'slack.import.next'), LIMITS.viewButton),
    close: plainText(t(locale, 'ui.cancel'), LIMITS.viewButton),
    private_metadata: JSON.stringify({ c: channel, l: locale }),
    blocks: [
      {
        type: 'input',
        block_id: IMPORT_FILE_BLOCK,
        label: plainText(t(locale, 'slack.import.fileLabel'), LIMITS.label),
        hint: plainText(t(locale, 'slack.import.fileHint'), LIMITS.hint),
        element: { type: 'file_input', action_id: 'v', filetypes: ['xlsx', 'csv'], max_files: 1 },
      },
    ],
  };
}

/** A modal that only says something (reading the file, importing, an error). */
export function noticeModal(locale: Locale, message: RichMessage) {
  const { blocks } = renderMessage(message, locale, { maxBlocks: LIMITS.viewBlocks });
  return {
    type: 'modal' as const,
    callback_id: 'dp:import:notice',
    title: plainText(t(locale, 'slack.import.title'), LIMITS.viewTitle),
    close: plainText(t(locale, 'slack.import.close'), LIMITS.viewButton),
    blocks,
  };
}

export const noticeText = text;

// ── export ─────────────────────────────────────────────────────────────────
/** The id of the user's DM with the bot (scope im:write). */
export async function dmChannel(client: WebClient, userId: string): Promise<string> {
  const res = await client.conversations.open({ users: userId });
  const id = res.channel?.id;
  if (!id) throw new Error('conversations.open returned no channel');
  return id;
}

/** `/pipeline export …`: builds the files and DMs them in one message with the caption. */
export async function runExport(env: SlackEnv, ctx: Ctx, surface: Surface, args: string[]): Promise<void> {
  if (isManager(ctx.actor.role))
    await sendEphemeral(surface, notice(t(ctx.locale, 'slack.export.preparing')), ctx.locale);
  const out = await exportFiles(ctx, args);
  if (out.kind === 'message') {
    await sendEphemeral(surface, out.message, ctx.locale);
    return;
  }
  const channel = await dmChannel(surface.client, surface.userId);
  const caption = renderMessage(out.message, ctx.locale).text;
  await surface.client.files.uploadV2({
    channel_id: channel,
    initial_comment: caption,
    file_uploads: out.files.map((f) => ({ file: f.buffer, filename: f.filename, title: f.filename })),
  });
  env.logger.info(
    {
      workspaceId: ctx.workspace.id,
      files: out.files.map((f) => ({ name: f.filename, bytes: f.buffer.length })),
    },
    'pipeline export sent',
  );
}
