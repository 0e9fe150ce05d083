import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import * as formSubmit from './form-submit.js';

export function registerViews(app: App, env: SlackEnv, opts: { submitTimeBoxMs?: number } = {}): void {
  formSubmit.register(app, env, opts.submitTimeBoxMs);
}
