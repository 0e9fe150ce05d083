import { pino, type Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.clientSecret',
  '*.stateSecret',
  '*.appSecret',
  '*.encryptKey',
  '*.verificationToken',
  '*.password',
  '*.secret',
  '*.*.secret',
  '*.*.token',
  '*.headers.authorization',
  '*.*.headers.authorization',
  '*.*.headers.Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  'config.SLACK_BOT_TOKEN',
  'config.SLACK_APP_TOKEN',
  'config.SLACK_SIGNING_SECRET',
  'config.SLACK_CLIENT_SECRET',
  'config.SLACK_STATE_SECRET',
  'config.FEISHU_APP_SECRET',
  'config.FEISHU_ENCRYPT_KEY',
  'config.FEISHU_VERIFICATION_TOKEN',
  'config.MONGODB_URI',
];

export type { Logger };

/**
 * Errors are logged as name, message, code and stack only: HTTP client errors carry their
 * request (headers with bearer tokens, bodies with user text) and must never be printed whole.
 */
export function errSerializer(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; status?: unknown; data?: { error?: unknown } };
  return {
    type: e.name,
    message: e.message,
    ...(e.code !== undefined ? { code: String(e.code) } : {}),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
    ...(typeof e.data?.error === 'string' ? { platformError: e.data.error } : {}),
    stack: e.stack,
  };
}

/**
 * The app's logger. `stderr: true` (console and --exec modes) keeps log lines out
 * of the chat transcript and scripted output on stdout.
 */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  opts: { stderr?: boolean } = {},
): Logger {
  const options = {
    level,
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: errSerializer, error: errSerializer },
  };
  return opts.stderr ? pino(options, pino.destination(2)) : pino(options);
}

/** Removes the password from a connection URI before it is logged. */
export function redactUri(uri: string): string {
  return uri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1[redacted]@');
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
