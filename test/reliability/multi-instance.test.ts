/**
 * Three bot instances on one database for 50 stall-scan cycles and a digest:
 * deals keep stalling while the instances run, and every alert and the digest
 * are delivered exactly once in total.
 */
import { afterAll, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { startScheduler, type Scheduler } from '../../src/jobs/index.js';
import { silentLogger } from '../../src/logger.js';
import { createDeal } from '../../src/usecases/deals.js';
import { uniqueDbName } from '../helpers/db.js';
import { DAY, RecordingNotifier, team, testConfig, testCore } from '../jobs/helpers.js';

const config = { ...testConfig, STALL_SCAN_INTERVAL: '100 ms' };
const SCANS = 50;

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 25_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const apps: { core: Core; notifier: RecordingNotifier; scheduler?: Scheduler; scans: number }[] = [];
afterAll(async () => {
  for (const a of apps) await a.scheduler?.stop().catch(() => {});
  await apps[0]?.core.conn.dropDatabase().catch(() => {});
  for (const a of apps) await a.core.stop().catch(() => {});
});

it(
  `three instances, ${SCANS} scan cycles and a digest: each alert and the digest exactly once`,
  { timeout: 60_000 },
  async () => {
    const dbName = uniqueDbName('rel_multi');
    for (let i = 0; i < 3; i += 1) {
      const core = await testCore('rel_multi', undefined, dbName);
      const notifier = new RecordingNotifier(String.fromCharCode(97 + i));
      core.notifiers.register('slack', notifier);
      apps.push({ core, notifier, scans: 0 });
    }
    const t = await team(apps[0]!.core, 'TMULTI');
    const ann = await t.as('U-ANN');
    const old = new Date(Date.now() - 9 * DAY);
    // Start once to create the jobs, then make the digest due (as if the bot was down at its time).
    const s0 = await startScheduler(apps[0]!.core, config, silentLogger, { processEvery: 50, name: 'setup' });
    await s0.stop();
    const jobs = apps[0]!.core.conn.db!.collection('agendaJobs');
    await jobs.updateMany(
      { name: 'pipeline-digest' },
      { $set: { nextRunAt: new Date(Date.now() - 3_600_000) } },
    );

    for (const [i, app] of apps.entries()) {
      app.scheduler = await startScheduler(app.core, config, silentLogger, {
        processEvery: 50,
        drainTimeoutMs: 5000,
        name: `i${i}`,
      });
      app.scheduler.agenda.on('success:stall-scan', () => (app.scans += 1));
    }
    const scans = () => apps.reduce((n, a) => n + a.scans, 0);
    // While the instances scan, a stalled deal appears every few cycles (8 in all, under the cap of 10 a scan).
    const created: string[] = [];
    let lastScan = 0;
    await until(
      async () => {
        if (created.length < 8 && scans() >= lastScan + 5) {
          lastScan = scans();
          const name = `Stalled ${created.length + 1}`;
          await createDeal(ann, { name, amount: '5k', createdAt: old, stageEnteredAt: old });
          created.push(name);
        }
        return scans() >= SCANS;
      },
      `${SCANS} scan cycles`,
      50_000,
    );
    const all = () => apps.flatMap((a) => a.notifier.sent);
    const alerts = () => all().filter((s) => s.kind === 'post' && s.message.summary.startsWith('Stalled:'));
    await until(() => alerts().length >= created.length, 'every alert');
    // A few more cycles on every instance change nothing.
    const before = scans();
    await until(() => scans() >= before + 6, 'six more scans');

    for (const name of created)
      expect(
        alerts().filter((a) => a.message.summary.includes(name)),
        name,
      ).toHaveLength(1);
    expect(alerts()).toHaveLength(created.length);
    const digests = all().filter((s) => s.kind === 'post' && s.message.summary.startsWith('Pipeline review'));
    expect(digests).toHaveLength(1);
    expect(digests[0]!.to).toEqual({ channel: 'C-REVIEW' });
    // The work was shared: more than one instance ran scans.
    expect(apps.filter((a) => a.scans > 0).length).toBeGreaterThan(1);
    expect(await jobs.countDocuments({ name: 'stall-scan' })).toBe(1);
  },
);
