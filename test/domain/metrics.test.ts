import { describe, expect, it } from 'vitest';
import {
  computeKpis,
  conversionSteps,
  diagnoseBottlenecks,
  rankOrder,
  resolvePeriod,
  windowsFor,
  type PipelineStatsRows,
} from '../../src/domain/metrics.js';
import { DEFAULT_STAGES } from '../../src/domain/pipeline.js';
import type { StageDef } from '../../src/domain/types.js';

const DAY = 86_400_000;
const NOW = new Date('2026-05-20T10:00:00Z');
const windows = windowsFor({ from: new Date(NOW.getTime() - 30 * DAY), to: NOW });

function rows(patch: Partial<PipelineStatsRows> = {}): PipelineStatsRows {
  return {
    open: [],
    stalled: [],
    forecast: [],
    closed: [],
    lostReasons: [],
    created: [],
    reps: [],
    sources: [],
    flow: [],
    atStart: [],
    closes: [],
    dwell: [],
    stalledDeals: [],
    ...patch,
  };
}

/** Flow rows for one stage in the three windows. */
function flow(
  stage: string,
  cur: [number, number],
  trail: [number, number],
  prev: [number, number] = [0, 0],
) {
  return [
    { period: 'cur' as const, stage, entered: cur[0], advanced: cur[1] },
    { period: 'prev' as const, stage, entered: prev[0], advanced: prev[1] },
    { period: 'trail' as const, stage, entered: trail[0], advanced: trail[1] },
  ];
}
const dwell = (stage: string, stays: number, medianDays: number) => ({
  period: 'cur' as const,
  stage,
  stays,
  totalMs: stays * medianDays * DAY,
  medianMs: medianDays * DAY,
});

