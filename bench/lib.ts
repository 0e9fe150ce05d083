/** Shared helpers for `npm run bench`: every bench module returns rows; run.ts prints one table. */
export interface BenchRow {
  group: string;
  metric: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. "≤ 1 ms". */
  goal?: string;
  /** Whether the value meets the goal (undefined when there is no goal). */
  pass?: boolean;
  note?: string;
}

export type BenchModule = { name: string; run: () => Promise<BenchRow[]> };

export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const median = (samples: number[]): number => percentile(samples, 50);

export function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function printTable(rows: BenchRow[]): void {
  const header = ['group', 'metric', 'value', 'unit', 'goal', 'ok', 'note'];
  const body = rows.map((r) => [
    r.group,
    r.metric,
    Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(r.value < 10 ? 3 : 1),
    r.unit,
    r.goal ?? '',
    r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const b of body) console.log(line(b));
}
