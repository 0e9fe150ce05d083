/**
 * Slack latency bench, through Bolt's real HTTPReceiver with correctly signed requests:
 *  - ack latency of `/deal` under 50 concurrent requests (time to the HTTP answer), next
 *    to a bare Bolt App in the same process whose `/deal` listener only acks; bursts of
 *    the two apps are interleaved so both see the same machine;
 *  - end-to-end `/deal advance`: from sending the signed view_submission of the advance
 *    modal until the confirmation reaches the fake Slack API (chat.postMessage recorded).
 * Database: the in-memory embedded store; Slack: the fake from test/adapters/slack.
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
import { FakeSlack, SlackClientSim, input, type Json } from '../test/adapters/slack/fake-slack.js';
import { median, ms, percentile, type BenchModule, type BenchRow } from './lib.js';

const SECRET = 'bench-signing-secret';
const CONCURRENCY = 50;
const BURSTS = 10;
const ADVANCES = 100;

/** The `/deal` commands of a burst: a realistic mix of writes and reads. */
function burstLine(i: number, burst: number): string {
  switch (i % 5) {
    case 0:
    case 1:
      return `new Bench ${burst}-${i} ${10 + i}k Company${i}`;
    case 2:
      return 'list';
    case 3:
      return `show D-${1 + (i % 20)}`;
    default:
      return 'help';
  }
}

async function burst(sim: SlackClientSim, n: number, burstNo: number, user: string): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const start = process.hrtime.bigint();
      const res = await sim.command('/deal', burstLine(i, burstNo), { user: `${user}${i % 5}` });
      const took = ms(start);
      if (res.status !== 200) throw new Error(`/deal answered ${res.status}: ${res.text}`);
      return took;
    }),
  );
}

