/** `/pipeline [stalled|forecast|review|settings]`: the team's pipeline. */
import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import { slashCommand } from './slash.js';

export const register = (app: App, env: SlackEnv): void => {
  app.command('/pipeline', slashCommand(env));
};
