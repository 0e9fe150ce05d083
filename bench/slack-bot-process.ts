/**
 * A child process of the slack bench (bench/slack.ts), so that the load generator does not share
 * an event loop with what it measures. Started with `node --import tsx bench/slack-bot-process.ts
 * <mode> [apiUrl teamId]` through `child_process.fork` (IPC channel for the bench's control calls):
 *  - `fake`: the fake Slack Web API + response_url endpoint (test/adapters/slack/fake-slack.ts);
 *  - `dealpulse`: the embedded store + a DealPulse core + the Slack adapter (HTTP receiver);
 *  - `bare`: a bare Bolt App whose `/deal` listener only acks.
 * Prints one line `READY <json>` on stdout (the port and, for `fake`, its URLs) once listening,
 * answers `{ id, op, args }` messages with `{ id, ok, value | error }`, and stops on SIGTERM.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App } from '@slack/bolt';
import { startSlack } from '../src/adapters/slack/index.js';
import { createCore } from '../src/app.js';
import { configSchema } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { chooseDatabase } from '../src/store/connection.js';
import { enterWorkspace } from '../src/usecases/context.js';
import { createDeal } from '../src/usecases/deals.js';
import { FakeSlack } from '../test/adapters/slack/fake-slack.js';

export const BENCH_SECRET = 'bench-signing-secret';

type Handler = (args: Record<string, unknown>) => Promise<unknown>;

async function startFake(): Promise<{
  ready: object;
  ops: Record<string, Handler>;
  stop: () => Promise<void>;
}> {
  const fake = await new FakeSlack().start();
  const counts = () => ({
    posts: fake.callsTo('chat.postMessage').length,
    replies: fake.responses.length,
  });
  return {
    ready: { port: Number(new URL(fake.url).port), url: fake.url, apiUrl: fake.apiUrl, teamId: fake.teamId },
    ops: {
      counts: async () => counts(),
      count: async (a) => fake.callsTo(String(a.method)).length,
      /** Resolves once at least `posts` messages were posted and `replies` response_url answers received. */
      settle: async (a) => {
        await fake.waitFor(
          () => counts().posts >= Number(a.posts) && counts().replies >= Number(a.replies),
          String(a.what ?? 'settle'),
          60_000,
        );
        return counts();
      },
      /** The args of the n-th call of a Web API method (waits for it). */
      nthCall: async (a) => {
        const method = String(a.method);
        const n = Number(a.n);
        await fake.waitFor(() => fake.callsTo(method).length >= n, `${method} #${n}`, 60_000);
        return fake.callsTo(method)[n - 1]!.args;
      },
    },
    stop: () => fake.stop(),
  };
}

/** The database in a process of its own, as a real MongoDB server would be. */
async function startDb(): Promise<{
  ready: object;
  ops: Record<string, Handler>;
  stop: () => Promise<void>;
}> {
  const db = await chooseDatabase({ logger: silentLogger, preferEmbedded: true });
  return { ready: { uri: db.uri }, ops: {}, stop: () => db.stop() };
}

async function startDealPulse(
  apiUrl: string,
  teamId: string,
  dbUri: string,
): Promise<{ ready: object; ops: Record<string, Handler>; stop: () => Promise<void> }> {
  const core = await createCore({
    config: configSchema.parse({ DEFAULT_LOCALE: 'en' }),
    logger: silentLogger,
    uri: dbUri,
    dbName: 'bench_slack',
  });
  const slack = await startSlack(
    core,
    {
      PORT: 0,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: BENCH_SECRET,
      SLACK_API_URL: apiUrl,
      SLACK_APP_TOKEN: undefined,
      SLACK_CLIENT_ID: undefined,
      SLACK_CLIENT_SECRET: undefined,
      SLACK_STATE_SECRET: undefined,
    },
    silentLogger,
    { port: 0, retries: 0 },
  );
  const admin = await enterWorkspace(core.deps, {
    platform: 'slack',
    externalWorkspaceId: teamId,
    userId: 'UADMIN',
  });
  return {
    ready: { port: slack.port },
    ops: {
      createDeal: async (a) => {
        const deal = await createDeal(admin, {
          name: String(a.name),
          amount: String(a.amount),
          company: String(a.company),
        });
        if (!deal.ok) throw new Error(`seed deal: ${JSON.stringify(deal.error)}`);
        return deal.value.deal.code;
      },
      /** Deals whose name starts with `prefix` in the given stage. */
      countInStage: async (a) => {
        const stored = await core.deps.store.listDeals(
          admin.workspace.id,
          { stage: String(a.stage) },
          { limit: 1000 },
        );
        return stored.deals.filter((d) => d.name.startsWith(String(a.prefix))).length;
      },
    },
    stop: async () => {
      await slack.stop();
      await core.stop();
    },
  };
}

async function startBare(
  apiUrl: string,
): Promise<{ ready: object; ops: Record<string, Handler>; stop: () => Promise<void> }> {
  const bare = new App({
    signingSecret: BENCH_SECRET,
    token: 'xoxb-test',
    clientOptions: { slackApiUrl: apiUrl, retryConfig: { retries: 0 } },
    logger: {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {},
      setLevel: () => {},
      getLevel: () => 'error' as never,
      setName: () => {},
    },
  });
  bare.command('/deal', async ({ ack }) => {
    await ack();
  });
  const server = (await bare.start(0)) as Server;
  return {
    ready: { port: (server.address() as AddressInfo).port },
    ops: {},
    stop: () => bare.stop() as Promise<void>,
  };
}

const [mode, apiUrl = '', teamId = 'T1', dbUri = ''] = process.argv.slice(2);
const started =
  mode === 'fake'
    ? await startFake()
    : mode === 'db'
      ? await startDb()
      : mode === 'dealpulse'
        ? await startDealPulse(apiUrl, teamId, dbUri)
        : mode === 'bare'
          ? await startBare(apiUrl)
          : undefined;
if (!started) throw new Error(`slack-bot-process: unknown mode ${String(mode)}`);

process.on('message', (msg: { id: number; op: string; args?: Record<string, unknown> }) => {
  const op = started.ops[msg.op];
  const reply = (r: object) => process.send?.({ id: msg.id, ...r });
  if (!op) return reply({ ok: false, error: `unknown op ${msg.op}` });
  op(msg.args ?? {}).then(
    (value) => reply({ ok: true, value }),
    (err: unknown) => reply({ ok: false, error: String(err) }),
  );
});
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  started.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', shutdown);
process.on('disconnect', shutdown);
process.stdout.write(`READY ${JSON.stringify(started.ready)}\n`);