describe('computeKpis', () => {
  it('an empty workspace has zeros and "—" (null) rates, never NaN', () => {
    const k = computeKpis(rows(), DEFAULT_STAGES, windows, 'USD');
    expect(k.now.pipelineValue).toBe(0);
    expect(k.flow.winRate).toEqual({ current: null, previous: null, change: null });
    expect(k.flow.stages.every((s) => s.conversion.current === null)).toBe(true);
    expect(k.time.stages.every((s) => s.avgDays.current === null && s.medianDays.current === null)).toBe(
      true,
    );
    expect(k.time.salesCycleDays.current).toBeNull();
    expect(JSON.stringify(k)).not.toContain('NaN');
  });

  it('rates, comparison with the previous period and money sums by hand', () => {
    const k = computeKpis(
      rows({
        open: [
          { stage: 'proposal', count: 2, value: 3000, weighted: 1500, otherCurrency: 1 },
          { stage: 'lead', count: 4, value: 400, weighted: 20, otherCurrency: 0 },
        ],
        closed: [
          { period: 'cur', status: 'won', count: 3, value: 9000, cycleMs: 3 * 20 * DAY },
          { period: 'cur', status: 'lost', count: 1, value: 100, cycleMs: 40 * DAY },
          { period: 'prev', status: 'won', count: 1, value: 500, cycleMs: 10 * DAY },
          { period: 'prev', status: 'lost', count: 3, value: 900, cycleMs: 30 * DAY },
        ],
        flow: flow('lead', [10, 4], [30, 15], [8, 6]),
        sources: [
          {
            source: 'event',
            created: 5,
            won: 2,
            wonValue: 5000,
            lost: 2,
            prevCreated: 1,
            prevWon: 0,
            prevWonValue: 0,
            prevLost: 0,
          },
        ],
      }),
      DEFAULT_STAGES,
      windows,
      'USD',
    );
    expect([k.now.openCount, k.now.pipelineValue, k.now.weightedValue, k.now.otherCurrency]).toEqual([
      6, 3400, 1520, 1,
    ]);
    // Stages listed in pipeline order whatever the row order.
    expect(k.now.stages.map((s) => s.key)).toEqual([
      'lead',
      'qualification',
      'needs',
      'proposal',
      'negotiation',
    ]);
    // win rate 3/4 vs 1/4 → +50 points; cycle (60 + 40) / 4 = 25 d vs (10 + 30) / 4 = 10 d.
    expect(k.flow.winRate).toEqual({ current: 0.75, previous: 0.25, change: 0.5 });
    expect(k.time.salesCycleDays).toEqual({ current: 25, previous: 10, change: 15 });
    const lead = k.flow.stages[0]!;
    expect(lead.conversion).toEqual({ current: 0.4, previous: 0.75, change: -0.35 });
    expect(lead.trailing.conversion).toBe(0.5);
    // source: conversion 2/4, average won deal 2500; previous had no closes → "—".
    expect(k.why.sources[0]!.conversion).toEqual({ current: 0.5, previous: null, change: null });
    expect(k.why.sources[0]!.avgDealSize.current).toBe(2500);
  });

  it('stages added or removed: the removed stage keeps its open deals in "now" but is not a conversion step', () => {
    const stages: StageDef[] = DEFAULT_STAGES.map((s) => (s.key === 'needs' ? { ...s, active: false } : s));
    const demo: StageDef = { ...DEFAULT_STAGES[0]!, key: 'demo', labels: { en: 'Demo', 'zh-CN': '演示' } };
    stages.splice(4, 0, demo); // lead, qualification, needs(removed), proposal, demo(new), negotiation, won, lost
    expect(rankOrder(stages)).toEqual([
      'lead',
      'qualification',
      'needs',
      'proposal',
      'demo',
      'negotiation',
      'won',
    ]);
    expect(conversionSteps(stages)).toEqual([
      { key: 'lead', nextKey: 'qualification' },
      { key: 'qualification', nextKey: 'proposal' },
      { key: 'proposal', nextKey: 'demo' },
      { key: 'demo', nextKey: 'negotiation' },
      { key: 'negotiation', nextKey: 'won' },
    ]);
    const k = computeKpis(
      rows({ open: [{ stage: 'needs', count: 2, value: 10, weighted: 5, otherCurrency: 0 }] }),
      stages,
      windows,
      'USD',
    );
    expect(k.now.stages.map((s) => [s.key, s.count, s.active])).toEqual([
      ['lead', 0, true],
      ['qualification', 0, true],
      ['needs', 2, false],
      ['proposal', 0, true],
      ['demo', 0, true],
      ['negotiation', 0, true],
    ]);
    // Without an active `needs` stage the lead→opportunity rate is undefined.
    expect(k.flow.leadToOpportunity.current).toBeNull();
  });
});

