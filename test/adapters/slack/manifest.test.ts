/** The app manifest users paste into Slack matches what the adapter listens to and asks for. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOT_SCOPES } from '../../../src/adapters/slack/index.js';
import { CALLBACK_ID } from '../../../src/adapters/slack/shortcuts/deal-from-message.js';

const manifest = readFileSync(new URL('../../../manifests/slack.yaml', import.meta.url), 'utf8');
const botScopes = [...manifest.split('bot:\n')[1]!.matchAll(/^\s+- ([a-z:.]+)/gm)]
  .map((m) => m[1])
  .slice(0, BOT_SCOPES.length);

describe('manifests/slack.yaml', () => {
  it('asks for exactly the bot scopes the adapter requests on OAuth installs', () => {
    expect(botScopes).toEqual(BOT_SCOPES);
  });

  it('declares both commands with usage hints, the message shortcut, events, interactivity and Socket Mode', () => {
    expect(manifest).toMatch(/- command: \/deal\n\s+description: .+\n\s+usage_hint: .+/);
    expect(manifest).toMatch(/- command: \/pipeline\n\s+description: .+\n\s+usage_hint: .+/);
    expect(manifest).toContain(`callback_id: ${CALLBACK_ID}`);
    for (const e of [
      'app_home_opened',
      'message.channels',
      'message.groups',
      'message.im',
      'app_uninstalled',
    ])
      expect(manifest).toContain(`- ${e}`);
    expect(manifest).toMatch(/interactivity:\n\s+is_enabled: true/);
    expect(manifest).toContain('socket_mode_enabled: true');
    expect(manifest).toContain('home_tab_enabled: true');
    // Spreadsheets to import are shared with the bot in its Messages tab.
    expect(manifest).toContain('messages_tab_read_only_enabled: false');
  });
});
