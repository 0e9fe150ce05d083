/**
 * Pipeline reports as platform-neutral messages: `/pipeline` (KPI summary,
 * funnel image, top bottleneck), `/pipeline forecast`, `/pipeline stalled` and
 * the weekly digest. All text comes from the `analytics.` catalogue.
 */
import { forecastChart, funnelChart } from '../charts/index.js';
import type { FunnelStageInput } from '../charts/types.js';
import type { Bottleneck, Compared } from '../domain/metrics.js';
import { MIN_SAMPLE } from '../domain/metrics.js';
import { stageLabel } from '../domain/pipeline.js';
import type { Locale } from '../domain/types.js';
import { t } from '../i18n/index.js';
import { formatDays, formatMoney, formatNumber, formatPercent } from '../i18n/format.js';
import type { PipelineReport, StalledReport } from '../usecases/reports.js';
import type { RichBlock, RichMessage, RichText } from './rich.js';
import { daysInStage } from '../domain/deal.js';

const k = (key: string) => `analytics.${key}`;

function periodText(r: PipelineReport): string {
  return t(r.locale, k(`period.${r.period.kind}`), { days: r.period.days ?? 0 });
}

function money(r: PipelineReport, v: number | null): string {
  return v === null ? t(r.locale, k('none')) : formatMoney(v, r.currency, r.locale, { compact: true });
}

const pct = (v: number | null, locale: Locale) => formatPercent(v, locale);

/** `42% (prev. 30%)`. */
function vs(locale: Locale, c: Compared, fmt: (v: number | null) => string): RichText {
  return [t(locale, k('vsPrev'), { value: fmt(c.current), previous: fmt(c.previous) })];
}

/** The filters under a header; the period too when the header does not name it. */
function filterContext(r: PipelineReport, withPeriod = false): RichText {
  const parts: RichText[] = [];
  if (withPeriod) parts.push([periodText(r)]);
  if (r.filter.ownerId) parts.push([t(r.locale, k('filterOwner')), { mention: r.filter.ownerId }]);
  if (r.filter.source)
    parts.push([t(r.locale, k('filterSource'), { source: t(r.locale, `source.${r.filter.source}`) })]);
  return parts.flatMap((p, i) => (i === 0 ? p : [' · ', ...p]));
}

/** The context block under a header, when there is anything to say. */
const contextBlocks = (text: RichText): RichBlock[] => (text.length ? [{ type: 'context', text }] : []);

function kpiFields(r: PipelineReport): { label: string; value: RichText }[] {
  const { locale } = r;
  const n = r.kpis.now;
  const f = r.kpis.flow;
  return [
    { label: t(locale, k('kpi.open')), value: [formatNumber(n.openCount, locale)] },
    { label: t(locale, k('kpi.pipeline')), value: [money(r, n.pipelineValue)] },
    { label: t(locale, k('kpi.weighted')), value: [money(r, n.weightedValue)] },
    { label: t(locale, k('kpi.winRate')), value: vs(locale, f.winRate, (v) => pct(v, locale)) },
    { label: t(locale, k('kpi.leadToOpp')), value: vs(locale, f.leadToOpportunity, (v) => pct(v, locale)) },
    {
      label: t(locale, k('kpi.cycle')),
      value: vs(locale, r.kpis.time.salesCycleDays, (v) => formatDays(v, locale)),
    },
    {
      label: t(locale, k('kpi.stalled')),
      value: [
        t(locale, k('countValue'), {
          count: formatNumber(n.stalledCount, locale),
          value: money(r, n.stalledValue),
        }),
      ],
    },
  ];
}