describe('diagnoseBottlenecks', () => {
  const kpis = (patch: Partial<PipelineStatsRows>) =>
    computeKpis(rows(patch), DEFAULT_STAGES, windows, 'USD');

  it('low conversion + long dwell comes first, then low conversion, then long dwell; each with its suggestions', () => {
    const b = diagnoseBottlenecks(
      kpis({
        flow: [
          ...flow('lead', [20, 6], [60, 30]), // 30% vs 50% trailing: low (lead side)
          ...flow('proposal', [12, 3], [40, 20]), // 25% vs 50%: low (proposal side)
          ...flow('negotiation', [10, 8], [40, 30]), // 80% vs 75%: fine
        ],
        dwell: [dwell('proposal', 12, 9), dwell('negotiation', 10, 15), dwell('lead', 20, 3)], // thresholds 5, 10, 7
      }),
      DEFAULT_STAGES,
    );
    expect(b.map((x) => [x.stage, x.kind])).toEqual([
      ['proposal', 'conversion_and_dwell'],
      ['lead', 'low_conversion'],
      ['negotiation', 'long_dwell'],
    ]);
    expect(b[0]).toMatchObject({
      conversion: 0.25,
      baseline: 0.5,
      baselineKind: 'trailing',
      medianDays: 9,
      thresholdDays: 5,
    });
    expect(b[0]!.suggestions).toEqual([
      'proposal_training',
      'proposal_templates',
      'proposal_pricing',
      'cycle_reminders',
      'cycle_next_step',
      'cycle_reviews',
    ]);
    expect(b[1]!.suggestions).toEqual(['lead_channels', 'lead_icp', 'lead_scoring']);
    expect(b[2]!.suggestions).toEqual(['cycle_reminders', 'cycle_next_step', 'cycle_reviews']);
  });

  it('small samples are not flagged (fewer than 10 entered, or a trailing baseline under 10)', () => {
    expect(
      diagnoseBottlenecks(
        kpis({
          flow: [...flow('lead', [9, 0], [60, 50]), ...flow('qualification', [20, 2], [9, 9])],
          dwell: [dwell('proposal', 9, 30)],
        }),
        DEFAULT_STAGES,
      ),
    ).toEqual([]);
  });

  it('"clearly below" means at least 10 points under the baseline', () => {
    const at = (advanced: number) =>
      diagnoseBottlenecks(kpis({ flow: flow('lead', [100, advanced], [100, 50]) }), DEFAULT_STAGES).length;
    expect(at(41)).toBe(0); // 41% vs 50%
    expect(at(40)).toBe(1); // 40% vs 50%
  });

  it("a manager's target replaces the trailing average", () => {
    const k = kpis({ flow: flow('qualification', [20, 12], [60, 36]) }); // 60% = trailing 60%
    expect(diagnoseBottlenecks(k, DEFAULT_STAGES)).toEqual([]);
    const b = diagnoseBottlenecks(k, DEFAULT_STAGES, { targets: { qualification: 0.8 } });
    expect(b[0]).toMatchObject({
      stage: 'qualification',
      kind: 'low_conversion',
      baseline: 0.8,
      baselineKind: 'target',
    });
  });

  it('dwell exactly at the threshold is not long', () => {
    expect(diagnoseBottlenecks(kpis({ dwell: [dwell('proposal', 10, 5)] }), DEFAULT_STAGES)).toEqual([]);
  });
});

describe('resolvePeriod', () => {
  const iso = (d: Date) => d.toISOString();
  it('defaults to the last 30 days; previous is the 30 days before; trailing at least 90 days', () => {
    const p = resolvePeriod(undefined, NOW, 'UTC');
    if (!p.ok) throw new Error('expected ok');
    expect([p.value.kind, p.value.days]).toEqual(['rolling', 30]);
    expect(iso(p.value.current.from)).toBe('2026-04-20T10:00:00.000Z');
    expect(iso(p.value.previous.from)).toBe('2026-03-21T10:00:00.000Z');
    expect(iso(p.value.trailing.from)).toBe('2026-01-20T10:00:00.000Z');
  });

  it.each([
    ['last 90d', 90],
    ['90d', 90],
    ['past 2 weeks', 14],
    ['最近90天', 90],
    ['近3个月', 90],
  ])('%s is a rolling window of %i days', (input, days) => {
    const p = resolvePeriod(input, NOW, 'UTC');
    expect(p.ok && p.value.days).toBe(days);
  });

  it('this quarter in the workspace zone, compared with the same elapsed span of the previous quarter', () => {
    const p = resolvePeriod('本季度', NOW, 'Asia/Shanghai');
    if (!p.ok) throw new Error('expected ok');
    expect(iso(p.value.current.from)).toBe('2026-03-31T16:00:00.000Z'); // 2026-04-01 00:00 +08:00
    expect(iso(p.value.previous.from)).toBe('2025-12-31T16:00:00.000Z');
    expect(p.value.previous.to.getTime() - p.value.previous.from.getTime()).toBe(
      NOW.getTime() - p.value.current.from.getTime(),
    );
  });

  it('last month is the full previous month, compared with the month before', () => {
    const p = resolvePeriod('last month', NOW, 'UTC');
    if (!p.ok) throw new Error('expected ok');
    expect([iso(p.value.current.from), iso(p.value.current.to), iso(p.value.previous.from)]).toEqual([
      '2026-04-01T00:00:00.000Z',
      '2026-05-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
  });

  it('rejects anything else as an Invalid period', () => {
    expect(resolvePeriod('12h', NOW, 'UTC')).toEqual({
      ok: false,
      error: { kind: 'Invalid', field: 'period', value: '12h', reason: 'period_format', params: undefined },
    });
  });
});
