/**
 * One deployment, both platforms over HTTP: Slack's receiver and Feishu's
 * webhooks answer on the same PORT, each verified with its own secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../src/app.js';
import { startServices, type Services } from '../src/bootstrap.js';
import { configSchema } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import {
  APP_ID,
  APP_SECRET,
  FakeFeishu,
  messageEvent,
  postToBot,
  VERIFICATION_TOKEN,
} from './adapters/feishu/fake-feishu.js';
import { FakeSlack, SlackClientSim } from './adapters/slack/fake-slack.js';
import { testMongoUri, uniqueDbName } from './helpers/db.js';
import { createServer } from 'node:net';

const SECRET = 'shared-port-signing-secret';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('Slack and Feishu on one port', () => {
  let core: Core;
  let services: Services;
  let slack: FakeSlack;
  let feishu: FakeFeishu;
  let base = '';

  beforeAll(async () => {
    slack = await new FakeSlack().start();
    feishu = await FakeFeishu.start();
    const port = await freePort();
    const config = configSchema.parse({
      PORT: String(port),
      SLACK_BOT_TOKEN: 'xoxb-shared',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      FEISHU_APP_ID: APP_ID,
      FEISHU_APP_SECRET: APP_SECRET,
      FEISHU_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
      FEISHU_DOMAIN: feishu.url,
      FEISHU_MODE: 'http',
    });
    core = await createCore({
      config,
      logger: silentLogger,
      uri: testMongoUri(),
      dbName: uniqueDbName('both'),
    });
    services = await startServices(core, config, silentLogger, { slackRetries: 0, scheduler: false });
    base = `http://127.0.0.1:${port}`;
    expect(services.slackPort).toBe(port);
  });
  afterAll(async () => {
    await services?.stop();
    await slack?.stop();
    await feishu?.close();
    await core?.conn.dropDatabase().catch(() => {});
    await core?.stop();
  });

  it('answers a signed Slack command and a Feishu event on the same port, and refuses forgeries on both', async () => {
    const sim = new SlackClientSim(base, SECRET, slack);
    const ok = await sim.command('/deal', 'help', { user: 'U1' });
    expect(ok.status).toBe(200);
    const forged = await new SlackClientSim(base, 'wrong-secret', slack).command('/deal', 'help', {
      user: 'U1',
    });
    expect(forged.status).toBe(401);

    const event = await postToBot(`${base}/feishu/events`, messageEvent({ text: '帮助' }));
    expect(event.status).toBe(200);
    const bad = await postToBot(`${base}/feishu/events`, messageEvent({ text: '帮助', token: 'forged' }));
    expect(bad.status).toBe(401);
    // the Feishu bot answered the good event (and only it) through the Feishu API
    await expect.poll(() => feishu.messages().length, { timeout: 5000 }).toBe(1);
    expect(JSON.stringify(feishu.messages()[0])).toContain('DealPulse');
  });
});
