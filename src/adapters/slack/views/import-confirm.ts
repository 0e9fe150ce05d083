/**
 * The import form was submitted. Acked at once with an "importing…" view (10,000 rows take about a
 * minute); the import runs afterwards and the report (or why nothing was imported) is DMed.
 * A repeated submission of the same view runs nothing twice.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { t } from '../../../i18n/index.js';
import { submitForm } from '../../../interactions/index.js';
import type { Ctx } from '../../../usecases/context.js';
import { FORM_CALLBACK_PREFIX, formValues, parseModalMeta } from '../render.js';
import { guarded, notice, slackContext, teamOf, type SlackEnv, type Surface } from '../runtime.js';
import { formKey, noticeModal, noticeText } from '../transfer.js';

export const IMPORT_FORM_CALLBACK = `${FORM_CALLBACK_PREFIX}import`;

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

export const register = (app: App, env: SlackEnv): void => {
  app.view<ViewSubmitAction>(
    { type: 'view_submission', callback_id: IMPORT_FORM_CALLBACK },
    async ({ ack, body, view, client }: Args) => {
      const meta = parseModalMeta(view.private_metadata);
      const teamId = teamOf(body as unknown as Record<string, unknown>, view.team_id);
      const userId = body.user.id;
      // The ack cannot wait for Slack: the user's language as cached from the preview, if still cached.
      const locale =
        (teamId ? env.locales.peek(teamId, userId)?.locale : undefined) ?? env.core.deps.defaults.locale;
      await ack({
        response_action: 'update',
        view: noticeModal(locale, noticeText(t(locale, 'slack.import.running'))),
      });
      if (!meta || !teamId || !env.seen.first(`import-form:${teamId}:${view.id}`)) return;
      // Reports go to the user's DM with the bot: they outlive an ephemeral message.
      const surface: Surface = { client, userId };
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, IMPORT_FORM_CALLBACK, async () => {
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId }));
        const values = formValues(view.state.values as Record<string, Record<string, unknown>>);
        const outcome = await submitForm(ctx, 'import', meta.s, values, {
          requestKey: `slack:view:${view.id}`,
        });
        // A written import discards the upload; an aborted one keeps it (the form is rebuilt from it).
        if (outcome.kind === 'done') env.importForms.delete(formKey(ctx, meta.s));
        const message =
          outcome.kind === 'done'
            ? outcome.message
            : // Errors of the import form belong to no field (e.g. the upload expired): say them as they are.
              notice(Object.values(outcome.errors).join(' '));
        await env.notifier.postWith(client, userId, message, ctx.locale);
      });
    },
  );
};
