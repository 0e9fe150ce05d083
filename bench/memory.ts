/**
 * Memory: resident set size of a fresh process running a core and the scheduler on the
 * in-memory embedded store (as `npm start` does without MONGODB_URI, minus the chat
 * adapters), idle, then after 100 chart renders (funnel, dwell and trend, en and zh-CN).
 *
 * Measured in a child process (`tsx bench/memory.ts --child`, with --expose-gc) so that
 * the other bench modules' allocations do not count.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchModule, BenchRow } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RENDERS = 100;
const MB = 1024 * 1024;

interface ChildReport {
  idleRss: number;
  idleHeap: number;
  rendersMs: number;
  afterRss: number;
  afterHeap: number;
  afterGcRss: number;
  peakRss: number;
}

async function child(): Promise<void> {
  const { createCore } = await import('../src/app.js');
  const { configSchema } = await import('../src/config.js');
  const { silentLogger } = await import('../src/logger.js');
  const { chooseDatabase } = await import('../src/store/connection.js');
  const { startScheduler } = await import('../src/jobs/index.js');
  const { enterWorkspace } = await import('../src/usecases/context.js');
  const { createDeal } = await import('../src/usecases/deals.js');
  const charts = await import('../src/charts/index.js');
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 1000));
    gc();
    await new Promise((r) => setTimeout(r, 200));
  };

  const config = configSchema.parse({});
  const db = await chooseDatabase({ logger: silentLogger, preferEmbedded: true });
  const core = await createCore({ config, logger: silentLogger, uri: db.uri, dbName: 'bench_memory' });
  const scheduler = await startScheduler(core, config, silentLogger);
  // A small working set: one workspace with 50 deals.
  const ctx = await enterWorkspace(core.deps, {
    platform: 'slack',
    externalWorkspaceId: 'TMEM',
    userId: 'U0',
  });
  for (let i = 0; i < 50; i += 1) await createDeal(ctx, { name: `Deal ${i}`, amount: `${i + 1}k` });
  await settle();
  const idle = process.memoryUsage();
  let peakRss = idle.rss;

  const stages = (zh: boolean, k: number) =>
    ['lead', 'qualification', 'needs', 'proposal', 'negotiation'].map((key, i) => ({
      key,
      label: zh ? ['潜在客户', '需求确认', '需求分析', '方案/报价', '商务谈判'][i]! : key,
      count: 100 - i * 15 + k,
      value: (100 - i * 15 + k) * 10_000,
      conversionToNext: i < 4 ? 0.6 : null,
    }));
  const started = performance.now();
  for (let n = 0; n < RENDERS; n += 1) {
    const zh = n % 2 === 0;
    const locale = zh ? 'zh-CN' : 'en';
    const currency = zh ? 'CNY' : 'USD';
    const kind = n % 3;
    if (kind === 0) await charts.funnelChart({ locale, currency, stages: stages(zh, n) });
    else if (kind === 1)
      await charts.dwellChart({
        locale,
        stages: stages(zh, n).map((s) => ({
          key: s.key,
          label: s.label,
          avgDays: 4 + (n % 9),
          medianDays: 3 + (n % 7),
          thresholdDays: 7,
        })),
      });
    else
      await charts.trendChart({
        locale,
        currency,
        timeZone: 'UTC',
        weeks: Array.from({ length: 12 }, (_, w) => ({
          weekStart: new Date(Date.UTC(2026, 0, 5 + w * 7)),
          created: 10 + ((w * n) % 9),
          won: 3 + (w % 4),
          lost: 1 + (w % 3),
        })),
      });
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const rendersMs = performance.now() - started;
  const after = process.memoryUsage();
  await settle();
  const afterGc = process.memoryUsage();
  await scheduler.stop();
  await core.stop();
  await db.stop();
  const report: ChildReport = {
    idleRss: idle.rss,
    idleHeap: idle.heapUsed,
    rendersMs,
    afterRss: after.rss,
    afterHeap: after.heapUsed,
    afterGcRss: afterGc.rss,
    peakRss,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

function runChild(): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child'],
      { cwd: ROOT, timeout: 180_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildReport);
      },
    );
  });
}

async function run(): Promise<BenchRow[]> {
  const r = await runChild();
  const mb = (b: number) => Math.round((b / MB) * 10) / 10;
  return [
    {
      group: 'memory',
      metric: 'RSS idle: core + scheduler, in-memory embedded store',
      value: mb(r.idleRss),
      unit: 'MB',
      note: `heap used ${mb(r.idleHeap)} MB; 1 workspace, 50 deals, after GC`,
    },
    {
      group: 'memory',
      metric: `RSS after ${RENDERS} chart renders`,
      value: mb(r.afterRss),
      unit: 'MB',
      note: `+${mb(r.afterRss - r.idleRss)} MB; funnel/dwell/trend, en+zh-CN, ${Math.round(r.rendersMs)} ms total`,
    },
    {
      group: 'memory',
      metric: `RSS after ${RENDERS} renders + GC (peak)`,
      value: mb(r.afterGcRss),
      unit: 'MB',
      note: `peak ${mb(r.peakRss)} MB; heap used after renders ${mb(r.afterHeap)} MB`,
    },
  ];
}

if (process.argv.includes('--child') && process.argv[1] === fileURLToPath(import.meta.url)) await child();

const mod: BenchModule = { name: 'memory', run };
export default mod;
