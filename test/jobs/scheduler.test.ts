/**
 * The scheduler on real Agenda with short intervals: three app instances on one
 * database deliver every alert and digest exactly once; a missed digest is
 * caught up once; settings changes reschedule; webhooks retry with backoff.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { afterAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { parseInterval, startScheduler, type Scheduler } from '../../src/jobs/index.js';
import { silentLogger } from '../../src/logger.js';
import { createDeal, winDeal } from '../../src/usecases/deals.js';
import { digestPeriod, nextDigestAt } from '../../src/usecases/digest.js';
import { updateSettings } from '../../src/usecases/settings.js';
import { uniqueDbName } from '../helpers/db.js';
import { DAY, linesOf, RecordingNotifier, team, testConfig, testCore } from './helpers.js';

const config = { ...testConfig, STALL_SCAN_INTERVAL: '150 ms' };
const fast = { processEvery: 50, drainTimeoutMs: 5000 };

/** Polls until `check` holds (the condition, not the elapsed time, is what the tests assert). */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

async function instances(count: number, prefix: string) {
  const dbName = uniqueDbName(prefix);
  const out: { core: Core; notifier: RecordingNotifier; scheduler?: Scheduler; scans: number }[] = [];
  for (let i = 0; i < count; i += 1) {
    const core = await testCore(prefix, undefined, dbName);
    const notifier = new RecordingNotifier(String.fromCharCode(97 + i));
    core.notifiers.register('slack', notifier);
    out.push({ core, notifier, scans: 0 });
    cleanup.push(async () => {
      await core.stop();
    });
  }
  cleanup.push(async () => {
    await out[0]!.core.conn.dropDatabase();
  });
  return out;
}

describe('parseInterval', () => {
  it('reads STALL_SCAN_INTERVAL forms', () => {
    expect(parseInterval('15 minutes')).toBe(900_000);
    expect(parseInterval('30s')).toBe(30_000);
    expect(parseInterval('1 hour')).toBe(3_600_000);
    expect(parseInterval('150 ms')).toBe(150);
    expect(() => parseInterval('soon')).toThrow();
  });
});

describe('digest timing across time zones and DST', () => {
  it('Monday 09:00 in New York is 14:00 UTC before DST and 13:00 UTC after', () => {
    const ny = 'America/New_York';
    expect(nextDigestAt('0 9 * * 1', ny, new Date('2026-03-03T00:00:00Z')).toISOString()).toBe(
      '2026-03-09T13:00:00.000Z',
    );
    expect(nextDigestAt('0 9 * * 1', ny, new Date('2026-02-24T00:00:00Z')).toISOString()).toBe(
      '2026-03-02T14:00:00.000Z',
    );
    const p = digestPeriod('0 9 * * 1', ny, new Date('2026-03-10T12:00:00Z'));
    expect(p.at.toISOString()).toBe('2026-03-09T13:00:00.000Z');
    expect(p.previous.toISOString()).toBe('2026-03-02T14:00:00.000Z');
  });

  it('Asia/Shanghai (no DST) and a catch-up run reports on the latest missed period only', () => {
    expect(nextDigestAt('0 9 * * 1', 'Asia/Shanghai', new Date('2026-03-03T00:00:00Z')).toISOString()).toBe(
      '2026-03-09T01:00:00.000Z',
    );
    // Down from Sunday 1 March to Wednesday 18 March: the run on return covers Monday 16 March.
    expect(digestPeriod('0 9 * * 1', 'Asia/Shanghai', new Date('2026-03-18T05:00:00Z')).key).toBe(
      '2026-03-16T01:00:00.000Z',
    );
  });
});

describe('three instances on one database', () => {
  it('deliver every alert and the missed digest exactly once, and keep doing so on later scans', async () => {
    const apps = await instances(3, 'multi');
    const [first] = apps;
    // Two workspaces; 12 stalled deals in one (cap 10 → 10 alerts + 1 summary), 3 in the other.
    const t1 = await team(first!.core, 'TM1');
    const t2 = await team(first!.core, 'TM2', { timezone: 'Asia/Shanghai' });
    const old = new Date(Date.now() - 9 * DAY);
    for (const [t, count] of [
      [t1, 12],
      [t2, 3],
    ] as const) {
      const ann = await t.as('U-ANN');
      for (let i = 0; i < count; i += 1)
        await createDeal(ann, {
          name: `Deal ${i}`,
          amount: `${i + 1}k`,
          createdAt: old,
          stageEnteredAt: old,
        });
    }
    // Schedule digests, then pretend the bot was down at the last scheduled time.
    const s0 = await startScheduler(first!.core, config, silentLogger, { ...fast, name: 'a' });
    await s0.stop();
    const jobs = first!.core.conn.db!.collection('agendaJobs');
    expect(await jobs.countDocuments({ name: 'pipeline-digest' })).toBe(2);
    await jobs.updateMany(
      { name: 'pipeline-digest' },
      { $set: { nextRunAt: new Date(Date.now() - 3 * 3_600_000) } },
    );

    for (const [i, app] of apps.entries()) {
      app.scheduler = await startScheduler(app.core, config, silentLogger, { ...fast, name: `i${i}` });
      app.scheduler.agenda.on('success:stall-scan', () => (app.scans += 1));
      cleanup.push(() => app.scheduler!.stop());
    }
    const all = () => apps.flatMap((a) => a.notifier.sent);
    const alertPosts = () =>
      all().filter((s) => s.kind === 'post' && s.message.summary.startsWith('Stalled:'));
    const digests = () =>
      all().filter((s) => s.kind === 'post' && s.message.summary.startsWith('Pipeline review'));
    await until(() => alertPosts().length >= 13 && digests().length >= 2, 'alerts and digests');
    // Several more scans on every instance change nothing.
    const scans = () => apps.reduce((n, a) => n + a.scans, 0);
    const before = scans();
    await until(() => scans() >= before + 6, 'six more scans');
    const ids = alertPosts().map((p) => `${p.workspaceId}:${p.message.summary}`);
    expect(ids).toHaveLength(13);
    expect(new Set(ids).size).toBe(13);
    expect(
      all().filter((s) => s.kind === 'post' && s.message.summary === '2 more stalled deals'),
    ).toHaveLength(1);
    expect(
      digests()
        .map((d) => d.workspaceId)
        .sort(),
    ).toEqual(['slack:TM1', 'slack:TM2']);
    expect(digests().map((d) => d.to)).toEqual([{ channel: 'C-REVIEW' }, { channel: 'C-REVIEW' }]);
    // Each digest got its discussion thread, once.
    expect(
      all().filter((s) => s.kind === 'reply' && s.message.summary.startsWith('Discuss the review')),
    ).toHaveLength(2);
    // One stall-scan job, two digest jobs, whatever the number of instances.
    expect(await jobs.countDocuments({ name: 'stall-scan' })).toBe(1);
    expect(await jobs.countDocuments({ name: 'pipeline-digest' })).toBe(2);
  });
});

