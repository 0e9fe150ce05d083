import { describe, expect, it } from 'vitest';
import {
  conditionsMatch,
  fillTemplate,
  firingKey,
  matchRules,
  type RuleSignal,
} from '../../src/domain/rules.js';
import { presetRules, type Rule } from '../../src/domain/settings.js';
import type { Deal } from '../../src/domain/types.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-11T12:00:00Z');

const deal = (p: Partial<Deal> = {}): Deal => ({
  id: 'd1',
  workspaceId: 'w',
  code: 'D-1',
  number: 1,
  name: 'Acme rollout',
  company: 'Acme',
  amount: 50_000,
  currency: 'USD',
  ownerId: 'U1',
  stage: 'proposal',
  stageEnteredAt: new Date(NOW.getTime() - 6 * DAY),
  status: 'open',
  source: 'referral',
  bant: {},
  closeDate: null,
  custom: {},
  snoozedUntil: null,
  createdAt: new Date(NOW.getTime() - 30 * DAY),
  createdBy: 'U1',
  updatedAt: NOW,
  version: 4,
  ...p,
});

const rule = (p: Partial<Rule>): Rule => ({
  id: 'r',
  name: 'r',
  enabled: true,
  trigger: { type: 'won' },
  conditions: {},
  action: { type: 'notify', target: 'owner', template: 'x' },
  ...p,
});

describe('rule triggers', () => {
  const cases: { trigger: Rule['trigger']; fires: RuleSignal; not: RuleSignal }[] = [
    {
      trigger: { type: 'stage_longer_than', stage: 'proposal', days: 5 },
      fires: { type: 'scan', deal: deal(), now: NOW },
      not: { type: 'scan', deal: deal({ stageEnteredAt: new Date(NOW.getTime() - 4 * DAY) }), now: NOW },
    },
    {
      trigger: { type: 'moved_to', stage: 'negotiation' },
      fires: { type: 'moved', deal: deal({ stage: 'negotiation' }), to: 'negotiation' },
      not: { type: 'moved', deal: deal(), to: 'proposal' },
    },
    {
      trigger: { type: 'won' },
      fires: { type: 'won', deal: deal({ status: 'won' }) },
      not: { type: 'lost', deal: deal() },
    },
    {
      trigger: { type: 'lost' },
      fires: { type: 'lost', deal: deal({ status: 'lost' }) },
      not: { type: 'won', deal: deal() },
    },
    {
      trigger: { type: 'next_step_overdue' },
      fires: {
        type: 'scan',
        deal: deal({ nextStep: { text: 'call', dueAt: new Date(NOW.getTime() - DAY) } }),
        now: NOW,
      },
      not: {
        type: 'scan',
        deal: deal({ nextStep: { text: 'call', dueAt: new Date(NOW.getTime() + DAY) } }),
        now: NOW,
      },
    },
  ];
  for (const c of cases)
    it(`${c.trigger.type} fires on its signal only`, () => {
      expect(matchRules([rule({ trigger: c.trigger })], c.fires)).toHaveLength(1);
      expect(matchRules([rule({ trigger: c.trigger })], c.not)).toHaveLength(0);
    });

  it('ignores disabled rules and closed deals for time triggers', () => {
    const r = rule({ trigger: { type: 'stage_longer_than', stage: 'proposal', days: 5 } });
    expect(matchRules([{ ...r, enabled: false }], { type: 'scan', deal: deal(), now: NOW })).toEqual([]);
    expect(matchRules([r], { type: 'scan', deal: deal({ status: 'lost' }), now: NOW })).toEqual([]);
  });
});

describe('rule conditions', () => {
  it('amount at least / below, owner, source and stage', () => {
    const d = deal();
    expect(conditionsMatch({ minAmount: 50_000 }, d)).toBe(true);
    expect(conditionsMatch({ minAmount: 50_001 }, d)).toBe(false);
    expect(conditionsMatch({ maxAmount: 50_001 }, d)).toBe(true);
    expect(conditionsMatch({ maxAmount: 50_000 }, d)).toBe(false);
    expect(conditionsMatch({ minAmount: 1 }, deal({ amount: null }))).toBe(false);
    expect(conditionsMatch({ ownerId: 'U1' }, d)).toBe(true);
    expect(conditionsMatch({ ownerId: 'U2' }, d)).toBe(false);
    expect(conditionsMatch({ source: 'referral' }, d)).toBe(true);
    expect(conditionsMatch({ source: 'inbound' }, d)).toBe(false);
    expect(conditionsMatch({ stage: 'proposal' }, d)).toBe(true);
    expect(conditionsMatch({ stage: 'lead' }, d)).toBe(false);
    expect(
      conditionsMatch(
        { minAmount: 10_000, maxAmount: 100_000, ownerId: 'U1', source: 'referral', stage: 'proposal' },
        d,
      ),
    ).toBe(true);
  });
});

describe('firing keys make each firing idempotent', () => {
  it('one per stage stay, per move, per due date', () => {
    const stay = { type: 'stage_longer_than', stage: 'proposal', days: 5 } as const;
    const a = firingKey(stay, { type: 'scan', deal: deal(), now: NOW });
    expect(
      firingKey(stay, { type: 'scan', deal: deal({ version: 9 }), now: new Date(NOW.getTime() + DAY) }),
    ).toBe(a);
    expect(firingKey(stay, { type: 'scan', deal: deal({ stageEnteredAt: NOW }), now: NOW })).not.toBe(a);
    expect(firingKey({ type: 'won' }, { type: 'won', deal: deal({ version: 5 }) })).toBe('d1:v5');
    const due = (dueAt: Date) =>
      firingKey(
        { type: 'next_step_overdue' },
        { type: 'scan', deal: deal({ nextStep: { text: 'x', dueAt } }), now: NOW },
      );
    expect(due(new Date(1000))).not.toBe(due(new Date(2000)));
  });
});

describe('presets and templates', () => {
  it('the method presets: Proposal > 5 days → managers; Won → kickoff task for the owner', () => {
    const [stalled, kickoff] = presetRules();
    expect(
      matchRules([stalled!], { type: 'scan', deal: deal(), now: NOW }).map((m) => m.rule.action),
    ).toEqual([{ type: 'notify', target: 'managers', template: 'rule.proposal_stalled' }]);
    expect(
      matchRules([kickoff!], { type: 'won', deal: deal({ status: 'won' }) }).map((m) => m.rule.action.type),
    ).toEqual(['task']);
  });

  it('fills known fields and leaves {owner} and unknown fields for the presenter', () => {
    expect(
      fillTemplate('{deal} in {stage} for {days}d, {owner} {nope}', {
        deal: 'D-1 Acme',
        stage: 'Proposal',
        days: '6',
        owner: 'x',
      }),
    ).toBe('D-1 Acme in Proposal for 6d, {owner} {nope}');
  });
});