/** One sentence for a bottleneck plus its suggestions. */
export function bottleneckBlocks(r: PipelineReport, b: Bottleneck): RichBlock[] {
  const { locale } = r;
  const text = t(locale, k(`bottleneck.${b.kind}`), {
    stage: stageLabel(r.stages, b.stage, locale),
    conversion: pct(b.conversion, locale),
    baseline: pct(b.baseline, locale),
    baselineKind: b.baselineKind ? t(locale, k(`bottleneck.${b.baselineKind}`)) : '',
    median: formatDays(b.medianDays, locale),
    threshold: formatDays(b.thresholdDays, locale),
  });
  return [
    { type: 'text', text: [{ bold: text }] },
    { type: 'context', text: [t(locale, k('suggestionsTitle'))] },
    { type: 'list', items: b.suggestions.map((s) => [t(locale, k(`suggest.${s}`))]) },
  ];
}

function funnelStages(r: PipelineReport): FunnelStageInput[] {
  const conv = new Map(r.kpis.flow.stages.map((s) => [s.key, s.conversion.current]));
  const open: FunnelStageInput[] = r.kpis.now.stages
    .filter((s) => s.active)
    .map((s) => ({
      key: s.key,
      label: stageLabel(r.stages, s.key, r.locale),
      count: s.count,
      value: s.value,
      conversionToNext: conv.get(s.key) ?? null,
    }));
  const won = r.stages.find((s) => s.terminal === 'won');
  if (won)
    open.push({
      key: won.key,
      label: won.labels[r.locale],
      count: r.kpis.flow.won.current,
      value: r.kpis.flow.wonValue.current,
      conversionToNext: null,
      terminal: 'won',
    });
  return open;
}

function summary(r: PipelineReport): string {
  return t(r.locale, k('summary'), {
    open: formatNumber(r.kpis.now.openCount, r.locale),
    pipeline: money(r, r.kpis.now.pipelineValue),
    weighted: money(r, r.kpis.now.weightedValue),
    winRate: pct(r.kpis.flow.winRate.current, r.locale),
  });
}

/** `/pipeline`: funnel image, KPI summary, the top bottleneck with suggestions. */
export async function pipelineMessage(r: PipelineReport): Promise<RichMessage> {
  const { locale } = r;
  const image = await funnelChart({ locale, currency: r.currency, stages: funnelStages(r) });
  const blocks: RichBlock[] = [
    { type: 'header', text: t(locale, k('title'), { period: periodText(r) }) },
    ...contextBlocks(filterContext(r)),
    { type: 'image', image },
    { type: 'fields', fields: kpiFields(r) },
  ];
  const top = r.bottlenecks[0];
  blocks.push({ type: 'divider' });
  if (top) blocks.push(...bottleneckBlocks(r, top));
  else
    blocks.push({
      type: 'context',
      text: [t(locale, k('noBottleneck')), ' ', t(locale, k('smallSample'), { min: MIN_SAMPLE })],
    });
  if (r.kpis.now.otherCurrency > 0)
    blocks.push({
      type: 'context',
      text: [t(locale, k('otherCurrency'), { count: r.kpis.now.otherCurrency })],
    });
  return { summary: summary(r), blocks };
}

/** `/pipeline forecast`: forecast chart and one line per expected close month. */
export async function forecastMessage(r: PipelineReport): Promise<RichMessage> {
  const { locale } = r;
  const months = r.kpis.now.forecast;
  const dated = months.filter((m): m is typeof m & { month: string } => m.month !== null);
  const image = await forecastChart({
    locale,
    currency: r.currency,
    months: dated.map((m) => ({ month: m.month, weighted: m.weighted, total: m.value })),
  });
  const items: RichText[] = months.map((m) => [
    t(locale, k('forecastLine'), {
      month: m.month ?? t(locale, k('noCloseDate')),
      total: money(r, m.value),
      weighted: money(r, m.weighted),
      count: formatNumber(m.count, locale),
    }),
  ]);
  const blocks: RichBlock[] = [
    { type: 'header', text: t(locale, k('forecastTitle')) },
    ...contextBlocks(filterContext(r, true)),
    { type: 'image', image },
  ];
  blocks.push(items.length ? { type: 'list', items } : { type: 'context', text: [t(locale, k('noData'))] });
  return {
    summary: t(locale, k('forecastSummary'), {
      weighted: money(r, r.kpis.now.weightedValue),
      total: money(r, r.kpis.now.pipelineValue),
    }),
    blocks,
  };
}

