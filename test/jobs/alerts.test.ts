/** Stall alerts through the use cases with a controllable clock (no Agenda): what the team sees. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { jobsModels } from '../../src/store/jobs-models.js';
import { resolveAlerts, scanWorkspace } from '../../src/usecases/alerts.js';
import { postDigest } from '../../src/usecases/digest.js';
import {
  advanceDeal,
  createDeal,
  noteFromThreadReply,
  snoozeDeal,
  winDeal,
} from '../../src/usecases/deals.js';
import { updateSettings } from '../../src/usecases/settings.js';
import { clockAt, DAY, linesOf, RecordingNotifier, team, testCore, type Team } from './helpers.js';

const clock = clockAt('2026-03-11T10:00:00Z'); // a Wednesday
let core: Core;
const notifier = new RecordingNotifier();

beforeAll(async () => {
  core = await testCore('alerts', clock);
  core.notifiers.register('slack', notifier);
  core.deps.bus.subscribe((e) => resolveAlerts(core, e).then(() => undefined));
});
afterAll(async () => {
  await core.conn.dropDatabase();
  await core.stop();
});

let ws = 0;
let t: Team;
beforeEach(async () => {
  clock.now = new Date('2026-03-11T10:00:00Z');
  ws += 1;
  t = await team(core, `T-${ws}`);
  notifier.clear();
});

async function newDeal(owner: string, name: string, amount: string, extra: { due?: string } = {}) {
  const ctx = await t.as(owner);
  const r = await createDeal(ctx, {
    name,
    amount,
    company: `${name} Inc`,
    ...(extra.due ? { nextStep: { text: 'Send pricing', due: extra.due } } : {}),
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value.deal;
}
const scan = async () => scanWorkspace(core, await t.workspace());

describe('stall alerts', () => {
  it('alerts once per episode in the alert channel: owner mentioned, days vs threshold, amount, overdue next step, buttons', async () => {
    const deal = await newDeal('U-ANN', 'Acme rollout', '50k', { due: '+2d' });
    clock.advance(6 * DAY);
    expect((await scan()).alerted).toBe(0); // lead allows 7 days
    clock.advance(2 * DAY);
    expect(await scan()).toMatchObject({ stalled: 1, alerted: 1 });
    const [alert] = notifier.posts();
    expect(alert!.to).toEqual({ channel: 'C-ALERTS' });
    expect(alert!.message.summary).toBe('Stalled: D-1 Acme rollout, 8 d in Lead (limit 7 d)');
    expect(linesOf(alert!.message)).toEqual([
      'Stalled deal: D-1 Acme rollout',
      '@U-ANN, this deal has been in Lead for 8 d, longer than the 7 d the stage allows. Move it forward, set a next step or snooze it.',
      'Owner: @U-ANN',
      'Stage: Lead',
      'Time in stage: 8 d of 7 d',
      'Amount: $50,000',
      'Next step: Send pricing OVERDUE since Mar 13, 2026',
      `[Advance|advance:${deal.id}] [Next step|next_step:${deal.id}] [Snooze 1 day|snooze_1d:${deal.id}] [Snooze 3 days|snooze_3d:${deal.id}] [Snooze 1 week|snooze_1w:${deal.id}] [Mark lost|lost:${deal.id}] [Note|note:${deal.id}]`,
      'Replies in this thread are saved as notes on the deal.',
    ]);
    clock.advance(DAY);
    expect((await scan()).alerted).toBe(0);
    expect(notifier.posts()).toHaveLength(1);

    // The alert is the deal's discussion thread: a reply becomes a note.
    const ctx = await t.as('U-BOB');
    const r = await noteFromThreadReply(ctx, {
      channel: 'C-ALERTS',
      rootId: alert!.ref!.id,
      messageId: '171.1',
      text: 'I know their CFO, will call',
    });
    expect(r.ok && r.value?.note).toMatchObject({
      dealId: deal.id,
      text: 'I know their CFO, will call',
      authorId: 'U-BOB',
    });
  });

  it('writes alerts in the workspace language (zh-CN)', async () => {
    await updateSettings(t.admin, { locale: 'zh-CN' });
    await newDeal('U-ANN', '华为项目', '5万');
    clock.advance(8 * DAY);
    await scan();
    const lines = linesOf(notifier.posts()[0]!.message);
    expect(lines[0]).toBe('停滞商机：D-1 华为项目');
    expect(lines[1]).toBe(
      '@U-ANN，该商机已在潜在客户阶段停留 8 天，超过该阶段允许的 7 天。请推进、设置下一步或暂缓提醒。',
    );
    expect(lines.at(-2)).toContain('[暂缓 1 周|snooze_1w:');
  });

  it('skips snoozed deals until the snooze ends, then alerts again as a new episode', async () => {
    const deal = await newDeal('U-ANN', 'Globex', '20k');
    clock.advance(8 * DAY);
    await scan();
    const ann = await t.as('U-ANN');
    expect((await snoozeDeal(ann, deal.code, '3d')).ok).toBe(true);
    // Snoozing resolves the alert: a reply in its thread and the alert updated.
    expect(linesOf(notifier.replies()[0]!.message)).toEqual(['Snoozed until Mar 22, 2026 by @U-ANN.']);
    expect(notifier.updates()[0]!.message.summary).toBe('Snoozed: D-1 Globex until Mar 22, 2026');
    clock.advance(2 * DAY);
    expect(await scan()).toMatchObject({ stalled: 0, alerted: 0 });
    clock.advance(2 * DAY);
    expect(await scan()).toMatchObject({ stalled: 1, alerted: 1 });
    expect(notifier.posts()).toHaveLength(2);
  });

  it('escalates to the managers in the alert thread past 2× the threshold, once', async () => {
    await newDeal('U-ANN', 'Initech', '30k');
    clock.advance(8 * DAY);
    await scan();
    const root = notifier.posts()[0]!.ref!;
    clock.advance(5 * DAY); // 13 days: below 14
    expect((await scan()).escalated).toBe(0);
    clock.advance(2 * DAY); // 15 days
    expect((await scan()).escalated).toBe(1);
    const [reply] = notifier.replies();
    expect(reply!.to).toEqual(root);
    expect(linesOf(reply!.message)).toEqual([
      '@U-ADMIN, @U-MGR: D-1 has now been in Lead for 15 d, past the escalation limit of 14 d. Can you help unblock it?',
    ]);
    clock.advance(DAY);
    expect((await scan()).escalated).toBe(0);
  });

  it('resolution: advancing replies in the thread and updates the alert ("Moved to … by @x"); winning too', async () => {
    const a = await newDeal('U-ANN', 'Umbrella', '10k');
    const b = await newDeal('U-BOB', 'Hooli', '90k');
    clock.advance(8 * DAY);
    await scan();
    const [alertB, alertA] = notifier.posts(); // highest value first
    const ann = await t.as('U-ANN');
    const moved = await advanceDeal(ann, a.code, { nextStep: { text: 'Qualify budget', due: '+3d' } });
    expect(moved.ok).toBe(true);
    const replyA = notifier.replies().find((r) => (r.to as { id: string }).id === alertA!.ref!.id)!;
    expect(linesOf(replyA.message)).toEqual(['Moved to Qualification by @U-ANN.']);
    const updateA = notifier.updates().find((u) => (u.to as { id: string }).id === alertA!.ref!.id)!;
    expect(linesOf(updateA.message).slice(0, 2)).toEqual([
      'Resolved: D-1 Umbrella moved to Qualification',
      'Moved to Qualification by @U-ANN.',
    ]);
    expect(linesOf(updateA.message).join('\n')).not.toContain('[Advance');
    const bob = await t.as('U-BOB');
    expect((await winDeal(bob, b.code)).ok).toBe(true);
    const replyB = notifier.replies().find((r) => (r.to as { id: string }).id === alertB!.ref!.id)!;
    expect(linesOf(replyB.message)).toEqual(['Won by @U-BOB. Congratulations!']);
    // Resolved alerts are not resolved twice.
    expect(notifier.replies()).toHaveLength(2);
  });

  it('caps alerts per channel per scan, highest value first, the rest in one summary', async () => {
    await updateSettings(t.admin, { alertCap: 2 });
    for (const [name, amount] of [
      ['A', '1k'],
      ['B', '9k'],
      ['C', '5k'],
      ['D', '7k'],
      ['E', '3k'],
    ] as const)
      await newDeal('U-ANN', name, amount);
    clock.advance(8 * DAY);
    expect(await scan()).toMatchObject({ stalled: 5, alerted: 2, summarised: 3 });
    const posts = notifier.posts();
    expect(posts.map((p) => p.message.summary)).toEqual([
      'Stalled: D-2 B, 8 d in Lead (limit 7 d)',
      'Stalled: D-4 D, 8 d in Lead (limit 7 d)',
      '3 more stalled deals',
    ]);
    expect(linesOf(posts[2]!.message)).toEqual([
      '3 more stalled deals',
      'Only the 2 most valuable stalled deals got their own alert this time. Also stalled:',
      '• D-3 C: 8 d in Lead, $5,000',
      '• D-5 E: 8 d in Lead, $3,000',
      '• D-1 A: 8 d in Lead, $1,000',
    ]);
    clock.advance(DAY);
    expect(await scan()).toMatchObject({ alerted: 0, summarised: 0 });
  });

  it('DMs the owner in dm mode', async () => {
    await updateSettings(t.admin, { alertMode: 'dm' });
    await newDeal('U-BOB', 'Soylent', '4k');
    clock.advance(8 * DAY);
    await scan();
    expect(notifier.posts().map((p) => p.to)).toEqual([{ user: 'U-BOB' }]);
  });

  it('waits through quiet hours and weekends in the workspace time zone', async () => {
    await updateSettings(t.admin, {
      timezone: 'Asia/Shanghai',
      quietHours: { start: '20:00', end: '08:00', weekends: true },
    });
    await newDeal('U-ANN', 'Vandelay', '8k');
    clock.now = new Date('2026-03-20T13:30:00Z'); // Friday 21:30 in Shanghai
    expect(await scan()).toMatchObject({ quiet: true, alerted: 0 });
    clock.now = new Date('2026-03-21T03:00:00Z'); // Saturday 11:00
    expect(await scan()).toMatchObject({ quiet: true, alerted: 0 });
    clock.now = new Date('2026-03-23T00:30:00Z'); // Monday 08:30
    expect(await scan()).toMatchObject({ quiet: false, alerted: 1 });
  });

  it('a failed post does not fail the batch and is retried by the next scan', async () => {
    await newDeal('U-ANN', 'First', '2k');
    await newDeal('U-ANN', 'Second', '1k');
    clock.advance(8 * DAY);
    notifier.failNext = 1;
    expect(await scan()).toMatchObject({ alerted: 1, failed: 1 });
    expect(notifier.posts().map((p) => p.message.summary)).toEqual([
      'Stalled: D-2 Second, 8 d in Lead (limit 7 d)',
    ]);
    expect(await scan()).toMatchObject({ alerted: 1, failed: 0 });
    expect(notifier.posts()).toHaveLength(2);
  });

  it('uses the same number of database round trips for 3 and for 30 stalled deals', async () => {
    await updateSettings(t.admin, { alertCap: 2 });
    const roundTrips = async (count: number) => {
      for (let i = 0; i < count; i += 1) await newDeal('U-ANN', `Deal ${i}`, `${i + 1}k`);
      clock.advance(8 * DAY);
      let ops = 0;
      core.conn.set('debug', () => {
        ops += 1;
      });
      await scan();
      core.conn.set('debug', false);
      return ops;
    };
    const few = await roundTrips(3);
    t = await team(core, `T-${ws}-big`, { alertCap: 2 });
    clock.now = new Date('2026-03-11T10:00:00Z');
    const many = await roundTrips(30);
    expect(few).toBeGreaterThanOrEqual(5); // deals find + count, alerts find, claims insert, refs bulkWrite, thread links
    expect(many).toBe(few);
    expect(await jobsModels(core.conn).Alert.countDocuments({ workspaceId: (await t.workspace()).id })).toBe(
      30,
    );
  });
});

describe('review digest', () => {
  it('links each top stalled deal to its alert thread where the platform has message links', async () => {
    const linking = Object.assign(new RecordingNotifier('l'), {
      permalink: async (_ws: unknown, ref: { channel: string; id: string }) =>
        `https://chat.example/${ref.channel}/${ref.id}`,
    });
    core.notifiers.register('slack', linking);
    try {
      await newDeal('U-ANN', 'Linked', '30k');
      clock.advance(8 * DAY);
      await scan();
      const alert = linking.posts()[0]!;
      const r = await postDigest(core, await t.workspace(), { onDemand: true });
      expect(r.posted).toBe(true);
      const digest = linking.posts().find((p) => p.message.summary.startsWith('Pipeline review'))!;
      const segments = digest.message.blocks.flatMap((b) => (b.type === 'list' ? b.items.flat() : []));
      expect(segments).toContainEqual({
        link: `https://chat.example/C-ALERTS/${alert.ref!.id}`,
        text: 'D-1',
      });
    } finally {
      core.notifiers.register('slack', notifier);
    }
  });
});
