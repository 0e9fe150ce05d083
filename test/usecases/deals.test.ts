import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import type { DomainError, Result } from '../../src/domain/errors.js';
import {
  addNote,
  advanceDeal,
  assignDeal,
  createDeal,
  editDeal,
  getDeal,
  listDeals,
  loseDeal,
  noteFromThreadReply,
  rememberThread,
  reopenDeal,
  setNextStep,
  snoozeDeal,
  winDeal,
} from '../../src/usecases/deals.js';
import { setMemberRole, updateSettings } from '../../src/usecases/settings.js';
import { as, testCore, type TestClock } from '../helpers/core.js';

let core: Core & { clock: TestClock };

beforeAll(async () => {
  core = await testCore(undefined, 'deals');
  // alice is the first user of workspace T1: she becomes admin. bob and carol are reps.
  await as(core, 'alice');
  await as(core, 'bob');
  await as(core, 'carol');
});
afterAll(() => core.stop());

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}
function error<T>(r: Result<T>): DomainError {
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

const qualified = {
  company: 'Acme Corp',
  bant: { budget: '100k approved', authority: 'CFO Li', need: 'CRM migration', timeline: 'Q1' },
};

describe('creating deals', () => {
  it('numbers deals D-1, D-2 … per workspace and parses amounts', async () => {
    const bob = await as(core, 'bob');
    const a = value(await createDeal(bob, { name: 'Acme renewal', amount: '50k' }));
    const b = value(await createDeal(bob, { name: 'Globex', amount: '5万', currency: 'CNY' }));
    expect(a.deal.code).toMatch(/^D-\d+$/);
    expect(b.deal.number).toBe(a.deal.number + 1);
    expect(a.deal.amount).toBe(50_000);
    expect(a.deal.currency).toBe('USD');
    expect(b.deal).toMatchObject({
      amount: 50_000,
      currency: 'CNY',
      stage: 'lead',
      status: 'open',
      ownerId: 'bob',
    });
    // another workspace starts its own sequence
    const other = await as(core, 'zed', { externalWorkspaceId: 'T2' });
    const z = value(await createDeal(other, { name: 'Other co' }));
    expect(z.deal.code).toBe('D-1');
  });

  it('a repeated request key returns the first deal instead of a duplicate', async () => {
    const bob = await as(core, 'bob');
    const first = value(await createDeal(bob, { name: 'Retry Co', requestKey: 'view-123' }));
    const again = value(await createDeal(bob, { name: 'Retry Co', requestKey: 'view-123' }));
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.deal.id).toBe(first.deal.id);
    const found = value(await listDeals(bob, { kind: 'search', text: 'Retry Co' }));
    expect(found.total).toBe(1);
  });

  it('rejects bad input naming every bad field, and writes nothing', async () => {
    const bob = await as(core, 'bob');
    const before = value(await listDeals(bob, { kind: 'all' })).total;
    const e = error(await createDeal(bob, { name: '', amount: 'lots', closeDate: 'someday' }));
    expect(e.kind).toBe('Invalid');
    if (e.kind !== 'Invalid') return;
    const fields = [e.field, ...(e.more ?? []).map((m) => m.field)];
    expect(fields).toEqual(expect.arrayContaining(['name', 'amount', 'closeDate']));
    expect(value(await listDeals(bob, { kind: 'all' })).total).toBe(before);
  });

  it('stores operator-looking text verbatim and never as a query', async () => {
    const bob = await as(core, 'bob');
    const d = value(await createDeal(bob, { name: '{"$ne": null}', company: '<!channel> <@U123>' }));
    const back = value(await getDeal(bob, d.deal.code));
    expect(back.name).toBe('{"$ne": null}');
    expect(back.company).toBe('<!channel> <@U123>');
    expect(error(await getDeal(bob, '{"$gt": ""}')).kind).toBe('NotFound');
  });
});

