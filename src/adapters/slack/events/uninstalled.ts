/** Forget an OAuth installation when the app is uninstalled or its tokens are revoked. */
import type { App, InstallationStore } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';

export const register = (app: App, env: SlackEnv, store: InstallationStore | undefined): void => {
  if (!store?.deleteInstallation) return;
  const remove = async (
    teamId: string | undefined,
    enterpriseId: string | undefined,
    isEnterpriseInstall: boolean,
  ) => {
    try {
      await store.deleteInstallation!({ teamId, enterpriseId, isEnterpriseInstall });
      env.logger.info({ teamId, enterpriseId }, 'Slack installation removed');
    } catch (err) {
      env.logger.error({ err, teamId }, 'could not remove Slack installation');
    }
  };
  app.event('app_uninstalled', async ({ context }) => {
    await remove(context.teamId, context.enterpriseId, Boolean(context.isEnterpriseInstall));
  });
  app.event('tokens_revoked', async ({ event, context }) => {
    if (event.tokens.bot?.length)
      await remove(context.teamId, context.enterpriseId, Boolean(context.isEnterpriseInstall));
  });
};
