/** Plain-data inputs for the chart builders; the analytics code fills these. */
import type { Locale } from '../i18n/format.js';

export type { Locale };

export interface FunnelStageInput {
  key: string;
  /** Display name in the workspace locale (e.g. 'Lead' / '潜在客户'). */
  label: string;
  count: number;
  /** Total deal value in the workspace currency. */
  value: number;
  /** Share of this stage's deals that reached the next stage (0..1), null when undefined. */
  conversionToNext: number | null;
  terminal?: 'won' | 'lost';
}

export interface FunnelChartInput {
  locale: Locale;
  /** ISO 4217 code, e.g. 'USD', 'CNY'. */
  currency: string;
  title?: string;
  /** In pipeline order; terminal 'lost' stages are drawn last and muted. */
  stages: FunnelStageInput[];
}

export interface DwellStageInput {
  key: string;
  label: string;
  avgDays: number | null;
  medianDays: number | null;
  thresholdDays: number;
}

export interface DwellChartInput {
  locale: Locale;
  title?: string;
  /** In pipeline order. */
  stages: DwellStageInput[];
}

export interface TrendWeekInput {
  /** Start of the week (an instant; shown as a date in `timeZone`). */
  weekStart: Date;
  /** Value of deals created / won / lost that week. */
  created: number;
  won: number;
  lost: number;
}

export interface TrendChartInput {
  locale: Locale;
  currency: string;
  /** IANA zone used to print the week dates; default 'UTC'. */
  timeZone?: string;
  title?: string;
  /** Usually 12 weeks; sorted by weekStart before drawing. */
  weeks: TrendWeekInput[];
}

export interface ForecastMonthInput {
  /** 'YYYY-MM' (expected close month). */
  month: string;
  /** Probability-weighted value. */
  weighted: number;
  /** Unweighted open value. */
  total: number;
}

export interface ForecastChartInput {
  locale: Locale;
  currency: string;
  title?: string;
  /** Sorted by month before drawing. */
  months: ForecastMonthInput[];
}

export interface ChartImage {
  png: Buffer;
  /** Pixel size of the PNG (2× the spec size). */
  width: number;
  height: number;
  /** Text summary of the data in the chart's locale, for screen readers and chat fallbacks. */
  altText: string;
  title: string;
  /** Deterministic file name, e.g. 'funnel.png'. */
  filename: string;
}

export type ChartKind = 'funnel' | 'dwell' | 'trend' | 'forecast';
