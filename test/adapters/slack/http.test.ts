/** HTTP mode through Bolt's real receiver: signatures, url_verification, retries and the basic command flow. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendSigned, sign } from './fake-slack.js';
import { limitProblems, SECRET, startHarness, visibleText, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ db: 'slack_http' });
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => h.fake.reset());

const rep = { user: 'UREP1' };

describe('Slack HTTP receiver', () => {
  it('answers a signed url_verification challenge', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'abc123', type: 'url_verification' });
    const res = await sendSigned(h.baseUrl, SECRET, body, 'application/json');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ challenge: 'abc123' });
  });

  it('rejects a bad signature with 401 and does nothing', async () => {
    const body = new URLSearchParams({
      command: '/deal',
      text: 'new Acme 50k',
      user_id: 'UREP1',
      team_id: 'T1',
    }).toString();
    const res = await sendSigned(h.baseUrl, SECRET, body, 'application/x-www-form-urlencoded', {
      signature: 'v0=deadbeef',
    });
    expect(res.status).toBe(401);
    expect(h.fake.calls.filter((c) => c.method !== 'auth.test')).toEqual([]);
  });

  it('rejects a request signed with another secret', async () => {
    const res = await sendSigned(
      h.baseUrl,
      'other-secret',
      JSON.stringify({ type: 'url_verification', challenge: 'x' }),
      'application/json',
    );
    expect(res.status).toBe(401);
  });

  it('rejects a stale timestamp (replay) with 401 even when correctly signed', async () => {
    const ts = Math.floor(Date.now() / 1000) - 6 * 60;
    const body = JSON.stringify({ type: 'url_verification', challenge: 'old' });
    const res = await sendSigned(h.baseUrl, SECRET, body, 'application/json', {
      ts,
      signature: sign(SECRET, ts, body),
    });
    expect(res.status).toBe(401);
  });

  it('answers 404 on other paths', async () => {
    const res = await sendSigned(h.baseUrl, SECRET, '{}', 'application/json', { path: '/nope' });
    expect(res.status).toBe(404);
  });

  it('acks /deal help at once and sends localized usage through response_url', async () => {
    const res = await h.sim.command('/deal', 'help', rep);
    expect(res.status).toBe(200);
    const reply = await h.fake.nextResponse();
    expect(reply.body.response_type).toBe('ephemeral');
    expect(visibleText(reply.body)).toContain('/deal new');
    expect(limitProblems(h.fake)).toEqual([]);
  });

  it('creates a deal from inline details, posts the confirmation in the channel with an Edit button', async () => {
    await h.sim.command('/deal', 'new Acme renewal 50k', rep);
    const post = await h.fake.nextCall('chat.postMessage');
    expect(post.args.channel).toBe('C1');
    expect(post.token).toBe('xoxb-test');
    const text = visibleText(post.args);
    expect(text).toContain('Acme renewal');
    const buttons = (post.args.blocks as { type: string; elements?: { action_id: string }[] }[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements!.map((e) => e.action_id));
    expect(buttons).toContain('dp:edit');
    expect(limitProblems(h.fake)).toEqual([]);
  });
});
