import { describe, expect, it } from 'vitest';
import {
  checkTransition,
  daysInStage,
  isNextStepOverdue,
  isStalled,
  missingFields,
} from '../../src/domain/deal.js';
import {
  checkPipeline,
  DEFAULT_STAGES,
  nextStage,
  openStages,
  stageLabel,
} from '../../src/domain/pipeline.js';
import type { Deal } from '../../src/domain/types.js';

const base: Deal = {
  id: '1',
  workspaceId: 'w',
  code: 'D-1',
  number: 1,
  name: 'Acme',
  company: '',
  amount: null,
  currency: 'USD',
  ownerId: 'u',
  stage: 'lead',
  stageEnteredAt: new Date('2026-11-01T00:00:00Z'),
  status: 'open',
  source: 'other',
  bant: {},
  closeDate: null,
  custom: {},
  createdAt: new Date('2026-11-01T00:00:00Z'),
  createdBy: 'u',
  updatedAt: new Date('2026-11-01T00:00:00Z'),
  version: 1,
};

describe('default pipeline', () => {
  it('is the method’s B2B pipeline in English and Chinese', () => {
    expect(DEFAULT_STAGES.map((s) => s.key)).toEqual([
      'lead',
      'qualification',
      'needs',
      'proposal',
      'negotiation',
      'won',
      'lost',
    ]);
    expect(DEFAULT_STAGES.map((s) => s.labels['zh-CN'])).toEqual([
      '潜在客户',
      '资格评估',
      '需求分析',
      '方案/报价',
      '谈判/签约',
      '成交',
      '流失',
    ]);
    expect(stageLabel(DEFAULT_STAGES, 'proposal', 'en')).toBe('Proposal/Quote');
    expect(checkPipeline(DEFAULT_STAGES)).toBeUndefined();
  });

  it('next stage follows the order and ends at won', () => {
    expect(nextStage(DEFAULT_STAGES, 'lead')?.key).toBe('qualification');
    expect(nextStage(DEFAULT_STAGES, 'negotiation')?.key).toBe('won');
  });

  it('an inserted POC stage and a removed stage change the flow, not the history', () => {
    const poc = {
      ...DEFAULT_STAGES[2]!,
      key: 'poc',
      labels: { en: 'POC', 'zh-CN': '技术验证' },
      requiredFields: [],
    };
    const stages = [...DEFAULT_STAGES.slice(0, 3), poc, ...DEFAULT_STAGES.slice(3)].map((s) =>
      s.key === 'needs' ? { ...s, active: false } : s,
    );
    expect(openStages(stages).map((s) => s.key)).toEqual([
      'lead',
      'qualification',
      'poc',
      'proposal',
      'negotiation',
    ]);
    expect(nextStage(stages, 'qualification')?.key).toBe('poc');
    expect(stageLabel(stages, 'needs', 'zh-CN')).toBe('需求分析');
  });

  it('rejects pipelines without one won and one lost stage or with bad keys', () => {
    expect(checkPipeline(DEFAULT_STAGES.filter((s) => s.key !== 'won'))).toMatchObject({
      reason: 'terminal_stages',
    });
    expect(
      checkPipeline([{ ...DEFAULT_STAGES[0]!, key: 'Bad Key' }, ...DEFAULT_STAGES.slice(1)]),
    ).toMatchObject({
      reason: 'stage_key_format',
    });
    expect(
      checkPipeline([{ ...DEFAULT_STAGES[0]!, probability: 1.5 }, ...DEFAULT_STAGES.slice(1)]),
    ).toMatchObject({
      reason: 'probability_range',
    });
  });
});

describe('transitions', () => {
  it('forward moves check the target stage’s required fields, skipping allowed', () => {
    const r = checkTransition(DEFAULT_STAGES, base, 'proposal');
    expect(r).toMatchObject({
      ok: false,
      error: { kind: 'Invalid', field: 'amount', params: { fields: 'amount, closeDate' } },
    });
    const ready = { ...base, amount: 10, closeDate: new Date() };
    expect(checkTransition(DEFAULT_STAGES, ready, 'proposal')).toMatchObject({
      ok: true,
      value: { direction: 'forward' },
    });
  });

  it('backward moves need a reason; closed deals and same-stage moves are conflicts', () => {
    const inProposal = { ...base, stage: 'proposal' };
    expect(checkTransition(DEFAULT_STAGES, inProposal, 'lead')).toMatchObject({
      ok: false,
      error: { field: 'reason' },
    });
    expect(checkTransition(DEFAULT_STAGES, inProposal, 'lead', { reason: 'scope' })).toMatchObject({
      ok: true,
      value: { direction: 'backward' },
    });
    expect(checkTransition(DEFAULT_STAGES, { ...base, status: 'won' }, 'qualification')).toMatchObject({
      ok: false,
      error: { kind: 'Conflict', reason: 'already_closed' },
    });
    expect(checkTransition(DEFAULT_STAGES, base, 'lead')).toMatchObject({
      ok: false,
      error: { reason: 'same_stage' },
    });
    expect(checkTransition(DEFAULT_STAGES, base, 'nope')).toMatchObject({
      ok: false,
      error: { reason: 'stage_unknown' },
    });
  });

  it('required custom fields apply to every open stage', () => {
    const fields = [
      { key: 'region', labels: { en: 'Region', 'zh-CN': '区域' }, type: 'text' as const, required: true },
    ];
    expect(missingFields(base, DEFAULT_STAGES[1]!, fields)).toEqual(['company', 'custom.region']);
    expect(
      missingFields({ ...base, company: 'x', custom: { region: 'East' } }, DEFAULT_STAGES[1]!, fields),
    ).toEqual([]);
  });
});

describe('stalls and overdue next steps', () => {
  const now = new Date('2026-11-10T00:00:00Z');
  it('a deal is stalled past its stage threshold unless snoozed or closed', () => {
    expect(daysInStage(base, now)).toBe(9);
    expect(isStalled(base, DEFAULT_STAGES, now)).toBe(true); // lead: 7 days
    expect(isStalled(base, DEFAULT_STAGES, new Date('2026-11-07T23:00:00Z'))).toBe(false);
    expect(isStalled({ ...base, snoozedUntil: new Date('2026-11-11T00:00:00Z') }, DEFAULT_STAGES, now)).toBe(
      false,
    );
    expect(isStalled({ ...base, status: 'lost', stage: 'lost' }, DEFAULT_STAGES, now)).toBe(false);
  });
  it('next step is overdue after its due date', () => {
    expect(
      isNextStepOverdue({ ...base, nextStep: { text: 'x', dueAt: new Date('2026-11-09T00:00:00Z') } }, now),
    ).toBe(true);
    expect(isNextStepOverdue({ ...base, nextStep: { text: 'x', dueAt: null } }, now)).toBe(false);
  });
});
