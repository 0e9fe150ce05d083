import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import type { Result } from '../../src/domain/errors.js';
import {
  DEAL_SOURCES,
  parseAmount,
  parseCurrency,
  parseDate,
  parseDealCode,
  parseDuration,
  parseExcelSerialDate,
  parseSource,
  parseText,
  resolveStage,
  type DealSource,
  type ParseDateOptions,
} from '../../src/domain/parse.js';

type Params = Record<string, string | number> | undefined;

function expectOk<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

function expectInvalid<T>(r: Result<T>, field: string, reason: string, params?: Params): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toMatchObject({ kind: 'Invalid', field, reason });
  if (params) expect(r.error.kind === 'Invalid' && r.error.params).toEqual(params);
}

// ─────────────────────────────────────── amount ───────────────────────────────────────

describe('parseAmount', () => {
  it.each<[string, number, string]>([
    ['50000', 50000, 'CNY'],
    ['50,000', 50000, 'CNY'],
    ['50k', 50000, 'CNY'],
    ['50K', 50000, 'CNY'],
    ['1.2M', 1200000, 'CNY'],
    ['1.2m', 1200000, 'CNY'],
    ['2b', 2000000000, 'CNY'],
    ['2bn', 2000000000, 'CNY'],
    ['1.5 million', 1500000, 'CNY'],
    ['3 thousand', 3000, 'CNY'],
    ['5万', 50000, 'CNY'],
    ['1.5亿', 150000000, 'CNY'],
    ['5千', 5000, 'CNY'],
    ['5千万', 50000000, 'CNY'],
    ['5w', 50000, 'CNY'],
    ['¥50,000', 50000, 'CNY'],
    ['￥5万', 50000, 'CNY'],
    ['$50k', 50000, 'USD'],
    ['€1.2M', 1200000, 'EUR'],
    ['£300', 300, 'GBP'],
    ['50000 USD', 50000, 'USD'],
    ['50k usd', 50000, 'USD'],
    ['USD 50k', 50000, 'USD'],
    ['usd50k', 50000, 'USD'],
    ['CNY 5万', 50000, 'CNY'],
    ['RMB 100', 100, 'CNY'],
    ['100rmb', 100, 'CNY'],
    ['5万元', 50000, 'CNY'],
    ['300块', 300, 'CNY'],
    ['300 块钱', 300, 'CNY'],
    ['100美元', 100, 'USD'],
    ['5000日元', 5000, 'JPY'],
    ['JPY 5000', 5000, 'JPY'],
    ['HK$100', 100, 'HKD'],
    ['$50 USD', 50, 'USD'],
    ['５万', 50000, 'CNY'],
    ['５０，０００', 50000, 'CNY'],
    ['  50000  ', 50000, 'CNY'],
    ['1,234', 1234, 'CNY'],
    ['1,234,567.5', 1234567.5, 'CNY'],
    ['1.234.567,89', 1234567.89, 'CNY'],
    ['1.234.567', 1234567, 'CNY'],
    ['1.234,5', 1234.5, 'CNY'],
    ['1.234k', 1234, 'CNY'],
    ['10.5', 10.5, 'CNY'],
    ['3.14159', 3.14, 'CNY'],
    ['0.125', 0.13, 'CNY'],
    ['1234.565', 1234.57, 'CNY'],
    ['1.2345k', 1234.5, 'CNY'],
    ['0', 0, 'CNY'],
    ['+50', 50, 'CNY'],
    ['10000000000000', 1e13, 'CNY'],
    ['5\u200B0000', 50000, 'CNY'],
  ])('%j → %d %s', (input, amount, currency) => {
    expect(expectOk(parseAmount(input, 'CNY'))).toEqual({ amount, currency });
  });

  it('uses and normalises the default currency', () => {
    expect(expectOk(parseAmount('50k', 'usd'))).toEqual({ amount: 50000, currency: 'USD' });
    expect(expectOk(parseAmount('50k', 'RMB'))).toEqual({ amount: 50000, currency: 'CNY' });
  });

  it.each<[string, string, Params?]>([
    ['', 'text_empty'],
    ['   ', 'text_empty'],
    ['-50', 'amount_negative'],
    ['-$50', 'amount_negative'],
    ['$-50', 'amount_negative'],
    ['－５万', 'amount_negative'],
    ['NaN', 'amount_format'],
    ['abc', 'amount_format'],
    ['fifty', 'amount_format'],
    ['Infinity', 'amount_format'],
    ['1e309', 'amount_format'],
    ['1e5', 'amount_format'],
    ['0x10', 'amount_format'],
    ['50 000', 'amount_format'],
    ['50 60', 'amount_format'],
    ['50k 60k', 'amount_format'],
    ['1,23,456', 'amount_format'],
    ['12,5', 'amount_format'],
    ['50%', 'amount_format'],
    ['50 abc', 'amount_format'],
    ['5万万', 'amount_format'],
    ['{"$ne":null}', 'amount_format'],
    ['{"$ne": null}', 'amount_format'],
    ['$gt', 'amount_format'],
    ['x'.repeat(500), 'amount_format'],
    ['1.234', 'amount_ambiguous', { asDecimal: '1.234', asThousands: '1234' }],
    ['€50 USD', 'amount_currency_conflict', { currencies: 'EUR, USD' }],
    ['10000000000001', 'amount_too_large', { max: 1e13 }],
    ['100001亿', 'amount_too_large', { max: 1e13 }],
    ['99999999999999999999999', 'amount_too_large', { max: 1e13 }],
  ])('rejects %j (%s)', (input, reason, params) => {
    const r = parseAmount(input, 'CNY');
    expectInvalid(r, 'amount', reason, params);
    if (!r.ok && r.error.kind === 'Invalid') expect(r.error.value).toBe(input);
  });
});

