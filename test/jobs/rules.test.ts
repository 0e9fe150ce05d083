/** Rules of every trigger and action through the use cases, with a controllable clock and a local webhook receiver. */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { presetRules, type Rule } from '../../src/domain/settings.js';
import { jobsModels } from '../../src/store/jobs-models.js';
import { advanceDeal, createDeal, loseDeal, winDeal } from '../../src/usecases/deals.js';
import type { DomainEvent } from '../../src/usecases/events.js';
import {
  deliverWebhook,
  fireRulesForEvent,
  remindDueTasks,
  scanRules,
  type JobsPort,
} from '../../src/usecases/rules.js';
import { updateSettings } from '../../src/usecases/settings.js';
import { clockAt, DAY, linesOf, RecordingNotifier, team, testCore, type Team } from './helpers.js';

const clock = clockAt('2026-03-11T10:00:00Z');
let core: Core;
const notifier = new RecordingNotifier();
const enqueued: string[] = [];
const port: JobsPort = { enqueueWebhook: async (id) => void enqueued.push(id) };

// A local webhook receiver: answers with the queued statuses (then 200) and records requests.
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
const statuses: number[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  core = await testCore('rules', clock);
  core.notifiers.register('slack', notifier);
  core.deps.bus.subscribe((e: DomainEvent) => fireRulesForEvent(core, port, e).then(() => undefined));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  server.close();
  await core.conn.dropDatabase();
  await core.stop();
});

let t: Team;
let n = 0;
beforeEach(async () => {
  clock.now = new Date('2026-03-11T10:00:00Z');
  n += 1;
  t = await team(core, `R-${n}`);
  notifier.clear();
  enqueued.length = 0;
  received.length = 0;
});

const withRules = async (rules: Rule[]) => {
  const r = await updateSettings(t.admin, { rules });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
};
const rule = (id: string, p: Partial<Rule>): Rule => ({
  id,
  name: id,
  enabled: true,
  trigger: { type: 'won' },
  conditions: {},
  action: { type: 'notify', target: 'owner', template: '{deal} matched, {owner}' },
  ...p,
});
async function newDeal(
  owner: string,
  name: string,
  amount: string,
  p: { stage?: string; due?: string } = {},
) {
  const r = await createDeal(await t.as(owner), {
    name,
    amount,
    company: `${name} Inc`,
    closeDate: '2026-12-31',
    ...(p.stage ? { stage: p.stage } : {}),
    ...(p.due ? { nextStep: { text: 'Call the CFO', due: p.due } } : {}),
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value.deal;
}
const scan = async () => scanRules(core, port, await t.workspace());

describe('rule triggers and conditions', () => {
  it('preset "Proposal longer than 5 days → notify the manager" DMs the managers once per stay', async () => {
    await withRules([presetRules()[0]!]);
    await newDeal('U-ANN', 'Acme', '50k', { stage: 'proposal' });
    clock.advance(5 * DAY - 60_000);
    expect((await scan()).fired).toBe(0);
    clock.advance(2 * DAY);
    expect((await scan()).fired).toBe(1);
    expect(notifier.posts().map((p) => p.to)).toEqual([{ user: 'U-ADMIN' }, { user: 'U-MGR' }]);
    expect(linesOf(notifier.posts()[0]!.message)).toEqual([
      'Rule: Proposal > 5 days → notify the manager',
      'D-1 Acme has been in Proposal/Quote for 6 days. @U-ANN owns it: time for a manager to step in?',
    ]);
    clock.advance(DAY);
    expect((await scan()).fired).toBe(0);
  });

  it("moved to a stage → a channel message with the manager's template; conditions filter by amount, owner, source", async () => {
    await withRules([
      rule('big-to-negotiation', {
        trigger: { type: 'moved_to', stage: 'negotiation' },
        conditions: { minAmount: 40_000, ownerId: 'U-ANN' },
        action: {
          type: 'notify',
          target: 'channel',
          channel: 'C-WINS',
          template: '{deal} ({amount}) reached {stage}, go {owner}!',
        },
      }),
    ]);
    const big = await newDeal('U-ANN', 'Big', '50k', { stage: 'proposal' });
    const small = await newDeal('U-ANN', 'Small', '5k', { stage: 'proposal' });
    const ann = await t.as('U-ANN');
    for (const d of [big, small])
      expect((await advanceDeal(ann, d.code, { nextStep: { text: 'Send contract', due: '+2d' } })).ok).toBe(
        true,
      );
    expect(notifier.posts().map((p) => [p.to, linesOf(p.message)[1]])).toEqual([
      [{ channel: 'C-WINS' }, 'D-1 Big ($50,000) reached Negotiation, go @U-ANN!'],
    ]);
  });

  it('won → preset kickoff task for the owner, reminded by DM when due (outside quiet hours), once', async () => {
    await withRules([presetRules()[1]!]);
    const d = await newDeal('U-BOB', 'Initech', '30k', { stage: 'negotiation' });
    expect((await winDeal(await t.as('U-BOB'), d.code)).ok).toBe(true);
    const notes = await core.deps.store.listNotes((await t.workspace()).id, d.id);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      text: 'Kickoff: introduce the delivery team to the customer of D-1 Initech',
      origin: 'rule',
      assigneeId: 'U-BOB',
      dueAt: new Date('2026-03-13T00:00:00Z'),
    });
    expect(await remindDueTasks(core, await t.workspace())).toBe(0);
    clock.now = new Date('2026-03-13T09:00:00Z');
    expect(await remindDueTasks(core, await t.workspace())).toBe(1);
    expect(notifier.posts().map((p) => [p.to, linesOf(p.message)[0]])).toEqual([
      [
        { user: 'U-BOB' },
        '@U-BOB, a task on D-1 Initech is due (Mar 13, 2026): Kickoff: introduce the delivery team to the customer of D-1 Initech',
      ],
    ]);
    expect(await remindDueTasks(core, await t.workspace())).toBe(0);
  });

  it('lost → notify the owner; source condition', async () => {
    await withRules([
      rule('lost-referral', { trigger: { type: 'lost' }, conditions: { source: 'referral' } }),
    ]);
    const ann = await t.as('U-ANN');
    const r = await createDeal(ann, { name: 'Ref', company: 'Ref Inc', source: 'referral' });
    const o = await createDeal(ann, { name: 'Cold', company: 'Cold Inc', source: 'outbound' });
    if (!r.ok || !o.ok) throw new Error('deal');
    await loseDeal(ann, r.value.deal.code, { reason: 'price' });
    await loseDeal(ann, o.value.deal.code, { reason: 'price' });
    expect(notifier.posts().map((p) => [p.to, linesOf(p.message)[1]])).toEqual([
      [{ user: 'U-ANN' }, 'D-1 Ref matched, @U-ANN'],
    ]);
  });

  it('next step overdue → notify the owner, once per due date', async () => {
    await withRules([
      rule('overdue', { trigger: { type: 'next_step_overdue' }, conditions: { stage: 'lead' } }),
    ]);
    await newDeal('U-ANN', 'Late', '1k', { due: '+1d' });
    expect((await scan()).fired).toBe(0);
    clock.advance(2 * DAY);
    expect((await scan()).fired).toBe(1);
    expect((await scan()).fired).toBe(0);
    expect(notifier.posts()).toHaveLength(1);
  });
});

