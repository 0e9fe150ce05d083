import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHART_WIDTH,
  checkChartFonts,
  dwellChart,
  dwellSpec,
  forecastChart,
  forecastSpec,
  funnelChart,
  funnelSpec,
  renderChart,
  trendChart,
  trendSpec,
  warmUpCharts,
  type BuiltChart,
  type ChartImage,
  type Locale,
} from '../../src/charts/index.js';
import { dwellInput, forecastInput, funnelInput, trendInput } from './fixtures.js';

const PNG_WIDTH = CHART_WIDTH * 2;

/** Expected visible strings per chart and locale (labels, formatted numbers, dates, font). */
const EXPECT: Record<Locale, Record<string, string[]>> = {
  en: {
    font: ['DejaVu Sans', 'Noto Sans CJK SC'],
    funnel: ['Pipeline funnel', 'Lead', 'Proposal / Quote', '120 · $1.2M', '14 · $300k', '↓ 67%', 'Lost'],
    dwell: ['Days in stage', 'Average days', 'Threshold', 'Over threshold', '9.2 d / 7 d', '— / 10 d'],
    trend: ['Weekly pipeline value', 'Created', 'Won', 'Lost', 'Sep 7', 'Nov 23', 'Week of', '$400k'],
    forecast: ['Forecast by expected close month', 'Dec 2026', 'Feb 2027', 'Weighted', 'Total open', '$1.2M'],
  },
  'zh-CN': {
    font: ['Noto Sans CJK SC'],
    funnel: ['销售漏斗', '潜在客户', '方案/报价', '120 · ¥120万', '14 · ¥30万', '↓ 67%', '输单'],
    dwell: ['阶段停留天数', '平均天数', '阈值', '超出阈值', '9.2 天 / 7 天', '— / 10 天'],
    trend: ['每周商机金额', '新建', '赢单', '输单', '9月7日', '11月23日', '周起始', '¥40万'],
    forecast: ['按预计成交月份的预测', '2026年12月', '2027年2月', '加权金额', '未结总额', '¥120万'],
  },
};

const BUILD = {
  funnel: (l: Locale) => funnelSpec(funnelInput(l)),
  dwell: (l: Locale) => dwellSpec(dwellInput(l)),
  trend: (l: Locale) => trendSpec(trendInput(l)),
  forecast: (l: Locale) => forecastSpec(forecastInput(l)),
} satisfies Record<string, (l: Locale) => BuiltChart>;

const PUBLIC = {
  funnel: (l: Locale) => funnelChart(funnelInput(l)),
  dwell: (l: Locale) => dwellChart(dwellInput(l)),
  trend: (l: Locale) => trendChart(trendInput(l)),
  forecast: (l: Locale) => forecastChart(forecastInput(l)),
} satisfies Record<string, (l: Locale) => Promise<ChartImage>>;

/** vega escapes XML specials in text; undo the ones our labels use. */
const unescape = (svg: string) =>
  svg
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<');

beforeAll(async () => {
  await warmUpCharts();
});

describe('chart fonts', () => {
  it('the chart faces are installed (CI: apt-get install fonts-noto-cjk)', async () => {
    const check = await checkChartFonts();
    expect(check.missing, check.hint).toEqual([]);
    expect(check.ok).toBe(true);
  });
});

for (const locale of ['en', 'zh-CN'] as const) {
  describe(`charts (${locale})`, () => {
    for (const kind of ['funnel', 'dwell', 'trend', 'forecast'] as const) {
      it(`${kind}: SVG has localized labels and the locale's font; PNG decodes at 2×`, async () => {
        const built = BUILD[kind](locale);
        const { svg, png, width, height } = await renderChart(built.spec);
        const text = unescape(svg);
        for (const s of [...EXPECT[locale][kind]!, ...EXPECT[locale].font!]) expect(text).toContain(s);
        const first = EXPECT[locale].font![0]!;
        expect(text).toMatch(new RegExp(`font-family="'${first}'`));
        const meta = await sharp(png).metadata();
        expect(meta.format).toBe('png');
        expect(meta.width).toBe(PNG_WIDTH);
        expect(width).toBe(PNG_WIDTH);
        expect(meta.height).toBe(height);
        expect(height).toBeGreaterThan(300);

        const image = await PUBLIC[kind](locale);
        expect(image.png.equals(png)).toBe(true);
        expect(image.filename).toBe(`${kind}.png`);
        expect(image.title).toBe(built.title);
        expect(image.altText.length).toBeGreaterThan(30);
      });
    }
  });
}