// ─────────────────────────────────────── currency ───────────────────────────────────────

describe('parseCurrency', () => {
  it.each<[string, string]>([
    ['USD', 'USD'],
    ['usd', 'USD'],
    [' eur ', 'EUR'],
    ['cny', 'CNY'],
    ['RMB', 'CNY'],
    ['¥', 'CNY'],
    ['￥', 'CNY'],
    ['$', 'USD'],
    ['€', 'EUR'],
    ['£', 'GBP'],
    ['JPY', 'JPY'],
    ['人民币', 'CNY'],
    ['美元', 'USD'],
    ['HK$', 'HKD'],
    ['ＵＳＤ', 'USD'],
  ])('%j → %s', (input, code) => {
    expect(expectOk(parseCurrency(input))).toBe(code);
  });

  it.each<[string, string]>([
    ['', 'text_empty'],
    ['ABC', 'currency_unknown'],
    ['US', 'currency_unknown'],
    ['dollars', 'currency_unknown'],
    ['$$', 'currency_unknown'],
    ['{"$ne":null}', 'currency_unknown'],
  ])('rejects %j (%s)', (input, reason) => {
    expectInvalid(parseCurrency(input), 'currency', reason);
  });
});

// ─────────────────────────────────────── dates ───────────────────────────────────────

const SH = 'Asia/Shanghai';
/** Wednesday 2026-11-25, 12:00 in Shanghai. */
const WED = new Date('2026-11-25T04:00:00Z');
/** Sunday 2026-11-29, 12:00 in Shanghai. */
const SUN = new Date('2026-11-29T04:00:00Z');

/** The local calendar day of a parsed date, asserting it is local midnight. */
function localDay(r: Result<Date>, zone: string): string {
  const d = DateTime.fromJSDate(expectOk(r), { zone });
  expect(d.toFormat('HH:mm:ss.SSS')).toBe('00:00:00.000');
  return d.toISODate() ?? '';
}

