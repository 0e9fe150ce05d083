/** `/deal …`: create, advance, close and inspect deals. */
import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import { slashCommand } from './slash.js';

export const register = (app: App, env: SlackEnv): void => {
  app.command('/deal', slashCommand(env));
};
