/** A slash command (`/deal …`, `/pipeline …`): ack at once, then run it through the interaction core. */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { runCommand } from '../../../interactions/index.js';
import type { Ctx } from '../../../usecases/context.js';
import { commandText, deliver, guarded, slackContext, type SlackEnv, type Surface } from '../runtime.js';

export function slashCommand(env: SlackEnv) {
  return async ({
    command,
    ack,
    respond,
    client,
  }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!env.seen.first(`cmd:${command.trigger_id}`)) return;
    const surface: Surface = {
      client,
      userId: command.user_id,
      channel: command.channel_id,
      respond,
      triggerId: command.trigger_id,
    };
    const ref: { ctx?: Ctx } = {};
    await guarded(env, surface, ref, command.command, async () => {
      const ctx = (ref.ctx = await slackContext(env, client, {
        teamId: command.team_id,
        userId: command.user_id,
      }));
      const line = `${command.command} ${commandText(command.text ?? '')}`.trim();
      const outcome = await runCommand(ctx, line, { requestKey: `slack:cmd:${command.trigger_id}` });
      await deliver(env, ctx, surface, outcome);
    });
  };
}