describe('parseDate (now = Wednesday 2026-11-25, Asia/Shanghai)', () => {
  const opts: ParseDateOptions = { now: WED, timeZone: SH };
  it.each<[string, string]>([
    ['2026-12-01', '2026-12-01'],
    ['2026/12/01', '2026-12-01'],
    ['2026.12.1', '2026-12-01'],
    ['20261201', '2026-12-01'],
    ['２０２６－１２－０１', '2026-12-01'],
    ['2026-12-01T00:00:00', '2026-12-01'],
    ['2026-12-01T00:00:00.000', '2026-12-01'],
    ['2026-12-01 17:30', '2026-12-01'],
    ['2026-12-01T20:00:00Z', '2026-12-02'],
    ['2026-12-01T20:00:00+08:00', '2026-12-01'],
    ['2026-12-01T01:00:00-0500', '2026-12-01'],
    ['2026年12月1日', '2026-12-01'],
    ['2026年12月1号', '2026-12-01'],
    ['12月1日', '2026-12-01'],
    ['12月1号', '2026-12-01'],
    ['11月25日', '2026-11-25'],
    ['11月1日', '2027-11-01'],
    ['2月29日', '2028-02-29'],
    ['Dec 1', '2026-12-01'],
    ['dec 1st', '2026-12-01'],
    ['1 December', '2026-12-01'],
    ['December 1, 2026', '2026-12-01'],
    ['Jan 15', '2027-01-15'],
    ['today', '2026-11-25'],
    ['Today', '2026-11-25'],
    ['今天', '2026-11-25'],
    ['tomorrow', '2026-11-26'],
    ['明天', '2026-11-26'],
    ['后天', '2026-11-27'],
    ['大后天', '2026-11-28'],
    ['+3d', '2026-11-28'],
    ['3d', '2026-11-28'],
    ['3 days', '2026-11-28'],
    ['in 3 days', '2026-11-28'],
    ['3 days later', '2026-11-28'],
    ['3天后', '2026-11-28'],
    ['三天后', '2026-11-28'],
    ['2w', '2026-12-09'],
    ['+2w', '2026-12-09'],
    ['两周后', '2026-12-09'],
    ['1m', '2026-12-25'],
    ['in 1 month', '2026-12-25'],
    ['1个月后', '2026-12-25'],
    ['1y', '2027-11-25'],
    ['fri', '2026-11-27'],
    ['friday', '2026-11-27'],
    ['Friday', '2026-11-27'],
    ['FRI.', '2026-11-27'],
    ['next friday', '2026-11-27'],
    ['wed', '2026-12-02'],
    ['this friday', '2026-11-27'],
    ['friday next week', '2026-12-04'],
    ['周五', '2026-11-27'],
    ['星期五', '2026-11-27'],
    ['礼拜五', '2026-11-27'],
    ['周三', '2026-12-02'],
    ['周日', '2026-11-29'],
    ['星期天', '2026-11-29'],
    ['下周五', '2026-12-04'],
    ['下星期五', '2026-12-04'],
    ['下个礼拜五', '2026-12-04'],
    ['下周一', '2026-11-30'],
    ['下周日', '2026-12-06'],
    ['下下周五', '2026-12-11'],
    ['这周五', '2026-11-27'],
    ['本周五', '2026-11-27'],
    ['这周三', '2026-11-25'],
    ['next week', '2026-11-30'],
    ['下周', '2026-11-30'],
    ['next month', '2026-12-01'],
    ['下个月', '2026-12-01'],
    ['end of month', '2026-11-30'],
    ['eom', '2026-11-30'],
    ['月底', '2026-11-30'],
    ['月末', '2026-11-30'],
    ['end of quarter', '2026-12-31'],
    ['季度末', '2026-12-31'],
    ['年底', '2026-12-31'],
    [' \u200Btomorrow ', '2026-11-26'],
  ])('%j → %s', (input, expected) => {
    expect(localDay(parseDate(input, opts), SH)).toBe(expected);
  });

  it.each<[string, string, Params?]>([
    ['', 'text_empty'],
    ['banana', 'date_format'],
    ['46357', 'date_format'],
    ['3日', 'date_format'],
    ['12h', 'date_format'],
    ['-3d', 'date_format'],
    ['next friday this week', 'date_format'],
    ['{"$ne": null}', 'date_format'],
    ['$gt', 'date_format'],
    ['12/01', 'date_ambiguous', { format: 'YYYY-MM-DD' }],
    ['01/12/2026', 'date_ambiguous', { format: 'YYYY-MM-DD' }],
    ['13/01/2026', 'date_ambiguous', { format: 'YYYY-MM-DD' }],
    ['12-01', 'date_ambiguous', { format: 'YYYY-MM-DD' }],
    ['2026-02-30', 'date_invalid'],
    ['2026-13-01', 'date_invalid'],
    ['2026-12-01T25:00', 'date_invalid'],
    ['2月30日', 'date_invalid'],
    ['2300-01-01', 'date_range', { min: '1970-01-01', max: '2199-12-31' }],
    ['100000y', 'date_range', { min: '1970-01-01', max: '2199-12-31' }],
    ['2026-11-24', 'date_past', { today: '2026-11-25' }],
    ['yesterday', 'date_past', { today: '2026-11-25' }],
    ['昨天', 'date_past', { today: '2026-11-25' }],
    ['这周一', 'date_past', { today: '2026-11-25' }],
  ])('rejects %j (%s)', (input, reason, params) => {
    expectInvalid(parseDate(input, opts), 'dueDate', reason, params);
  });

  it('accepts past days with allowPast and names a custom field', () => {
    const past = { ...opts, allowPast: true };
    expect(localDay(parseDate('yesterday', past), SH)).toBe('2026-11-24');
    expect(localDay(parseDate('这周一', past), SH)).toBe('2026-11-23');
    expect(localDay(parseDate('2020-01-31', past), SH)).toBe('2020-01-31');
    expectInvalid(parseDate('2020-01-31', { ...opts, field: 'closeDate' }), 'closeDate', 'date_past');
    expectInvalid(parseDate('nope', { ...opts, field: 'closeDate' }), 'closeDate', 'date_format');
  });

  it('reports an unknown workspace time zone against the timezone field', () => {
    expectInvalid(parseDate('today', { now: WED, timeZone: 'Mars/Olympus' }), 'timezone', 'timezone_unknown');
  });
});

