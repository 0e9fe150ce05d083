/**
 * The `/deal import` modal was submitted with a file. Acked at once with a "reading…" view (a big
 * file takes longer than Slack's 3 seconds); then the file is downloaded and previewed: the modal
 * becomes the import form and the preview goes to the user's DM (with a button that reopens the
 * form if the modal was closed). Problems replace the modal's content.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { Locale } from '../../../domain/types.js';
import { t } from '../../../i18n/index.js';
import type { Ctx } from '../../../usecases/context.js';
import { renderModal } from '../render.js';
import { guarded, sendEphemeral, slackContext, teamOf, type SlackEnv, type Surface } from '../runtime.js';
import {
  IMPORT_FILE_BLOCK,
  IMPORT_FILE_CALLBACK,
  noticeModal,
  noticeText,
  postPreview,
  startImport,
  type SlackFile,
} from '../transfer.js';

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

function metaOf(raw: string | undefined): { c?: string; l?: Locale } {
  try {
    const m = JSON.parse(raw ?? '{}') as { c?: unknown; l?: unknown };
    return {
      ...(typeof m.c === 'string' ? { c: m.c } : {}),
      ...(m.l === 'en' || m.l === 'zh-CN' ? { l: m.l } : {}),
    };
  } catch {
    return {};
  }
}

export const register = (app: App, env: SlackEnv): void => {
  app.view<ViewSubmitAction>(
    { type: 'view_submission', callback_id: IMPORT_FILE_CALLBACK },
    async ({ ack, body, view, client }: Args) => {
      const meta = metaOf(view.private_metadata);
      const locale = meta.l ?? env.core.deps.defaults.locale;
      const state = view.state.values as Record<string, Record<string, { files?: SlackFile[] }>>;
      const file = state[IMPORT_FILE_BLOCK]?.v?.files?.[0];
      const teamId = teamOf(body as unknown as Record<string, unknown>, view.team_id);
      if (!file) {
        await ack({
          response_action: 'errors',
          errors: { [IMPORT_FILE_BLOCK]: t(locale, 'slack.import.noFile') },
        });
        return;
      }
      const reading = noticeText(
        t(locale, 'slack.import.reading', { filename: file.name ?? file.title ?? '' }),
      );
      await ack({ response_action: 'update', view: noticeModal(locale, reading) });
      if (!teamId || !env.seen.first(`import-file:${teamId}:${view.id}`)) return;
      const surface: Surface = { client, userId: body.user.id, channel: meta.c };
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, IMPORT_FILE_CALLBACK, async () => {
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: body.user.id }));
        const start = await startImport(env, ctx, client, file);
        if (start.kind === 'message') {
          await showInModal(client, view.id, noticeModal(ctx.locale, start.message), () =>
            sendEphemeral(surface, start.message, ctx.locale),
          );
          return;
        }
        await postPreview(client, body.user.id, start, ctx.locale);
        // The modal may have been closed meanwhile: the DM preview's button opens the form again.
        await showInModal(client, view.id, renderModal(start.form, ctx.locale), async () => {});
      });
    },
  );
};

async function showInModal(
  client: Args['client'],
  viewId: string,
  view: object,
  otherwise: () => Promise<void>,
): Promise<void> {
  try {
    await client.views.update({
      view_id: viewId,
      view: view as Parameters<typeof client.views.update>[0]['view'],
    });
  } catch {
    await otherwise();
  }
}
