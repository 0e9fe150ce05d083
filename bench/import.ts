/**
 * Spreadsheet import bench (issue 10): a 10,000-row CSV previewed and imported into a fresh in-memory embedded
 * store, then re-imported (all rows unchanged); time per phase and peak RSS / heap sampled every 50 ms.
 */
import { createCore } from '../src/app.js';
import { silentLogger } from '../src/logger.js';
import { startEmbeddedMongo } from '../src/store/embedded/index.js';
import { enterWorkspace } from '../src/usecases/context.js';
import { previewImport, runImport } from '../src/usecases/transfer.js';
import { ms, type BenchModule, type BenchRow } from './lib.js';

const ROWS = 10_000;

function csv(n: number): Buffer {
  const lines = ['Deal,Company,Amount,Stage,Owner,Source,Close date,Created,Stage since,Next step'];
  const stages = ['lead', 'qualification', 'lead', 'qualification'];
  for (let i = 1; i <= n; i++)
    lines.push(
      `Deal ${i},Company ${i % 997},${(i % 90) + 10}k,${stages[i % 4]},bench,event,2027-0${(i % 9) + 1}-15,2026-0${(i % 9) + 1}-01,2026-10-0${(i % 9) + 1},Call ${i}`,
    );
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

async function run(): Promise<BenchRow[]> {
  const db = await startEmbeddedMongo();
  const core = await createCore({
    config: {
      MONGODB_URI: undefined,
      DATA_DIR: './data',
      DEFAULT_LOCALE: 'en',
      DEFAULT_TIMEZONE: 'UTC',
      DEFAULT_REVIEW_SCHEDULE: '0 9 * * 1',
    },
    logger: silentLogger,
    uri: db.uri,
    dbName: 'bench_import',
  });
  const rows: BenchRow[] = [];
  try {
    const ctx = await enterWorkspace(core.deps, {
      platform: 'console',
      externalWorkspaceId: 'bench',
      userId: 'bench',
    });
    const file = { buffer: csv(ROWS), filename: 'bench.csv' };
    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 50);
    let t = process.hrtime.bigint();
    const preview = await previewImport(ctx, file);
    const previewMs = ms(t);
    if (!preview.ok || preview.value.valid !== ROWS)
      throw new Error(`preview failed: ${JSON.stringify(preview)}`);
    t = process.hrtime.bigint();
    const first = await runImport(ctx, file, { mode: 'all_or_nothing', unknownColumns: 'ignore' });
    const importMs = ms(t);
    if (!first.ok || first.value.created !== ROWS)
      throw new Error(`import failed: ${JSON.stringify(first).slice(0, 500)}`);
    t = process.hrtime.bigint();
    const again = await runImport(ctx, file, { mode: 'valid_only', unknownColumns: 'ignore' });
    const reimportMs = ms(t);
    if (!again.ok || again.value.unchanged !== ROWS) throw new Error('re-import did not find every deal');
    clearInterval(sampler);
    const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
    rows.push(
      {
        group: 'import',
        metric: `preview ${ROWS} rows (parse+validate+lookups)`,
        value: previewMs,
        unit: 'ms',
        goal: '≤ 10000 ms',
        pass: previewMs <= 10_000,
      },
      {
        group: 'import',
        metric: `import ${ROWS} rows (new deals)`,
        value: importMs / 1000,
        unit: 's',
        goal: '≤ 120 s',
        pass: importMs <= 120_000,
        note: `${((importMs / ROWS) * 1000).toFixed(0)} µs/row`,
      },
      {
        group: 'import',
        metric: `re-import ${ROWS} rows (all unchanged)`,
        value: reimportMs / 1000,
        unit: 's',
      },
      {
        group: 'import',
        metric: 'peak RSS during import',
        value: mb(peakRss),
        unit: 'MB',
        note: `start ${mb(base.rss)} MB (embedded store in-process)`,
      },
      {
        group: 'import',
        metric: 'peak heap during import',
        value: mb(peakHeap),
        unit: 'MB',
        note: `start ${mb(base.heapUsed)} MB`,
      },
    );
  } finally {
    await core.stop();
    await db.stop();
  }
  return rows;
}

const mod: BenchModule = { name: 'import', run };
export default mod;
