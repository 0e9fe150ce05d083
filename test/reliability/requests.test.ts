/**
 * Hostile and repeated requests at both platforms' HTTP endpoints:
 * - forged, unsigned and stale requests to Slack, forged and unsigned ones to
 *   Feishu: all rejected, nothing processed, nothing posted;
 * - 1,000 redeliveries of commands, modal submissions and events (Slack retries with
 *   X-Slack-Retry-Num, Feishu redeliveries with the same event_id): one deal, one
 *   note, one confirmation each.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFeishu, type FeishuAdapter } from '../../src/adapters/feishu/index.js';
import { encryptPayload, signBody } from '../../src/adapters/feishu/security.js';
import { configSchema } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import {
  APP_ID,
  APP_SECRET,
  ENCRYPT_KEY,
  FakeFeishu,
  VERIFICATION_TOKEN,
  cardAction,
  messageEvent,
  postToBot,
} from '../adapters/feishu/fake-feishu.js';
import { input, sendSigned, sign, type Json } from '../adapters/slack/fake-slack.js';
import { SECRET, startHarness, type Harness } from '../adapters/slack/harness.js';

let h: Harness;
let fake: FakeFeishu;
let feishu: FeishuAdapter;
let secureFeishu: FeishuAdapter;
const WS = 'slack:T1';
const rep = { user: 'UREP1' };

beforeAll(async () => {
  h = await startHarness({ db: 'rel_requests' });
  h.fake.users.set('UREP1', { id: 'UREP1', name: 'Rui' });
  fake = await FakeFeishu.start();
  const config = (extra: Record<string, string> = {}) =>
    configSchema.parse({
      FEISHU_APP_ID: APP_ID,
      FEISHU_APP_SECRET: APP_SECRET,
      FEISHU_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
      FEISHU_DOMAIN: fake.url,
      FEISHU_MODE: 'http',
      PORT: '0',
      ...extra,
    });
  // Both adapters on the Slack harness's core: one database, both platforms.
  feishu = await startFeishu(h.core, config(), silentLogger, { listen: 0, backoffMs: 1 });
  secureFeishu = await startFeishu(h.core, config({ FEISHU_ENCRYPT_KEY: ENCRYPT_KEY }), silentLogger, {
    listen: 0,
    backoffMs: 1,
  });
});
afterAll(async () => {
  await feishu?.stop();
  await secureFeishu?.stop();
  await fake?.close();
  await h?.stop();
});

const slackDeals = async () => (await h.core.deps.store.listDeals(WS, {}, { limit: 1000 })).deals;
const feishuDeals = async (tenant: string) =>
  (await h.core.deps.store.listDeals(`feishu:${tenant}`, {}, { limit: 1000 })).deals;
const apiCalls = () => h.fake.calls.filter((c) => c.method !== 'auth.test');

describe('forged, unsigned and stale requests', () => {
  it('Slack: every kind of request without a valid, fresh signature is refused with 401 and does nothing', async () => {
    h.fake.reset();
    const command = new URLSearchParams({
      team_id: 'T1',
      channel_id: 'C1',
      user_id: 'UREP1',
      command: '/deal',
      text: 'new Forged deal 50k',
      response_url: h.fake.responseUrl(),
      trigger_id: 'trig-forged',
    }).toString();
    const submission = `payload=${encodeURIComponent(
      JSON.stringify({
        type: 'view_submission',
        team: { id: 'T1' },
        user: { id: 'UREP1', team_id: 'T1' },
        view: {
          id: 'VFORGED',
          callback_id: 'dp:form:deal_new',
          private_metadata: JSON.stringify({ f: 'deal_new', s: '{}', c: 'C1' }),
          state: { values: { name: { v: input.text('Forged modal deal') } } },
        },
      }),
    )}`;
    const event = JSON.stringify({
      team_id: 'T1',
      type: 'event_callback',
      event_id: 'EvForged',
      event: { type: 'message', channel: 'C1', user: 'UREP1', text: 'forged', ts: '1.1', thread_ts: '1.0' },
    });
    const now = Math.floor(Date.now() / 1000);
    const form = 'application/x-www-form-urlencoded' as const;
    const cases: [string, string, typeof form | 'application/json', Parameters<typeof sendSigned>[4]][] = [];
    for (const [name, body, type] of [
      ['command', command, form],
      ['view_submission', submission, form],
      ['event', event, 'application/json'],
    ] as const) {
      cases.push([`${name}: forged signature`, body, type, { signature: `v0=${'0'.repeat(64)}` }]);
      cases.push([
        `${name}: signed with another secret`,
        body,
        type,
        { signature: sign('not-the-secret', now, body) },
      ]);
      cases.push([
        `${name}: stale (6 minutes old), correctly signed`,
        body,
        type,
        { ts: now - 360, signature: sign(SECRET, now - 360, body) },
      ]);
      cases.push([
        `${name}: signature of another body`,
        body,
        type,
        { signature: sign(SECRET, now, `${body}x`) },
      ]);
    }
    for (const [what, body, type, opts] of cases) {
      const res = await sendSigned(h.baseUrl, SECRET, body, type, opts);
      expect(res.status, what).toBe(401);
    }
    // Unsigned: no signature headers at all.
    for (const [body, type] of [
      [command, form],
      [submission, form],
      [event, 'application/json'],
    ] as const) {
      const res = await fetch(`${h.baseUrl}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      expect(res.status).toBe(401);
    }
    // A signed request proves the receiver still works, and that nothing before it was processed.
    await h.sim.command('/deal', 'help', rep);
    await h.fake.nextResponse();
    expect(await slackDeals()).toEqual([]);
    expect(apiCalls().map((c) => c.method)).toEqual(['users.info']);
    expect(h.fake.responses).toHaveLength(1);
  });

  it('Feishu: a wrong verification token, a bad or missing signature and a plain body are refused; nothing is sent', async () => {
    fake.clear();
    const tenant = 'tenant_forged';
    const url = `${feishu.url}/feishu/events`;
    const secureUrl = `${secureFeishu.url}/feishu/events`;
    const results = [
      await postToBot(url, messageEvent({ tenant, text: '新建 伪造 5万', token: 'forged' })),
      await postToBot(url, messageEvent({ tenant, text: '新建 伪造 5万', token: '' })),
      await postToBot(
        `${feishu.url}/feishu/card`,
        cardAction({ tenant, value: { a: 'page', v: '{}' }, token: 'c-card-update-token' }),
      ),
      await postToBot(secureUrl, messageEvent({ tenant, text: '新建 伪造 5万' }), {
        encryptKey: ENCRYPT_KEY,
        signKey: 'wrong',
      }),
      await postToBot(secureUrl, messageEvent({ tenant, text: '新建 伪造 5万' }), {
        encryptKey: ENCRYPT_KEY,
        unsigned: true,
      }),
      await postToBot(secureUrl, messageEvent({ tenant, text: '新建 伪造 5万' })),
      await postToBot(
        `${secureFeishu.url}/feishu/card`,
        cardAction({ tenant, value: { a: 'page', v: '{}' } }),
        {
          encryptKey: ENCRYPT_KEY,
          signKey: 'wrong',
        },
      ),
    ];
    await feishu.drain();
    await secureFeishu.drain();
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401, 401]);
    expect(fake.messages()).toEqual([]);
    expect(await feishuDeals(tenant)).toEqual([]);
  });

  it('Feishu: a captured signed request replayed later (same body, same headers) is handled once', async () => {
    fake.clear();
    const tenant = 'tenant_replayed';
    const body = JSON.stringify({
      encrypt: encryptPayload(JSON.stringify(messageEvent({ tenant, text: '新建 重放 5万' })), ENCRYPT_KEY),
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomUUID();
    const headers = {
      'content-type': 'application/json',
      'x-lark-request-timestamp': ts,
      'x-lark-request-nonce': nonce,
      'x-lark-signature': signBody(ts, nonce, ENCRYPT_KEY, body),
    };
    for (let i = 0; i < 5; i += 1) {
      const r = await fetch(`${secureFeishu.url}/feishu/events`, { method: 'POST', headers, body });
      expect(r.status).toBe(200);
      await secureFeishu.drain();
    }
    expect(await feishuDeals(tenant)).toHaveLength(1);
    expect(fake.messages()).toHaveLength(1);
  });
});

/** Runs `n` sends, `parallel` at a time. */
async function repeat(n: number, parallel: number, send: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += parallel)
    await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, j) => send(i + j)));
}

