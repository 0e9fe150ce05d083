/**
 * Configuration from the environment (and an optional `.env`), validated with zod.
 * Every missing or malformed value is reported by name with what is expected.
 */
import { z } from 'zod';
import { DateTime } from 'luxon';
import { CronExpressionParser } from 'cron-parser';

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const duration = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?)$/i, {
    message: 'expected a duration like "15 minutes", "30 seconds" or "1 hour"',
  });

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    MONGODB_URI: optionalString.pipe(
      z
        .string()
        .regex(/^mongodb(\+srv)?:\/\//, { message: 'expected a mongodb:// or mongodb+srv:// URI' })
        .optional(),
    ),
    DATA_DIR: z.string().trim().min(1).default('./data'),
    PORT: z.coerce
      .number({ message: 'expected a port number' })
      .int({ message: 'expected a whole port number' })
      .min(0, { message: 'expected a port from 0 to 65535' })
      .max(65535, { message: 'expected a port from 0 to 65535' })
      .default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DEFAULT_LOCALE: z.enum(['en', 'zh-CN'], { message: 'expected "en" or "zh-CN"' }).default('en'),
    DEFAULT_TIMEZONE: z
      .string()
      .trim()
      .default('UTC')
      .refine((tz) => DateTime.local().setZone(tz).isValid, {
        message: 'expected an IANA time zone such as "UTC", "Asia/Shanghai" or "America/New_York"',
      }),
    DEFAULT_REVIEW_SCHEDULE: z
      .string()
      .trim()
      .default('0 9 * * 1')
      .refine(
        (c) => {
          try {
            CronExpressionParser.parse(c);
            return c.split(/\s+/).length === 5;
          } catch {
            return false;
          }
        },
        { message: 'expected a five-field cron expression such as "0 9 * * 1" (Monday 09:00)' },
      ),
    STALL_SCAN_INTERVAL: duration.default('15 minutes'),
    // Slack
    SLACK_BOT_TOKEN: optionalString.pipe(
      z.string().startsWith('xoxb-', { message: 'expected a bot token starting with "xoxb-"' }).optional(),
    ),
    SLACK_APP_TOKEN: optionalString.pipe(
      z
        .string()
        .startsWith('xapp-', { message: 'expected an app-level token starting with "xapp-"' })
        .optional(),
    ),
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_CLIENT_ID: optionalString,
    SLACK_CLIENT_SECRET: optionalString,
    SLACK_STATE_SECRET: optionalString,
    SLACK_API_URL: optionalString.pipe(z.url({ message: 'expected a URL ending in /api/' }).optional()),
    // Feishu / Lark
    FEISHU_APP_ID: optionalString,
    FEISHU_APP_SECRET: optionalString,
    FEISHU_VERIFICATION_TOKEN: optionalString,
    FEISHU_ENCRYPT_KEY: optionalString,
    FEISHU_DOMAIN: z.string().trim().default('feishu'),
    FEISHU_MODE: z
      .enum(['ws', 'http'], { message: 'expected "ws" (long connection) or "http"' })
      .default('ws'),
  })
  .superRefine((c, ctx) => {
    const slackAny = c.SLACK_BOT_TOKEN || c.SLACK_APP_TOKEN || c.SLACK_SIGNING_SECRET || c.SLACK_CLIENT_ID;
    if (slackAny) {
      if (!c.SLACK_APP_TOKEN && !c.SLACK_SIGNING_SECRET)
        ctx.addIssue({
          code: 'custom',
          path: ['SLACK_SIGNING_SECRET'],
          message: 'required for Slack HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)',
        });
      if (!c.SLACK_BOT_TOKEN && !c.SLACK_CLIENT_ID)
        ctx.addIssue({
          code: 'custom',
          path: ['SLACK_BOT_TOKEN'],
          message:
            'required for Slack (or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET for OAuth)',
        });
      if (c.SLACK_CLIENT_ID && (!c.SLACK_CLIENT_SECRET || !c.SLACK_STATE_SECRET))
        ctx.addIssue({
          code: 'custom',
          path: [c.SLACK_CLIENT_SECRET ? 'SLACK_STATE_SECRET' : 'SLACK_CLIENT_SECRET'],
          message: 'required with SLACK_CLIENT_ID for OAuth installs',
        });
    }
    if (c.FEISHU_APP_ID || c.FEISHU_APP_SECRET) {
      if (!c.FEISHU_APP_ID)
        ctx.addIssue({ code: 'custom', path: ['FEISHU_APP_ID'], message: 'required with FEISHU_APP_SECRET' });
      if (!c.FEISHU_APP_SECRET)
        ctx.addIssue({ code: 'custom', path: ['FEISHU_APP_SECRET'], message: 'required with FEISHU_APP_ID' });
      if (c.FEISHU_MODE === 'http' && !c.FEISHU_VERIFICATION_TOKEN)
        ctx.addIssue({
          code: 'custom',
          path: ['FEISHU_VERIFICATION_TOKEN'],
          message: 'required in FEISHU_MODE=http to verify events and card callbacks',
        });
    }
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses the environment; throws ConfigError listing every problem by variable name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const name = i.path.join('.') || '(environment)';
    const got = typeof env[name] === 'string' ? ` (got "${redactValue(name, env[name]!)}")` : ' (not set)';
    return `${name}: ${i.message}${got}`;
  });
  throw new ConfigError(problems);
}

const SECRET_NAMES = /TOKEN|SECRET|KEY|URI|PASSWORD/;
function redactValue(name: string, value: string): string {
  if (SECRET_NAMES.test(name)) return value.length > 0 ? '[redacted]' : '';
  return value.length > 60 ? `${value.slice(0, 57)}…` : value;
}

export const slackEnabled = (c: Config): boolean => Boolean(c.SLACK_BOT_TOKEN || c.SLACK_CLIENT_ID);
export const feishuEnabled = (c: Config): boolean => Boolean(c.FEISHU_APP_ID && c.FEISHU_APP_SECRET);
