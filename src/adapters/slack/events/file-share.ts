/**
 * A spreadsheet shared with the bot in its DM starts an import: the preview is posted in the DM
 * with a "Review and import" button that opens the form. Any text sent with the file is ignored
 * (no need to type `/deal import`); other files (images, PDFs) and files in threads are left alone.
 */
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { Ctx } from '../../../usecases/context.js';
import { guarded, slackContext, type SlackEnv, type Surface } from '../runtime.js';
import { isSpreadsheet, postPreview, startImport, type SlackFile } from '../transfer.js';

interface FileShare {
  subtype?: string;
  channel_type?: string;
  bot_id?: string;
  user?: string;
  ts: string;
  thread_ts?: string;
  channel: string;
  files?: (SlackFile & { mode?: string })[];
}

export const register = (app: App, env: SlackEnv): void => {
  app.event(
    'message',
    async ({ event, body, client, context }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
      const m = event as unknown as FileShare;
      if (m.subtype !== 'file_share' || m.channel_type !== 'im' || !m.user || m.bot_id) return;
      if (m.user === context.botUserId || (m.thread_ts && m.thread_ts !== m.ts)) return;
      const file = (m.files ?? []).find((f) => f.mode !== 'tombstone' && isSpreadsheet(f.name ?? f.title));
      if (!file) return;
      const teamId = context.teamId ?? (body as { team_id?: string }).team_id;
      if (!teamId) return;
      const eventId = (body as { event_id?: string }).event_id;
      if (eventId && !env.seen.first(`file-share:${eventId}`)) return;
      const user = m.user;
      const surface: Surface = { client, userId: user, channel: m.channel };
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, 'file_share', async () => {
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: user }));
        const start = await startImport(env, ctx, client, file);
        if (start.kind === 'preview') await postPreview(client, m.channel, start, ctx.locale);
        else await env.notifier.postWith(client, m.channel, start.message, ctx.locale);
      });
    },
  );
};
