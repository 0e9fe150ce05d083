/**
 * What every listener shares: the core, the locale cache, how a Slack request
 * becomes a use-case context, and how an Outcome reaches the user.
 */
import type { RespondFn, webApi } from '@slack/bolt';
import type { Core } from '../../app.js';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import { unexpected } from '../../interactions/index.js';
import type { Outcome } from '../../interactions/types.js';
import type { Logger } from '../../logger.js';
import type { RichMessage } from '../../presenters/rich.js';
import { enterWorkspace, type Ctx } from '../../usecases/context.js';
import { rememberThread } from '../../usecases/deals.js';
import type { LocaleCache } from './locale.js';
import type { SlackNotifier } from './notifier.js';
import { renderMessage, renderModal } from './render.js';
import type { ImportForms } from './transfer.js';
import { textMessage } from '../../presenters/rich.js';

type WebClient = webApi.WebClient;

export interface SlackEnv {
  core: Core;
  logger: Logger;
  locales: LocaleCache;
  notifier: SlackNotifier;
  /** Request keys already handled by this process (redelivered requests are acked and dropped). */
  seen: RecentKeys;
  /** Import forms of recent previews (the DM preview's button opens them). */
  importForms: ImportForms;
}

/**
 * Remembers recently handled request keys (trigger ids, event ids, submitted
 * views) so a redelivery does not post a second message. The use cases are
 * idempotent on the same keys across restarts; this only avoids duplicate replies.
 */
export class RecentKeys {
  private readonly keys = new Map<string, number>();
  constructor(
    private readonly ttlMs = 15 * 60_000,
    private readonly max = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** True the first time a key is seen (and records it). */
  first(key: string): boolean {
    const now = this.clock();
    const at = this.keys.get(key);
    if (at !== undefined && now - at < this.ttlMs) return false;
    this.keys.delete(key);
    if (this.keys.size >= this.max) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    this.keys.set(key, now);
    return true;
  }
}

export interface Who {
  teamId: string;
  userId: string;
}

/** Team id of any Slack payload (commands, interactivity, events), or undefined. */
export function teamOf(body: Record<string, unknown>, fallback?: string): string | undefined {
  const team = body.team as { id?: string } | null | undefined;
  const user = body.user as { team_id?: string } | undefined;
  const enterprise = body.enterprise as { id?: string } | null | undefined;
  return (
    (typeof body.team_id === 'string' ? body.team_id : undefined) ??
    team?.id ??
    user?.team_id ??
    fallback ??
    (typeof body.enterprise_id === 'string' ? body.enterprise_id : undefined) ??
    enterprise?.id
  );
}

/**
 * Lets the event loop answer the other requests that arrived in the same burst
 * (their acks) before this one's slow work starts: Slack's 3-second clock runs
 * for every request, and an ack never waits behind another request's work.
 */
export const afterAck = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The use-case context for a Slack user: their workspace, role and language. */
export async function slackContext(env: SlackEnv, client: WebClient, who: Who): Promise<Ctx> {
  const info = await env.locales.lookup(client, who.teamId, who.userId);
  return enterWorkspace(env.core.deps, {
    platform: 'slack',
    externalWorkspaceId: who.teamId,
    userId: who.userId,
    ...(info.displayName ? { displayName: info.displayName } : {}),
    ...(info.locale ? { locale: info.locale } : {}),
  });
}

/** Where the user acted and how to answer them there. */
export interface Surface {
  client: WebClient;
  userId: string;
  /** Channel the request came from; absent in App Home and modals. */
  channel?: string | undefined;
  respond?: RespondFn | undefined;
  triggerId?: string | undefined;
  /** The request came from inside a modal: forms are pushed on top of it. */
  inModal?: boolean;
}

/** Normalises Slack's command text for the interaction core: `<@U1|name>` → `<@U1>`, entities decoded. */
export function commandText(text: string): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)\|[^>]*>/g, '<@$1>')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: string } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** Shows a message only to the user: via response_url, an ephemeral message, or their DM with the bot. */
export async function sendEphemeral(
  surface: Surface,
  message: RichMessage,
  locale: Locale,
  replaceOriginal = false,
): Promise<void> {
  const { text, blocks } = renderMessage(message, locale);
  if (surface.respond) {
    await surface.respond({ response_type: 'ephemeral', replace_original: replaceOriginal, text, blocks });
    return;
  }
  if (surface.channel) {
    try {
      await surface.client.chat.postEphemeral({
        channel: surface.channel,
        user: surface.userId,
        text,
        blocks,
      });
      return;
    } catch {
      // The bot is not in that channel: fall through to the DM.
    }
  }
  await surface.client.chat.postMessage({
    channel: surface.userId,
    text,
    blocks,
    unfurl_links: false,
    unfurl_media: false,
  });
}

