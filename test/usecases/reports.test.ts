/**
 * Pipeline report through the use cases and the real driver. A small history is
 * built with a controllable clock; every expected number below is computed by
 * hand in the comments (days relative to T0 = 2026-01-01, report at T0+30d:
 * current period [0, 30), previous [-30, 0)).
 *
 * D1 event    M   lead@0 → qual@2 → proposal@5 (skips needs) → won@10        1000
 * D2 referral M   lead@1 → qual@3 → lost@8 (price)                            500
 * D3 event    M   created directly in proposal@4, open, close 2026-02-20     2000
 * D4 website  R1  lead@-10 → qual@-5 → needs@6 → back to qual@12 (reason)     300
 * D5 event    R1  lead@2 → lost@3 → reopened to lead@6 → qual@7               100
 * D6 other    R1  lead@25, open, no close date                                 50
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, type Core } from '../../src/app.js';
import { silentLogger } from '../../src/logger.js';
import {
  digestMessage,
  pipelineMessage,
  forecastMessage,
  stalledMessage,
} from '../../src/presenters/report.js';
import { plain, type RichBlock, type RichMessage } from '../../src/presenters/rich.js';
import { enterWorkspace, type Ctx } from '../../src/usecases/context.js';
import { advanceDeal, createDeal, loseDeal, reopenDeal, winDeal } from '../../src/usecases/deals.js';
import {
  forecastReport,
  pipelineReport,
  stalledReport,
  type PipelineReport,
} from '../../src/usecases/reports.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
let clock = new Date(T0);
let core: Core;

async function at(day: number, user: string, locale: 'en' | 'zh-CN' = 'en'): Promise<Ctx> {
  clock = new Date(T0 + day * DAY);
  return enterWorkspace(core.deps, { platform: 'slack', externalWorkspaceId: 'T1', userId: user, locale });
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const full = { company: 'Acme', bant: { budget: 'y', authority: 'y', need: 'y', timeline: 'y' } };
const step = { text: 'call' };

async function create(
  day: number,
  name: string,
  amount: string,
  source: string,
  owner: string,
  extra: Record<string, string> = {},
) {
  const ctx = await at(day, 'M');
  return must(
    await createDeal(ctx, {
      name,
      amount,
      source,
      ownerId: owner,
      closeDate: '2026-03-15',
      ...full,
      ...extra,
    }),
  ).deal.code;
}
const advance = async (day: number, code: string, stage: string, reason?: string) =>
  must(await advanceDeal(await at(day, 'M'), code, { stage, nextStep: step, reason }));

beforeAll(async () => {
  core = await createCore({
    config: {
      MONGODB_URI: undefined,
      DATA_DIR: './data',
      DEFAULT_LOCALE: 'en',
      DEFAULT_TIMEZONE: 'UTC',
      DEFAULT_REVIEW_SCHEDULE: '0 9 * * 1',
    },
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName('reports'),
    now: () => clock,
  });
  await at(-40, 'M'); // first member: admin
  const r1 = await at(-40, 'R1');
  expect(r1.actor.role).toBe('rep');
  const d4 = await create(-10, 'D4', '300', 'website', 'R1');
  await advance(-5, d4, 'qualification');
  const d1 = await create(0, 'D1', '1000', 'event', 'M');
  const d2 = await create(1, 'D2', '500', 'referral', 'M');
  const d5 = await create(2, 'D5', '100', 'event', 'R1');
  await advance(2, d1, 'qualification');
  await advance(3, d2, 'qualification');
  must(await loseDeal(await at(3, 'M'), d5, { reason: 'timing' }));
  const d3 = await create(4, 'D3', '2000', 'event', 'M', { stage: 'proposal', closeDate: '2026-02-20' });
  await advance(5, d1, 'proposal');
  await advance(6, d4, 'needs');
  must(await reopenDeal(await at(6, 'M'), d5));
  await advance(7, d5, 'qualification');
  must(await loseDeal(await at(8, 'M'), d2, { reason: 'price' }));
  must(await winDeal(await at(10, 'M'), d1));
  await advance(12, d4, 'qualification', 'budget frozen');
  await create(25, 'D6', '50', 'other', 'R1', { closeDate: '' });
  void d3;
});

afterAll(async () => {
  await core.conn.dropDatabase().catch(() => {});
  await core.stop();
});

async function report(
  opts: Parameters<typeof pipelineReport>[1] = {},
  user = 'M',
  locale: 'en' | 'zh-CN' = 'en',
) {
  return pipelineReport(await at(30, user, locale), opts);
}

const flowOf = (r: PipelineReport, key: string) => r.kpis.flow.stages.find((s) => s.key === key)!;
const dwellOf = (r: PipelineReport, key: string) => r.kpis.time.stages.find((s) => s.key === key)!;
const text = (m: RichMessage) =>
  m.blocks
    .map((b: RichBlock) => {
      if (b.type === 'header') return b.text;
      if (b.type === 'text' || b.type === 'context') return plain(b.text);
      if (b.type === 'fields') return b.fields.map((f) => `${f.label}: ${plain(f.value)}`).join('\n');
      if (b.type === 'list') return b.items.map((i) => `• ${plain(i)}`).join('\n');
      if (b.type === 'image') return `[image ${b.image.filename}]`;
      return '';
    })
    .join('\n');

describe('pipelineReport (hand-computed history)', () => {
  it('snapshot: open count/value per stage, weighted pipeline, stalled, open at the period start', async () => {
    const r = must(await report());
    expect(r.roundTrips).toBe(2);
    const now = Object.fromEntries(r.kpis.now.stages.map((s) => [s.key, [s.count, s.value, s.stalled]]));
    // D6 lead 50 (5 days, threshold 7: not stalled); D4+D5 qualification 400 (18 and 23 days > 10);
    // D3 proposal 2000 (26 days > 5).
    expect(now).toEqual({
      lead: [1, 50, 0],
      qualification: [2, 400, 2],
      needs: [0, 0, 0],
      proposal: [1, 2000, 1],
      negotiation: [0, 0, 0],
    });
    expect(r.kpis.now.pipelineValue).toBe(2450);
    expect(r.kpis.now.weightedValue).toBeCloseTo(50 * 0.05 + 400 * 0.1 + 2000 * 0.5, 9); // 1042.5
    expect(r.kpis.now.stalledCount).toBe(3);
    expect(r.kpis.now.stalledValue).toBe(2400);
    // At T0 only D4 was open (qualification since -5).
    expect(r.kpis.now.openCountAtStart).toBe(1);
    expect(r.kpis.stalledDeals.map((d) => d.name)).toEqual(['D3', 'D5', 'D4']); // oldest stage entry first: 4, 7, 12
  });

  it('forecast by expected close month, deals without a date last', async () => {
    const r = must(await forecastReport(await at(30, 'M')));
    expect(r.kpis.now.forecast).toEqual([
      { month: '2026-02', count: 1, value: 2000, weighted: 1000 },
      { month: '2026-03', count: 2, value: 400, weighted: 40 },
      { month: null, count: 1, value: 50, weighted: 2.5 },
    ]);
  });

  it('flow: skipped stages, deals created in a later stage, backward moves and reopened deals', async () => {
    const r = must(await report());
    // lead: D1 D2 D3 D5 D6 reached it in the period (D4 before) → D1 D2 D3 D5 reached qualification: 4/5.
    expect([flowOf(r, 'lead').entered.current, flowOf(r, 'lead').advanced.current]).toEqual([5, 4]);
    expect(flowOf(r, 'lead').conversion.current).toBeCloseTo(0.8, 9);
    // qualification: D1 D2 D3 D5 (D4 reached it at -5) → needs reached by D1 (skipped), D3 (created later): 2/4.
    expect([flowOf(r, 'qualification').entered.current, flowOf(r, 'qualification').advanced.current]).toEqual(
      [4, 2],
    );
    // needs: D1 D3 (passed it), D4 (entered @6, then moved back: still reached once) → proposal: D1 D3: 2/3.
    expect([flowOf(r, 'needs').entered.current, flowOf(r, 'needs').advanced.current]).toEqual([3, 2]);
    // proposal: D1 D3 → negotiation reached by D1 (won skips it): 1/2. negotiation: D1 → won: 1/1.
    expect(flowOf(r, 'proposal').conversion.current).toBe(0.5);
    expect(flowOf(r, 'negotiation').conversion.current).toBe(1);
    // previous period: D4 reached lead (-10) and qualification (-5); needs only at +6.
    expect(flowOf(r, 'lead').conversion.previous).toBe(1);
    expect(flowOf(r, 'qualification').conversion.previous).toBe(0);
    expect(flowOf(r, 'proposal').conversion.previous).toBeNull(); // nobody entered: "—", no division by zero
    expect(flowOf(r, 'qualification').conversion.change).toBe(0.5);
    // lead→opportunity: of the 5 leads, D1 and D3 reached needs: 40%; previous 0/1.
    expect(r.kpis.flow.leadToOpportunity).toEqual({ current: 0.4, previous: 0, change: 0.4 });
    // closes: D1 won (had reached proposal and negotiation), D2 lost from qualification; D5's loss was undone.
    expect(r.kpis.flow.proposalWinRate.current).toBe(1);
    expect(r.kpis.flow.negotiationCloseRate.current).toBe(1);
    expect(r.kpis.flow.winRate).toEqual({ current: 0.5, previous: null, change: null });
    expect([r.kpis.flow.wonValue.current, r.kpis.flow.lostValue.current]).toEqual([1000, 500]);
    expect(r.kpis.flow.created).toEqual({ current: 5, previous: 1, change: 4 });
  });

  it('time: dwell per stay clipped at the period end, average and median; sales cycle', async () => {
    const r = must(await report());
    // lead stays: D1 2, D2 2, D5 1 + 1 (before the loss and after the reopen), D6 5 (still there) → avg 2.2, median 2.
    expect(dwellOf(r, 'lead').stays.current).toBe(5);
    expect(dwellOf(r, 'lead').avgDays.current).toBeCloseTo(2.2, 9);
    expect(dwellOf(r, 'lead').medianDays.current).toBe(2);
    // qualification: D1 3, D2 5, D4 11 (-5 → 6, start not clipped) and 18 (12 → now), D5 23 → avg 12, median 11.
    expect(dwellOf(r, 'qualification').avgDays.current).toBe(12);
    expect(dwellOf(r, 'qualification').medianDays.current).toBe(11);
    // proposal: D1 5, D3 26 (still there) → median of two = 15.5. negotiation: no stays → "—".
    expect(dwellOf(r, 'proposal').medianDays.current).toBe(15.5);
    expect(dwellOf(r, 'negotiation').avgDays.current).toBeNull();
    // previous period: D4 lead -10 → -5 (5 d) and qualification -5 → clipped at 0 (5 d).
    expect(dwellOf(r, 'lead').avgDays.previous).toBe(5);
    expect(dwellOf(r, 'qualification').avgDays.previous).toBe(5);
    // cycle: D1 0 → 10, D2 1 → 8: (10 + 7) / 2.
    expect(r.kpis.time.salesCycleDays.current).toBe(8.5);
  });

  it('why: lost reasons, per source (conversion, average deal size) and per rep', async () => {
    const r = must(await report());
    expect(r.kpis.why.lostReasons).toEqual([
      { key: 'price', count: { current: 1, previous: 0, change: 1 }, value: 500 },
    ]);
    const src = Object.fromEntries(r.kpis.why.sources.map((s) => [s.source, s]));
    expect(src.event!.created.current).toBe(3);
    expect(src.event!.conversion.current).toBe(1);
    expect(src.event!.avgDealSize.current).toBe(1000);
    expect(src.referral!.conversion.current).toBe(0);
    expect(src.website!.created).toEqual({ current: 0, previous: 1, change: -1 });
    const reps = Object.fromEntries(r.kpis.why.reps.map((p) => [p.ownerId, p]));
    expect([reps.M!.open, reps.M!.openValue, reps.M!.winRate.current]).toEqual([1, 2000, 0.5]);
    expect([reps.R1!.open, reps.R1!.openValue, reps.R1!.winRate.current]).toEqual([3, 450, null]);
  });

  it('filters by owner (mention token) and by source alias', async () => {
    const mine = must(await report({ owner: '<@R1|Rita>' }));
    expect(mine.filter).toEqual({ ownerId: 'R1' });
    // R1's leads in the period: D5, D6 → D5 reached qualification: 1/2.
    expect([flowOf(mine, 'lead').entered.current, flowOf(mine, 'lead').advanced.current]).toEqual([2, 1]);
    expect(mine.kpis.now.pipelineValue).toBe(450);
    const events = must(await report({ source: '展会' }));
    expect(events.filter).toEqual({ source: 'event' });
    expect(events.kpis.now.pipelineValue).toBe(2100); // D3 2000 + D5 100
    expect(flowOf(events, 'lead').entered.current).toBe(3);
  });

  it('rejects bad input with typed errors; reps may not look at another rep', async () => {
    expect(await report({ period: 'banana' })).toMatchObject({
      ok: false,
      error: { kind: 'Invalid', field: 'period' },
    });
    expect(await report({ source: 'nowhere' })).toMatchObject({
      ok: false,
      error: { kind: 'Invalid', field: 'source' },
    });
    expect(await report({ owner: '<@NOPE>' })).toMatchObject({
      ok: false,
      error: { kind: 'NotFound', entity: 'user' },
    });
    expect(await report({ owner: 'M' }, 'R1')).toMatchObject({ ok: false, error: { kind: 'Forbidden' } });
    const own = must(await report({ owner: 'R1' }, 'R1'));
    expect(own.showReps).toBe(false);
  });

  it('a longer period moves the comparison window', async () => {
    const r = must(await report({ period: 'last 90d' }));
    expect(r.period.current.from.toISOString()).toBe(new Date(T0 + 30 * DAY - 90 * DAY).toISOString());
    // Now D4 entered lead inside the period as well: 6 leads, 5 reached qualification.
    expect([flowOf(r, 'lead').entered.current, flowOf(r, 'lead').advanced.current]).toEqual([6, 5]);
  });
});

describe('report messages', () => {
  it('/pipeline in English: funnel image, KPI fields with the previous period, no bottleneck on a small sample', async () => {
    const m = await pipelineMessage(must(await report()));
    const s = text(m);
    expect(s).toContain('Pipeline — last 30 days');
    expect(s).toContain('[image funnel.png]');
    expect(s).toContain('Open deals: 4');
    expect(s).toContain('Pipeline value: $2.5k');
    expect(s).toContain('Win rate: 50% (prev. —)');
    expect(s).toContain('Lead → opportunity: 40% (prev. 0%)');
    expect(s).toContain('Average sales cycle: 8.5 d (prev. —)');
    expect(s).toContain('No clear bottleneck in this period.');
    expect(m.summary).toBe('4 open deals, $2.5k pipeline, $1k weighted; win rate 50%');
  });

  it('/pipeline in Chinese', async () => {
    const m = await pipelineMessage(must(await report({}, 'M', 'zh-CN')));
    const s = text(m);
    expect(s).toContain('销售漏斗 — 最近 30 天');
    expect(s).toContain('赢单率: 50%（上期 —）');
    expect(s).toContain('平均销售周期: 8.5 天（上期 —）');
    expect(s).toContain('本期没有明显的瓶颈。');
  });

  it('forecast, stalled and digest messages', async () => {
    const r = must(await report());
    const f = text(await forecastMessage(r));
    expect(f).toContain('• 2026-02: $2k total, $1k weighted (1 deals)');
    expect(f).toContain('• No close date: $50 total, $2.5 weighted (1 deals)');
    const st = stalledMessage(must(await stalledReport(await at(30, 'M'))));
    expect(st.summary).toBe('3 stalled deals');
    expect(text(st).split('\n').slice(1)).toEqual([
      '• D-5 D3 — Proposal/Quote, 26 d in stage, $2k, @M',
      '• D-4 D5 — Qualification, 23 d in stage, $100, @R1',
      '• D-1 D4 — Qualification, 18 d in stage, $300, @R1',
    ]);
    const d = text(
      await digestMessage(r, {
        ...r,
        kpis: { ...r.kpis, now: { ...r.kpis.now, pipelineValue: 2000, weightedValue: 1042.5 } },
      }),
    );
    expect(d).toContain('Pipeline review — last 30 days');
    expect(d).toContain('• Qualification → Needs Analysis: 50% (2/4), prev. 0%');
    expect(d).toContain('• Qualification: 12 d / 11 d (threshold 10 d), prev. 5 d');
    expect(d).toContain('Since the last review: pipeline $2.5k (+$450), weighted $1k ($0)');
    expect(d).toContain('• Price too high: 1 ($500)');
    expect(d).toContain('• @R1: 3 open ($450), won 0 ($0), lost 0, win rate —');
    expect(d).toContain('• Event: 3 new, won 1 / lost 0, conversion 100%, avg. deal $1k');
  });
});
