import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { errSerializer, REDACT_PATHS } from '../src/logger.js';

function capture() {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  const logger = pino(
    { redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { err: errSerializer } },
    stream,
  );
  return { logger, text: () => out };
}

describe('logs never carry secrets', () => {
  it('an HTTP client error is logged without its request headers or body', () => {
    const { logger, text } = capture();
    const err = Object.assign(new Error('Request failed with status code 500'), {
      code: 'ERR_BAD_RESPONSE',
      config: { headers: { Authorization: 'Bearer xoxb-secret-token' }, data: 'user text' },
    });
    logger.error({ err }, 'call failed');
    expect(text()).toContain('Request failed with status code 500');
    expect(text()).toContain('ERR_BAD_RESPONSE');
    expect(text()).not.toContain('xoxb-secret-token');
    expect(text()).not.toContain('user text');
  });

  it('tokens and secrets one or two levels deep are redacted', () => {
    const { logger, text } = capture();
    logger.info({
      config: { SLACK_BOT_TOKEN: 'xoxb-1' },
      rule: { action: { secret: 'whsec-123' } },
      req: { headers: { authorization: 'Bearer x' } },
    });
    expect(text()).not.toMatch(/xoxb-1|whsec-123|Bearer x/);
  });
});
