/** App Home: the user's deals, stalled and overdue; managers also get the team's pipeline. */
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import { buildHome } from '../home.js';
import { slackContext, type SlackEnv } from '../runtime.js';

export const register = (app: App, env: SlackEnv): void => {
  app.event(
    'app_home_opened',
    async ({
      event,
      client,
      context,
      body,
    }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
      if (event.tab !== 'home') return;
      const teamId = context.teamId ?? (body as { team_id?: string }).team_id;
      if (!teamId) return;
      try {
        const ctx = await slackContext(env, client, { teamId, userId: event.user });
        await client.views.publish({ user_id: event.user, view: await buildHome(ctx) });
      } catch (err) {
        env.logger.error({ err }, 'App Home could not be published');
      }
    },
  );
};