describe('parseDate (now = Sunday 2026-11-29, Asia/Shanghai)', () => {
  const opts: ParseDateOptions = { now: SUN, timeZone: SH, locale: 'zh-CN' };
  it.each<[string, string]>([
    ['下周五', '2026-12-04'],
    ['下周一', '2026-11-30'],
    ['下周日', '2026-12-06'],
    ['周五', '2026-12-04'],
    ['周日', '2026-12-06'],
    ['sunday', '2026-12-06'],
    ['这周日', '2026-11-29'],
    ['monday', '2026-11-30'],
    ['下周', '2026-11-30'],
    ['12月1日', '2026-12-01'],
  ])('%j → %s', (input, expected) => {
    expect(localDay(parseDate(input, opts), SH)).toBe(expected);
  });

  it('这周五 from Sunday is already past', () => {
    expectInvalid(parseDate('这周五', opts), 'dueDate', 'date_past', { today: '2026-11-29' });
  });
});

describe('parseDate time zones and DST', () => {
  it('"today" is the workspace-local day, returned as the UTC instant of local midnight', () => {
    const now = new Date('2026-11-26T23:30:00Z');
    expect(expectOk(parseDate('today', { now, timeZone: SH })).toISOString()).toBe(
      '2026-11-26T16:00:00.000Z',
    );
    expect(expectOk(parseDate('today', { now, timeZone: 'UTC' })).toISOString()).toBe(
      '2026-11-26T00:00:00.000Z',
    );
    expect(expectOk(parseDate('today', { now, timeZone: 'America/Los_Angeles' })).toISOString()).toBe(
      '2026-11-26T08:00:00.000Z',
    );
    expect(expectOk(parseDate('2026-11-27', { now, timeZone: SH })).toISOString()).toBe(
      '2026-11-26T16:00:00.000Z',
    );
    // 2026-11-26 is "yesterday" in Shanghai at that instant, but today in UTC.
    expectInvalid(parseDate('2026-11-26', { now, timeZone: SH }), 'dueDate', 'date_past', {
      today: '2026-11-27',
    });
    expect(expectOk(parseDate('2026-11-26', { now, timeZone: 'UTC' })).toISOString()).toBe(
      '2026-11-26T00:00:00.000Z',
    );
  });

  const NY = 'America/New_York';
  it.each<[string, string, string]>([
    // Spring forward on Sunday 2026-03-08 (midnight is EST the day of, EDT the day after).
    ['2026-03-07T17:00:00Z', 'today', '2026-03-07T05:00:00.000Z'],
    ['2026-03-07T17:00:00Z', 'tomorrow', '2026-03-08T05:00:00.000Z'],
    ['2026-03-07T17:00:00Z', '后天', '2026-03-09T04:00:00.000Z'],
    ['2026-03-07T17:00:00Z', '+1w', '2026-03-14T04:00:00.000Z'],
    ['2026-03-08T06:30:00Z', 'today', '2026-03-08T05:00:00.000Z'],
    ['2026-03-08T06:30:00Z', 'tomorrow', '2026-03-09T04:00:00.000Z'],
    // Fall back on Sunday 2026-11-01.
    ['2026-10-31T16:00:00Z', 'tomorrow', '2026-11-01T04:00:00.000Z'],
    ['2026-10-31T16:00:00Z', '+2d', '2026-11-02T05:00:00.000Z'],
    ['2026-10-31T16:00:00Z', 'monday', '2026-11-02T05:00:00.000Z'],
    ['2026-11-01T05:30:00Z', 'today', '2026-11-01T04:00:00.000Z'],
    ['2026-11-01T05:30:00Z', '2026-11-01', '2026-11-01T04:00:00.000Z'],
    ['2026-11-01T05:30:00Z', '2026-12-01T00:00:00Z', '2026-12-01T05:00:00.000Z'],
    ['2026-11-01T05:30:00Z', '2026-12-01T03:00:00Z', '2026-11-30T05:00:00.000Z'],
  ])('New York, now %s: %j → %s', (now, input, iso) => {
    expect(expectOk(parseDate(input, { now: new Date(now), timeZone: NY })).toISOString()).toBe(iso);
  });
});

