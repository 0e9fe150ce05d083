/**
 * Pure builders: plain chart inputs → Vega-Lite specs (+ title and alt text).
 * Everything visible is pre-formatted here with src/i18n/format.ts, except money axis ticks,
 * which use the `dpMoney(value, currency, locale)` expression function registered by
 * render.ts. No clock, no randomness: the same input gives the same spec.
 *
 * Data-dependent numbers live only in `data.values` and top-level `params` values (e.g. the
 * `xMax` scale bound), so render.ts can compile and parse one template per chart shape and
 * feed data and params in at render time.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  formatDays,
  formatDayShort,
  formatMoney,
  formatMonth,
  formatNumber,
  formatPercent,
  type Locale,
} from '../i18n/format.js';
import { chartFont } from './fonts.js';
import { CHART_LABELS } from './labels.js';
import type {
  ChartKind,
  DwellChartInput,
  ForecastChartInput,
  FunnelChartInput,
  FunnelStageInput,
  TrendChartInput,
} from './types.js';

export interface BuiltChart {
  kind: ChartKind;
  spec: TopLevelSpec;
  title: string;
  altText: string;
}

/** Total chart width in CSS px (autosize fit-x, padding included); the PNG is twice as wide. */
export const CHART_WIDTH = 800;
const FUNNEL_STEP = 52;
const DWELL_STEP = 40;
const PLOT_HEIGHT = 300;
const PADDING = 16;

export const COLORS = {
  open: '#3567d6',
  won: '#1f9d55',
  lost: '#b3b9c4',
  over: '#e07a2f',
  threshold: '#1f2937',
  created: '#3567d6',
  lostLine: '#d0453b',
  total: '#c9d7f4',
  text: '#1f2937',
  muted: '#6b7280',
  grid: '#e5e7eb',
} as const;

/** Monotone name for the money formatting expression (registered in render.ts). */
export const MONEY_EXPR = 'dpMoney';

function baseConfig(locale: Locale) {
  const font = chartFont(locale);
  return {
    font,
    background: '#ffffff',
    view: { stroke: null },
    title: {
      font,
      anchor: 'start' as const,
      fontSize: 17,
      fontWeight: 'bold' as const,
      color: COLORS.text,
      subtitleColor: COLORS.muted,
      subtitleFontSize: 12,
      offset: 14,
    },
    axis: {
      labelFont: font,
      titleFont: font,
      labelFontSize: 12,
      titleFontSize: 12,
      labelColor: '#374151',
      titleColor: COLORS.muted,
      titleFontWeight: 'normal' as const,
      gridColor: COLORS.grid,
      domainColor: '#9ca3af',
      tickColor: '#9ca3af',
    },
    legend: {
      labelFont: font,
      titleFont: font,
      labelFontSize: 12,
      labelColor: '#374151',
      orient: 'top' as const,
      direction: 'horizontal' as const,
      title: null,
      symbolType: 'square',
      columnPadding: 16,
    },
    text: { font },
  };
}

function moneyExpr(currency: string, locale: Locale): string {
  return `${MONEY_EXPR}(datum.value, ${JSON.stringify(currency)}, ${JSON.stringify(locale)})`;
}

function sep(locale: Locale) {
  return locale === 'zh-CN'
    ? { colon: '：', open: '（', close: '）', list: '；', comma: '，', end: '。' }
    : { colon: ': ', open: ' (', close: ')', list: '; ', comma: ', ', end: '.' };
}

/** Chart with just a title and a "no data" message. */
function emptySpec(kind: ChartKind, title: string, locale: Locale): BuiltChart {
  const L = CHART_LABELS[locale];
  const spec: TopLevelSpec = {
    ...frame(title, 160),
    data: { values: [{ t: L.noData }] },
    mark: { type: 'text', fontSize: 15, color: COLORS.muted, align: 'center', baseline: 'middle' },
    encoding: {
      text: { field: 't', type: 'nominal' },
      x: { value: CHART_WIDTH / 2 - PADDING },
      y: { value: 80 },
    },
    config: baseConfig(locale),
  };
  return { kind, spec, title, altText: `${title}${sep(locale).colon}${L.noData}${sep(locale).end}` };
}