describe('advancing deals', () => {
  it('requires a next step on every advance and the target stage’s fields', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Initech' }));
    const noNext = error(await advanceDeal(bob, deal.code, {}));
    expect(noNext).toMatchObject({ kind: 'Invalid', field: 'nextStep', reason: 'next_step_required' });
    // qualification requires a company
    const noCompany = error(await advanceDeal(bob, deal.code, { nextStep: { text: 'Call' } }));
    expect(noCompany).toMatchObject({ kind: 'Invalid', field: 'company', reason: 'required_for_stage' });
    const moved = value(
      await advanceDeal(bob, deal.code, {
        company: 'Initech',
        nextStep: { text: 'Book discovery call', due: 'tomorrow' },
      }),
    );
    expect(moved.deal.stage).toBe('qualification');
    expect(moved.deal.nextStep).toEqual({
      text: 'Book discovery call',
      dueAt: new Date('2026-11-03T00:00:00Z'),
    });
    // skipping is allowed; the target stage's own requirements apply (proposal: amount and close date)
    const skip = error(await advanceDeal(bob, deal.code, { stage: 'proposal', nextStep: { text: 'x' } }));
    expect(skip).toMatchObject({ kind: 'Invalid', field: 'amount', reason: 'required_for_stage' });
    if (skip.kind === 'Invalid') expect(skip.params?.fields).toBe('amount, closeDate');
  });

  it('logs every move, and moving back needs a reason', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(
      await createDeal(bob, { name: 'Hooli', ...qualified, amount: '80k', closeDate: '2026-12-31' }),
    );
    core.clock.advanceDays(2);
    value(await advanceDeal(bob, deal.code, { stage: 'proposal', nextStep: { text: 'Send proposal' } }));
    const back = error(await advanceDeal(bob, deal.code, { stage: 'needs', nextStep: { text: 'Rework' } }));
    expect(back).toMatchObject({ kind: 'Invalid', field: 'reason' });
    core.clock.advanceDays(1);
    const moved = value(
      await advanceDeal(bob, deal.code, {
        stage: 'needs',
        nextStep: { text: 'Rework' },
        reason: 'Scope changed',
      }),
    );
    expect(moved.deal.stage).toBe('needs');
    const history = await core.deps.store.stageChanges(bob.workspace.id, deal.id);
    expect(history.map((c) => [c.from, c.to])).toEqual([
      [null, 'lead'],
      ['lead', 'proposal'],
      ['proposal', 'needs'],
    ]);
    expect(history[2]!.reason).toBe('Scope changed');
    expect(history.map((c) => c.version)).toEqual([1, 2, 3]);
  });

  it('two concurrent advances: one wins, the other gets a conflict, the log stays consistent', async () => {
    const bob = await as(core, 'bob');
    const alice = await as(core, 'alice');
    const { deal } = value(await createDeal(bob, { name: 'Race Inc', company: 'Race Inc' }));
    const [r1, r2] = await Promise.all([
      advanceDeal(bob, deal.code, { nextStep: { text: 'A' } }),
      advanceDeal(alice, deal.code, { nextStep: { text: 'B' } }),
    ]);
    const oks = [r1, r2].filter((r) => r.ok);
    const conflicts = [r1, r2].filter((r) => !r.ok);
    expect(oks).toHaveLength(1);
    expect(conflicts).toHaveLength(1);
    expect(error(conflicts[0]!)).toMatchObject({ kind: 'Conflict', reason: 'concurrent_update' });
    const history = await core.deps.store.stageChanges(bob.workspace.id, deal.id);
    expect(history).toHaveLength(2);
    const now = value(await getDeal(bob, deal.code));
    expect(now.version).toBe(2);
    expect(now.stage).toBe('qualification');
  });

  it('a stale form (older version) is refused', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Stale', company: 'S' }));
    value(await editDeal(bob, deal.code, { amount: '10k' }));
    const e = error(
      await advanceDeal(bob, deal.code, { nextStep: { text: 'x' }, expectedVersion: deal.version }),
    );
    expect(e).toMatchObject({ kind: 'Conflict', reason: 'concurrent_update' });
  });
});

describe('closing and reopening', () => {
  it('lost needs a reason; won needs an amount; closed deals cannot move', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Umbrella' }));
    expect(error(await loseDeal(bob, deal.code, { reason: '  ' }))).toMatchObject({
      kind: 'Invalid',
      field: 'lostReason',
    });
    const lost = value(
      await loseDeal(bob, deal.code, { reason: 'Price too high', detail: 'Competitor 20% cheaper' }),
    );
    expect(lost.deal).toMatchObject({
      status: 'lost',
      stage: 'lost',
      lostReason: { key: 'price', text: 'Competitor 20% cheaper' },
    });
    expect(error(await advanceDeal(bob, deal.code, { nextStep: { text: 'x' } }))).toMatchObject({
      kind: 'Conflict',
      reason: 'already_closed',
    });

    const { deal: d2 } = value(await createDeal(bob, { name: 'Stark' }));
    expect(error(await winDeal(bob, d2.code))).toMatchObject({
      kind: 'Invalid',
      field: 'amount',
      reason: 'required_for_stage',
    });
    const won = value(await winDeal(bob, d2.code, { amount: '120k' }));
    expect(won.deal).toMatchObject({ status: 'won', stage: 'won', amount: 120_000 });
    expect(won.deal.closedAt).toEqual(core.clock.now);
  });

  it('free-text lost reasons are kept as "other" with the text', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Wayne' }));
    const lost = value(await loseDeal(bob, deal.code, { reason: '客户被收购了' }));
    expect(lost.deal.lostReason).toEqual({ key: 'other', text: '客户被收购了' });
  });

  it('only managers reopen, back into the stage the deal closed from', async () => {
    const bob = await as(core, 'bob');
    const alice = await as(core, 'alice');
    const { deal } = value(await createDeal(bob, { name: 'Cyberdyne', company: 'C' }));
    value(await advanceDeal(bob, deal.code, { nextStep: { text: 'x' } }));
    value(await loseDeal(bob, deal.code, { reason: 'timing' }));
    expect(error(await reopenDeal(bob, deal.code))).toMatchObject({ kind: 'Forbidden', action: 'reopen' });
    const reopened = value(await reopenDeal(alice, deal.code));
    expect(reopened).toMatchObject({ status: 'open', stage: 'qualification', lostReason: undefined });
  });
});