describe('parseExcelSerialDate', () => {
  it.each<[number, string, string]>([
    [46357, SH, '2026-11-30T16:00:00.000Z'],
    [46357, 'UTC', '2026-12-01T00:00:00.000Z'],
    [46357.75, 'UTC', '2026-12-01T00:00:00.000Z'],
    [1, 'UTC', '1900-01-01T00:00:00.000Z'],
    [59, 'UTC', '1900-02-28T00:00:00.000Z'],
    [61, 'UTC', '1900-03-01T00:00:00.000Z'],
    [46084, 'America/New_York', '2026-03-03T05:00:00.000Z'],
  ])('%d in %s → %s', (n, zone, iso) => {
    expect(expectOk(parseExcelSerialDate(n, zone)).toISOString()).toBe(iso);
  });

  it.each<[number, string]>([
    [60, 'date_invalid'],
    [0, 'date_invalid'],
    [-5, 'date_invalid'],
    [3e6, 'date_invalid'],
    [Number.NaN, 'date_format'],
    [Number.POSITIVE_INFINITY, 'date_format'],
  ])('rejects %d (%s)', (n, reason) => {
    expectInvalid(parseExcelSerialDate(n, 'UTC', 'closeDate'), 'closeDate', reason);
  });

  it('rejects an unknown zone', () => {
    expectInvalid(parseExcelSerialDate(46357, 'Nowhere/City'), 'timezone', 'timezone_unknown');
  });
});

// ─────────────────────────────────────── duration ───────────────────────────────────────

describe('parseDuration', () => {
  it.each<[string, number]>([
    ['1d', 1],
    ['1 day', 1],
    ['3 days', 3],
    ['90d', 90],
    ['1w', 7],
    ['2 weeks', 14],
    [' 2W ', 14],
    ['1m', 30],
    ['3 months', 90],
    ['1y', 365],
    ['3天', 3],
    ['３天', 3],
    ['两天', 2],
    ['十天', 10],
    ['1周', 7],
    ['一周', 7],
    ['两个星期', 14],
    ['3个月', 90],
  ])('%j → %d days', (input, days) => {
    expect(expectOk(parseDuration(input))).toEqual({ days });
  });

  it.each<[string, string, Params?]>([
    ['', 'text_empty'],
    ['12h', 'duration_format'],
    ['30 minutes', 'duration_format'],
    ['3', 'duration_format'],
    ['abc', 'duration_format'],
    ['-3d', 'duration_format'],
    ['3.5d', 'duration_format'],
    ['1d2h', 'duration_format'],
    ['{"$ne": null}', 'duration_format'],
    ['0d', 'duration_range', { min: 1, max: 3650 }],
    ['3651d', 'duration_range', { min: 1, max: 3650 }],
    ['11y', 'duration_range', { min: 1, max: 3650 }],
  ])('rejects %j (%s)', (input, reason, params) => {
    expectInvalid(parseDuration(input), 'duration', reason, params);
  });
});

// ─────────────────────────────────────── deal code ───────────────────────────────────────