function finite(n: number | null | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/** Open stages in pipeline order, then won, then lost (stable within each group). */
function orderFunnelStages(stages: FunnelStageInput[]): FunnelStageInput[] {
  const rank = (s: FunnelStageInput) => (s.terminal === 'lost' ? 2 : s.terminal === 'won' ? 1 : 0);
  return stages
    .map((s, i) => ({ s, i }))
    .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
    .map((x) => x.s);
}

/** What every chart shares: schema, width, autosize, padding and the title; `height` is the plot's. */
function frame(title: string, height: number) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: CHART_WIDTH,
    autosize: { type: 'fit-x' as const, contains: 'padding' as const },
    height,
    padding: PADDING,
    title: { text: title },
  };
}

export function funnelSpec(input: FunnelChartInput): BuiltChart {
  const { locale, currency } = input;
  const L = CHART_LABELS[locale];
  const title = input.title ?? L.funnelTitle;
  if (input.stages.length === 0) return emptySpec('funnel', title, locale);
  const stages = orderFunnelStages(input.stages);
  const rows = stages.map((s, i) => {
    const count = finite(s.count);
    const value = finite(s.value);
    const next = stages[i + 1];
    const conv = next && next.terminal !== 'lost' && s.terminal === undefined ? s.conversionToNext : null;
    return {
      i,
      label: s.label,
      count,
      kind: s.terminal ?? 'open',
      barLabel: `${formatNumber(count, locale)} · ${formatMoney(value, currency, locale, { compact: true })}`,
      conv:
        conv === null || conv === undefined || !Number.isFinite(conv)
          ? null
          : `↓ ${formatPercent(conv, locale)}`,
    };
  });
  const maxCount = Math.max(1, ...rows.map((r) => r.count));
  const y = {
    field: 'label',
    type: 'nominal' as const,
    sort: { field: 'i', op: 'min' as const, order: 'ascending' as const },
    scale: { paddingInner: 0.42, paddingOuter: 0.21 },
    axis: {
      title: null,
      domain: false,
      ticks: false,
      labelPadding: 10,
      labelFontSize: 13,
      labelLimit: 200,
      labelColor: COLORS.text,
    },
  };
  const x = {
    field: 'count',
    type: 'quantitative' as const,
    scale: { domainMin: 0, domainMax: { expr: 'xMax' }, nice: false },
    axis: null,
  };
  const spec: TopLevelSpec = {
    ...frame(title, FUNNEL_STEP * rows.length),
    data: { values: rows },
    params: [{ name: 'xMax', value: maxCount * 1.32 }],
    encoding: { y },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 3 },
        encoding: {
          x,
          color: {
            field: 'kind',
            type: 'nominal',
            scale: { domain: ['open', 'won', 'lost'], range: [COLORS.open, COLORS.won, COLORS.lost] },
            legend: null,
          },
        },
      },
      {
        transform: [{ filter: "datum.kind !== 'won'" }],
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 8, fontSize: 13, color: COLORS.text },
        encoding: { x, text: { field: 'barLabel', type: 'nominal' } },
      },
      {
        transform: [{ filter: "datum.kind === 'won'" }],
        mark: {
          type: 'text',
          align: 'left',
          baseline: 'middle',
          dx: 8,
          fontSize: 13,
          fontWeight: 'bold',
          color: COLORS.won,
        },
        encoding: { x, text: { field: 'barLabel', type: 'nominal' } },
      },
      {
        transform: [{ filter: 'datum.conv !== null' }],
        mark: {
          type: 'text',
          align: 'left',
          baseline: 'middle',
          dx: 4,
          yOffset: FUNNEL_STEP / 2,
          fontSize: 11,
          color: COLORS.muted,
        },
        encoding: { x: { datum: 0, type: 'quantitative', scale: x.scale }, text: { field: 'conv' } },
      },
    ],
    config: baseConfig(locale),
  };
  const s = sep(locale);
  const parts: string[] = [];
  stages.forEach((st, i) => {
    const item = `${st.label} ${L.deals(formatNumber(finite(st.count), locale))}${s.open}${formatMoney(finite(st.value), currency, locale, { compact: true })}${s.close}`;
    const conv = rows[i - 1]?.conv;
    if (i === 0) parts.push(item);
    else if (conv) parts.push(` → ${formatPercent(stages[i - 1]!.conversionToNext, locale)} → ${item}`);
    else parts.push(`${s.list}${item}`);
  });
  return { kind: 'funnel', spec, title, altText: `${L.funnelAlt}${s.colon}${parts.join('')}${s.end}` };
}