describe('permissions and tenancy', () => {
  it('the first user is admin; reps change only their own deals', async () => {
    const alice = await as(core, 'alice');
    const bob = await as(core, 'bob');
    const carol = await as(core, 'carol');
    expect(alice.actor.role).toBe('admin');
    expect(bob.actor.role).toBe('rep');
    const { deal } = value(await createDeal(bob, { name: 'Bob’s deal' }));
    expect(error(await editDeal(carol, deal.code, { name: 'hijack' }))).toMatchObject({ kind: 'Forbidden' });
    expect(error(await snoozeDeal(carol, deal.code, '1d'))).toMatchObject({ kind: 'Forbidden' });
    expect(error(await assignDeal(carol, deal.code, 'carol'))).toMatchObject({ kind: 'Forbidden' });
    // anyone in the workspace may add a note
    expect(value(await addNote(carol, deal.code, { text: 'I know their CTO' })).note.authorId).toBe('carol');
    // managers may change any deal
    expect(value(await assignDeal(alice, deal.code, 'carol')).ownerId).toBe('carol');
  });

  it('concurrent first requests: the same user is admin in every answer; of two users exactly one is', async () => {
    const same = await Promise.all(
      [1, 2, 3, 4, 5].map(() => as(core, 'first', { externalWorkspaceId: 'T-race' })),
    );
    expect(same.map((c) => c.actor.role)).toEqual(['admin', 'admin', 'admin', 'admin', 'admin']);
    expect((await core.deps.store.getMember(same[0]!.workspace.id, 'first'))?.role).toBe('admin');
    const two = await Promise.all(['u1', 'u2'].map((u) => as(core, u, { externalWorkspaceId: 'T-race-2' })));
    expect(two.map((c) => c.actor.role).sort()).toEqual(['admin', 'rep']);
  });

  it('reps cannot change settings or roles; managers can', async () => {
    const bob = await as(core, 'bob');
    const alice = await as(core, 'alice');
    expect(error(await updateSettings(bob, { alertCap: 5 }))).toMatchObject({
      kind: 'Forbidden',
      action: 'settings',
    });
    expect(error(await setMemberRole(bob, 'bob', 'manager'))).toMatchObject({ kind: 'Forbidden' });
    value(await setMemberRole(alice, 'carol', 'manager'));
    const carol = await as(core, 'carol');
    expect(carol.actor.role).toBe('manager');
    expect(error(await setMemberRole(carol, 'bob', 'admin'))).toMatchObject({
      kind: 'Forbidden',
      action: 'grant_admin',
    });
    value(await setMemberRole(alice, 'carol', 'rep'));
  });

  it('another workspace’s deal codes are simply not found', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Secret' }));
    const intruder = await as(core, 'mallory', { externalWorkspaceId: 'T-evil' });
    expect(error(await getDeal(intruder, deal.code))).toMatchObject({ kind: 'NotFound' });
    expect(error(await advanceDeal(intruder, deal.code, { nextStep: { text: 'x' } }))).toMatchObject({
      kind: 'NotFound',
    });
    expect(error(await addNote(intruder, deal.code, { text: 'x' }))).toMatchObject({ kind: 'NotFound' });
    const feishu = await as(core, 'ou_1', { platform: 'feishu', externalWorkspaceId: 'T1' });
    expect(feishu.workspace.id).not.toBe(bob.workspace.id);
    expect(feishu.locale).toBe('zh-CN');
    expect(error(await getDeal(feishu, deal.code))).toMatchObject({ kind: 'NotFound' });
  });

  it('unknown codes suggest the nearest existing ones', async () => {
    const bob = await as(core, 'bob');
    const e = error(await getDeal(bob, 'D-9999'));
    expect(e.kind).toBe('NotFound');
    if (e.kind === 'NotFound') expect(e.suggestions?.length).toBeGreaterThan(0);
  });
});