interface StalledLike {
  id?: string;
  code: string;
  name: string;
  amount: number | null;
  currency: string;
  ownerId: string;
  stage: string;
  stageEnteredAt: Date;
}

function stalledItem(
  locale: Locale,
  stages: PipelineReport['stages'],
  now: Date,
  d: StalledLike,
  link?: string,
): RichText {
  return [
    link ? { link, text: d.code } : { code: d.code },
    t(locale, k('stalledLine'), {
      name: d.name,
      stage: stageLabel(stages, d.stage, locale),
      days: formatDays(Math.floor(daysInStage(d, now)), locale),
      amount:
        d.amount === null
          ? t(locale, k('none'))
          : formatMoney(d.amount, d.currency, locale, { compact: true }),
    }),
    { mention: d.ownerId },
  ];
}

/** `/pipeline stalled`: the oldest stalled deals with their owners. */
export function stalledMessage(r: StalledReport): RichMessage {
  const { locale } = r;
  const blocks: RichBlock[] = [{ type: 'header', text: t(locale, k('stalledTitle')) }];
  if (r.deals.length === 0) blocks.push({ type: 'text', text: [t(locale, k('noStalled'))] });
  else {
    blocks.push({ type: 'list', items: r.deals.map((d) => stalledItem(locale, r.stages, r.now, d)) });
    if (r.total > r.deals.length)
      blocks.push({
        type: 'context',
        text: [t(locale, k('stalledMore'), { count: r.total - r.deals.length })],
      });
  }
  return { summary: t(locale, k('stalledSummary'), { count: r.total }), blocks };
}

function signedMoney(r: PipelineReport, v: number): string {
  const s = formatMoney(Math.abs(v), r.currency, r.locale, { compact: true });
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s;
}

/**
 * The weekly review: funnel image and KPIs, conversion per stage vs the previous
 * period, dwell, cycle, pipeline and weighted value, won/lost with lost reasons,
 * every bottleneck, top stalled deals, per-rep (managers' reports only) and
 * per-source tables. `previous` (the last digest's report, if the scheduler kept
 * it) adds the change of pipeline and weighted value since then, which the
 * StageChange log cannot reconstruct (amounts have no history).
 */
