import { describe, expect, it } from 'vitest';
import { isQuietTime, planScan, quietUntil, stallEpisode, type AlertState } from '../../src/domain/alerts.js';
import { defaultSettings, type WorkspaceSettings } from '../../src/domain/settings.js';
import type { Deal } from '../../src/domain/types.js';

const DAY = 86_400_000;
// Wednesday 2026-03-11 12:00 UTC.
const NOW = new Date('2026-03-11T12:00:00Z');

function settings(patch: Partial<WorkspaceSettings> = {}): WorkspaceSettings {
  return {
    ...defaultSettings({ locale: 'en', timezone: 'UTC' }),
    alertChannel: 'C-ALERTS',
    quietHours: { start: '20:00', end: '08:00', weekends: true },
    ...patch,
  };
}

let n = 0;
function deal(p: Partial<Deal> & { daysIn: number }): Deal {
  n += 1;
  const { daysIn, ...rest } = p;
  return {
    id: `d${n}`,
    workspaceId: 'w',
    code: `D-${n}`,
    number: n,
    name: `Deal ${n}`,
    company: 'Acme',
    amount: 1000,
    currency: 'USD',
    ownerId: 'U1',
    stage: 'proposal', // threshold 5 days
    stageEnteredAt: new Date(NOW.getTime() - daysIn * DAY),
    status: 'open',
    source: 'other',
    bant: {},
    closeDate: null,
    custom: {},
    snoozedUntil: null,
    createdAt: new Date(NOW.getTime() - 60 * DAY),
    createdBy: 'U1',
    updatedAt: NOW,
    version: 3,
    ...rest,
  };
}

const none = new Map<string, AlertState>();

describe('planScan: which deals alert', () => {
  it('alerts a deal past its stage threshold once per episode', () => {
    const d = deal({ daysIn: 6 });
    const first = planScan({ now: NOW, settings: settings(), candidates: [d], alerts: none });
    expect(first.groups).toEqual([{ target: { channel: 'C-ALERTS' }, alert: [d], summarise: [] }]);
    const claimed = new Map([[d.id, { dealId: d.id, episode: stallEpisode(d), posted: true }]]);
    const second = planScan({ now: NOW, settings: settings(), candidates: [d], alerts: claimed });
    expect(second.groups).toEqual([]);
    expect(second.escalate).toEqual([]);
  });

  it('does not alert within the threshold, closed deals or snoozed deals', () => {
    const fresh = deal({ daysIn: 4 });
    const won = deal({ daysIn: 30, status: 'won' });
    const snoozed = deal({ daysIn: 30, snoozedUntil: new Date(NOW.getTime() + DAY) });
    const plan = planScan({
      now: NOW,
      settings: settings(),
      candidates: [fresh, won, snoozed],
      alerts: none,
    });
    expect(plan.groups).toEqual([]);
  });

  it('starts a new episode when the snooze ends, and when the deal enters another stage', () => {
    const before = deal({ daysIn: 10 });
    const afterSnooze = { ...before, snoozedUntil: new Date(NOW.getTime() - 60_000) };
    expect(stallEpisode(afterSnooze)).not.toBe(stallEpisode(before));
    const claimed = new Map([
      [before.id, { dealId: before.id, episode: stallEpisode(before), posted: true }],
    ]);
    const plan = planScan({ now: NOW, settings: settings(), candidates: [afterSnooze], alerts: claimed });
    expect(plan.groups[0]?.alert).toEqual([afterSnooze]);
    const moved = { ...before, stage: 'negotiation', stageEnteredAt: new Date(NOW.getTime() - 11 * DAY) };
    expect(stallEpisode(moved)).not.toBe(stallEpisode(before));
  });

  it('DMs the owner in dm mode, and when no alert channel is set', () => {
    const a = deal({ daysIn: 6, ownerId: 'U-ANN' });
    const b = deal({ daysIn: 6, ownerId: 'U-BOB' });
    const dm = planScan({
      now: NOW,
      settings: settings({ alertMode: 'dm' }),
      candidates: [a, b],
      alerts: none,
    });
    expect(dm.groups.map((g) => g.target)).toEqual([{ user: 'U-ANN' }, { user: 'U-BOB' }]);
    const noChannel = planScan({
      now: NOW,
      settings: settings({ alertChannel: undefined }),
      candidates: [a],
      alerts: none,
    });
    expect(noChannel.groups.map((g) => g.target)).toEqual([{ user: 'U-ANN' }]);
  });

  it('caps alerts per channel, highest value first, and summarises the rest', () => {
    const deals = [100, 5000, null, 300, 9000].map((amount) => deal({ daysIn: 8, amount }));
    const plan = planScan({ now: NOW, settings: settings({ alertCap: 2 }), candidates: deals, alerts: none });
    expect(plan.groups).toHaveLength(1);
    expect(plan.groups[0]!.alert.map((d) => d.amount)).toEqual([9000, 5000]);
    expect(plan.groups[0]!.summarise.map((d) => d.amount)).toEqual([300, 100, null]);
  });

  it('escalates a posted, unresolved alert past factor × threshold, once', () => {
    const d = deal({ daysIn: 11 }); // proposal: 5 days, escalation at 10
    const posted = new Map([[d.id, { dealId: d.id, episode: stallEpisode(d), posted: true }]]);
    expect(planScan({ now: NOW, settings: settings(), candidates: [d], alerts: posted }).escalate).toEqual([
      d,
    ]);
    const notYet = deal({ daysIn: 9 });
    const p2 = new Map([[notYet.id, { dealId: notYet.id, episode: stallEpisode(notYet), posted: true }]]);
    expect(planScan({ now: NOW, settings: settings(), candidates: [notYet], alerts: p2 }).escalate).toEqual(
      [],
    );
    const done = new Map([
      [d.id, { dealId: d.id, episode: stallEpisode(d), posted: true, escalatedAt: NOW }],
    ]);
    expect(planScan({ now: NOW, settings: settings(), candidates: [d], alerts: done }).escalate).toEqual([]);
    const resolved = new Map([
      [d.id, { dealId: d.id, episode: stallEpisode(d), posted: true, resolvedAt: NOW }],
    ]);
    expect(planScan({ now: NOW, settings: settings(), candidates: [d], alerts: resolved }).escalate).toEqual(
      [],
    );
    // A factor of 3 moves the line to 15 days.
    expect(
      planScan({ now: NOW, settings: settings({ escalationFactor: 3 }), candidates: [d], alerts: posted })
        .escalate,
    ).toEqual([]);
  });

  it('posts nothing during quiet hours; alerts wait', () => {
    const d = deal({ daysIn: 20 });
    const night = new Date('2026-03-11T22:30:00Z');
    const plan = planScan({ now: night, settings: settings(), candidates: [d], alerts: none });
    expect(plan).toEqual({ quiet: true, groups: [], escalate: [] });
  });
});

