/**
 * im.message.receive_v1: messages to the bot become commands; replies in the
 * thread under a DealPulse message about a deal become notes on that deal.
 *
 * - A direct chat (p2p): every message is a command, except a reply in a deal
 *   thread, which is a note.
 * - A group: a message that @mentions the bot is a command (the mention is
 *   stripped); a reply in a deal thread is a note; anything else is ignored.
 * - Other @mentions become `<@open_id>` tokens for the interaction core.
 * - Redelivered events are dropped by `event_id` (a collection with a TTL index).
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { t } from '../../i18n/index.js';
import { parseCommand, runCommand, unexpected } from '../../interactions/index.js';
import type { Outcome } from '../../interactions/types.js';
import type { Logger } from '../../logger.js';
import type { RichMessage } from '../../presenters/rich.js';
import { enterWorkspace, type AppDeps, type Ctx } from '../../usecases/context.js';
import { noteFromThreadReply, rememberThread } from '../../usecases/deals.js';
import type { FeishuApi } from './api.js';
import type { FeishuNotifier } from './notifier.js';
import { formCard } from './render.js';
import { fileOf, handleExport, handleImportFile } from './transfer.js';
import { textMessage } from '../../presenters/rich.js';

/** How long an event id is remembered; Feishu redelivers for a few hours at most. */
export const DEDUPE_TTL_SECONDS = 3 * 24 * 3600;

export interface Dedupe {
  /** True the first time an id is seen. */
  first(id: string): Promise<boolean>;
}

interface SeenEvent {
  _id: string;
  at: Date;
}

