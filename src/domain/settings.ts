/** Per-workspace settings and their defaults. */
import { DEFAULT_STAGES } from './pipeline.js';
import type { CustomFieldDef, Locale, LocalizedText, LostReasonDef, Role, StageDef } from './types.js';

const L = (en: string, zh: string): LocalizedText => ({ en, 'zh-CN': zh });

export const DEFAULT_LOST_REASONS: readonly LostReasonDef[] = [
  { key: 'price', labels: L('Price too high', '价格过高') },
  { key: 'competitor', labels: L('Chose a competitor', '选择了竞争对手') },
  { key: 'no_budget', labels: L('No budget', '没有预算') },
  { key: 'no_decision', labels: L('No decision / went dark', '无决策/失联') },
  { key: 'timing', labels: L('Bad timing', '时机不对') },
  { key: 'product_fit', labels: L('Product not a fit', '产品不匹配') },
  { key: 'other', labels: L('Other', '其他') },
];

export type RuleTrigger =
  | { type: 'stage_longer_than'; stage: string; days: number }
  | { type: 'moved_to'; stage: string }
  | { type: 'won' }
  | { type: 'lost' }
  | { type: 'next_step_overdue' };

export interface RuleConditions {
  minAmount?: number | undefined;
  maxAmount?: number | undefined;
  ownerId?: string | undefined;
  source?: string | undefined;
  stage?: string | undefined;
}

export type RuleAction =
  | {
      type: 'notify';
      target: 'owner' | 'managers' | 'channel';
      channel?: string | undefined;
      template: string;
    }
  | { type: 'task'; text: string; dueInDays: number; assignee: 'owner' | 'managers' }
  | { type: 'webhook'; url: string; secret: string };

export interface Rule {
  id: string;
  name: string;
  enabled: boolean;
  trigger: RuleTrigger;
  conditions: RuleConditions;
  action: RuleAction;
  /** Last delivery failure shown in settings (webhooks). */
  lastError?: { at: Date; message: string } | undefined;
}

export interface QuietHours {
  /** "HH:mm" in the workspace time zone; alerts wait outside quiet hours. */
  start: string;
  end: string;
  weekends: boolean;
}

export interface WorkspaceSettings {
  locale: Locale;
  timezone: string;
  currency: string;
  stages: StageDef[];
  lostReasons: LostReasonDef[];
  customFields: CustomFieldDef[];
  /** Role of new members; the first member is admin. */
  defaultRole: Role;
  alertChannel?: string | undefined;
  reviewChannel?: string | undefined;
  /** Post stall alerts to the alert channel, or DM the owner. */
  alertMode: 'channel' | 'dm';
  /** Cron expression in the workspace time zone. */
  reviewSchedule: string;
  /** Escalate to managers after this multiple of the stage threshold. */
  escalationFactor: number;
  /** Most alerts per channel per scan; the rest are summarised. */
  alertCap: number;
  quietHours: QuietHours;
  rules: Rule[];
  /** Conversion a manager expects per stage key (0..1); bottlenecks compare against it. */
  conversionTargets?: Record<string, number> | undefined;
}

export function defaultSettings(opts: {
  locale: Locale;
  timezone: string;
  currency?: string;
  reviewSchedule?: string;
}): WorkspaceSettings {
  return {
    locale: opts.locale,
    timezone: opts.timezone,
    currency: opts.currency ?? (opts.locale === 'zh-CN' ? 'CNY' : 'USD'),
    stages: DEFAULT_STAGES.map((s) => structuredClone(s)),
    lostReasons: DEFAULT_LOST_REASONS.map((r) => structuredClone(r)),
    customFields: [],
    defaultRole: 'rep',
    alertMode: 'channel',
    reviewSchedule: opts.reviewSchedule ?? '0 9 * * 1',
    escalationFactor: 2,
    alertCap: 10,
    quietHours: { start: '20:00', end: '08:00', weekends: true },
    rules: [],
  };
}

/** The method's preset rules, offered in settings. */
export function presetRules(): Rule[] {
  return [
    {
      id: 'preset-proposal-5d',
      name: 'Proposal > 5 days → notify the manager',
      enabled: true,
      trigger: { type: 'stage_longer_than', stage: 'proposal', days: 5 },
      conditions: {},
      action: { type: 'notify', target: 'managers', template: 'rule.proposal_stalled' },
    },
    {
      id: 'preset-won-kickoff',
      name: 'Won → kickoff task for the owner',
      enabled: true,
      trigger: { type: 'won' },
      conditions: {},
      action: { type: 'task', text: 'rule.kickoff_task', dueInDays: 2, assignee: 'owner' },
    },
  ];
}