export function dwellSpec(input: DwellChartInput): BuiltChart {
  const { locale } = input;
  const L = CHART_LABELS[locale];
  const title = input.title ?? L.dwellTitle;
  if (input.stages.length === 0) return emptySpec('dwell', title, locale);
  const rows = input.stages.map((s, i) => {
    const avg = s.avgDays === null || !Number.isFinite(s.avgDays) ? null : s.avgDays;
    const threshold = finite(s.thresholdDays);
    const over = avg !== null && threshold > 0 && avg > threshold;
    return {
      i,
      label: s.label,
      avg: avg ?? 0,
      threshold,
      end: Math.max(avg ?? 0, threshold),
      series: over ? L.overThreshold : L.avgDays,
      thresholdSeries: L.threshold,
      text: `${formatDays(avg, locale)} / ${formatDays(threshold, locale)}`,
    };
  });
  const maxDays = Math.max(1, ...rows.map((r) => r.end));
  const xScale = { domainMin: 0, domainMax: { expr: 'xMax' }, nice: false };
  const colorScale = {
    domain: [L.avgDays, L.overThreshold, L.threshold],
    range: [COLORS.open, COLORS.over, COLORS.threshold],
  };
  const spec: TopLevelSpec = {
    ...frame(title, DWELL_STEP * rows.length),
    data: { values: rows },
    params: [{ name: 'xMax', value: maxDays * 1.3 }],
    encoding: {
      y: {
        field: 'label',
        type: 'nominal',
        sort: { field: 'i', op: 'min', order: 'ascending' },
        scale: { paddingInner: 0.35, paddingOuter: 0.2 },
        axis: {
          title: null,
          domain: false,
          ticks: false,
          labelPadding: 10,
          labelFontSize: 13,
          labelLimit: 200,
        },
      },
    },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 3 },
        encoding: {
          x: {
            field: 'avg',
            type: 'quantitative',
            scale: xScale,
            axis: { title: L.days, grid: true, tickCount: 6, format: '~r' },
          },
          color: { field: 'series', type: 'nominal', scale: colorScale },
        },
      },
      {
        mark: { type: 'tick', thickness: 3, bandSize: DWELL_STEP * 0.8 },
        encoding: {
          x: { field: 'threshold', type: 'quantitative', scale: xScale },
          color: { field: 'thresholdSeries', type: 'nominal', scale: colorScale },
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 8, fontSize: 12, color: COLORS.text },
        encoding: {
          x: { field: 'end', type: 'quantitative', scale: xScale },
          text: { field: 'text', type: 'nominal' },
        },
      },
    ],
    config: baseConfig(locale),
  };
  const s = sep(locale);
  const items = input.stages.map(
    (st) =>
      `${st.label} ${formatDays(st.avgDays, locale)}${s.open}${L.threshold} ${formatDays(st.thresholdDays, locale)}${
        st.avgDays !== null && st.avgDays > st.thresholdDays && st.thresholdDays > 0
          ? `${s.comma}${L.overThreshold}`
          : ''
      }${s.close}`,
  );
  return { kind: 'dwell', spec, title, altText: `${L.dwellAlt}${s.colon}${items.join(s.list)}${s.end}` };
}

