/**
 * Replies in a thread under a DealPulse message about a deal (card,
 * confirmation, alert, digest line) become notes on that deal, with author and
 * permalink. Redelivered events add nothing: the note is keyed on the message.
 */
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import { noteFromThreadReply } from '../../../usecases/deals.js';
import { unescapeMrkdwn } from '../render.js';
import { slackContext, type SlackEnv } from '../runtime.js';

interface ThreadMessage {
  subtype?: string;
  bot_id?: string;
  user?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  channel: string;
}

/** Subtypes that are still a person writing in the thread. */
const HUMAN_SUBTYPES = new Set([undefined, 'thread_broadcast', 'file_share']);

export const register = (app: App, env: SlackEnv): void => {
  app.event(
    'message',
    async ({ event, body, client, context }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
      const m = event as unknown as ThreadMessage;
      if (!m.thread_ts || m.thread_ts === m.ts || !m.user || m.bot_id || !HUMAN_SUBTYPES.has(m.subtype))
        return;
      if (m.user === context.botUserId) return;
      const text = unescapeMrkdwn(m.text ?? '').trim();
      if (!text) return;
      const teamId = context.teamId ?? (body as { team_id?: string }).team_id;
      if (!teamId) return;
      // Redelivered events (X-Slack-Retry-Num) stop here; the note key makes them safe across restarts too.
      const eventId = (body as { event_id?: string }).event_id;
      if (eventId && !env.seen.first(`event:${eventId}`)) return;
      try {
        const ctx = await slackContext(env, client, { teamId, userId: m.user });
        // The permalink is fetched only for replies in threads about a deal (most threads are not).
        const permalink = () =>
          client.chat
            .getPermalink({ channel: m.channel, message_ts: m.ts })
            .then((p) => p.permalink)
            .catch(() => undefined);
        const r = await noteFromThreadReply(ctx, {
          channel: m.channel,
          rootId: m.thread_ts,
          messageId: m.ts,
          text,
          permalink,
        });
        if (!r.ok)
          env.logger.info({ error: r.error, channel: m.channel }, 'thread reply not saved as a note');
      } catch (err) {
        // Events have no one to answer; the error is logged and Slack's retry will find the same key.
        env.logger.error({ err, channel: m.channel }, 'thread reply handling failed');
      }
    },
  );
};
