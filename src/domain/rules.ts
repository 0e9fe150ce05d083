/**
 * Rule matching: trigger → conditions → action. Pure; the use case in
 * usecases/rules.ts runs the actions.
 */
import { daysInStage, isNextStepOverdue } from './deal.js';
import type { Rule, RuleConditions, RuleTrigger } from './settings.js';
import type { Deal } from './types.js';

/** Something that may trigger rules: a domain event, or the scan finding a deal in a state. */
export type RuleSignal =
  | { type: 'moved'; deal: Deal; to: string }
  | { type: 'won'; deal: Deal }
  | { type: 'lost'; deal: Deal }
  /** The periodic scan looking at an open deal. */
  | { type: 'scan'; deal: Deal; now: Date };

export function conditionsMatch(c: RuleConditions, deal: Deal): boolean {
  if (c.minAmount !== undefined && !(typeof deal.amount === 'number' && deal.amount >= c.minAmount))
    return false;
  if (c.maxAmount !== undefined && !(typeof deal.amount === 'number' && deal.amount < c.maxAmount))
    return false;
  if (c.ownerId !== undefined && c.ownerId !== '' && deal.ownerId !== c.ownerId) return false;
  if (c.source !== undefined && c.source !== '' && deal.source !== c.source) return false;
  if (c.stage !== undefined && c.stage !== '' && deal.stage !== c.stage) return false;
  return true;
}

export function triggerMatches(trigger: RuleTrigger, signal: RuleSignal): boolean {
  switch (trigger.type) {
    case 'moved_to':
      return signal.type === 'moved' && signal.to === trigger.stage;
    case 'won':
      return signal.type === 'won';
    case 'lost':
      return signal.type === 'lost';
    case 'stage_longer_than':
      return (
        signal.type === 'scan' &&
        signal.deal.status === 'open' &&
        signal.deal.stage === trigger.stage &&
        daysInStage(signal.deal, signal.now) > trigger.days
      );
    case 'next_step_overdue':
      return signal.type === 'scan' && isNextStepOverdue(signal.deal, signal.now);
  }
}

/**
 * The idempotency key of one firing of a rule on a deal: the same situation
 * always yields the same key, so a rule fires once per stage stay, per move,
 * per close and per overdue due date, however many instances see it.
 */
export function firingKey(trigger: RuleTrigger, signal: RuleSignal): string {
  const d = signal.deal;
  switch (trigger.type) {
    case 'stage_longer_than':
      return `${d.id}:stay:${d.stage}@${d.stageEnteredAt.getTime()}`;
    case 'next_step_overdue':
      return `${d.id}:due:${d.nextStep?.dueAt?.getTime() ?? 0}`;
    default:
      return `${d.id}:v${d.version}`;
  }
}

export interface RuleMatch {
  rule: Rule;
  key: string;
}

/** The enabled rules a signal fires, with their firing keys. */
export function matchRules(rules: readonly Rule[], signal: RuleSignal): RuleMatch[] {
  return rules
    .filter(
      (r) => r.enabled && triggerMatches(r.trigger, signal) && conditionsMatch(r.conditions, signal.deal),
    )
    .map((rule) => ({ rule, key: firingKey(rule.trigger, signal) }));
}

/** Whether any enabled rule needs the scan (time-based triggers). */
export const hasScanRules = (rules: readonly Rule[]): boolean =>
  rules.some(
    (r) => r.enabled && (r.trigger.type === 'stage_longer_than' || r.trigger.type === 'next_step_overdue'),
  );

/** Fills `{deal}`, `{name}`, `{company}`, `{stage}`, `{amount}`, `{days}` in a template; `{owner}` is left for a mention. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values && key !== 'owner' ? values[key]! : whole,
  );
}
