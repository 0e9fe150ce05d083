/** Chart-only strings per locale (self-contained; the app's main catalogue lives elsewhere). */
import type { Locale } from '../i18n/format.js';

export interface ChartLabels {
  funnelTitle: string;
  funnelAlt: string;
  deals: (count: string) => string;
  stage: string;
  dwellTitle: string;
  dwellAlt: string;
  avgDays: string;
  threshold: string;
  overThreshold: string;
  days: string;
  trendTitle: string;
  trendAlt: string;
  week: string;
  created: string;
  won: string;
  lost: string;
  value: string;
  forecastTitle: string;
  forecastAlt: string;
  month: string;
  weighted: string;
  total: string;
  noData: string;
  /** Separator used in alt-text lists. */
  listSep: string;
}

export const CHART_LABELS: Record<Locale, ChartLabels> = {
  en: {
    funnelTitle: 'Pipeline funnel',
    funnelAlt: 'Funnel',
    deals: (count) => `${count} deals`,
    stage: 'Stage',
    dwellTitle: 'Days in stage',
    dwellAlt: 'Average days in stage',
    avgDays: 'Average days',
    threshold: 'Threshold',
    overThreshold: 'Over threshold',
    days: 'Days',
    trendTitle: 'Weekly pipeline value',
    trendAlt: 'Weekly value',
    week: 'Week of',
    created: 'Created',
    won: 'Won',
    lost: 'Lost',
    value: 'Value',
    forecastTitle: 'Forecast by expected close month',
    forecastAlt: 'Forecast',
    month: 'Expected close',
    weighted: 'Weighted',
    total: 'Total open',
    noData: 'No data yet',
    listSep: '; ',
  },
  'zh-CN': {
    funnelTitle: '销售漏斗',
    funnelAlt: '销售漏斗',
    deals: (count) => `${count} 个商机`,
    stage: '阶段',
    dwellTitle: '阶段停留天数',
    dwellAlt: '各阶段平均停留天数',
    avgDays: '平均天数',
    threshold: '阈值',
    overThreshold: '超出阈值',
    days: '天数',
    trendTitle: '每周商机金额',
    trendAlt: '每周金额',
    week: '周起始',
    created: '新建',
    won: '赢单',
    lost: '输单',
    value: '金额',
    forecastTitle: '按预计成交月份的预测',
    forecastAlt: '预测',
    month: '预计成交月份',
    weighted: '加权金额',
    total: '未结总额',
    noData: '暂无数据',
    listSep: '；',
  },
};
