import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEALS, loadDemo, planDemo } from '../../src/demo/index.js';
import { DEAL_SOURCES } from '../../src/domain/parse.js';
import { enterWorkspace } from '../../src/usecases/context.js';
import { listDeals } from '../../src/usecases/deals.js';
import { testClock, testCore } from '../helpers/core.js';

const NOW = new Date('2026-11-02T09:00:00Z');
const DAY = 86_400_000;
type TestCore = Awaited<ReturnType<typeof testCore>>;

describe('demo plan', () => {
  const plan = planDemo({ now: NOW, locale: 'en' });

  it('is deterministic: ~300 deals over six months, six people with one manager', () => {
    expect(planDemo({ now: NOW, locale: 'en' })).toEqual(plan);
    expect(plan.deals).toHaveLength(DEMO_DEALS);
    expect(plan.people).toHaveLength(6);
    expect(plan.people.filter((p) => p.role === 'manager')).toHaveLength(1);
    const ages = plan.deals.map((d) => (NOW.getTime() - d.createdAt.getTime()) / DAY);
    expect(Math.max(...ages)).toBeGreaterThan(170);
    expect(Math.max(...ages)).toBeLessThanOrEqual(183);
    expect(Math.min(...ages)).toBeLessThan(2);
    expect(new Set(plan.deals.map((d) => d.source))).toEqual(new Set(DEAL_SOURCES));
    expect(new Set(plan.deals.map((d) => d.ownerId)).size).toBe(6);
  });

  it('has a bottleneck at proposal: the lowest conversion and the longest stays', () => {
    const reached = (key: string) =>
      plan.deals.filter((d) => d.steps.some((s) => s.kind === 'advance' && s.to === key));
    const proposal = reached('proposal');
    const negotiation = reached('negotiation');
    const needs = reached('needs');
    const lostAtProposal = proposal.filter(
      (d) => !negotiation.includes(d) && d.steps.at(-1)?.kind === 'lost',
    );
    const advancedAtNeeds = proposal.length / needs.length;
    const advancedAtProposal = negotiation.length / proposal.length;
    expect(advancedAtProposal).toBeLessThan(0.55);
    expect(advancedAtNeeds - advancedAtProposal).toBeGreaterThan(0.2);
    expect(lostAtProposal.length).toBeGreaterThan(20);
    const reasons = new Set(
      plan.deals.flatMap((d) => d.steps.filter((s) => s.kind === 'lost').map((s) => s.reason)),
    );
    expect([...reasons].sort()).toEqual([
      'competitor',
      'no_budget',
      'no_decision',
      'price',
      'product_fit',
      'timing',
    ]);
  });
});

describe('loading the demo', () => {
  let core: TestCore;
  beforeAll(async () => {
    core = await testCore(testClock(NOW.toISOString()), 'demo');
  });
  afterAll(() => core.stop());

  it('loads ~300 deals with consistent history in a few seconds, and loading twice adds nothing', async () => {
    const lines: string[] = [];
    const first = await loadDemo(core, { locale: 'en', report: (l) => lines.push(l) });
    expect(first).toMatchObject({ created: 300, total: 300, manager: 'maria' });
    expect(lines[0]).toBe(
      'Demo pipeline loaded: 300 deals, 6 people (maria is the manager). Try /pipeline and /pipeline review.',
    );
    const again = await loadDemo(core, { locale: 'en', report: (l) => lines.push(l) });
    expect(again.created).toBe(0);
    expect(lines).toContain('Demo pipeline already loaded (300 deals).');

    const { Deal, StageChange, Member } = core.deps.store.models;
    const deals = await Deal.find({ workspaceId: first.workspaceId }).lean();
    expect(deals).toHaveLength(300);
    expect(deals.map((d) => d.number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    const changes = await StageChange.find({ workspaceId: first.workspaceId })
      .sort({ at: 1, version: 1 })
      .lean();
    const byDeal = new Map<string, typeof changes>();
    for (const c of changes) byDeal.set(c.dealId, [...(byDeal.get(c.dealId) ?? []), c]);
    for (const d of deals) {
      const list = byDeal.get(String(d._id)) ?? [];
      // One change per version, chained from null to the deal's current stage.
      expect(list.map((c) => c.version)).toEqual(Array.from({ length: d.version }, (_, i) => i + 1));
      expect(list[0]!.from).toBeNull();
      for (let i = 1; i < list.length; i++) expect(list[i]!.from).toBe(list[i - 1]!.to);
      expect(list.at(-1)!.to).toBe(d.stage);
      expect(list.at(-1)!.at.getTime()).toBe(d.stageEnteredAt.getTime());
    }
    const members = await Member.find({ workspaceId: first.workspaceId }).lean();
    expect(members.map((m) => [m.userId, m.role]).sort()).toEqual([
      ['alice', 'rep'],
      ['ben', 'rep'],
      ['chen', 'rep'],
      ['diego', 'rep'],
      ['emma', 'rep'],
      ['maria', 'admin'],
    ]);
    // Stalled and overdue deals exist for the alerts and the review to show.
    const ctx = await enterWorkspace(core.deps, {
      platform: 'console',
      externalWorkspaceId: 'local',
      userId: 'maria',
    });
    const stalled = await listDeals(ctx, { kind: 'stalled' }, 0, 100);
    expect(stalled.ok && stalled.value.total).toBeGreaterThan(8);
    const overdue = deals.filter((d) => d.status === 'open' && d.nextStep?.dueAt && d.nextStep.dueAt < NOW);
    expect(overdue.length).toBeGreaterThan(5);
    expect(deals.filter((d) => d.status === 'won').length).toBeGreaterThan(10);
    expect(deals.filter((d) => d.status === 'lost').length).toBeGreaterThan(100);
  });

  it('writes in bulk exactly what the use cases write step by step', async () => {
    const bulk = await testCore(testClock(NOW.toISOString()), 'demo_bulk');
    const replay = await testCore(testClock(NOW.toISOString()), 'demo_replay');
    try {
      const quiet = { report: () => {}, deals: 40, now: NOW, locale: 'en' as const };
      await loadDemo(bulk, { ...quiet, mode: 'bulk' });
      await loadDemo(replay, { ...quiet, mode: 'usecases' });
      const snapshot = async (c: TestCore) => {
        const { Deal, StageChange, Note } = c.deps.store.models;
        const deals = await Deal.find({}).sort({ number: 1 }).lean();
        const code = new Map(deals.map((d) => [String(d._id), d.code]));
        const changes = await StageChange.find({}).lean();
        const notes = await Note.find({}).lean();
        return {
          deals: deals.map(({ _id, requestKey: _r, ...d }) => ({
            ...d,
            bant: { ...d.bant },
            nextStep: { ...d.nextStep },
          })),
          changes: changes
            .map(({ _id, dealId, ...c }) => ({ ...c, deal: code.get(dealId) }))
            .sort((a, b) => `${a.deal}:${a.version}`.localeCompare(`${b.deal}:${b.version}`)),
          notes: notes
            .map(({ _id, dealId, ...n }) => ({ ...n, deal: code.get(dealId) }))
            .sort((a, b) => String(a.deal).localeCompare(String(b.deal))),
        };
      };
      const [a, b] = [await snapshot(bulk), await snapshot(replay)];
      expect(a.deals).toHaveLength(40);
      expect(a.changes.length).toBeGreaterThan(60);
      expect(a).toEqual(b);
    } finally {
      await bulk.stop();
      await replay.stop();
    }
  });
});