describe('alt text', () => {
  it('funnel summarises stages, counts, values and conversion in the locale', () => {
    expect(funnelSpec(funnelInput('en')).altText).toBe(
      'Funnel: Lead 120 deals ($1.2M) → 67% → Qualification 80 deals ($950k) → 50% → ' +
        'Proposal / Quote 40 deals ($610k) → 55% → Negotiation 22 deals ($420k) → 64% → ' +
        'Won 14 deals ($300k); Lost 31 deals ($390k).',
    );
    expect(funnelSpec(funnelInput('zh-CN')).altText).toMatch(
      /^销售漏斗：潜在客户 120 个商机（¥120万） → 67% → 需求确认 80 个商机（¥95万）.*；输单 31 个商机（¥39万）。$/,
    );
  });
  it('other charts mention their data', () => {
    expect(dwellSpec(dwellInput('en')).altText).toContain(
      'Qualification 9.2 d (Threshold 7 d, Over threshold)',
    );
    expect(trendSpec(trendInput('zh-CN')).altText).toContain('9月7日 – 11月23日');
    expect(forecastSpec(forecastInput('en')).altText).toContain('Dec 2026 Weighted $1.2M (Total open $2.5M)');
  });
});

describe('determinism and empty data', () => {
  it('same input twice gives identical PNG bytes', async () => {
    const a = await funnelChart(funnelInput('zh-CN'));
    const b = await funnelChart(funnelInput('zh-CN'));
    expect(a.png.equals(b.png)).toBe(true);
    expect(a.altText).toBe(b.altText);
  });

  it('SVG is byte-identical across renders, and cached templates do not leak data between charts', async () => {
    const spec = funnelSpec(funnelInput('en')).spec;
    const first = await renderChart(spec);
    const other = funnelInput('en');
    other.stages = other.stages.map((s) => ({ ...s, count: s.count * 3, value: s.value / 2 }));
    const second = await renderChart(funnelSpec(other).spec);
    expect(second.svg).not.toBe(first.svg);
    expect(unescape(second.svg)).toContain('360 · $600k');
    const again = await renderChart(spec);
    expect(again.svg).toBe(first.svg);
    expect(again.png.equals(first.png)).toBe(true);
  });

  it('stage order: open stages, then Won, then Lost', () => {
    const spec = funnelSpec(funnelInput('en')).spec as { data: { values: Array<{ label: string }> } };
    expect(spec.data.values.map((r) => r.label)).toEqual([
      'Lead',
      'Qualification',
      'Proposal / Quote',
      'Negotiation',
      'Won',
      'Lost',
    ]);
  });

  it('empty inputs render an empty-state chart', async () => {
    for (const locale of ['en', 'zh-CN'] as const) {
      const empties = [
        funnelChart({ locale, currency: 'USD', stages: [] }),
        dwellChart({ locale, stages: [] }),
        trendChart({ locale, currency: 'USD', weeks: [] }),
        forecastChart({ locale, currency: 'USD', months: [] }),
      ];
      for (const img of await Promise.all(empties)) {
        expect((await sharp(img.png).metadata()).width).toBe(PNG_WIDTH);
        expect(img.altText).toContain(locale === 'en' ? 'No data yet' : '暂无数据');
      }
    }
    const { svg } = await renderChart(funnelSpec({ locale: 'zh-CN', currency: 'CNY', stages: [] }).spec);
    expect(svg).toContain('暂无数据');
  });

  it('all-zero and NaN values do not throw', async () => {
    const input = funnelInput('en');
    input.stages = input.stages.map((s) => ({ ...s, count: 0, value: Number.NaN }));
    const img = await funnelChart(input);
    expect(img.width).toBe(PNG_WIDTH);
  });
});