describe('parseDealCode', () => {
  it.each<[string, number]>([
    ['D-12', 12],
    ['d-12', 12],
    ['d12', 12],
    ['D 12', 12],
    ['12', 12],
    ['#12', 12],
    ['#D-12', 12],
    ['D－12', 12],
    ['Ｄ－１２', 12],
    ['D–12', 12],
    [' D-12 ', 12],
    ['D-012', 12],
    ['D-1000000000', 1000000000],
  ])('%j → D-%d', (input, n) => {
    expect(expectOk(parseDealCode(input))).toEqual({ number: n, code: `D-${n}` });
  });

  it.each<[string, string]>([
    ['', 'text_empty'],
    ['D-0', 'code_format'],
    ['0', 'code_format'],
    ['D-abc', 'code_format'],
    ['12.5', 'code_format'],
    ['-12', 'code_format'],
    ['D--12', 'code_format'],
    ['E-12', 'code_format'],
    ['D-12a', 'code_format'],
    ['D-12 D-13', 'code_format'],
    ['D-1000000001', 'code_format'],
    ['99999999999999999999', 'code_format'],
    ['{"$ne": null}', 'code_format'],
    ['$gt', 'code_format'],
  ])('rejects %j (%s)', (input, reason) => {
    expectInvalid(parseDealCode(input), 'code', reason);
  });
});

// ─────────────────────────────────────── stage ───────────────────────────────────────

const STAGES = [
  { key: 'lead', labels: { en: 'Lead', 'zh-CN': '线索' } },
  { key: 'qualified', labels: { en: 'Qualified', 'zh-CN': '已确认' }, aliases: ['SQL'] },
  { key: 'poc', labels: { en: 'Proof of Concept', 'zh-CN': '概念验证' } },
  { key: 'proposal', labels: { en: 'Proposal / Quote', 'zh-CN': '方案/报价' } },
  { key: 'negotiation', labels: { en: 'Negotiation / Contract', 'zh-CN': '谈判/签约' } },
  { key: 'closed_won', labels: { en: 'Closed Won', 'zh-CN': '赢单' } },
  { key: 'closed_lost', labels: { en: 'Closed Lost', 'zh-CN': '输单' } },
] as const;
const STAGE_KEYS = 'lead, qualified, poc, proposal, negotiation, closed_won, closed_lost';

describe('resolveStage', () => {
  it.each<[string, string]>([
    ['proposal', 'proposal'],
    ['PROPOSAL', 'proposal'],
    [' lead ', 'lead'],
    ['ＬＥＡＤ', 'lead'],
    ['Proposal / Quote', 'proposal'],
    ['proposal/quote', 'proposal'],
    ['方案/报价', 'proposal'],
    ['方案报价', 'proposal'],
    ['方案', 'proposal'],
    ['prop', 'proposal'],
    ['quote', 'proposal'],
    ['POC', 'poc'],
    ['proof of concept', 'poc'],
    ['概念', 'poc'],
    ['谈判', 'negotiation'],
    ['签约', 'negotiation'],
    ['neg', 'negotiation'],
    ['closed won', 'closed_won'],
    ['closed_won', 'closed_won'],
    ['Closed-Won', 'closed_won'],
    ['won', 'closed_won'],
    ['lost', 'closed_lost'],
    ['cw', 'closed_won'],
    ['赢单', 'closed_won'],
    ['sql', 'qualified'],
    ['已确认', 'qualified'],
  ])('%j → %s', (input, key) => {
    const stage = expectOk(resolveStage(input, STAGES));
    expect(stage.key).toBe(key);
    expect(STAGES).toContain(stage);
  });

  it.each<[string, string, Params]>([
    ['pro', 'stage_ambiguous', { matches: 'poc, proposal' }],
    ['closed', 'stage_ambiguous', { matches: 'closed_won, closed_lost' }],
    ['co', 'stage_ambiguous', { matches: 'poc, negotiation' }],
    ['q', 'stage_unknown', { accepted: STAGE_KEYS }],
    ['xyz', 'stage_unknown', { accepted: STAGE_KEYS }],
    ['{"$ne": null}', 'stage_unknown', { accepted: STAGE_KEYS }],
    ['$gt', 'stage_unknown', { accepted: STAGE_KEYS }],
  ])('rejects %j (%s)', (input, reason, params) => {
    expectInvalid(resolveStage(input, STAGES), 'stage', reason, params);
  });

  it('rejects empty input', () => {
    expectInvalid(resolveStage('  ', STAGES), 'stage', 'text_empty');
  });
});

// ─────────────────────────────────────── text ───────────────────────────────────────