export function trendSpec(input: TrendChartInput): BuiltChart {
  const { locale, currency } = input;
  const tz = input.timeZone ?? 'UTC';
  const L = CHART_LABELS[locale];
  const title = input.title ?? L.trendTitle;
  if (input.weeks.length === 0) return emptySpec('trend', title, locale);
  const weeks = [...input.weeks].sort((a, b) => a.weekStart.getTime() - b.weekStart.getTime());
  const series = [
    { key: 'created', label: L.created, color: COLORS.created },
    { key: 'won', label: L.won, color: COLORS.won },
    { key: 'lost', label: L.lost, color: COLORS.lostLine },
  ] as const;
  const rows = weeks.flatMap((w, i) =>
    series.map((sr, j) => ({
      i,
      j,
      week: formatDayShort(w.weekStart, locale, tz),
      series: sr.label,
      value: finite(w[sr.key]),
    })),
  );
  const spec: TopLevelSpec = {
    ...frame(title, PLOT_HEIGHT),
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 2.5, point: { size: 40, filled: true } },
    encoding: {
      x: {
        field: 'week',
        type: 'ordinal',
        sort: { field: 'i', op: 'min', order: 'ascending' },
        axis: { title: L.week, labelAngle: 0, labelOverlap: true, ticks: false, domainColor: '#9ca3af' },
        scale: { paddingOuter: 0.3 },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        axis: {
          title: null,
          labelExpr: moneyExpr(currency, locale),
          tickCount: 5,
          domain: false,
          ticks: false,
        },
      },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: series.map((sr) => sr.label), range: series.map((sr) => sr.color) },
      },
      order: { field: 'j' },
    },
    config: baseConfig(locale),
  };
  const s = sep(locale);
  const money = (n: number) => formatMoney(n, currency, locale, { compact: true });
  const sum = (k: 'created' | 'won' | 'lost') => weeks.reduce((a, w) => a + finite(w[k]), 0);
  const first = weeks[0]!;
  const last = weeks[weeks.length - 1]!;
  const range = `${formatDayShort(first.weekStart, locale, tz)} – ${formatDayShort(last.weekStart, locale, tz)}`;
  const totals = series.map((sr) => `${sr.label} ${money(sum(sr.key))}`).join(s.list);
  const weekly = weeks
    .map(
      (w) =>
        `${formatDayShort(w.weekStart, locale, tz)}${s.colon}${series.map((sr) => `${sr.label} ${money(finite(w[sr.key]))}`).join(s.comma)}`,
    )
    .join(s.list);
  return {
    kind: 'trend',
    spec,
    title,
    altText: `${L.trendAlt}${s.open}${range}${s.close}${s.colon}${totals}${s.end} ${weekly}${s.end}`,
  };
}

function monthDate(month: string): Date | null {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
}

export function forecastSpec(input: ForecastChartInput): BuiltChart {
  const { locale, currency } = input;
  const L = CHART_LABELS[locale];
  const title = input.title ?? L.forecastTitle;
  if (input.months.length === 0) return emptySpec('forecast', title, locale);
  const months = [...input.months].sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : 0));
  const money = (n: number) => formatMoney(n, currency, locale, { compact: true });
  const monthLabel = (m: string) => {
    const d = monthDate(m);
    return d ? formatMonth(d, locale, 'UTC') : m;
  };
  const rows = months.map((m, i) => ({
    i,
    month: monthLabel(m.month),
    weighted: finite(m.weighted),
    total: Math.max(finite(m.total), finite(m.weighted)),
    text: money(finite(m.weighted)),
  }));
  const colorScale = { domain: [L.weighted, L.total], range: [COLORS.open, COLORS.total] };
  const x = {
    field: 'month',
    type: 'ordinal' as const,
    sort: { field: 'i', op: 'min' as const, order: 'ascending' as const },
    scale: { paddingInner: 0.3, paddingOuter: 0.2 },
    axis: { title: L.month, labelAngle: 0, labelOverlap: true, ticks: false, domainColor: '#9ca3af' },
  };
  const maxTotal = Math.max(1, ...rows.map((r) => r.total));
  const y = {
    type: 'quantitative' as const,
    scale: { domainMin: 0, domainMax: { expr: 'yMax' }, nice: false },
    axis: { title: null, labelExpr: moneyExpr(currency, locale), tickCount: 5, domain: false, ticks: false },
  };
  const spec: TopLevelSpec = {
    ...frame(title, PLOT_HEIGHT),
    data: { values: rows },
    params: [{ name: 'yMax', value: maxTotal * 1.12 }],
    encoding: { x },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusTopLeft: 3, cornerRadiusTopRight: 3 },
        encoding: { y: { ...y, field: 'total' }, color: { datum: L.total, scale: colorScale } },
      },
      {
        mark: { type: 'bar', cornerRadiusTopLeft: 3, cornerRadiusTopRight: 3 },
        encoding: { y: { ...y, field: 'weighted' }, color: { datum: L.weighted, scale: colorScale } },
      },
      {
        mark: {
          type: 'text',
          baseline: 'bottom',
          dy: -4,
          fontSize: 12,
          fontWeight: 'bold',
          color: COLORS.open,
        },
        encoding: { y: { ...y, field: 'total' }, text: { field: 'text', type: 'nominal' } },
      },
    ],
    config: baseConfig(locale),
  };
  const s = sep(locale);
  const items = months.map(
    (m) =>
      `${monthLabel(m.month)} ${L.weighted} ${money(finite(m.weighted))}${s.open}${L.total} ${money(finite(m.total))}${s.close}`,
  );
  return {
    kind: 'forecast',
    spec,
    title,
    altText: `${L.forecastAlt}${s.colon}${items.join(s.list)}${s.end}`,
  };
}