describe('snooze, next step, notes and threads', () => {
  it('snoozed deals leave the stalled list until the snooze ends', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Sleepy' }));
    core.clock.advanceDays(8); // lead threshold is 7 days
    let ctx = await as(core, 'bob');
    const stalledCodes = async () =>
      value(await listDeals(ctx, { kind: 'stalled' }, 0, 100)).deals.map((d) => d.code);
    expect(await stalledCodes()).toContain(deal.code);
    value(await snoozeDeal(ctx, deal.code, '3d'));
    expect(await stalledCodes()).not.toContain(deal.code);
    core.clock.advanceDays(4);
    ctx = await as(core, 'bob');
    expect(await stalledCodes()).toContain(deal.code);
    expect(error(await snoozeDeal(ctx, deal.code, 'forever'))).toMatchObject({
      kind: 'Invalid',
      field: 'duration',
    });
  });

  it('setNextStep requires text and a valid due date', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Nexty' }));
    expect(error(await setNextStep(bob, deal.code, { text: '' }))).toMatchObject({ field: 'nextStep' });
    expect(error(await setNextStep(bob, deal.code, { text: 'Call', due: 'yesterday-ish' }))).toMatchObject({
      field: 'dueDate',
    });
    const d = value(await setNextStep(bob, deal.code, { text: 'Call CFO', due: '+3d' }));
    expect(d.nextStep?.text).toBe('Call CFO');
  });

  it('thread replies become notes once, even when redelivered', async () => {
    const bob = await as(core, 'bob');
    const { deal } = value(await createDeal(bob, { name: 'Threaded' }));
    value(await rememberThread(bob, { channel: 'C1', id: '111.222' }, deal.id, 'alert'));
    const reply = { channel: 'C1', rootId: '111.222', messageId: '111.333', text: 'Pinged their CFO' };
    const first = value(await noteFromThreadReply(bob, reply));
    const again = value(await noteFromThreadReply(bob, reply));
    expect(first?.created).toBe(true);
    expect(again?.created).toBe(false);
    expect(first?.note).toMatchObject({ origin: 'thread', text: 'Pinged their CFO', authorId: 'bob' });
    expect(value(await noteFromThreadReply(bob, { ...reply, rootId: 'unrelated' }))).toBeUndefined();
    const notes = await core.deps.store.listNotes(bob.workspace.id, deal.id, 10);
    expect(notes).toHaveLength(1);
  });
});

describe('rules in settings', () => {
  it('refuses rules with unknown stages, bad webhooks or duplicate ids, and keeps delivery errors on save', async () => {
    const alice = await as(core, 'alice');
    const notify = { type: 'notify' as const, target: 'managers' as const, template: 'Look at {{code}}' };
    const rule = (id: string, over: object = {}) => ({
      id,
      name: id,
      enabled: true,
      trigger: { type: 'stage_longer_than' as const, stage: 'proposal', days: 5 },
      conditions: {},
      action: notify,
      ...over,
    });
    expect(
      error(
        await updateSettings(alice, { rules: [rule('a', { trigger: { type: 'moved_to', stage: 'mars' } })] }),
      ),
    ).toMatchObject({
      kind: 'Invalid',
      field: 'stage',
      value: 'mars',
    });
    expect(error(await updateSettings(alice, { rules: [rule('a'), rule('a')] }))).toMatchObject({
      reason: 'rule_id',
    });
    expect(
      error(
        await updateSettings(alice, {
          rules: [rule('w', { action: { type: 'webhook', url: 'ftp://x', secret: 'x'.repeat(20) } })],
        }),
      ),
    ).toMatchObject({ reason: 'webhook_url' });
    expect(
      error(
        await updateSettings(alice, {
          rules: [rule('w', { action: { type: 'webhook', url: 'https://x.test/h', secret: 'short' } })],
        }),
      ),
    ).toMatchObject({ reason: 'webhook_secret' });
    const lastError = { at: new Date('2026-11-01T00:00:00Z'), message: 'HTTP 500' };
    await core.deps.store.saveSettings(
      alice.workspace.id,
      { ...alice.workspace.settings, rules: [rule('keep', { lastError })] },
      alice.workspace.settingsVersion,
    );
    const fresh = await as(core, 'alice');
    const saved = value(await updateSettings(fresh, { rules: [rule('keep', { name: 'renamed' })] }));
    expect(saved.settings.rules[0]).toMatchObject({ name: 'renamed', lastError });
  });
});
