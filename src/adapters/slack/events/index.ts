import type { App, InstallationStore } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import * as appHomeOpened from './app-home-opened.js';
import * as fileShare from './file-share.js';
import * as threadReply from './thread-reply.js';
import * as uninstalled from './uninstalled.js';

export function registerEvents(app: App, env: SlackEnv, installationStore?: InstallationStore): void {
  appHomeOpened.register(app, env);
  threadReply.register(app, env);
  fileShare.register(app, env);
  uninstalled.register(app, env, installationStore);
}