export async function mongoDedupe(conn: Connection, now: () => Date): Promise<Dedupe> {
  const model: Model<SeenEvent> =
    (conn.models.FeishuEvent as Model<SeenEvent> | undefined) ??
    conn.model<SeenEvent>(
      'FeishuEvent',
      new Schema<SeenEvent>(
        { _id: { type: String, required: true }, at: { type: Date, required: true } },
        { versionKey: false },
      ).index({ at: 1 }, { expireAfterSeconds: DEDUPE_TTL_SECONDS }),
      'feishu_events',
    );
  await model.createIndexes();
  return {
    async first(id) {
      try {
        await model.create({ _id: id, at: now() });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    },
  };
}

export interface FeishuDeps {
  deps: AppDeps;
  api: FeishuApi;
  notifier: FeishuNotifier;
  dedupe: Dedupe;
  logger: Logger;
  /** Runs work after the answer to Feishu (imports); `drain()` waits for it. */
  background?: (work: Promise<void>) => void;
}

interface Mention {
  key: string;
  id?: { open_id?: string };
  name?: string;
  tenant_key?: string;
}

/** The SDK's flattened im.message.receive_v1 (header fields and event fields on one object). */
export interface MessageEvent {
  event_id?: string;
  tenant_key?: string;
  sender?: { sender_id?: { open_id?: string }; sender_type?: string; tenant_key?: string };
  message?: {
    message_id: string;
    root_id?: string;
    parent_id?: string;
    chat_id: string;
    chat_type?: string;
    message_type?: string;
    content?: string;
    mentions?: Mention[];
  };
}

/**
 * The command line of a text or post message: the bot's mention removed, other
 * mentions as `<@open_id>`. Undefined for other message types.
 */
export function messageText(
  message: NonNullable<MessageEvent['message']>,
  botId: string,
): string | undefined {
  let content: unknown;
  try {
    content = JSON.parse(message.content ?? '{}');
  } catch {
    return undefined;
  }
  const byKey = new Map((message.mentions ?? []).map((m) => [m.key, m.id?.open_id ?? '']));
  const mention = (key: string): string => {
    if (key === '@_all') return '';
    const id = key.startsWith('@_') ? byKey.get(key) : key;
    if (!id) return key;
    return id === botId ? '' : `<@${id}>`;
  };
  let text: string;
  if (message.message_type === 'text') {
    text = String((content as { text?: unknown }).text ?? '');
  } else if (message.message_type === 'post') {
    const post = content as { title?: string; content?: unknown };
    const body = (post.content ??
      (Object.values(content as object)[0] as { content?: unknown } | undefined)?.content) as
      { tag?: string; text?: string; user_id?: string }[][] | undefined;
    text = (body ?? [])
      .map((para) =>
        para
          .map((el) =>
            el.tag === 'text' ? (el.text ?? '') : el.tag === 'at' ? ` ${mention(el.user_id ?? '')} ` : '',
          )
          .join(''),
      )
      .join(' ');
  } else {
    return undefined;
  }
  return text
    .replace(/@_user_\d+|@_all/g, mention)
    .replace(/\s+/g, ' ')
    .trim();
}

const kindOf = (message: RichMessage): 'card' | 'confirmation' =>
  message.blocks.some((b) => b.type === 'actions') ? 'card' : 'confirmation';

export async function handleMessageEvent(f: FeishuDeps, data: MessageEvent): Promise<void> {
  const message = data.message;
  const openId = data.sender?.sender_id?.open_id;
  const tenant = data.tenant_key ?? data.sender?.tenant_key;
  if (!message || !openId || !tenant) return;
  if (data.sender?.sender_type && data.sender.sender_type !== 'user') return;
  // In external groups people of other companies can write too: they are not members of this tenant.
  if (data.sender?.tenant_key && data.tenant_key && data.sender.tenant_key !== data.tenant_key) return;
  if (data.event_id && !(await f.dedupe.first(`evt:${data.event_id}`))) {
    f.logger.debug({ eventId: data.event_id }, 'feishu: redelivered event dropped');
    return;
  }
  const botId = await f.api.botId();
  const p2p = message.chat_type === 'p2p';
  const mentionsBot = (message.mentions ?? []).some((m) => m.id?.open_id === botId);
  if (!p2p && !mentionsBot && !message.root_id) return;

  const ctx = await enterWorkspace(f.deps, {
    platform: 'feishu',
    externalWorkspaceId: tenant,
    userId: openId,
  });
  try {
    // People @mentioned in a command are members of the tenant (e.g. the new owner of "分配 D-3 @Bob").
    for (const m of message.mentions ?? []) {
      const id = m.id?.open_id;
      if (id && id !== botId && id !== openId && (m.tenant_key ?? tenant) === tenant)
        await enterWorkspace(f.deps, {
          platform: 'feishu',
          externalWorkspaceId: tenant,
          userId: id,
          ...(m.name ? { displayName: m.name } : {}),
        });
    }
    const text = messageText(message, botId);
    const root = message.root_id || message.parent_id;
    if (root && !mentionsBot && text) {
      const r = await noteFromThreadReply(ctx, {
        channel: message.chat_id,
        rootId: root,
        messageId: message.message_id,
        text,
      });
      if (!r.ok) {
        f.logger.info({ reason: r.error.kind }, 'feishu: thread reply not saved as a note');
        return;
      }
      if (r.value || !p2p) return;
    }
    if (!p2p && !mentionsBot) return;
    // A spreadsheet sent in a direct chat starts an import (a file message carries no text).
    const file = fileOf(message);
    if (file && p2p) {
      await handleImportFile(f, ctx, message, file);
      return;
    }
    if (text === undefined) {
      await reply(
        f,
        ctx,
        message,
        textMessage(t(ctx.locale, 'feishu.unsupported_message')),
        p2p,
        openId,
        false,
      );
      return;
    }
    const cmd = parseCommand(text || 'help');
    if (cmd.root === 'pipeline' && cmd.sub === 'export') {
      await handleExport(f, ctx, message, p2p, cmd.args);
      return;
    }
    const outcome = await runCommand(ctx, text || 'help', {
      requestKey: `feishu:${data.event_id ?? message.message_id}`,
    });
    await deliver(f, ctx, message, outcome, p2p, openId);
  } catch (err) {
    await reply(f, ctx, message, unexpected(ctx, err), p2p, openId, true).catch((e: unknown) =>
      f.logger.error({ err: e }, 'feishu: could not report an error to the user'),
    );
  }
}

async function deliver(
  f: FeishuDeps,
  ctx: Ctx,
  message: NonNullable<MessageEvent['message']>,
  outcome: Outcome,
  p2p: boolean,
  openId: string,
): Promise<void> {
  if (outcome.kind === 'form') {
    await f.api.replyCard(message.message_id, formCard(outcome.form, { locale: ctx.locale }), false);
    return;
  }
  const ref = await reply(f, ctx, message, outcome.message, p2p, openId, outcome.visibility === 'ephemeral');
  if (ref && outcome.visibility === 'channel' && outcome.dealId) {
    await rememberThread(ctx, { channel: message.chat_id, id: ref }, outcome.dealId, kindOf(outcome.message));
  }
}

/** Answers a message: in the chat for everyone, or (groups, ephemeral) only for the sender. Returns the message id. */
async function reply(
  f: FeishuDeps,
  ctx: Ctx,
  message: NonNullable<MessageEvent['message']>,
  rich: RichMessage,
  p2p: boolean,
  openId: string,
  ephemeral: boolean,
): Promise<string | undefined> {
  const card = await f.notifier.card(ctx.locale, rich);
  if (ephemeral && !p2p) {
    await f.api.sendEphemeral(message.chat_id, openId, card);
    return undefined;
  }
  return f.api.replyCard(message.message_id, card, false);
}

/** Bot menu entries (developer console → 机器人 → 自定义菜单, "推送事件"): event_key → command. */
export const MENU_COMMANDS: Record<string, string> = {
  deal_new: '/deal new',
  deal_list: '/deal list',
  pipeline: '/pipeline',
  pipeline_stalled: '/pipeline stalled',
  pipeline_forecast: '/pipeline forecast',
  pipeline_review: '/pipeline review',
  settings: '/pipeline settings',
  help: '/deal help',
};

/** The SDK's flattened application.bot.menu_v6. */
export interface MenuEvent {
  event_id?: string;
  tenant_key?: string;
  event_key?: string;
  operator?: { operator_id?: { open_id?: string } };
}

/** A bot menu click runs its command; the answer goes to the user's direct chat with the bot. */
export async function handleMenuEvent(f: FeishuDeps, data: MenuEvent): Promise<void> {
  const openId = data.operator?.operator_id?.open_id;
  const line = MENU_COMMANDS[data.event_key ?? ''];
  if (!openId || !data.tenant_key || !line) return;
  if (data.event_id && !(await f.dedupe.first(`evt:${data.event_id}`))) return;
  const ctx = await enterWorkspace(f.deps, {
    platform: 'feishu',
    externalWorkspaceId: data.tenant_key,
    userId: openId,
  });
  try {
    const outcome = await runCommand(ctx, line, { requestKey: `feishu:${data.event_id ?? ''}` });
    if (outcome.kind === 'form') {
      await f.api.sendCard('open_id', openId, formCard(outcome.form, { locale: ctx.locale }));
      return;
    }
    const sent = await f.api.sendCard('open_id', openId, await f.notifier.card(ctx.locale, outcome.message));
    if (outcome.visibility === 'channel' && outcome.dealId)
      await rememberThread(
        ctx,
        { channel: sent.chatId, id: sent.messageId },
        outcome.dealId,
        kindOf(outcome.message),
      );
  } catch (err) {
    await f.api
      .sendCard('open_id', openId, await f.notifier.card(ctx.locale, unexpected(ctx, err)))
      .catch((e: unknown) => f.logger.error({ err: e }, 'feishu: could not report an error to the user'));
  }
}
