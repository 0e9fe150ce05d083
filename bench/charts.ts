/**
 * Chart rendering bench (issue 5):
 *  - warm p50 of funnelChart() vs the bare pipeline on the same spec, interleaved in one run
 *    (bare = vega.parse(compiled spec) → View('none').toSVG() → finalize → sharp(density 144).png();
 *    funnelChart also builds the Vega-Lite spec and alt text, but reuses the compiled+parsed
 *    template of the chart shape, so it can beat the bare pipeline); plus the cache-miss case;
 *  - first chart in a fresh process: a child `node --import tsx` imports src/charts and renders
 *    one funnel; the child reports import+render time (and time since its process start),
 *    next to a bare child importing vega/vega-lite/sharp and rendering the same spec;
 *  - the same with an empty fontconfig cache dir (first start on a fresh install);
 *  - RSS after 100 renders.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, ms, percentile, type BenchModule, type BenchRow } from './lib.js';
import type { FunnelChartInput } from '../src/charts/types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHARTS = new URL('../src/charts/index.ts', import.meta.url).href;
const WARM_RUNS = 50;
const FRESH_RUNS = 3;

const INPUT: FunnelChartInput = {
  locale: 'zh-CN',
  currency: 'CNY',
  stages: [
    { key: 'lead', label: '潜在客户', count: 120, value: 8_400_000, conversionToNext: 0.667 },
    { key: 'qual', label: '需求确认', count: 80, value: 6_650_000, conversionToNext: 0.5 },
    { key: 'prop', label: '方案/报价', count: 40, value: 4_270_000, conversionToNext: 0.55 },
    { key: 'neg', label: '商务谈判', count: 22, value: 2_940_000, conversionToNext: 0.64 },
    { key: 'won', label: '赢单', count: 14, value: 2_100_000, conversionToNext: null, terminal: 'won' },
    { key: 'lost', label: '输单', count: 31, value: 2_730_000, conversionToNext: null, terminal: 'lost' },
  ],
};

interface ChildResult {
  /** From the first line of the child script (imports start) to the PNG buffer. */
  importRenderMs: number;
  /** performance.now() at the end = since the child's process start (node + tsx boot included). */
  sinceStartMs: number;
}

function runChild(code: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { cwd: ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        const line = stdout.trim().split('\n').pop() ?? '';
        resolve(JSON.parse(line) as ChildResult);
      },
    );
  });
}

const REPORT = `console.log(JSON.stringify({ importRenderMs: performance.now() - t0, sinceStartMs: performance.now() }));`;

function appChildCode(): string {
  return `const t0 = performance.now();
const { funnelChart } = await import(${JSON.stringify(CHARTS)});
const img = await funnelChart(${JSON.stringify(INPUT)});
if (img.png.length < 1000) throw new Error('no png');
${REPORT}`;
}

function bareChildCode(vgSpecPath: string): string {
  return `const t0 = performance.now();
const [vega, sharp, fs] = await Promise.all([import('vega'), import('sharp'), import('node:fs')]);
await import('vega-lite');
const spec = JSON.parse(fs.readFileSync(${JSON.stringify(vgSpecPath)}, 'utf8'));
const view = new vega.View(vega.parse(spec), { renderer: 'none' });
const svg = await view.toSVG();
view.finalize();
const png = await sharp.default(Buffer.from(svg), { density: 144 }).png().toBuffer();
if (png.length < 1000) throw new Error('no png');
${REPORT}`;
}

async function fresh(code: string, env?: NodeJS.ProcessEnv): Promise<ChildResult[]> {
  const out: ChildResult[] = [];
  for (let i = 0; i < FRESH_RUNS; i++) out.push(await runChild(code, env));
  return out;
}

const round = (n: number) => Math.round(n * 10) / 10;

