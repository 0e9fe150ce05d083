/**
 * Public chart API: plain data in, PNG (+ alt text) out. See fonts.ts for the font
 * requirement ('Noto Sans CJK SC' from Debian fonts-noto-cjk) and the start-up check.
 */
import { checkChartFonts, type FontCheck } from './fonts.js';
import { renderChart } from './render.js';
import { dwellSpec, forecastSpec, funnelSpec, trendSpec, type BuiltChart } from './specs.js';
import type {
  ChartImage,
  DwellChartInput,
  ForecastChartInput,
  FunnelChartInput,
  TrendChartInput,
} from './types.js';

export type * from './types.js';
export { CHART_FONT_FAMILIES, chartFont, checkChartFonts, type FontCheck } from './fonts.js';
export { CHART_LABELS, type ChartLabels } from './labels.js';
export { renderChart, loadChartRuntime, type RenderedChart } from './render.js';
export { dwellSpec, forecastSpec, funnelSpec, trendSpec, CHART_WIDTH, type BuiltChart } from './specs.js';

async function toImage(built: BuiltChart): Promise<ChartImage> {
  const { png, width, height } = await renderChart(built.spec);
  return { png, width, height, altText: built.altText, title: built.title, filename: `${built.kind}.png` };
}

export const funnelChart = (input: FunnelChartInput): Promise<ChartImage> => toImage(funnelSpec(input));
export const dwellChart = (input: DwellChartInput): Promise<ChartImage> => toImage(dwellSpec(input));
export const trendChart = (input: TrendChartInput): Promise<ChartImage> => toImage(trendSpec(input));
export const forecastChart = (input: ForecastChartInput): Promise<ChartImage> => toImage(forecastSpec(input));

export interface WarmUpResult {
  fonts: FontCheck;
  /** Time to load the chart stack and render the first chart. */
  ms: number;
}

/**
 * Call once at start: loads vega/vega-lite/sharp, builds fontconfig's cache and touches the
 * CJK and Latin faces with a tiny chart, so the first user-facing chart is fast. Log
 * `fonts.hint` as a warning when `fonts.ok` is false.
 */
export async function warmUpCharts(): Promise<WarmUpResult> {
  const t0 = performance.now();
  const [fonts] = await Promise.all([
    checkChartFonts(),
    funnelChart({
      locale: 'zh-CN',
      currency: 'CNY',
      title: 'warm-up 预热',
      stages: [{ key: 'a', label: 'Lead 潜在客户', count: 1, value: 1, conversionToNext: null }],
    }),
  ]);
  return { fonts, ms: performance.now() - t0 };
}
