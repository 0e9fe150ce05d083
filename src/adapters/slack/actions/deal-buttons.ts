/** Buttons on deal cards, lists and App Home (Advance, Next step, Note, Snooze, Lost, Show, paging …). */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
} from '@slack/bolt';
import { runAction } from '../../../interactions/index.js';
import type { Ctx } from '../../../usecases/context.js';
import { parseActionId } from '../render.js';
import { afterAck, deliver, guarded, slackContext, teamOf, type SlackEnv, type Surface } from '../runtime.js';
import { surfaceOf } from './surface.js';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export const register = (app: App, env: SlackEnv): void => {
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: /^dp:(?!home:)/ },
    async ({ ack, body, action, client, respond }: Args) => {
      await ack();
      await afterAck();
      if (!env.seen.first(`act:${body.trigger_id}`)) return;
      const kind = parseActionId(action.action_id);
      const surface: Surface = surfaceOf(body, client, respond);
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, action.action_id, async () => {
        if (!kind) return;
        const teamId = teamOf(body as unknown as Record<string, unknown>);
        if (!teamId) return;
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: body.user.id }));
        const outcome = await runAction(ctx, kind, action.value ?? '', {
          requestKey: `slack:act:${body.trigger_id}`,
        });
        // Paging replaces the list it belongs to instead of adding another message.
        if (kind === 'page' && outcome.kind === 'message' && body.container?.type === 'message') {
          const msgTs = body.message?.ts;
          if (!body.container.is_ephemeral && surface.channel && msgTs && outcome.visibility === 'channel') {
            await env.notifier.updateWith(client, surface.channel, msgTs, outcome.message, ctx.locale);
            return;
          }
          await deliver(env, ctx, surface, outcome, { replaceOriginal: true });
          return;
        }
        await deliver(env, ctx, surface, outcome);
      });
    },
  );
};
