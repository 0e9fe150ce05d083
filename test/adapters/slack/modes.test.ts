/** The notifier (posts, thread replies, chart uploads), Socket Mode and OAuth installs. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../../src/app.js';
import { configSchema } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { startSlack, type SlackConfig, type SlackHandle } from '../../../src/adapters/slack/index.js';
import type { RichMessage } from '../../../src/presenters/rich.js';
import { testMongoUri, uniqueDbName } from '../../helpers/db.js';
import { FakeSlack, SlackClientSim, type Json } from './fake-slack.js';
import { limitProblems, startHarness, visibleText, type Harness } from './harness.js';

describe('Slack notifier', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'slack_notifier' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('posts to a channel, uploads charts into the thread with files.uploadV2, replies and updates', async () => {
    const ws = await h.core.deps.store.ensureWorkspace({
      platform: 'slack',
      externalId: 'T1',
      settings: (await import('../../../src/domain/settings.js')).defaultSettings({
        locale: 'en',
        timezone: 'UTC',
      }),
    });
    const notifier = h.core.notifiers.for(ws);
    expect(notifier).toBe(h.slack.notifier);
    const png = Buffer.alloc(2048, 7);
    const message: RichMessage = {
      summary: 'Weekly review <!here>',
      blocks: [
        { type: 'header', text: 'Weekly review' },
        {
          type: 'image',
          image: {
            png,
            width: 10,
            height: 10,
            altText: 'Lead 4, Won 1',
            title: 'Funnel',
            filename: 'funnel.png',
          },
        },
      ],
    };
    const ref = await notifier!.post(ws, { channel: 'CREVIEW' }, message);
    const post = h.fake.callsTo('chat.postMessage')[0]!;
    expect(post.args.channel).toBe('CREVIEW');
    expect(post.args.text).toBe('Weekly review &lt;!here&gt;');
    expect(ref).toEqual({ channel: 'CREVIEW', id: post.result!.ts });
    const getUrl = h.fake.callsTo('files.getUploadURLExternal')[0]!;
    expect(getUrl.args).toMatchObject({ filename: 'funnel.png', length: '2048' });
    // The chart's bytes arrive unchanged at the upload URL.
    expect(h.fake.uploads).toEqual([
      {
        fileId: String(getUrl.result!.file_id),
        bytes: expect.any(Number),
        filename: 'funnel.png',
        data: png,
      },
    ]);
    expect(h.fake.uploads[0]!.bytes).toBeGreaterThanOrEqual(2048);
    const complete = h.fake.callsTo('files.completeUploadExternal')[0]!;
    expect(complete.args).toMatchObject({
      channel_id: 'CREVIEW',
      thread_ts: ref.id,
      files: [{ id: getUrl.result!.file_id, title: 'Funnel' }],
    });

    const reply = await notifier!.reply(ws, ref, {
      summary: 'moved',
      blocks: [{ type: 'text', text: ['D-1 moved'] }],
    });
    expect(h.fake.callsTo('chat.postMessage')[1]!.args).toMatchObject({
      channel: 'CREVIEW',
      thread_ts: ref.id,
    });
    expect(reply.id).not.toBe(ref.id);
    await notifier!.update(ws, ref, { summary: 'resolved', blocks: [{ type: 'text', text: ['resolved'] }] });
    expect(h.fake.callsTo('chat.update')[0]!.args).toMatchObject({
      channel: 'CREVIEW',
      ts: ref.id,
      text: 'resolved',
    });
    // A DM to a user goes to the user id; Slack answers with the DM channel.
    const dm = await notifier!.post(ws, { user: 'UREP1' }, { summary: 'hi', blocks: [] });
    expect(dm.channel).toBe('DREP1');
    expect(limitProblems(h.fake)).toEqual([]);
  });
});

async function coreFor(prefix: string): Promise<Core> {
  return createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName(prefix),
  });
}

const baseConfig = (fake: FakeSlack): SlackConfig => ({
  PORT: 0,
  SLACK_BOT_TOKEN: undefined,
  SLACK_APP_TOKEN: undefined,
  SLACK_SIGNING_SECRET: undefined,
  SLACK_CLIENT_ID: undefined,
  SLACK_CLIENT_SECRET: undefined,
  SLACK_STATE_SECRET: undefined,
  SLACK_API_URL: fake.apiUrl,
});

describe('Socket Mode', () => {
  let fake: FakeSlack;
  let core: Core;
  let slack: SlackHandle | undefined;
  beforeAll(async () => {
    fake = await new FakeSlack().start();
    fake.enableSocketMode();
    core = await coreFor('slack_socket');
  });
  afterAll(async () => {
    await slack?.stop();
    await fake.stop();
    await core.stop();
  });

  it('connects with the app token and handles commands and modal validation over the socket', async () => {
    slack = await startSlack(
      core,
      { ...baseConfig(fake), SLACK_APP_TOKEN: 'xapp-test', SLACK_BOT_TOKEN: 'xoxb-sock' },
      silentLogger,
      { retries: 0 },
    );
    expect(slack.mode).toBe('socket');
    expect(fake.callsTo('apps.connections.open')[0]!.token).toBe('xapp-test');
    await fake.waitFor(() => fake.socketConnected, 'socket');

    const responseUrl = fake.responseUrl();
    const ack = await fake.sendEnvelope('slash_commands', {
      token: 'legacy',
      team_id: 'T1',
      channel_id: 'C1',
      user_id: 'USOCK',
      command: '/deal',
      text: 'new',
      response_url: responseUrl,
      trigger_id: 'trig-sock-1',
      api_app_id: 'A1',
    });
    expect(ack).toEqual({});
    const open = await fake.nextCall('views.open');
    expect(open.token).toBe('xoxb-sock');
    expect(open.args.trigger_id).toBe('trig-sock-1');
    const view = open.args.view as Json;

    const answer = await fake.sendEnvelope('interactive', {
      type: 'view_submission',
      team: { id: 'T1' },
      user: { id: 'USOCK', team_id: 'T1' },
      api_app_id: 'A1',
      trigger_id: 'trig-sock-2',
      view: {
        ...view,
        id: 'VSOCK',
        team_id: 'T1',
        state: { values: { name: { v: { type: 'plain_text_input', value: '' } } } },
      },
    });
    expect(answer).toMatchObject({ response_action: 'errors', errors: { name: 'Deal name is required.' } });

    await fake.sendEnvelope('slash_commands', {
      team_id: 'T1',
      channel_id: 'C1',
      user_id: 'USOCK',
      command: '/deal',
      text: 'new Socket deal 9k',
      response_url: fake.responseUrl(),
      trigger_id: 'trig-sock-3',
    });
    const post = await fake.nextCall('chat.postMessage');
    expect(visibleText(post.args)).toContain('Socket deal');
  });
});

describe('OAuth installs (many workspaces)', () => {
  let fake: FakeSlack;
  let core: Core;
  let slack: SlackHandle;
  let base: string;
  const secret = 'oauth-signing-secret';
  beforeAll(async () => {
    fake = await new FakeSlack().start();
    core = await coreFor('slack_oauth');
    slack = await startSlack(
      core,
      {
        ...baseConfig(fake),
        SLACK_SIGNING_SECRET: secret,
        SLACK_CLIENT_ID: '111.222',
        SLACK_CLIENT_SECRET: 'client-secret',
        SLACK_STATE_SECRET: 'state-secret',
      },
      silentLogger,
      { port: 0, retries: 0 },
    );
    base = `http://127.0.0.1:${slack.port}`;
  });
  afterAll(async () => {
    await slack?.stop();
    await fake.stop();
    await core.conn.dropDatabase().catch(() => {});
    await core.stop();
  });
  afterEach(() => fake.reset());

  it('installs through /slack/install and /slack/oauth_redirect, stores the installation in MongoDB and uses its token', async () => {
    const install = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    expect(install.status).toBe(200);
    const html = await install.text();
    const state = /state=([^"&]+)/.exec(html)?.[1];
    expect(state).toBeTruthy();
    expect(html).toContain('client_id=111.222');
    expect(html).toContain('scope=commands%2Cchat%3Awrite');
    const cookie = install.headers.get('set-cookie')!.split(';')[0]!;
    const done = await fetch(`${base}/slack/oauth_redirect?code=abc&state=${state}`, {
      headers: { cookie },
      redirect: 'manual',
    });
    expect(done.status).toBe(200);
    expect(fake.callsTo('oauth.v2.access')[0]!.args).toMatchObject({ code: 'abc', client_id: '111.222' });
    const stored = await core.conn.collection('slack_installations').findOne({ _id: 'T:T2' as never });
    expect(stored?.teamId).toBe('T2');

    // A command from the installed team is answered with that team's bot token.
    const sim = new SlackClientSim(base, secret, fake);
    await sim.command('/deal', 'new OAuth deal 5k', { user: 'UT2', team: 'T2' });
    const post = await fake.nextCall('chat.postMessage');
    expect(post.token).toBe('xoxb-installed-abc');

    // The notifier finds the same token for scheduled posts.
    const ws = (await core.deps.store.getWorkspace('slack:T2'))!;
    await slack.notifier.post(ws, { channel: 'C2' }, { summary: 'digest', blocks: [] });
    expect(fake.callsTo('chat.postMessage')[1]!.token).toBe('xoxb-installed-abc');
  });

  it('rejects the redirect without the state cookie and ignores teams that never installed', async () => {
    const bad = await fetch(`${base}/slack/oauth_redirect?code=zzz&state=forged`, { redirect: 'manual' });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(fake.callsTo('oauth.v2.access')).toEqual([]);
    const sim = new SlackClientSim(base, secret, fake);
    const res = await sim.command('/deal', 'new Stranger 1k', { user: 'UX', team: 'TNEVER' });
    // Bolt refuses the request before any listener runs (no installation, no token).
    expect(res.status).toBe(401);
    expect(fake.callsTo('chat.postMessage')).toEqual([]);
    expect(await core.deps.store.getWorkspace('slack:TNEVER')).toBeUndefined();
  });

  it('forgets the installation when the app is uninstalled', async () => {
    const sim = new SlackClientSim(base, secret, fake);
    const res = await sim.event({ type: 'app_uninstalled', event_ts: '1.0' }, { team: 'T2' });
    expect(res.status).toBe(200);
    await expect
      .poll(async () => core.conn.collection('slack_installations').countDocuments({ _id: 'T:T2' as never }))
      .toBe(0);
  });
});
