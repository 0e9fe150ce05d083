/** The pipeline of stages and the default B2B pipeline of the method. */
import type { Locale, LocalizedText, StageDef } from './types.js';

const L = (en: string, zh: string): LocalizedText => ({ en, 'zh-CN': zh });

export const DEFAULT_STAGES: readonly StageDef[] = [
  {
    key: 'lead',
    labels: L('Lead', '潜在客户'),
    probability: 0.05,
    stallDays: 7,
    checklist: [L('Contact person identified', '已确定联系人'), L('First touch logged', '已记录首次接触')],
    requiredFields: [],
    active: true,
  },
  {
    key: 'qualification',
    labels: L('Qualification', '资格评估'),
    aliases: ['bant', 'qual'],
    probability: 0.1,
    stallDays: 10,
    checklist: [
      L('Budget confirmed', '预算已确认'),
      L('Decision maker known', '已明确决策人'),
      L('Need articulated', '需求已明确'),
      L('Timeline agreed', '时间表已约定'),
    ],
    requiredFields: ['company'],
    active: true,
  },
  {
    key: 'needs',
    labels: L('Needs Analysis', '需求分析'),
    aliases: ['needs analysis', 'discovery'],
    probability: 0.25,
    stallDays: 14,
    checklist: [L('Discovery meeting held', '已完成需求调研会议'), L('Pain points documented', '痛点已记录')],
    requiredFields: ['bant.budget', 'bant.authority', 'bant.need', 'bant.timeline'],
    active: true,
  },
  {
    key: 'proposal',
    labels: L('Proposal/Quote', '方案/报价'),
    aliases: ['quote', 'proposal'],
    probability: 0.5,
    stallDays: 5,
    checklist: [L('Proposal sent', '方案已发送'), L('Pricing approved', '报价已审批')],
    requiredFields: ['amount', 'closeDate'],
    active: true,
  },
  {
    key: 'negotiation',
    labels: L('Negotiation', '谈判/签约'),
    aliases: ['contract', 'closing'],
    probability: 0.75,
    stallDays: 10,
    checklist: [L('Terms under discussion', '条款谈判中'), L('Contract draft shared', '合同草稿已发送')],
    requiredFields: ['amount', 'closeDate'],
    active: true,
  },
  {
    key: 'won',
    labels: L('Won', '成交'),
    probability: 1,
    stallDays: null,
    checklist: [],
    requiredFields: ['amount'],
    terminal: 'won',
    active: true,
  },
  {
    key: 'lost',
    labels: L('Lost', '流失'),
    probability: 0,
    stallDays: null,
    checklist: [],
    requiredFields: [],
    terminal: 'lost',
    active: true,
  },
];

export function stageLabel(stages: readonly StageDef[], key: string, locale: Locale): string {
  const s = stages.find((x) => x.key === key);
  return s ? s.labels[locale] : key;
}

export function findStage(stages: readonly StageDef[], key: string): StageDef | undefined {
  return stages.find((s) => s.key === key);
}

/** Active, non-terminal stages in order. */
export function openStages(stages: readonly StageDef[]): StageDef[] {
  return stages.filter((s) => s.active && !s.terminal);
}

export function stageIndex(stages: readonly StageDef[], key: string): number {
  return openStages(stages).findIndex((s) => s.key === key);
}

/** The next active open stage after `key`, or the won stage after the last one. */
export function nextStage(stages: readonly StageDef[], key: string): StageDef | undefined {
  const open = openStages(stages);
  const i = open.findIndex((s) => s.key === key);
  if (i >= 0 && i + 1 < open.length) return open[i + 1];
  return stages.find((s) => s.terminal === 'won');
}

export const firstStage = (stages: readonly StageDef[]): StageDef => {
  const s = openStages(stages)[0];
  if (!s) throw new Error('pipeline has no open stage');
  return s;
};

export const wonStage = (stages: readonly StageDef[]): StageDef | undefined =>
  stages.find((s) => s.terminal === 'won');
export const lostStage = (stages: readonly StageDef[]): StageDef | undefined =>
  stages.find((s) => s.terminal === 'lost');

/**
 * Validates an edited pipeline: unique ASCII keys, exactly one won and one lost
 * terminal, at least one open stage, probabilities in 0..1, thresholds positive.
 * Returns the first problem as [field, reason] or undefined.
 */
export function checkPipeline(
  stages: readonly StageDef[],
): { field: string; reason: string; value?: string } | undefined {
  const keys = new Set<string>();
  for (const s of stages) {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(s.key))
      return { field: 'stageKey', reason: 'stage_key_format', value: s.key };
    if (keys.has(s.key)) return { field: 'stageKey', reason: 'stage_key_duplicate', value: s.key };
    keys.add(s.key);
    if (!s.labels.en.trim() || !s.labels['zh-CN'].trim())
      return { field: 'label', reason: 'text_empty', value: s.key };
    if (!(s.probability >= 0 && s.probability <= 1))
      return { field: 'probability', reason: 'probability_range', value: String(s.probability) };
    if (
      !s.terminal &&
      s.active &&
      !(typeof s.stallDays === 'number' && s.stallDays > 0 && s.stallDays <= 365)
    )
      return { field: 'threshold', reason: 'threshold_range', value: String(s.stallDays) };
  }
  if (
    stages.filter((s) => s.terminal === 'won').length !== 1 ||
    stages.filter((s) => s.terminal === 'lost').length !== 1
  )
    return { field: 'stage', reason: 'terminal_stages' };
  if (openStages(stages).length === 0) return { field: 'stage', reason: 'no_open_stage' };
  return undefined;
}