async function run(): Promise<BenchRow[]> {
  const db = await chooseDatabase({ logger: silentLogger, preferEmbedded: true });
  const fake = await new FakeSlack().start();
  const core = await createCore({
    config: configSchema.parse({ DEFAULT_LOCALE: 'en' }),
    logger: silentLogger,
    uri: db.uri,
    dbName: 'bench_slack',
  });
  const slack = await startSlack(
    core,
    {
      PORT: 0,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      SLACK_APP_TOKEN: undefined,
      SLACK_CLIENT_ID: undefined,
      SLACK_CLIENT_SECRET: undefined,
      SLACK_STATE_SECRET: undefined,
    },
    silentLogger,
    { port: 0, retries: 0 },
  );
  // The bare app: same receiver, same fake API, a /deal listener that only acks.
  const bare = new App({
    signingSecret: SECRET,
    token: 'xoxb-test',
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
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
  const bareServer = (await bare.start(0)) as Server;
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;
  const dpSim = new SlackClientSim(`http://127.0.0.1:${slack.port}`, SECRET, fake);
  const bareSim = new SlackClientSim(bareUrl, SECRET, fake);

  try {
    // Workspace with 20 deals to show, admin first.
    const admin = await enterWorkspace(core.deps, {
      platform: 'slack',
      externalWorkspaceId: fake.teamId,
      userId: 'UADMIN',
    });
    for (let i = 0; i < 20; i += 1)
      await createDeal(admin, { name: `Seed ${i}`, amount: `${i + 1}k`, company: `Seed Co ${i}` });

    let posts = fake.callsTo('chat.postMessage').length;
    let replies = fake.responses.length;
    // Warm-up (JIT, connection pools, locale cache) — not measured.
    await burst(dpSim, CONCURRENCY, -1, 'UW');
    await burst(bareSim, CONCURRENCY, -1, 'UW');

    const dp: number[] = [];
    const base: number[] = [];
    // What the fake has received once the background work of every /deal burst so far is done:
    // 2 of 5 commands post a confirmation, 3 of 5 answer through response_url.
    const settle = async (b: number) => {
      posts += CONCURRENCY * (2 / 5);
      replies += CONCURRENCY * (3 / 5);
      await fake.waitFor(
        () => fake.callsTo('chat.postMessage').length >= posts && fake.responses.length >= replies,
        `background work of burst ${b}`,
        60_000,
      );
    };
    await settle(-1);
    for (let b = 0; b < BURSTS; b += 1) {
      // Interleaved, alternating which app goes first; each burst starts on a quiet process.
      if (b % 2 === 0) {
        dp.push(...(await burst(dpSim, CONCURRENCY, b, 'UB')));
        await settle(b);
        base.push(...(await burst(bareSim, CONCURRENCY, b, 'UB')));
      } else {
        base.push(...(await burst(bareSim, CONCURRENCY, b, 'UB')));
        dp.push(...(await burst(dpSim, CONCURRENCY, b, 'UB')));
        await settle(b);
      }
    }
    const dpP99 = percentile(dp, 99);
    const baseP99 = percentile(base, 99);
    const ratio = dpP99 / baseP99;

    // End-to-end advance: open the modal (not measured), then time submit → confirmation posted.
    const rep = { user: 'UADMIN' };
    const e2e: number[] = [];
    const acks: number[] = [];
    for (let i = 0; i < ADVANCES; i += 1) {
      const deal = await createDeal(admin, {
        name: `Advance ${i}`,
        amount: '25k',
        company: `Adv Co ${i}`,
      });
      if (!deal.ok) throw new Error(`seed deal: ${JSON.stringify(deal.error)}`);
      const opened = fake.callsTo('views.open').length + 1;
      await dpSim.command('/deal', `advance ${deal.value.deal.code}`, rep);
      const view = (await fake.nextCall('views.open', opened)).args.view as Json;
      if (view.callback_id !== 'dp:form:deal_advance')
        throw new Error(`unexpected modal ${String(view.callback_id)}`);
      const posted = fake.callsTo('chat.postMessage').length + 1;
      const start = process.hrtime.bigint();
      const res = await dpSim.viewSubmission(rep, view, {
        stage: input.select('qualification'),
        'nextStep.text': input.text('Call the CFO'),
        'nextStep.due': input.date(null),
      });
      acks.push(ms(start));
      if (res.status !== 200 || res.text !== '') throw new Error(`advance submit: ${res.status} ${res.text}`);
      await fake.waitFor(() => fake.callsTo('chat.postMessage').length >= posted, 'advance confirmation');
      e2e.push(ms(start));
      const last = fake.callsTo('chat.postMessage')[posted - 1]!;
      if (!JSON.stringify(last.args).includes(`Advance ${i}`))
        throw new Error('confirmation of another deal');
    }
    const e2eP95 = percentile(e2e, 95);
    const stored = await core.deps.store.listDeals(
      admin.workspace.id,
      { stage: 'qualification' },
      { limit: 1000 },
    );
    const advanced = stored.deals.filter((d) => d.name.startsWith('Advance ')).length;

    return [
      {
        group: 'slack',
        metric: `/deal ack p50, ${CONCURRENCY} concurrent`,
        value: median(dp),
        unit: 'ms',
        note: `${dp.length} requests in ${BURSTS} bursts; mix new/list/show/help`,
      },
      {
        group: 'slack',
        metric: `/deal ack p99, ${CONCURRENCY} concurrent`,
        value: dpP99,
        unit: 'ms',
        goal: '≤ 50 ms',
        pass: dpP99 <= 50,
      },
      {
        group: 'slack',
        metric: 'bare Bolt ack p50 (same run)',
        value: median(base),
        unit: 'ms',
      },
      {
        group: 'slack',
        metric: 'bare Bolt ack p99 (same run)',
        value: baseP99,
        unit: 'ms',
      },
      {
        group: 'slack',
        metric: '/deal ack p99 ÷ bare p99',
        value: ratio,
        unit: '×',
        goal: '≤ 1.5×',
        pass: ratio <= 1.5,
      },
      {
        group: 'slack',
        metric: '/deal advance e2e p50 (submit → confirmation)',
        value: median(e2e),
        unit: 'ms',
        note: `${ADVANCES} sequential; submit ack p50 ${median(acks).toFixed(1)} ms`,
      },
      {
        group: 'slack',
        metric: '/deal advance e2e p95',
        value: e2eP95,
        unit: 'ms',
        goal: '≤ 150 ms',
        pass: e2eP95 <= 150,
        note: `${advanced}/${ADVANCES} deals in Qualification after the run`,
      },
    ];
  } finally {
    await bare.stop();
    await slack.stop();
    await fake.stop();
    await core.stop();
    await db.stop();
  }
}

const mod: BenchModule = { name: 'slack', run };
export default mod;
