/**
 * The fast path of the demo loader: the documents the deal use cases would have
 * written for a plan (deal, one StageChange per version, notes), built in memory
 * with the same parsers and inserted in bulk. 300 deals replayed through the use
 * cases take ~20 s on the embedded store; this takes well under a second.
 * test/demo/demo.test.ts loads one plan both ways and checks the results match.
 */
import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { formatDealCode } from '../domain/deal.js';
import { parseDate } from '../domain/parse.js';
import { firstStage } from '../domain/pipeline.js';
import type { Bant, Locale } from '../domain/types.js';
import type { WorkspaceRecord } from '../store/repo.js';
import type { DealPlan } from './plan.js';

export interface DemoDocs {
  deals: Record<string, unknown>[];
  changes: Record<string, unknown>[];
  notes: Record<string, unknown>[];
}

export const isoDay = (d: Date, tz: string): string =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(d);

/**
 * The id of a demo deal (or note): its creation second, then a hash of the
 * workspace and the demo key. Deterministic, so a load interrupted half-way
 * re-inserts the same documents and duplicates are recognised.
 */
export function demoObjectId(workspaceId: string, key: string, at: Date): Types.ObjectId {
  const buf = Buffer.alloc(12);
  buf.writeUInt32BE(Math.max(0, Math.floor(at.getTime() / 1000)) >>> 0, 0);
  createHash('sha256').update(`${workspaceId}\u0000${key}`).digest().copy(buf, 4, 0, 8);
  return new Types.ObjectId(buf);
}

/** A date as typed in the form (`YYYY-MM-DD`) parsed the way the use cases parse it. */
function typedDate(d: Date, now: Date, ws: WorkspaceRecord, locale: Locale, field: string): Date {
  const r = parseDate(isoDay(d, ws.settings.timezone), {
    now,
    timeZone: ws.settings.timezone,
    locale,
    allowPast: false,
    field,
  });
  if (!r.ok) throw new Error(`demo: ${field} ${d.toISOString()} rejected: ${JSON.stringify(r.error)}`);
  return r.value;
}

/** Builds the documents for `plans`, numbered from `firstNumber`. */
export function buildDemoDocs(
  ws: WorkspaceRecord,
  plans: readonly DealPlan[],
  firstNumber: number,
  locale: Locale,
): DemoDocs {
  const out: DemoDocs = { deals: [], changes: [], notes: [] };
  const reasons = ws.settings.lostReasons;
  plans.forEach((plan, i) => {
    const _id = demoObjectId(ws.id, plan.externalId, plan.createdAt);
    const dealId = String(_id);
    const number = firstNumber + i;
    let version = 1;
    let stage = firstStage(ws.settings.stages).key;
    let stageEnteredAt = plan.createdAt;
    let updatedAt = plan.createdAt;
    let status: 'open' | 'won' | 'lost' = 'open';
    let closedAt: Date | null = null;
    let closeDate: Date | null = null;
    let bant: Bant = {};
    let lostReason: { key: string; text?: string } | undefined;
    let nextStep = {
      text: plan.nextStep.text,
      dueAt: typedDate(plan.nextStep.due, plan.createdAt, ws, locale, 'dueDate'),
    };
    const change = (to: string, at: Date, reason?: string) => {
      out.changes.push({
        _id: `${dealId}:${version}`,
        workspaceId: ws.id,
        dealId,
        from: version === 1 ? null : stage,
        to,
        at,
        by: plan.ownerId,
        version,
        ...(reason ? { reason } : {}),
      });
    };
    change(stage, plan.createdAt);
    for (const step of plan.steps) {
      if (step.kind === 'note') {
        out.notes.push({
          _id: demoObjectId(ws.id, `${plan.externalId}:note`, step.at),
          workspaceId: ws.id,
          dealId,
          authorId: plan.ownerId,
          text: step.text,
          at: step.at,
          origin: 'command',
          sourceKey: `${plan.externalId}:note`,
        });
        continue;
      }
      version++;
      if (step.kind === 'advance') {
        nextStep = {
          text: step.nextStep.text,
          dueAt: typedDate(step.nextStep.due, step.at, ws, locale, 'dueDate'),
        };
        if (step.closeDate) closeDate = typedDate(step.closeDate, step.at, ws, locale, 'closeDate');
        if (step.bant) bant = { ...bant, ...step.bant };
        change(step.to, step.at);
        stage = step.to;
      } else if (step.kind === 'won') {
        change('won', step.at);
        stage = 'won';
        status = 'won';
        closedAt = step.at;
      } else {
        const picked = reasons.find((r) => r.key === step.reason);
        lostReason = picked
          ? { key: picked.key, ...(step.detail ? { text: step.detail } : {}) }
          : { key: 'other', text: step.detail ? `${step.reason} — ${step.detail}` : step.reason };
        change('lost', step.at, lostReason.text ?? lostReason.key);
        stage = 'lost';
        status = 'lost';
        closedAt = step.at;
      }
      stageEnteredAt = step.at;
      updatedAt = step.at;
    }
    out.deals.push({
      _id,
      workspaceId: ws.id,
      number,
      code: formatDealCode(number),
      name: plan.name,
      company: plan.company,
      amount: plan.amount,
      closeDate,
      bant,
      custom: {},
      currency: ws.settings.currency,
      ownerId: plan.ownerId,
      stage,
      stageEnteredAt,
      status,
      source: plan.source,
      nextStep,
      snoozedUntil: null,
      createdAt: plan.createdAt,
      createdBy: plan.ownerId,
      closedAt,
      updatedAt,
      version,
      externalId: plan.externalId,
      requestKey: plan.externalId,
      ...(lostReason ? { lostReason } : {}),
    });
  });
  return out;
}
