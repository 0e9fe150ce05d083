/** App Home quick actions: New deal, Help. */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
} from '@slack/bolt';
import { runCommand } from '../../../interactions/index.js';
import type { Ctx } from '../../../usecases/context.js';
import { afterAck, deliver, guarded, slackContext, teamOf, type SlackEnv } from '../runtime.js';
import { surfaceOf } from './surface.js';

export const HOME_NEW = 'dp:home:new';
export const HOME_HELP = 'dp:home:help';

type Args = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export const register = (app: App, env: SlackEnv): void => {
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: /^dp:home:/ },
    async ({ ack, body, action, client, respond }: Args) => {
      await ack();
      await afterAck();
      const surface = surfaceOf(body, client, respond);
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, action.action_id, async () => {
        const teamId = teamOf(body as unknown as Record<string, unknown>);
        if (!teamId) return;
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: body.user.id }));
        const line = action.action_id === HOME_NEW ? '/deal new' : '/deal help';
        const outcome = await runCommand(ctx, line, { requestKey: `slack:act:${body.trigger_id}` });
        await deliver(env, ctx, surface, outcome);
      });
    },
  );
};
