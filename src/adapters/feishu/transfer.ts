/**
 * Spreadsheet import and pipeline export on Feishu (issue 10).
 *
 * Import: any file sent to the bot in a direct chat starts an import (no `/deal import` text is
 * needed; a file message carries none). Managers get the preview card and the import form card as
 * replies to the file; reps get the refusal; other file types get the list of accepted ones, all
 * without downloading the file. Submitting the form answers the card callback at once with an
 * "importing…" toast; the import runs in the background, the form card is replaced by a notice
 * and the report is sent as a reply to it.
 *
 * Export: `/pipeline export …` (or `导出`) builds the files in the background (message events are
 * acknowledged before they are processed), uploads them (im.file.create) and sends them to the
 * user's direct chat with the caption card first; in a group the sender is told where they went.
 */
import type { DomainError } from '../../domain/errors.js';
import { t } from '../../i18n/index.js';
import { submitForm, unexpected } from '../../interactions/index.js';
import { exportFiles, importOutcome, transferError } from '../../interactions/transfer.js';
import type { RichMessage } from '../../presenters/rich.js';
import { MAX_FILE_BYTES } from '../../transfer/parse.js';
import { isManager, type Ctx } from '../../usecases/context.js';
import type { CardActionEvent, CardResponse } from './cards.js';
import type { FeishuDeps, MessageEvent } from './events.js';
import { formCard, type SubmitValue } from './render.js';
import { textMessage } from '../../presenters/rich.js';

type Message = NonNullable<MessageEvent['message']>;

/** Extensions the import reads (old .xls is refused by the core with an explanation). */
const SPREADSHEET = /\.(xlsx|xlsm|xls|csv|tsv|txt)$/i;

const text = textMessage;

/** `{file_key, file_name}` of a file message, or undefined. */
export function fileOf(message: Message): { key: string; name: string } | undefined {
  if (message.message_type !== 'file') return undefined;
  try {
    const c = JSON.parse(message.content ?? '{}') as { file_key?: unknown; file_name?: unknown };
    if (typeof c.file_key !== 'string' || !c.file_key) return undefined;
    return { key: c.file_key, name: typeof c.file_name === 'string' ? c.file_name : '' };
  } catch {
    return undefined;
  }
}

/** A file sent in a direct chat: preview card and form card, or why not. */
export async function handleImportFile(
  f: FeishuDeps,
  ctx: Ctx,
  message: Message,
  file: { key: string; name: string },
): Promise<void> {
  const answer = async (m: RichMessage) => {
    await f.api.replyCard(message.message_id, await f.notifier.card(ctx.locale, m), false);
  };
  const refuse = (e: DomainError) => answer(transferError(ctx, e));
  if (!isManager(ctx.actor.role)) return refuse({ kind: 'Forbidden', action: 'import' });
  if (!SPREADSHEET.test(file.name.trim()))
    return refuse({
      kind: 'Invalid',
      field: 'file',
      reason: 'file_type',
      params: { accepted: '.xlsx, .csv' },
    });
  const buffer = await f.api.downloadResource(message.message_id, file.key, MAX_FILE_BYTES);
  const start = await importOutcome(ctx, { buffer, filename: file.name });
  if (start.kind === 'message') return answer(start.message);
  await answer(start.message);
  await f.api.replyCard(message.message_id, formCard(start.form, { locale: ctx.locale }), false);
}

/** Imports being run by this process (a second click on the same form does not start another). */
const running = new Set<string>();

/**
 * The import form was submitted: answers at once, imports in the background, then replaces the
 * form card with a notice and replies to it with the report (or with why nothing happened).
 */
export function submitImport(
  f: FeishuDeps,
  ctx: Ctx,
  data: CardActionEvent,
  value: SubmitValue,
  values: Record<string, string>,
  requestKey: string | undefined,
): CardResponse {
  const key = `${ctx.workspace.id}:${ctx.actor.userId}:${value.s}`;
  const toast = { toast: { type: 'info' as const, content: t(ctx.locale, 'feishu.import_running') } };
  if (running.has(key)) return toast;
  running.add(key);
  const messageId = data.context?.open_message_id;
  const openId = ctx.actor.userId;
  const deliver = async (m: RichMessage) => {
    const card = await f.notifier.card(ctx.locale, m);
    if (messageId) await f.api.replyCard(messageId, card, false);
    else await f.api.sendCard('open_id', openId, card);
  };
  const work = (async () => {
    const out = await submitForm(ctx, 'import', value.s, values, { requestKey });
    if (out.kind === 'errors') {
      // Errors of the import form belong to no field (e.g. the upload expired): say them as they are.
      await deliver(text(Object.values(out.errors).join(' ')));
      return;
    }
    if (messageId)
      await f.api.patchCard(
        messageId,
        await f.notifier.card(ctx.locale, text(t(ctx.locale, 'feishu.import_submitted'))),
      );
    await deliver(out.message);
  })()
    .catch(async (err: unknown) => {
      f.logger.error({ err }, 'feishu: import failed');
      await deliver(unexpected(ctx, err)).catch(() => {});
    })
    .finally(() => running.delete(key));
  if (f.background) f.background(work);
  return toast;
}

/** `/pipeline export …`: the files in the user's direct chat, after the caption. */
export async function handleExport(
  f: FeishuDeps,
  ctx: Ctx,
  message: Message,
  p2p: boolean,
  args: string[],
): Promise<void> {
  const openId = ctx.actor.userId;
  const out = await exportFiles(ctx, args);
  const card = await f.notifier.card(ctx.locale, out.message);
  if (out.kind === 'message') {
    if (p2p) await f.api.replyCard(message.message_id, card, false);
    else await f.api.sendEphemeral(message.chat_id, openId, card);
    return;
  }
  await f.api.sendCard('open_id', openId, card);
  for (const file of out.files) {
    const fileType = /\.xlsx$/i.test(file.filename) ? 'xls' : 'stream';
    const key = await f.api.uploadFile(file.buffer, file.filename, fileType);
    await f.api.sendFile('open_id', openId, key);
  }
  if (!p2p)
    await f.api.sendEphemeral(
      message.chat_id,
      openId,
      await f.notifier.card(ctx.locale, text(t(ctx.locale, 'feishu.export_sent'))),
    );
  f.logger.info(
    {
      workspaceId: ctx.workspace.id,
      files: out.files.map((x) => ({ name: x.filename, bytes: x.buffer.length })),
    },
    'pipeline export sent',
  );
}
