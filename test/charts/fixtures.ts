import type {
  DwellChartInput,
  ForecastChartInput,
  FunnelChartInput,
  Locale,
  TrendChartInput,
} from '../../src/charts/index.js';

const STAGES: Record<Locale, string[]> = {
  en: ['Lead', 'Qualification', 'Proposal / Quote', 'Negotiation', 'Won', 'Lost'],
  'zh-CN': ['潜在客户', '需求确认', '方案/报价', '商务谈判', '赢单', '输单'],
};
const CURRENCY: Record<Locale, string> = { en: 'USD', 'zh-CN': 'CNY' };

export function funnelInput(locale: Locale): FunnelChartInput {
  const n = STAGES[locale];
  return {
    locale,
    currency: CURRENCY[locale],
    stages: [
      { key: 'lead', label: n[0]!, count: 120, value: 1_200_000, conversionToNext: 0.667 },
      { key: 'qual', label: n[1]!, count: 80, value: 950_000, conversionToNext: 0.5 },
      { key: 'prop', label: n[2]!, count: 40, value: 610_000, conversionToNext: 0.55 },
      { key: 'neg', label: n[3]!, count: 22, value: 420_000, conversionToNext: 0.64 },
      { key: 'lost', label: n[5]!, count: 31, value: 390_000, conversionToNext: null, terminal: 'lost' },
      { key: 'won', label: n[4]!, count: 14, value: 300_000, conversionToNext: null, terminal: 'won' },
    ],
  };
}

export function dwellInput(locale: Locale): DwellChartInput {
  const n = STAGES[locale];
  return {
    locale,
    stages: [
      { key: 'lead', label: n[0]!, avgDays: 3.5, medianDays: 3, thresholdDays: 5 },
      { key: 'qual', label: n[1]!, avgDays: 9.2, medianDays: 8, thresholdDays: 7 },
      { key: 'prop', label: n[2]!, avgDays: 12, medianDays: 10, thresholdDays: 14 },
      { key: 'neg', label: n[3]!, avgDays: null, medianDays: null, thresholdDays: 10 },
    ],
  };
}

export function trendInput(locale: Locale): TrendChartInput {
  return {
    locale,
    currency: CURRENCY[locale],
    timeZone: 'Asia/Shanghai',
    weeks: Array.from({ length: 12 }, (_, i) => ({
      // Mondays 00:00 in Shanghai, given in reverse order to check sorting.
      weekStart: new Date(Date.UTC(2026, 8, 7 + 7 * (11 - i), -8)),
      created: (200 + ((i * 37) % 90) * 3) * 1000,
      won: (40 + ((i * 53) % 70)) * 1000,
      lost: (20 + ((i * 29) % 50)) * 1000,
    })),
  };
}

export function forecastInput(locale: Locale): ForecastChartInput {
  return {
    locale,
    currency: CURRENCY[locale],
    months: ['2027-02', '2026-12', '2027-01'].map((month, i) => ({
      month,
      weighted: [250_000, 1_200_000, 380_000][i]!,
      total: [620_000, 2_500_000, 800_000][i]!,
    })),
  };
}
