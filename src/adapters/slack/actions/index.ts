import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import * as dealButtons from './deal-buttons.js';
import * as homeButtons from './home-buttons.js';
import * as importOpen from './import-open.js';

export function registerActions(app: App, env: SlackEnv): void {
  dealButtons.register(app, env);
  homeButtons.register(app, env);
  importOpen.register(app, env);
}
