import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults with no variables at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      DEFAULT_LOCALE: 'en',
      DEFAULT_TIMEZONE: 'UTC',
      DEFAULT_REVIEW_SCHEDULE: '0 9 * * 1',
      STALL_SCAN_INTERVAL: '15 minutes',
    });
  });

  it('reports every malformed variable by name with what is expected, without echoing secrets', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DEFAULT_LOCALE: 'fr',
        DEFAULT_TIMEZONE: 'Mars/Base',
        SLACK_BOT_TOKEN: 'xoxp-secret-value',
        MONGODB_URI: 'postgres://x',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('PORT: expected a port number (got "eighty")');
    expect(problems).toContain('DEFAULT_LOCALE: expected "en" or "zh-CN" (got "fr")');
    expect(problems).toContain('DEFAULT_TIMEZONE: expected an IANA time zone');
    expect(problems).toContain(
      'SLACK_BOT_TOKEN: expected a bot token starting with "xoxb-" (got "[redacted]")',
    );
    expect(problems).toContain('MONGODB_URI: expected a mongodb:// or mongodb+srv:// URI');
    expect(problems).not.toContain('xoxp-secret-value');
  });

  it('requires the variables that go together', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(
      /SLACK_SIGNING_SECRET: required for Slack HTTP mode/,
    );
    expect(() => loadConfig({ FEISHU_APP_ID: 'cli_x' })).toThrow(
      /FEISHU_APP_SECRET: required with FEISHU_APP_ID/,
    );
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' })).not.toThrow();
  });
});