describe('parseText', () => {
  const opts = { field: 'note', max: 200 };
  it.each<[string, string]>([
    ['  hello  ', 'hello'],
    ['a\u200Bb', 'ab'],
    ['a\u200Cb\u200Dc', 'abc'],
    ['\uFEFFhi', 'hi'],
    ['abc\u202Edef\u202C', 'abcdef'],
    ['\u2066x\u2069\u202A\u202B', 'x'],
    ['line1\r\nline2\rline3', 'line1\nline2\nline3'],
    ['a\n\nb', 'a\n\nb'],
    ['a  b', 'a  b'],
    ['a\tb', 'a b'],
    ['a\u0000b\u0007c\u001Bd\u007F', 'abcd'],
    ['e\u0301', 'é'],
    ['客户很满意 🎉', '客户很满意 🎉'],
    ['👨\u200D👩\u200D👧 family', '👨\u200D👩\u200D👧 family'],
    ['\u200D👍', '👍'],
    ['\uD800x', 'x'],
    ['{"$ne": null}', '{"$ne": null}'],
    [' \u200B ', ''],
  ])('%j → %j', (input, expected) => {
    expect(expectOk(parseText(input, opts))).toBe(expected);
  });

  it('enforces max length in code points', () => {
    const long = 'x'.repeat(10_000);
    expect(expectOk(parseText(long, { field: 'note', max: 10_000 }))).toBe(long);
    expectInvalid(parseText(long, opts), 'note', 'text_too_long', { max: 200, length: 10_000 });
    expect(expectOk(parseText('🎉'.repeat(200), opts))).toHaveLength(400);
    expectInvalid(parseText('🎉'.repeat(201), opts), 'note', 'text_too_long', { max: 200, length: 201 });
    // Stripped characters do not count.
    expect(expectOk(parseText(`${'a'.repeat(200)}\u200B\u202E`, opts))).toBe('a'.repeat(200));
  });

  it('requires non-empty text only when asked', () => {
    expect(expectOk(parseText('', opts))).toBe('');
    expectInvalid(parseText('', { ...opts, required: true }), 'note', 'text_empty');
    expectInvalid(
      parseText(' \u200B\u202E ', { field: 'name', max: 80, required: true }),
      'name',
      'text_empty',
    );
  });
});

// ─────────────────────────────────────── source ───────────────────────────────────────

describe('parseSource', () => {
  it('exports the canonical keys', () => {
    expect(DEAL_SOURCES).toEqual([
      'website',
      'paid_search',
      'content',
      'social',
      'referral',
      'event',
      'outbound',
      'partner',
      'other',
    ]);
  });

  it.each<[string, DealSource]>([
    ['website', 'website'],
    ['Website', 'website'],
    ['官网', 'website'],
    ['SEO', 'website'],
    ['paid_search', 'paid_search'],
    ['paid search', 'paid_search'],
    ['Paid-Search', 'paid_search'],
    ['搜索广告', 'paid_search'],
    ['PPC', 'paid_search'],
    ['content', 'content'],
    ['内容', 'content'],
    ['social', 'social'],
    ['社交', 'social'],
    ['LinkedIn', 'social'],
    ['referral', 'referral'],
    ['转介绍', 'referral'],
    ['推荐', 'referral'],
    ['ref', 'referral'],
    ['event', 'event'],
    ['展会', 'event'],
    ['活动', 'event'],
    ['outbound', 'outbound'],
    ['外呼', 'outbound'],
    ['陌拜', 'outbound'],
    ['cold call', 'outbound'],
    ['out', 'outbound'],
    ['partner', 'partner'],
    ['渠道', 'partner'],
    ['合作伙伴', 'partner'],
    ['other', 'other'],
    ['其他', 'other'],
    ['其它', 'other'],
    ['soc', 'social'],
  ])('%j → %s', (input, source) => {
    expect(expectOk(parseSource(input))).toBe(source);
  });

  it.each<[string, string]>([
    ['', 'text_empty'],
    ['pa', 'source_unknown'],
    ['xyz', 'source_unknown'],
    ['{"$ne":null}', 'source_unknown'],
  ])('rejects %j (%s)', (input, reason) => {
    expectInvalid(
      parseSource(input),
      'source',
      reason,
      reason === 'source_unknown' ? { accepted: DEAL_SOURCES.join(', ') } : undefined,
    );
  });
});