describe('one instance with Agenda', () => {
  it('digest content, rescheduling on a settings change, webhook retries with backoff, graceful stop', async () => {
    const [app] = await instances(1, 'single');
    const core = app!.core;
    const t = await team(core, 'TS1', { timezone: 'America/New_York' });
    const old = new Date(Date.now() - 9 * DAY);
    const ann = await t.as('U-ANN');
    await createDeal(ann, {
      name: 'Stuck',
      company: 'Stuck Inc',
      amount: '40k',
      createdAt: old,
      stageEnteredAt: old,
    });

    // A local receiver failing twice, then accepting.
    const hits: string[] = [];
    const statuses = [500, 502];
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits.push(String(req.headers['x-dealpulse-signature']));
        res.statusCode = statuses.shift() ?? 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(async () => void server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await updateSettings(t.admin, {
      rules: [
        {
          id: 'hook',
          name: 'hook',
          enabled: true,
          trigger: { type: 'won' },
          conditions: {},
          action: { type: 'webhook', url, secret: 's3cret-0123456789abcdef' },
        },
      ],
    });

    const scheduler = await startScheduler(core, config, silentLogger, {
      ...fast,
      webhookBackoff: { delay: 20, maxRetries: 4 },
    });
    cleanup.push(() => scheduler.stop());
    const jobs = core.conn.db!.collection('agendaJobs');
    const digestJob = () => jobs.findOne({ name: 'pipeline-digest', 'data.workspaceId': 'slack:TS1' });
    const first = await digestJob();
    expect(first).toMatchObject({ repeatInterval: '0 9 * * 1', repeatTimezone: 'America/New_York' });
    const local = DateTime.fromJSDate(first!.nextRunAt as Date, { zone: 'America/New_York' });
    expect([local.weekday, local.hour, local.minute]).toEqual([1, 9, 0]);

    // Changing the schedule in settings reschedules the job.
    await updateSettings(t.admin, { reviewSchedule: '30 17 * * 5', timezone: 'Europe/Berlin' });
    await scheduler.settle();
    const moved = await digestJob();
    expect(moved).toMatchObject({ repeatInterval: '30 17 * * 5', repeatTimezone: 'Europe/Berlin' });
    const berlin = DateTime.fromJSDate(moved!.nextRunAt as Date, { zone: 'Europe/Berlin' });
    expect([berlin.weekday, berlin.hour, berlin.minute]).toEqual([5, 17, 30]);
    expect(await jobs.countDocuments({ name: 'pipeline-digest' })).toBe(1);

    // The digest, forced due: KPIs, the stalled deal, the per-rep table, a discussion thread.
    await jobs.updateOne({ _id: moved!._id }, { $set: { nextRunAt: new Date(Date.now() - 1000) } });
    await until(
      () => app!.notifier.posts().some((p) => p.message.summary.startsWith('Pipeline review')),
      'digest',
    );
    const digest = app!.notifier.posts().find((p) => p.message.summary.startsWith('Pipeline review'))!;
    const lines = linesOf(digest.message);
    // The review: its period, the funnel image, KPIs, the stalled deal and the per-rep table.
    expect(lines[0]).toBe('Pipeline review — last 7 days');
    expect(digest.message.blocks.some((b) => b.type === 'image')).toBe(true);
    expect(lines).toContain('Stalled: 1 · $40k');
    expect(lines).toContain('• D-1 Stuck — Lead, 9 d in stage, $40k, @U-ANN');
    expect(lines[lines.indexOf('By rep') + 1]).toMatch(/^• @U-ANN: 1 open \(\$40k\)/);

    // Webhook: two failures, then delivered; every attempt signed.
    await winDeal(ann, 'D-1');
    await scheduler.settle();
    await until(() => hits.length >= 3, 'webhook retries');
    await until(
      async () => (await core.conn.db!.collection('webhook_deliveries').findOne({}))?.status === 'delivered',
      'delivered',
    );
    expect(new Set(hits).size).toBe(1);
    expect(hits[0]).toMatch(/^sha256=[0-9a-f]{64}$/);

    // Resolution of the alert posted by the scan.
    await until(() => app!.notifier.posts().some((p) => p.message.summary.startsWith('Stalled:')), 'alert');
    await scheduler.stop();
    const lockedAfterStop = await jobs.countDocuments({ lockedAt: { $ne: null } });
    expect(lockedAfterStop).toBe(0);
  });
});
