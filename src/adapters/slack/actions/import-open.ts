/** "Review and import" under a DM import preview: opens the import form in a modal. */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
} from '@slack/bolt';
import type { Ctx } from '../../../usecases/context.js';
import { renderModal } from '../render.js';
import { guarded, sendEphemeral, slackContext, teamOf, type SlackEnv } from '../runtime.js';
import { IMPORT_OPEN_ACTION, importFormFor } from '../transfer.js';
import { surfaceOf } from './surface.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export const register = (app: App, env: SlackEnv): void => {
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: IMPORT_OPEN_ACTION },
    async ({ ack, body, action, client, respond }: Args) => {
      await ack();
      if (!env.seen.first(`act:${body.trigger_id}`)) return;
      const surface = surfaceOf(body, client, respond);
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, IMPORT_OPEN_ACTION, async () => {
        const teamId = teamOf(body as unknown as Record<string, unknown>);
        if (!teamId) return;
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: body.user.id }));
        const form = await importFormFor(env, ctx, action.value ?? '');
        if ('fields' in form)
          await client.views.open({ trigger_id: body.trigger_id, view: renderModal(form, ctx.locale) });
        else await sendEphemeral(surface, form, ctx.locale);
      });
    },
  );
};
