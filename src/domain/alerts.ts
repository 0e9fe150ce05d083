/**
 * Stall alerts: which deals alert, escalate or wait, given the clock, the
 * workspace settings and the alert records already claimed. Pure.
 */
import { DateTime } from 'luxon';
import { DAY_MS, daysInStage, isNextStepOverdue, isStalled } from './deal.js';
import { findStage } from './pipeline.js';
import type { QuietHours, WorkspaceSettings } from './settings.js';
import type { Deal } from './types.js';

/**
 * A stall episode: one stay of a deal in a stage, restarted when a snooze ends.
 * Deterministic from the deal alone, so every instance computes the same key.
 */
export function stallEpisode(deal: Pick<Deal, 'stage' | 'stageEnteredAt' | 'snoozedUntil'>): string {
  const entered = deal.stageEnteredAt.getTime();
  const snooze = deal.snoozedUntil?.getTime();
  return snooze !== undefined && snooze > entered
    ? `${deal.stage}@${entered}~${snooze}`
    : `${deal.stage}@${entered}`;
}

/** When the current stall episode started counting: stage entry, or the end of the last snooze. */
function episodeStart(deal: Pick<Deal, 'stageEnteredAt' | 'snoozedUntil'>): Date {
  const snooze = deal.snoozedUntil;
  return snooze && snooze > deal.stageEnteredAt ? snooze : deal.stageEnteredAt;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const minutesOf = (hhmm: string): number | undefined => {
  const m = HHMM.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
};

/**
 * Whether `now` falls in the workspace's quiet time: weekends (Saturday and
 * Sunday in the workspace time zone, when `weekends` is set) or between
 * `start` and `end` (wrapping midnight when start > end; start == end means no quiet hours).
 */
export function isQuietTime(now: Date, quiet: QuietHours, timeZone: string): boolean {
  const local = DateTime.fromJSDate(now, { zone: timeZone });
  if (quiet.weekends && local.weekday >= 6) return true;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === undefined || end === undefined || start === end) return false;
  const t = local.hour * 60 + local.minute;
  return start < end ? t >= start && t < end : t >= start || t < end;
}

/** The next instant quiet time is over (for "alerts resume at …" and tests); `now` when not quiet. */
export function quietUntil(now: Date, quiet: QuietHours, timeZone: string): Date {
  let t = DateTime.fromJSDate(now, { zone: timeZone }).startOf('minute');
  // Quiet time is at most a weekend plus a night: step in minutes, at most 4 days.
  for (let i = 0; i < 4 * 24 * 60 && isQuietTime(t.toJSDate(), quiet, timeZone); i += 1)
    t = t.plus({ minutes: 1 });
  return t.toJSDate() < now ? now : t.toJSDate();
}

/** What the store remembers about an alert (see store/jobs-models.ts). */
export interface AlertState {
  dealId: string;
  episode: string;
  /** Set once the alert message was posted; absent for deals summarised under the cap. */
  posted: boolean;
  escalatedAt?: Date | null | undefined;
  resolvedAt?: Date | null | undefined;
}

/** Where an alert goes: the workspace's alert channel, or a DM to the owner. */
export type AlertTarget = { channel: string } | { user: string };

export const targetKey = (t: AlertTarget): string => ('channel' in t ? `c:${t.channel}` : `u:${t.user}`);

export function alertTarget(
  settings: Pick<WorkspaceSettings, 'alertMode' | 'alertChannel'>,
  deal: Pick<Deal, 'ownerId'>,
): AlertTarget {
  return settings.alertMode === 'channel' && settings.alertChannel
    ? { channel: settings.alertChannel }
    : { user: deal.ownerId };
}

export interface StallFacts {
  days: number;
  thresholdDays: number;
  escalationDays: number;
  nextStepOverdue: boolean;
}

export function stallFacts(
  deal: Deal,
  settings: Pick<WorkspaceSettings, 'stages' | 'escalationFactor'>,
  now: Date,
): StallFacts {
  const threshold = findStage(settings.stages, deal.stage)?.stallDays ?? 0;
  return {
    days: daysInStage(deal, now),
    thresholdDays: threshold,
    escalationDays: threshold * settings.escalationFactor,
    nextStepOverdue: isNextStepOverdue(deal, now),
  };
}

export interface AlertGroup {
  target: AlertTarget;
  /** Deals to alert individually, highest value first (at most the cap). */
  alert: Deal[];
  /** Deals over the cap, summarised in one message. */
  summarise: Deal[];
}

export interface ScanPlan {
  quiet: boolean;
  groups: AlertGroup[];
  /** Deals whose posted, unresolved alert should now mention the managers. */
  escalate: Deal[];
}

/** Highest amount first; deals without an amount last; older stalls first among equals. */
export function byValue(a: Deal, b: Deal): number {
  const av = a.amount ?? -1;
  const bv = b.amount ?? -1;
  return bv - av || a.stageEnteredAt.getTime() - b.stageEnteredAt.getTime() || a.number - b.number;
}

/**
 * Plans one scan of a workspace. `candidates` are the open deals the store
 * found past their stage threshold (more are harmless: each is re-checked);
 * `alerts` are the records of their current episodes keyed by deal id.
 */
export function planScan(input: {
  now: Date;
  settings: WorkspaceSettings;
  candidates: readonly Deal[];
  alerts: ReadonlyMap<string, AlertState>;
}): ScanPlan {
  const { now, settings } = input;
  if (isQuietTime(now, settings.quietHours, settings.timezone))
    return { quiet: true, groups: [], escalate: [] };
  const fresh: Deal[] = [];
  const escalate: Deal[] = [];
  for (const deal of input.candidates) {
    if (!isStalled(deal, settings.stages, now)) continue;
    const episode = stallEpisode(deal);
    const state = input.alerts.get(deal.id);
    if (!state || state.episode !== episode) {
      fresh.push(deal);
      continue;
    }
    if (!state.posted || state.resolvedAt || state.escalatedAt) continue;
    const facts = stallFacts(deal, settings, now);
    const sinceStart = (now.getTime() - episodeStart(deal).getTime()) / DAY_MS;
    if (
      facts.escalationDays > 0 &&
      Math.min(facts.days, sinceStart + facts.thresholdDays) > facts.escalationDays
    )
      escalate.push(deal);
  }
  const groups = new Map<string, AlertGroup>();
  for (const deal of [...fresh].sort(byValue)) {
    const target = alertTarget(settings, deal);
    const key = targetKey(target);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { target, alert: [], summarise: [] }));
    (g.alert.length < Math.max(1, settings.alertCap) ? g.alert : g.summarise).push(deal);
  }
  return { quiet: false, groups: [...groups.values()], escalate: escalate.sort(byValue) };
}
