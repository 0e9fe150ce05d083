import type { App } from '@slack/bolt';
import type { SlackEnv } from '../runtime.js';
import * as formSubmit from './form-submit.js';
import * as importConfirm from './import-confirm.js';
import * as importFile from './import-file.js';

export function registerViews(app: App, env: SlackEnv, opts: { submitTimeBoxMs?: number } = {}): void {
  formSubmit.register(app, env, opts.submitTimeBoxMs);
  importFile.register(app, env);
  importConfirm.register(app, env);
}