describe('webhook action', () => {
  const secret = 'whsec-test-1234567890';
  const hook = () => rule('hook', { trigger: { type: 'won' }, action: { type: 'webhook', url, secret } });

  it('POSTs JSON signed with HMAC-SHA256 over the body; retries until it succeeds', async () => {
    await withRules([hook()]);
    const d = await newDeal('U-ANN', 'Hooked', '12k', { stage: 'negotiation' });
    await winDeal(await t.as('U-ANN'), d.code);
    expect(enqueued).toHaveLength(1);
    statuses.push(500, 503);
    await expect(deliverWebhook(core, enqueued[0]!, { final: false })).rejects.toThrow(/HTTP 500/);
    await expect(deliverWebhook(core, enqueued[0]!, { final: false })).rejects.toThrow(/HTTP 503/);
    expect(await deliverWebhook(core, enqueued[0]!, { final: false })).toBe('delivered');
    expect(await deliverWebhook(core, enqueued[0]!, { final: false })).toBe('skipped');
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-dealpulse-signature']).toBe(
        `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`,
      );
      expect(r.body).toBe(received[0]!.body);
    }
    expect(JSON.parse(received[0]!.body)).toMatchObject({
      rule: { id: 'hook', trigger: 'won' },
      deal: {
        code: 'D-1',
        name: 'Hooked',
        amount: 12_000,
        currency: 'USD',
        status: 'won',
        stage: 'won',
        ownerId: 'U-ANN',
      },
    });
    const delivery = await jobsModels(core.conn).WebhookDelivery.findOne({ _id: enqueued[0] }).lean();
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
  });

  it('records the last failure on the rule, visible in settings, and never stores the secret in the delivery', async () => {
    await withRules([hook()]);
    const d = await newDeal('U-ANN', 'Broken', '12k', { stage: 'negotiation' });
    await winDeal(await t.as('U-ANN'), d.code);
    statuses.push(500);
    expect(await deliverWebhook(core, enqueued[0]!, { final: true })).toBe('failed');
    const ws = await t.workspace();
    expect(ws.settings.rules[0]!.lastError).toMatchObject({ message: 'HTTP 500' });
    const delivery = await jobsModels(core.conn).WebhookDelivery.findOne({ _id: enqueued[0] }).lean();
    expect(delivery).toMatchObject({ status: 'failed', lastError: 'HTTP 500' });
    expect(JSON.stringify(delivery)).not.toContain(secret);
  });
});
