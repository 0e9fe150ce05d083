/**
 * `npm run bench [-- name ...]`: runs every bench module (or the named ones),
 * prints one table and writes bench/results/latest.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { printTable, type BenchModule, type BenchRow } from './lib.js';

const modules: Record<string, () => Promise<{ default: BenchModule }>> = {
  store: () => import('./embedded-store.js'),
  charts: () => import('./charts.js'),
  import: () => import('./import.js'),
  'stall-scan': () => import('./stall-scan.js'),
  analytics: () => import('./analytics.js'),
  slack: () => import('./slack.js'),
  memory: () => import('./memory.js'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const rows: BenchRow[] = [];
for (const [name, load] of Object.entries(modules)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const mod = (await load()).default;
  process.stderr.write(`bench: ${mod.name}…\n`);
  rows.push(...(await mod.run()));
}
printTable(rows);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/latest.json', import.meta.url),
  JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2),
);
process.exit(0);