export async function digestMessage(
  r: PipelineReport,
  previous?: PipelineReport,
  opts: { links?: ReadonlyMap<string, string> } = {},
): Promise<RichMessage> {
  const { locale } = r;
  const image = await funnelChart({ locale, currency: r.currency, stages: funnelStages(r) });
  const blocks: RichBlock[] = [
    { type: 'header', text: t(locale, k('digestTitle'), { period: periodText(r) }) },
    ...contextBlocks(filterContext(r)),
    { type: 'image', image },
    { type: 'fields', fields: kpiFields(r) },
  ];
  const label = (key: string) => stageLabel(r.stages, key, locale);
  const section = (key: string) =>
    blocks.push({ type: 'divider' }, { type: 'text', text: [{ bold: t(locale, k(`section.${key}`)) }] });

  section('conversion');
  blocks.push({
    type: 'list',
    items: r.kpis.flow.stages.map((s) => [
      t(locale, k('conversionLine'), {
        stage: label(s.key),
        next: label(s.nextKey),
        conversion: pct(s.conversion.current, locale),
        advanced: s.advanced.current,
        entered: s.entered.current,
        previous: pct(s.conversion.previous, locale),
      }),
    ]),
  });

  section('dwell');
  blocks.push({
    type: 'list',
    items: [
      ...r.kpis.time.stages.map((s): RichText => [
        t(locale, k('dwellLine'), {
          stage: label(s.key),
          avg: formatDays(s.avgDays.current, locale),
          median: formatDays(s.medianDays.current, locale),
          threshold: formatDays(s.thresholdDays, locale),
          prevAvg: formatDays(s.avgDays.previous, locale),
        }),
      ]),
      [
        t(locale, k('cycleLine'), {
          days: formatDays(r.kpis.time.salesCycleDays.current, locale),
          previous: formatDays(r.kpis.time.salesCycleDays.previous, locale),
        }),
      ],
    ],
  });

  if (previous) {
    section('value');
    blocks.push({
      type: 'text',
      text: [
        t(locale, k('sinceLast'), {
          pipeline: money(r, r.kpis.now.pipelineValue),
          pipelineChange: signedMoney(r, r.kpis.now.pipelineValue - previous.kpis.now.pipelineValue),
          weighted: money(r, r.kpis.now.weightedValue),
          weightedChange: signedMoney(r, r.kpis.now.weightedValue - previous.kpis.now.weightedValue),
        }),
      ],
    });
  }

  section('closed');
  const f = r.kpis.flow;
  blocks.push({
    type: 'text',
    text: [
      t(locale, k('wonLostLine'), {
        won: f.won.current,
        wonValue: money(r, f.wonValue.current),
        lost: f.lost.current,
        lostValue: money(r, f.lostValue.current),
        winRate: pct(f.winRate.current, locale),
        prevWinRate: pct(f.winRate.previous, locale),
      }),
    ],
  });
  const reasons = r.kpis.why.lostReasons.filter((x) => x.count.current > 0);
  if (reasons.length) {
    blocks.push({ type: 'context', text: [t(locale, k('section.lostReasons'))] });
    blocks.push({
      type: 'list',
      items: reasons.map((x): RichText => [
        t(locale, k('lostReasonLine'), {
          reason: lostReasonLabel(r, x.key),
          count: x.count.current,
          value: money(r, x.value),
        }),
      ]),
    });
  }

  section('bottlenecks');
  if (r.bottlenecks.length) for (const b of r.bottlenecks) blocks.push(...bottleneckBlocks(r, b));
  else blocks.push({ type: 'context', text: [t(locale, k('noBottleneck'))] });

  section('stalled');
  if (r.kpis.stalledDeals.length)
    blocks.push({
      type: 'list',
      items: r.kpis.stalledDeals.map((d) =>
        stalledItem(locale, r.stages, r.generatedAt, d, opts.links?.get(d.id)),
      ),
    });
  else blocks.push({ type: 'context', text: [t(locale, k('noStalled'))] });

  if (r.showReps && r.kpis.why.reps.length) {
    section('reps');
    blocks.push({
      type: 'list',
      items: r.kpis.why.reps.map((p): RichText => [
        { mention: p.ownerId },
        t(locale, k('repLine'), {
          open: p.open,
          openValue: money(r, p.openValue),
          won: p.won.current,
          wonValue: money(r, p.wonValue.current),
          lost: p.lost.current,
          winRate: pct(p.winRate.current, locale),
        }),
      ]),
    });
  }
  if (r.kpis.why.sources.length) {
    section('sources');
    blocks.push({
      type: 'list',
      items: r.kpis.why.sources.map((s): RichText => [
        t(locale, k('sourceLine'), {
          source: t(locale, `source.${s.source}`),
          created: s.created.current,
          won: s.won.current,
          lost: s.lost.current,
          conversion: pct(s.conversion.current, locale),
          avgDeal: money(r, s.avgDealSize.current),
        }),
      ]),
    });
  }
  return { summary: `${t(locale, k('digestTitle'), { period: periodText(r) })}: ${summary(r)}`, blocks };
}

function lostReasonLabel(r: PipelineReport, key: string): string {
  return r.lostReasons.find((x) => x.key === key)?.labels[r.locale] ?? key;
}