describe('quiet hours and weekends in the workspace time zone', () => {
  const q = { start: '20:00', end: '08:00', weekends: true };

  it('wraps midnight', () => {
    expect(isQuietTime(new Date('2026-03-11T19:59:00Z'), q, 'UTC')).toBe(false);
    expect(isQuietTime(new Date('2026-03-11T20:00:00Z'), q, 'UTC')).toBe(true);
    expect(isQuietTime(new Date('2026-03-12T07:59:00Z'), q, 'UTC')).toBe(true);
    expect(isQuietTime(new Date('2026-03-12T08:00:00Z'), q, 'UTC')).toBe(false);
  });

  it('uses the workspace zone: 09:00 in Shanghai is 01:00 UTC', () => {
    const t = new Date('2026-03-11T01:00:00Z');
    expect(isQuietTime(t, q, 'Asia/Shanghai')).toBe(false);
    expect(isQuietTime(t, q, 'UTC')).toBe(true);
  });

  it('keeps weekends quiet in local time, and can be switched off', () => {
    // Friday 23:30 in New York is Saturday 03:30 UTC.
    const fridayNightNy = new Date('2026-03-07T04:30:00Z');
    const daytimeQ = { start: '00:00', end: '00:00', weekends: true };
    expect(isQuietTime(fridayNightNy, daytimeQ, 'America/New_York')).toBe(false);
    expect(isQuietTime(fridayNightNy, daytimeQ, 'UTC')).toBe(true);
    const saturdayNoon = new Date('2026-03-07T12:00:00Z');
    expect(isQuietTime(saturdayNoon, { ...q, weekends: false }, 'UTC')).toBe(false);
    expect(isQuietTime(saturdayNoon, q, 'UTC')).toBe(true);
  });

  it('supports same-day windows (lunch break) and knows when quiet ends', () => {
    const lunch = { start: '12:00', end: '13:30', weekends: false };
    expect(isQuietTime(new Date('2026-03-11T12:45:00Z'), lunch, 'UTC')).toBe(true);
    expect(isQuietTime(new Date('2026-03-11T13:30:00Z'), lunch, 'UTC')).toBe(false);
    // Saturday 10:00 UTC → Monday 08:00 UTC.
    expect(quietUntil(new Date('2026-03-07T10:00:00Z'), q, 'UTC').toISOString()).toBe(
      '2026-03-09T08:00:00.000Z',
    );
  });

  it('follows daylight saving time: 08:00 Berlin is 07:00 UTC in winter and 06:00 UTC in summer', () => {
    const berlin = { start: '20:00', end: '08:00', weekends: false };
    expect(isQuietTime(new Date('2026-03-27T07:30:00Z'), berlin, 'Europe/Berlin')).toBe(false); // 08:30 CET
    expect(isQuietTime(new Date('2026-03-30T06:30:00Z'), berlin, 'Europe/Berlin')).toBe(false); // 08:30 CEST
    expect(isQuietTime(new Date('2026-03-30T05:30:00Z'), berlin, 'Europe/Berlin')).toBe(true); // 07:30 CEST
  });
});