describe('1,000 redeliveries', () => {
  it('Slack: 250 command retries, 250 modal resubmissions and 250 thread-reply retries make one deal and one note each', async () => {
    h.fake.reset();
    // A command and its 249 retries (same trigger id), some while the first is still running.
    await repeat(250, 25, (i) =>
      h.sim.command('/deal', 'new Retried deal 6k Retry Co', rep, {
        triggerId: 'trig-replayed',
        ...(i > 0 ? { retryNum: 1 + (i % 3) } : {}),
      }),
    );
    await h.fake.waitFor(() => h.fake.callsTo('chat.postMessage').length >= 1, 'the confirmation');
    const confirmation = h.fake.callsTo('chat.postMessage')[0]!;

    // The new-deal modal submitted 250 times (double clicks, redelivery), same view id.
    const opened = h.fake.callsTo('views.open').length + 1;
    await h.sim.command('/deal', 'new', rep);
    const view = (await h.fake.nextCall('views.open', opened)).args.view as Json;
    await repeat(250, 25, () =>
      h.sim.viewSubmission(
        rep,
        view,
        {
          name: input.text('Modal deal'),
          amount: input.text('9k'),
          stage: input.select('lead'),
          owner: input.user('UREP1'),
        },
        'VREPLAYED',
      ),
    );

    // A reply in the confirmation's thread and its 249 retries (same event id).
    const reply = {
      type: 'message',
      channel: 'C1',
      user: 'UREP1',
      text: 'Customer confirmed the budget',
      ts: '1700000500.000100',
      thread_ts: String(confirmation.result?.ts),
      channel_type: 'channel',
    };
    await repeat(250, 25, (i) =>
      h.sim.event(reply, { eventId: 'EvReplayed', ...(i > 0 ? { retryNum: 1 + (i % 3) } : {}) }),
    );

    const retried = (await slackDeals()).find((d) => d.name === 'Retried deal')!;
    await expect.poll(async () => (await h.core.deps.store.listNotes(WS, retried.id, 10)).length).toBe(1);
    // A last command proves everything before it was handled.
    const n = h.fake.responses.length + 1;
    await h.sim.command('/deal', 'help', rep);
    await h.fake.nextResponse(n);
    const deals = await slackDeals();
    expect(deals.filter((d) => d.name === 'Retried deal')).toHaveLength(1);
    expect(deals.filter((d) => d.name === 'Modal deal')).toHaveLength(1);
    expect(await h.core.deps.store.listNotes(WS, retried.id, 10)).toHaveLength(1);
    // One confirmation per deal, nothing else posted in the channel.
    const posts = h.fake.callsTo('chat.postMessage').map((c) => String(c.args.text));
    expect(posts).toHaveLength(2);
    expect(posts.filter((t) => t.includes('Retried deal'))).toHaveLength(1);
    expect(posts.filter((t) => t.includes('Modal deal'))).toHaveLength(1);
  });

  it('Feishu: a command and a thread reply redelivered 125 times each (same event id) make one deal and one note', async () => {
    fake.clear();
    const tenant = 'tenant_redelivered';
    const command = messageEvent({
      tenant,
      text: '新建 重复投递 3万',
      messageId: 'om_redeliver',
      eventId: 'evt_redeliver_cmd',
    });
    await repeat(125, 25, () => postToBot(`${feishu.url}/feishu/events`, command));
    await feishu.drain();
    const replies = fake.messages();
    expect(replies).toHaveLength(1);
    const root = String(replies[0]!.answer?.data?.message_id);
    const reply = messageEvent({
      tenant,
      text: '客户确认预算',
      rootId: root,
      messageId: 'om_reply_r',
      eventId: 'evt_redeliver_reply',
    });
    await repeat(125, 25, () => postToBot(`${feishu.url}/feishu/events`, reply));
    await feishu.drain();
    const deals = await feishuDeals(tenant);
    expect(deals).toHaveLength(1);
    const notes = await h.core.deps.store.listNotes(`feishu:${tenant}`, deals[0]!.id, 10);
    expect(notes.map((x) => x.text)).toEqual(['客户确认预算']);
    expect(fake.messages()).toHaveLength(1);
  });
});