async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const group = 'charts';

  // ---- fresh processes first (before this process loads the chart stack) ----
  const { funnelSpec } = await import('../src/charts/specs.js');
  const { loadChartRuntime } = await import('../src/charts/render.js');
  const rt = await loadChartRuntime();
  const vgSpec = rt.compile(funnelSpec(INPUT).spec).spec;
  const dir = mkdtempSync(join(tmpdir(), 'dp-bench-charts-'));
  try {
    const specPath = join(dir, 'funnel.vg.json');
    writeFileSync(specPath, JSON.stringify(vgSpec));
    const app = await fresh(appChildCode());
    const bare = await fresh(bareChildCode(specPath));
    const coldEnv = (i: number) => ({ ...process.env, XDG_CACHE_HOME: join(dir, `cache-${i}`) });
    const appCold = await runChild(appChildCode(), coldEnv(0));
    const bareCold = await runChild(bareChildCode(specPath), coldEnv(1));
    const med = (r: ChildResult[], k: keyof ChildResult) => median(r.map((x) => x[k]));
    const firstApp = med(app, 'importRenderMs');
    rows.push({
      group,
      metric: 'first funnel, fresh process (import+render, median of 3)',
      value: round(firstApp),
      unit: 'ms',
      goal: '≤ 1000 ms',
      pass: firstApp <= 1000,
      note: `bare pipeline ${round(med(bare, 'importRenderMs'))} ms; since process start: app ${round(med(app, 'sinceStartMs'))} ms, bare ${round(med(bare, 'sinceStartMs'))} ms`,
    });
    rows.push({
      group,
      metric: 'first funnel, fresh process, empty fontconfig cache',
      value: round(appCold.importRenderMs),
      unit: 'ms',
      goal: '≤ 1000 ms',
      pass: appCold.importRenderMs <= 1000,
      note: `bare pipeline ${round(bareCold.importRenderMs)} ms (fresh install, first start)`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- warm, interleaved ----
  const { funnelChart } = await import('../src/charts/index.js');
  const { vega, sharp } = rt;
  const bareRender = async (): Promise<Buffer> => {
    const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    return sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  };
  const bareWithCompile = async (): Promise<Buffer> => {
    const spec = rt.compile(funnelSpec(INPUT).spec).spec;
    const view = new vega.View(vega.parse(spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    return sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  };
  for (let i = 0; i < 5; i++) {
    await funnelChart(INPUT);
    await bareRender();
    await bareWithCompile();
  }
  const tApp: number[] = [];
  const tBare: number[] = [];
  const tBareVl: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) {
    let t = process.hrtime.bigint();
    await funnelChart(INPUT);
    tApp.push(ms(t));
    t = process.hrtime.bigint();
    await bareRender();
    tBare.push(ms(t));
    t = process.hrtime.bigint();
    await bareWithCompile();
    tBareVl.push(ms(t));
  }
  const p50App = median(tApp);
  const p50Bare = median(tBare);
  const ratio = p50App / p50Bare;
  rows.push({
    group,
    metric: `funnelChart warm p50 (${WARM_RUNS} renders, zh-CN, 6 stages, 1600 px)`,
    value: round(p50App),
    unit: 'ms',
    note: `p95 ${round(percentile(tApp, 95))} ms`,
  });
  rows.push({
    group,
    metric: 'bare vega→svg→sharp warm p50, same compiled spec',
    value: round(p50Bare),
    unit: 'ms',
    note: `with vega-lite compile per call: ${round(median(tBareVl))} ms`,
  });
  rows.push({
    group,
    metric: 'funnelChart / bare pipeline (warm p50)',
    value: Math.round(ratio * 100) / 100,
    unit: '×',
    goal: '≤ 1.2×',
    pass: ratio <= 1.2,
    note: `vs bare incl. vega-lite compile: ${(p50App / median(tBareVl)).toFixed(2)}×`,
  });

  // ---- worst case: template cache miss (new chart shape) on every call ----
  const { clearChartTemplateCache } = await import('../src/charts/render.js');
  const tCold: number[] = [];
  for (let i = 0; i < 20; i++) {
    clearChartTemplateCache();
    const t = process.hrtime.bigint();
    await funnelChart(INPUT);
    tCold.push(ms(t));
  }
  rows.push({
    group,
    metric: 'funnelChart p50, template cache cleared each call',
    value: round(median(tCold)),
    unit: 'ms',
    note: 'new chart shape: vega-lite compile + vega parse included',
  });

  // ---- memory ----
  const rssBefore = process.memoryUsage().rss;
  for (let i = 0; i < 100; i++) await funnelChart(INPUT);
  const rssAfter = process.memoryUsage().rss;
  rows.push({
    group,
    metric: 'RSS after 100 more funnel renders',
    value: Math.round(rssAfter / 2 ** 20),
    unit: 'MB',
    note: `before: ${Math.round(rssBefore / 2 ** 20)} MB (whole bench process)`,
  });
  return rows;
}

export default { name: 'charts', run } satisfies BenchModule;
