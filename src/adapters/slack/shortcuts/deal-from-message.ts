/** Message shortcut "Create deal from message": the new-deal modal prefilled from the message. */
import type { AllMiddlewareArgs, App, MessageShortcut, SlackShortcutMiddlewareArgs } from '@slack/bolt';
import { t } from '../../../i18n/index.js';
import { newDealForm } from '../../../interactions/forms.js';
import type { Ctx } from '../../../usecases/context.js';
import { LIMITS } from '../../../usecases/deals.js';
import {
  commandText,
  deliver,
  guarded,
  notice,
  sendEphemeral,
  slackContext,
  teamOf,
  type SlackEnv,
  type Surface,
} from '../runtime.js';

export const CALLBACK_ID = 'dp_deal_from_message';

export const register = (app: App, env: SlackEnv): void => {
  app.shortcut<MessageShortcut>(
    { type: 'message_action', callback_id: CALLBACK_ID },
    async ({
      ack,
      shortcut,
      client,
      respond,
    }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs) => {
      await ack();
      const surface: Surface = {
        client,
        userId: shortcut.user.id,
        channel: shortcut.channel.id,
        respond,
        triggerId: shortcut.trigger_id,
      };
      const ref: { ctx?: Ctx } = {};
      await guarded(env, surface, ref, CALLBACK_ID, async () => {
        const teamId = teamOf(shortcut as unknown as Record<string, unknown>);
        if (!teamId) return;
        const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: shortcut.user.id }));
        const firstLine = commandText(shortcut.message.text ?? '')
          .split('\n')
          .map((l) => l.trim())
          .find(Boolean);
        if (!firstLine) {
          await sendEphemeral(surface, notice(t(ctx.locale, 'slack.shortcutNoText')), ctx.locale);
          return;
        }
        const name = [...firstLine].slice(0, LIMITS.name).join('');
        await deliver(env, ctx, surface, { kind: 'form', form: newDealForm(ctx, { name }) });
      });
    },
  );
};
