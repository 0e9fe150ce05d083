/**
 * Reliability through the real Slack receiver (signed HTTP requests to Bolt's
 * HTTPReceiver, fake Slack API): two users advancing the same deal at once from
 * the advance modal, other workspaces' deal codes, a rep's limits, and a subset
 * of the bad-input corpus through slash commands and modal submissions.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Deal } from '../../src/domain/types.js';
import { enterWorkspace } from '../../src/usecases/context.js';
import { dealHistory } from '../../src/usecases/deals.js';
import { setMemberRole } from '../../src/usecases/settings.js';
import { input, type Json, type SignedResponse } from '../adapters/slack/fake-slack.js';
import { startHarness, visibleText, type Harness } from '../adapters/slack/harness.js';

let h: Harness;
const WS = 'slack:T1';
const admin = { user: 'UADMIN' };
const rep = { user: 'UREP1' };
const rep2 = { user: 'UREP2' };
const zh = { user: 'UZH' };
const outsider = { user: 'UOUT', team: 'T9' };

beforeAll(async () => {
  h = await startHarness({ db: 'rel_slack' });
  h.fake.users.set('UADMIN', { id: 'UADMIN', name: 'Ada' });
  h.fake.users.set('UREP1', { id: 'UREP1', name: 'Rui' });
  h.fake.users.set('UREP2', { id: 'UREP2', name: 'Ren' });
  h.fake.users.set('UZH', { id: 'UZH', name: '王伟', locale: 'zh-CN' });
  h.fake.users.set('UOUT', { id: 'UOUT', name: 'Oscar' });
  // The first member of a workspace is its admin; the others join as reps.
  for (const who of [admin, rep, rep2, zh, outsider]) {
    const n = h.fake.responses.length + 1;
    await h.sim.command('/deal', 'help', who);
    await h.fake.nextResponse(n);
  }
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => h.fake.reset());

const allDeals = async (ws = WS): Promise<Deal[]> =>
  (await h.core.deps.store.listDeals(ws, {}, { limit: 1000 })).deals;
const dealByName = async (name: string) => (await allDeals()).find((d) => d.name === name)!;

async function newDeal(text: string, who = rep): Promise<Deal> {
  const n = h.fake.callsTo('chat.postMessage').length + 1;
  await h.sim.command('/deal', `new ${text}`, who);
  await h.fake.nextCall('chat.postMessage', n);
  return (await allDeals()).sort((a, b) => b.number - a.number)[0]!;
}

/** Sends a command and returns what the user sees in the ephemeral answer. */
async function answer(
  text: string,
  who: { user: string; team?: string },
  command = '/deal',
): Promise<string> {
  const n = h.fake.responses.length + 1;
  const res = await h.sim.command(command, text, who);
  expect(res.status).toBe(200);
  const r = await h.fake.nextResponse(n);
  expect(r.body.response_type).toBe('ephemeral');
  return visibleText(r.body);
}

async function openModal(send: () => Promise<unknown>): Promise<Json> {
  const n = h.fake.callsTo('views.open').length + 1;
  await send();
  return (await h.fake.nextCall('views.open', n)).args.view as Json;
}

/** Everything the user saw after a modal submission: inline errors, or an ephemeral message. */
async function afterSubmit(res: SignedResponse): Promise<string> {
  if (res.text) return JSON.stringify(res.json());
  await h.fake.waitFor(
    () => h.fake.responses.length + h.fake.callsTo('chat.postEphemeral').length > 0,
    'an answer to the submission',
  );
  return [...h.fake.responses.map((r) => r.body), ...h.fake.callsTo('chat.postEphemeral').map((c) => c.args)]
    .map((b) => visibleText(b))
    .join('\n');
}

