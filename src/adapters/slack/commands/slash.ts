/**
 * A slash command (`/deal …`, `/pipeline …`): ack at once, then run it through the interaction core.
 * Two commands need files and are handled here: `/deal import` opens a modal with a file input,
 * `/pipeline export …` sends the export as files in the user's DM with the bot.
 */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { parseCommand, runCommand } from '../../../interactions/index.js';
import type { Ctx } from '../../../usecases/context.js';
import {
  afterAck,
  commandText,
  deliver,
  guarded,
  sendEphemeral,
  slackContext,
  type SlackEnv,
  type Surface,
} from '../runtime.js';
import { fileModal, importRefusal, runExport } from '../transfer.js';

export function slashCommand(env: SlackEnv) {
  return async ({
    command,
    ack,
    respond,
    client,
  }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    await ack();
    await afterAck();
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
      const cmd = parseCommand(line);
      if (cmd.root === 'deal' && cmd.sub === 'import') {
        const refusal = importRefusal(ctx);
        if (refusal) await sendEphemeral(surface, refusal, ctx.locale);
        else
          await client.views.open({
            trigger_id: command.trigger_id,
            view: fileModal(ctx.locale, command.channel_id),
          });
        return;
      }
      if (cmd.root === 'pipeline' && cmd.sub === 'export') {
        await runExport(env, ctx, surface, cmd.args);
        return;
      }
      const outcome = await runCommand(ctx, line, { requestKey: `slack:cmd:${command.trigger_id}` });
      await deliver(env, ctx, surface, outcome);
    });
  };
}
