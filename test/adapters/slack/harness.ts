/** Starts a real core (fresh database), the fake Slack and the Slack adapter in HTTP mode. */
import { createCore, type Core } from '../../../src/app.js';
import { configSchema } from '../../../src/config.js';
import { silentLogger, type Logger } from '../../../src/logger.js';
import { startSlack, type SlackConfig, type SlackHandle } from '../../../src/adapters/slack/index.js';
import { testMongoUri, uniqueDbName } from '../../helpers/db.js';
import { FakeSlack, SlackClientSim, type ApiCall } from './fake-slack.js';
import { validateSurface } from '../../../src/adapters/slack/limits.js';

export const SECRET = 'test-signing-secret';

export interface Harness {
  core: Core;
  fake: FakeSlack;
  slack: SlackHandle;
  sim: SlackClientSim;
  baseUrl: string;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: {
    config?: Partial<SlackConfig>;
    now?: () => Date;
    logger?: Logger;
    submitTimeBoxMs?: number;
    db?: string;
  } = {},
): Promise<Harness> {
  const fake = await new FakeSlack().start();
  const config = configSchema.parse({ DEFAULT_LOCALE: 'en' });
  const core = await createCore({
    config,
    logger: opts.logger ?? silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName(opts.db ?? 'slack'),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const slackConfig: SlackConfig = {
    PORT: 0,
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_APP_TOKEN: undefined,
    SLACK_CLIENT_ID: undefined,
    SLACK_CLIENT_SECRET: undefined,
    SLACK_STATE_SECRET: undefined,
    ...opts.config,
  };
  const slack = await startSlack(core, slackConfig, opts.logger ?? silentLogger, {
    port: 0,
    retries: 0,
    ...(opts.submitTimeBoxMs !== undefined ? { submitTimeBoxMs: opts.submitTimeBoxMs } : {}),
  });
  const baseUrl = `http://127.0.0.1:${slack.port}`;
  return {
    core,
    fake,
    slack,
    sim: new SlackClientSim(baseUrl, SECRET, fake),
    baseUrl,
    stop: async () => {
      await slack.stop();
      await fake.stop();
      await core.conn.dropDatabase().catch(() => {});
      await core.stop();
    },
  };
}

/** Every limit any recorded payload breaks (messages, modals, home tabs, response_url bodies). */
export function limitProblems(fake: FakeSlack): string[] {
  const problems: string[] = [];
  const check = (where: string, kind: 'message' | 'modal' | 'home', payload: Record<string, unknown>) => {
    for (const p of validateSurface(kind, payload)) problems.push(`${where}: ${p}`);
  };
  fake.calls.forEach((c: ApiCall, i) => {
    if (['chat.postMessage', 'chat.postEphemeral', 'chat.update'].includes(c.method))
      check(`${c.method}#${i}`, 'message', c.args);
    if (['views.open', 'views.push', 'views.update', 'views.publish'].includes(c.method)) {
      const v = c.args.view as Record<string, unknown>;
      check(`${c.method}#${i}`, v.type === 'home' ? 'home' : 'modal', v);
    }
  });
  fake.responses.forEach((r, i) => check(`response_url#${i}`, 'message', r.body));
  return problems;
}

/** All visible text of a Block Kit payload, for "what the user sees" assertions. */
export function visibleText(payload: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o.text);
      for (const [k, x] of Object.entries(o)) if (k !== 'text' || typeof x !== 'string') walk(x);
    }
  };
  walk((payload as { blocks?: unknown }).blocks ?? payload);
  return out.join('\n');
}
