import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import * as deal from './deal.js';
import * as pipeline from './pipeline.js';

export function registerCommands(app: App, env: SlackEnv): void {
  deal.register(app, env);
  pipeline.register(app, env);
}
