import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import * as dealFromMessage from './deal-from-message.js';

export function registerShortcuts(app: App, env: SlackEnv): void {
  dealFromMessage.register(app, env);
}