describe('two users advance the same deal at once (advance modal, view_submission)', () => {
  it('one wins and is confirmed, the other is told it changed; the stage log has exactly one change', async () => {
    const deal = await newDeal('Race deal 40k Race Corp', rep);
    const viewA = await openModal(() => h.sim.command('/deal', `advance ${deal.code}`, rep));
    const viewB = await openModal(() => h.sim.command('/deal', `advance ${deal.code}`, admin));
    h.fake.reset();
    const [a, b] = await Promise.all([
      h.sim.viewSubmission(rep, viewA, {
        stage: input.select('qualification'),
        company: input.text('Race Corp'),
        'nextStep.text': input.text('Call the CFO'),
        'nextStep.due': input.date(null),
      }),
      h.sim.viewSubmission(admin, viewB, {
        stage: input.select('qualification'),
        company: input.text('Race Corp'),
        'nextStep.text': input.text('Send the questionnaire'),
        'nextStep.due': input.date(null),
      }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    // Exactly one confirmation is posted in the channel.
    await h.fake.waitFor(() => h.fake.callsTo('chat.postMessage').length >= 1, 'the winner’s confirmation');
    const texts = [a.text ? JSON.stringify(a.json()) : '', b.text ? JSON.stringify(b.json()) : ''];
    const loserSaw = await afterSubmit(a.text ? a : b.text ? b : a);
    const seen = texts.join('\n') + '\n' + loserSaw;
    expect(seen).toContain(`${deal.code} was changed by someone else a moment ago. Nothing was saved`);
    // A later command proves both submissions were fully handled before counting.
    await answer('help', rep);
    const posts = h.fake.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(visibleText(posts[0]!.args)).toMatch(/moved/);

    const stored = await dealByName('Race deal');
    expect(stored.stage).toBe('qualification');
    expect(stored.version).toBe(deal.version + 1);
    const ctx = await enterWorkspace(h.core.deps, {
      platform: 'slack',
      externalWorkspaceId: 'T1',
      userId: 'UADMIN',
    });
    const history = await dealHistory(ctx, deal.code);
    expect(history.ok).toBe(true);
    if (!history.ok) return;
    const changes = history.value.changes.filter((c) => c.from !== null);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ from: 'lead', to: stored.stage });
    // The winner's next step is the one stored, and the confirmation shows it.
    const winnerStep = stored.nextStep?.text;
    expect(['Call the CFO', 'Send the questionnaire']).toContain(winnerStep);
    expect(visibleText(posts[0]!.args)).toContain(winnerStep);
  });
});

describe('another workspace’s deal codes through Slack', () => {
  it('are never readable: show, list, history and search answer as if the deal did not exist', async () => {
    const deal = await newDeal('Tenant secret 77k Secret Co', rep);
    for (const text of [`show ${deal.code}`, `history ${deal.code}`, 'list all', 'list Secret']) {
      const seen = await answer(text, outsider);
      expect(seen, text).not.toContain('Tenant secret');
      expect(seen, text).not.toContain('Secret Co');
    }
    expect(await answer(`show ${deal.code}`, outsider)).toContain(
      `${deal.code} was not found in this workspace`,
    );
  });

  it('are never changeable: commands, card buttons and forged modal state leave the deal untouched', async () => {
    const deal = await newDeal('Tenant locked 12k Locked Co', rep);
    h.fake.reset();
    for (const text of [
      `advance ${deal.code} qualification`,
      `won ${deal.code}`,
      `lost ${deal.code} price`,
      `note ${deal.code} hijacked`,
      `next ${deal.code} Call them tomorrow`,
      `assign ${deal.code} <@UOUT>`,
      `snooze ${deal.code} 3d`,
      `edit ${deal.code} amount 1`,
    ])
      expect(await answer(text, outsider), text).not.toContain('Tenant locked');
    // A card button carrying the deal's internal id, pressed from the other workspace.
    for (const action of ['dp:snooze_3d', 'dp:advance', 'dp:won'])
      await h.sim.blockAction(outsider, { action_id: action, value: deal.id });
    // A modal submission whose state points at the deal (as if copied from T1's modal).
    const view = await openModal(() => h.sim.command('/deal', `advance ${deal.code}`, rep));
    h.fake.reset();
    const forged = await h.sim.viewSubmission(outsider, view, {
      stage: input.select('qualification'),
      company: input.text('Locked Co'),
      'nextStep.text': input.text('Take over'),
      'nextStep.due': input.date(null),
    });
    expect(forged.status).toBe(200);
    await answer('help', outsider);
    const after = await dealByName('Tenant locked');
    expect(after).toMatchObject({
      stage: 'lead',
      status: 'open',
      ownerId: 'UREP1',
      amount: deal.amount,
      version: deal.version,
      snoozedUntil: null,
    });
    const notes = await h.core.deps.store.models.Note.countDocuments({ dealId: deal.id });
    expect(notes).toBe(0);
    // Nothing about the deal was posted anywhere.
    for (const c of h.fake.callsTo('chat.postMessage'))
      expect(visibleText(c.args)).not.toContain('Tenant locked');
    for (const r of h.fake.responses) expect(visibleText(r.body)).not.toContain('Tenant locked');
  });
});

describe('a rep’s limits through Slack', () => {
  it('cannot open or save the settings, and cannot change another rep’s deal', async () => {
    const seen = await answer('settings', rep2, '/pipeline');
    expect(seen).toMatch(/Only (admins|managers)/);
    expect(h.fake.callsTo('views.open')).toHaveLength(0);
    const before = (await h.core.deps.store.getWorkspace(WS))!.settings;

    const deal = await newDeal('Owned by rep one 9k Owner Co', rep);
    for (const text of [`won ${deal.code}`, `lost ${deal.code} price`, `assign ${deal.code} <@UREP2>`])
      expect(await answer(text, rep2), text).toContain('Only the deal’s owner or a manager');
    // The edit modal of another rep's deal: refused, or (if it opens) its submission changes nothing.
    const n = h.fake.responses.length + 1;
    const opened = h.fake.callsTo('views.open').length + 1;
    await h.sim.command('/deal', `edit ${deal.code}`, rep2);
    await h.fake.waitFor(
      () => h.fake.responses.length >= n || h.fake.callsTo('views.open').length >= opened,
      'edit answer',
    );
    if (h.fake.responses.length >= n)
      expect(visibleText(h.fake.responses[n - 1]!.body)).toContain('Only the deal’s owner or a manager');
    else {
      const edit = h.fake.callsTo('views.open')[opened - 1]!.args.view as Json;
      const r = await h.sim.viewSubmission(rep2, edit, { amount: input.text('1') });
      expect(await afterSubmit(r)).toContain('Only the deal’s owner or a manager');
    }
    // The settings modal as an admin sees it, submitted by the rep.
    const settingsView = await openModal(() => h.sim.command('/pipeline', 'settings', admin));
    const res = await h.sim.viewSubmission(rep2, settingsView, {});
    expect(res.status).toBe(200);
    await answer('help', rep2);
    expect((await h.core.deps.store.getWorkspace(WS))!.settings).toEqual(before);
    expect(await dealByName('Owned by rep one')).toMatchObject({
      status: 'open',
      ownerId: 'UREP1',
      amount: deal.amount,
    });
  });
});

// ── bad input (a subset of test/reliability/bad-input.test.ts) ───────────────
const BAD_AMOUNTS = [
  'abc',
  'lots',
  '-500',
  '1e309',
  '99999999999999',
  '5万万',
  '1.2.3',
  '{"$ne": null}',
  'NaN',
  '50%',
];
const BAD_DATES = [
  'someday',
  '2026-02-30',
  '2026-13-01',
  '1999-01-01',
  '{"$gt": ""}',
  '32号',
  '周八',
  '9999-99-99',
];
const BAD_CODES = ['D-0', 'D-abc', 'D-99999999999', '{"$ne": null}', '<@U1>', '🙂'];
const BAD_STAGES = ['nowhere', '{"$in": []}', 'stage<script>', '方案报价签约'];
const BAD_DURATIONS = ['forever', '0d', '{"$gt": 0}', '100000d'];

describe('bad input through the Slack receiver', () => {
  let target: Deal;
  beforeAll(async () => {
    target = await newDeal('Bad input target 10k Target Co', admin);
    // The zh-CN user is a manager, so the due-date errors are about the date, not permissions.
    const ctx = await enterWorkspace(h.core.deps, {
      platform: 'slack',
      externalWorkspaceId: 'T1',
      userId: 'UADMIN',
    });
    expect((await setMemberRole(ctx, 'UZH', 'manager')).ok).toBe(true);
  });
  const count = async () => (await allDeals()).length;

  it('has at least 30 cases', () => {
    expect(
      BAD_AMOUNTS.length + BAD_DATES.length + BAD_CODES.length + BAD_STAGES.length + BAD_DURATIONS.length,
    ).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD_AMOUNTS.map((a, i) => [a, i % 2 === 0 ? 'en' : 'zh-CN'] as const))(
    'new-deal modal, amount %j (%s): inline error on the amount, nothing stored',
    async (amount, locale) => {
      const who = locale === 'en' ? admin : zh;
      const view = await openModal(() => h.sim.command('/deal', locale === 'en' ? 'new' : '新建', who));
      const before = await count();
      const res = await h.sim.viewSubmission(who, view, {
        name: input.text('Bad amount'),
        amount: input.text(amount),
        stage: input.select('lead'),
        owner: input.user(who.user),
      });
      const body = res.json();
      expect(body.response_action).toBe('errors');
      expect(String((body.errors as Json).amount)).toMatch(locale === 'en' ? /^Amount/ : /^金额/);
      expect(await count()).toBe(before);
      expect(h.fake.callsTo('chat.postMessage')).toHaveLength(0);
    },
  );

  it.each(BAD_DATES.map((d, i) => [d, i % 2 === 0 ? 'en' : 'zh-CN'] as const))(
    'next-step modal, due %j (%s): inline error on the due date, the next step unchanged',
    async (due, locale) => {
      const who = locale === 'en' ? admin : zh;
      const view = await openModal(() => h.sim.command('/deal', `next ${target.code}`, who));
      const res = await h.sim.viewSubmission(who, view, {
        'nextStep.text': input.text('Call'),
        // Slack's datepicker only sends dates; a text field (console, Feishu) can send anything.
        'nextStep.due': input.text(due),
      });
      const body = res.json();
      expect(body.response_action).toBe('errors');
      expect(String((body.errors as Json)['nextStep.due'])).toMatch(
        locale === 'en' ? /^Due date/ : /^截止日期/,
      );
      expect((await dealByName('Bad input target')).nextStep).toEqual(target.nextStep);
    },
  );

  it.each(BAD_CODES)('/deal show %j: a clear message, never another deal', async (bad) => {
    const seen = await answer(`show ${bad}`, admin);
    expect(seen).toMatch(
      /is not a deal code|was not found in this workspace|Deal code is required|DealPulse commands/,
    );
    expect(seen).not.toContain('Target Co');
  });

  it.each(BAD_STAGES)(
    '/deal advance to %j (zh-CN): names the stages that exist, nothing moves',
    async (stage) => {
      const seen = await answer(`推进 ${target.code} "${stage}"`, zh);
      expect(seen).toMatch(/没有名为“.*”的阶段|匹配到多个阶段/);
      expect(seen).toContain('潜在客户');
      expect((await dealByName('Bad input target')).stage).toBe('lead');
    },
  );

  it.each(BAD_DURATIONS)('/deal snooze %j: refused with what is accepted', async (d) => {
    const seen = await answer(`snooze ${target.code} "${d}"`, admin);
    expect(seen).toMatch(/^Duration/);
    expect((await dealByName('Bad input target')).snoozedUntil).toBeNull();
  });
});