/** Renders an Outcome where the user acted. */
export async function deliver(
  env: SlackEnv,
  ctx: Ctx,
  surface: Surface,
  outcome: Outcome,
  opts: { replaceOriginal?: boolean } = {},
): Promise<void> {
  if (outcome.kind === 'form') {
    const view = renderModal(outcome.form, ctx.locale, surface.channel);
    if (!surface.triggerId) throw new Error('a form needs a trigger_id');
    if (surface.inModal) await surface.client.views.push({ trigger_id: surface.triggerId, view });
    else await surface.client.views.open({ trigger_id: surface.triggerId, view });
    return;
  }
  await deliverMessage(env, ctx, surface, outcome.message, outcome.visibility, outcome.dealId, opts);
}

export async function deliverMessage(
  env: SlackEnv,
  ctx: Ctx,
  surface: Surface,
  message: RichMessage,
  visibility: 'ephemeral' | 'channel',
  dealId: string | undefined,
  opts: { replaceOriginal?: boolean } = {},
): Promise<void> {
  if (visibility === 'ephemeral') return sendEphemeral(surface, message, ctx.locale, opts.replaceOriginal);
  // Channel messages go where the user acted; from App Home or a modal, to their DM with the bot.
  const channel = surface.channel ?? surface.userId;
  try {
    const ref = await env.notifier.postWith(surface.client, channel, message, ctx.locale);
    if (dealId) {
      const kind = message.blocks.some((b) => b.type === 'actions') ? 'card' : 'confirmation';
      const linked = await rememberThread(ctx, ref, dealId, kind);
      if (!linked.ok) env.logger.warn({ error: linked.error, dealId }, 'could not link thread to deal');
    }
  } catch (err) {
    const code = slackErrorCode(err);
    if (code !== 'not_in_channel' && code !== 'channel_not_found' && code !== 'is_archived') throw err;
    // Still show the result to the user, with how to fix it.
    await sendEphemeral(
      surface,
      {
        summary: message.summary,
        blocks: [...message.blocks, { type: 'context', text: [t(ctx.locale, 'slack.notInChannel')] }],
      },
      ctx.locale,
    );
  }
}

/**
 * Runs a listener body after the ack. A failure becomes an apology with an error
 * id that is also logged (by `unexpected`), shown only to the user.
 */
export async function guarded(
  env: SlackEnv,
  surface: Surface,
  ctxRef: { ctx?: Ctx },
  what: string,
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (err) {
    const locale = ctxRef.ctx?.locale ?? env.core.deps.defaults.locale;
    const apology = unexpected(ctxRef.ctx ?? { locale, deps: env.core.deps }, err);
    env.logger.debug({ what }, 'slack listener failed');
    try {
      await sendEphemeral(surface, apology, locale);
    } catch (sendErr) {
      env.logger.error({ err: sendErr, what }, 'could not tell the user about a failure');
    }
  }
}

/** Escaped plain text for a one-line ephemeral notice. */
export const notice = textMessage;
