/** Deal rules: transitions, required fields, stall detection. Pure. */
import { fail, ok, type Result } from './errors.js';
import { findStage, stageIndex } from './pipeline.js';
import type { CustomFieldDef, Deal, RequirableField, StageDef } from './types.js';

export const DAY_MS = 86_400_000;

/** The fields a stage requirement looks at. */
export type DealFields = Pick<Deal, 'company' | 'amount' | 'closeDate' | 'bant' | 'custom'>;

export function fieldFilled(deal: DealFields, field: RequirableField): boolean {
  switch (field) {
    case 'company':
      return deal.company.trim().length > 0;
    case 'amount':
      return typeof deal.amount === 'number' && deal.amount > 0;
    case 'closeDate':
      return deal.closeDate instanceof Date;
    case 'bant.budget':
    case 'bant.authority':
    case 'bant.need':
    case 'bant.timeline': {
      const v = deal.bant[field.slice(5) as keyof Deal['bant']];
      return typeof v === 'string' && v.trim().length > 0;
    }
    default: {
      const v = deal.custom[field.slice(7)];
      return v !== undefined && v !== null && String(v).trim() !== '';
    }
  }
}

/** Fields the target stage requires that the deal (with the pending changes applied) lacks. */
export function missingFields(
  deal: DealFields,
  stage: StageDef,
  customFields: readonly CustomFieldDef[] = [],
): RequirableField[] {
  const required = new Set<RequirableField>(stage.requiredFields);
  if (!stage.terminal) for (const f of customFields) if (f.required) required.add(`custom.${f.key}`);
  return [...required].filter((f) => !fieldFilled(deal, f));
}

export type Direction = 'forward' | 'backward';

/**
 * Checks that an open deal may move to `target`. Skipping forward is allowed;
 * moving backward needs a reason; terminal stages go through win/lose.
 */
export function checkTransition(
  stages: readonly StageDef[],
  deal: Deal & DealFields,
  targetKey: string,
  opts: {
    reason?: string | undefined;
    customFields?: readonly CustomFieldDef[];
    /** Imported history: the deal already is in the stage; requirements are reported, not enforced. */
    skipRequirements?: boolean;
  } = {},
): Result<{ target: StageDef; direction: Direction }> {
  if (deal.status !== 'open') return fail({ kind: 'Conflict', reason: 'already_closed', ref: deal.code });
  const target = findStage(stages, targetKey);
  if (!target || !target.active)
    return fail({ kind: 'Invalid', field: 'stage', value: targetKey, reason: 'stage_unknown' });
  if (target.key === deal.stage) return fail({ kind: 'Conflict', reason: 'same_stage', ref: deal.code });
  let direction: Direction = 'forward';
  if (!target.terminal) {
    const from = stageIndex(stages, deal.stage);
    const to = stageIndex(stages, target.key);
    direction = from >= 0 && to < from ? 'backward' : 'forward';
  }
  if (direction === 'backward' && !opts.reason?.trim())
    return fail({ kind: 'Invalid', field: 'reason', reason: 'reason_required_backward' });
  if (direction === 'forward' && !opts.skipRequirements) {
    const missing = missingFields(deal, target, opts.customFields);
    if (missing.length > 0)
      return fail({
        kind: 'Invalid',
        field: missing[0]!,
        reason: 'required_for_stage',
        params: { stage: target.key, fields: missing.join(', ') },
      });
  }
  return ok({ target, direction });
}

export function daysInStage(deal: Pick<Deal, 'stageEnteredAt'>, now: Date): number {
  return Math.max(0, (now.getTime() - deal.stageEnteredAt.getTime()) / DAY_MS);
}

/** A deal is stalled when it has been in its stage longer than the stage's threshold and is not snoozed. */
export function isStalled(deal: Deal, stages: readonly StageDef[], now: Date): boolean {
  if (deal.status !== 'open') return false;
  if (deal.snoozedUntil && deal.snoozedUntil > now) return false;
  const stage = findStage(stages, deal.stage);
  if (!stage?.stallDays) return false;
  return daysInStage(deal, now) > stage.stallDays;
}

export function isNextStepOverdue(deal: Deal, now: Date): boolean {
  return deal.status === 'open' && !!deal.nextStep?.dueAt && deal.nextStep.dueAt.getTime() < now.getTime();
}

export const formatDealCode = (n: number): string => `D-${n}`;
