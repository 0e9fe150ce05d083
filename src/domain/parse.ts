/**
 * Pure input parsers shared by every surface (Slack, Feishu, console, spreadsheet import).
 *
 * Nothing here produces user-facing text: every rejection is `invalid(field, value, reason, params)` and the
 * i18n catalogue renders it from `field` + `reason` (+ `params`). No I/O, no clock: "now" is always passed in.
 *
 * Reason keys used (params in braces):
 *   text_empty                                  – input is empty (every parser)
 *   amount_format                               – not a single amount
 *   amount_negative                             – leading minus sign
 *   amount_too_large        { max }             – above 1e13
 *   amount_ambiguous        { asDecimal, asThousands } – e.g. `1.234` (European thousands or a decimal?)
 *   amount_currency_conflict { currencies }     – e.g. `€50 USD`
 *   currency_unknown        { accepted }
 *   date_format                                 – not a date we understand
 *   date_ambiguous          { format }          – `12/01`, `01/12/2026`: day/month order unknown; use ISO
 *   date_invalid                                – e.g. `2026-02-30`
 *   date_past               { today }           – before today (unless `allowPast`)
 *   date_range              { min, max }        – outside 1970-01-01 … 2199-12-31
 *   timezone_unknown                            – (field 'timezone') the workspace time zone is not IANA
 *   duration_format                             – includes hours/minutes and bare numbers
 *   duration_range          { min, max }        – 1 … 3650 days
 *   code_format                                 – not D-<positive integer ≤ 1e9>
 *   stage_unknown           { accepted }        – comma-separated stage keys
 *   stage_ambiguous         { matches }         – comma-separated keys of the stages that matched
 *   text_too_long           { max, length }     – length in code points
 *   source_unknown          { accepted }        – comma-separated DEAL_SOURCES
 */
import { DateTime, IANAZone } from 'luxon';
import { invalid, ok, type Result } from './errors.js';

// ───────────────────────────── shared helpers ─────────────────────────────

/** IANA zone validity, cached: luxon's check builds an Intl formatter each time (hot in imports). */
const zoneValidity = new Map<string, boolean>();
function validZone(zone: string): boolean {
  let v = zoneValidity.get(zone);
  if (v === undefined) {
    v = IANAZone.isValidZone(zone);
    if (zoneValidity.size < 1000) zoneValidity.set(zone, v);
  }
  return v;
}

/** Longest input a non-text parser looks at; anything longer is rejected as a format error. */
const MAX_TOKEN_LENGTH = 100;

const ZERO_WIDTH_RE = /[\u200B-\u200D\uFEFF\u2060]/g;
const DASHES_RE = /[\u2010-\u2015\u2212\uFE58\uFE63]/g;

/**
 * Canonical form for matching: NFKC (full-width digits/letters/punctuation → ASCII, `￥` → `¥`, `－` → `-`),
 * zero-width characters removed, dashes unified, whitespace collapsed, trimmed.
 */
function canon(input: string): string {
  return input
    .normalize('NFKC')
    .replace(ZERO_WIDTH_RE, '')
    .replace(DASHES_RE, '-')
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Lower-cased and stripped of whitespace, punctuation and symbols: for key/label/alias comparisons. */
function squash(input: string): string {
  return canon(input)
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]/gu, '');
}

const CN_DIGITS: Record<string, number> = {
  零: 0,
  〇: 0,
  一: 1,
  二: 2,
  两: 2,
  兩: 2,
  三: 3,
  四: 4,
  五: 5,
  六: 6,
  七: 7,
  八: 8,
  九: 9,
};

/** `3`, `12`, `三`, `两`, `十`, `十二`, `二十`, `九十九` → number; anything else → undefined. */
function parseSmallNumber(s: string): number | undefined {
  if (/^\d{1,6}$/.test(s)) return Number(s);
  const m = /^([一二两兩三四五六七八九])?(十)?([一二三四五六七八九])?$/u.exec(s);
  if (!m || s === '') return undefined;
  const [, tens, ten, units] = m;
  if (!ten) return tens && !units ? CN_DIGITS[tens] : undefined;
  return (tens ? (CN_DIGITS[tens] ?? 0) : 1) * 10 + (units ? (CN_DIGITS[units] ?? 0) : 0);
}

function isCjk(s: string): boolean {
  return /\p{Script=Han}/u.test(s);
}

// ───────────────────────────── currency ─────────────────────────────

const ISO_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/**
 * Symbols and words → ISO 4217. Keys are lower-cased NFKC (so `￥` arrives as `¥`).
 * `¥` means CNY: this bot's users are mostly in mainland China; Japanese-yen users write `JPY` or `日元`.
 * `$` means USD; other dollars are written with their code (`HKD`, `SGD`) or prefix (`HK$`, `S$`, `A$`, `C$`).
 */
const CURRENCY_ALIASES: Readonly<Record<string, string>> = {
  $: 'USD',
  us$: 'USD',
  hk$: 'HKD',
  s$: 'SGD',
  a$: 'AUD',
  c$: 'CAD',
  nt$: 'TWD',
  '€': 'EUR',
  '£': 'GBP',
  '¥': 'CNY',
  '₩': 'KRW',
  '₹': 'INR',
  '₽': 'RUB',
  '₺': 'TRY',
  '₫': 'VND',
  '฿': 'THB',
  '₱': 'PHP',
  rmb: 'CNY',
  元: 'CNY',
  块: 'CNY',
  块钱: 'CNY',
  人民币: 'CNY',
  美元: 'USD',
  美金: 'USD',
  欧元: 'EUR',
  英镑: 'GBP',
  日元: 'JPY',
  港币: 'HKD',
  港元: 'HKD',
  新币: 'SGD',
};

function lookupCurrency(token: string): string | undefined {
  const t = token.toLowerCase();
  const alias = CURRENCY_ALIASES[t];
  if (alias) return alias;
  const upper = t.toUpperCase();
  return /^[A-Z]{3}$/.test(upper) && ISO_CURRENCIES.has(upper) ? upper : undefined;
}

const CURRENCY_ACCEPTED = 'USD, EUR, CNY, GBP, JPY, $, €, £, ¥, RMB, 元';

/** ISO 4217 codes (any case) and the symbols/words in CURRENCY_ALIASES. Field 'currency'. */
export function parseCurrency(input: string): Result<string> {
  const s = canon(input);
  if (s === '') return invalid('currency', input, 'text_empty');
  const code = s.length <= MAX_TOKEN_LENGTH ? lookupCurrency(s) : undefined;
  return code ? ok(code) : invalid('currency', input, 'currency_unknown', { accepted: CURRENCY_ACCEPTED });
}

// ───────────────────────────── amount ─────────────────────────────

export const MAX_AMOUNT = 1e13;

/** Multiplier suffix → power of ten. Matched case-insensitively; `w` is the common chat shorthand for 万. */
const MULTIPLIERS: Readonly<Record<string, number>> = {
  k: 3,
  thousand: 3,
  千: 3,
  w: 4,
  万: 4,
  萬: 4,
  十万: 5,
  m: 6,
  mn: 6,
  million: 6,
  百万: 6,
  千万: 7,
  亿: 8,
  億: 8,
  b: 9,
  bn: 9,
  billion: 9,
};

const CURRENCY_PREFIX_RE = /^(us\$|hk\$|nt\$|s\$|a\$|c\$|[$€£¥₩₹₽₺₫฿₱]|[a-z]{3}(?![a-z]))/iu;
const CURRENCY_SUFFIX_RE =
  /(us\$|hk\$|[$€£¥₩₹₽₺₫฿₱]|(?<![a-z])[a-z]{3}|块钱|人民币|美元|美金|欧元|英镑|日元|港币|港元|新币|元|块)$/iu;
const MULTIPLIER_RE = /(thousand|million|billion|mn|bn|十万|百万|千万|[kmbw千万萬亿億])$/iu;

/**
 * Parses a money amount. Accepted: `50000`, `50,000`, `50k`, `1.2M`, `2b`, `5w`, `5千`, `5万`, `1.5亿`,
 * `¥50,000`, `￥5万`, `$50k`, `€1.2M`, `£300`, `50000 USD`, `USD 50k`, `CNY 5万`, `RMB 100`, `5万元`, `300块`,
 * full-width digits, surrounding spaces, and unambiguous European notation (`1.234.567`, `1.234,56`).
 *
 * `¥` is CNY (JPY users write `JPY`). `1,234` is 1234 (comma thousands); `1.234` with no multiplier is rejected as
 * ambiguous (European 1234 vs decimal 1.234); a lone decimal comma (`12,5`) is rejected as malformed.
 * Result is rounded half-up to 2 decimals. Field 'amount'.
 */
export function parseAmount(
  input: string,
  defaultCurrency: string,
): Result<{ amount: number; currency: string }> {
  const fail = (reason: string, params?: Record<string, string | number>) =>
    invalid<{ amount: number; currency: string }>('amount', input, reason, params);
  let s = canon(input);
  if (s === '') return fail('text_empty');
  if (s.length > MAX_TOKEN_LENGTH) return fail('amount_format');

  let negative = false;
  const takeSign = () => {
    if (s.startsWith('-')) {
      negative = true;
      s = s.slice(1).trim();
    } else if (s.startsWith('+')) {
      s = s.slice(1).trim();
    }
  };

  const currencies: string[] = [];
  takeSign();
  const pre = CURRENCY_PREFIX_RE.exec(s);
  if (pre) {
    const code = lookupCurrency(pre[1] ?? '');
    if (!code) return fail('amount_format');
    currencies.push(code);
    s = s.slice(pre[0].length).trim();
    takeSign();
  }
  const post = CURRENCY_SUFFIX_RE.exec(s);
  if (post) {
    const code = lookupCurrency(post[1] ?? '');
    // A trailing three-letter word that is not a currency ("50k abc") is garbage, not a multiplier.
    if (!code) return fail('amount_format');
    currencies.push(code);
    s = s.slice(0, post.index).trim();
  }
  let exponent = 0;
  const mult = MULTIPLIER_RE.exec(s);
  if (mult) {
    exponent = MULTIPLIERS[(mult[1] ?? '').toLowerCase()] ?? 0;
    s = s.slice(0, mult.index).trim();
  }

  const distinct = [...new Set(currencies)];
  if (distinct.length > 1) return fail('amount_currency_conflict', { currencies: distinct.join(', ') });

  const num = splitNumber(s, exponent > 0);
  if (num === 'ambiguous') {
    return fail('amount_ambiguous', { asDecimal: s, asThousands: s.replace(/\./g, '') });
  }
  if (!num) return fail('amount_format');
  if (negative && /[1-9]/.test(num.int + num.frac)) return fail('amount_negative');

  const amount = toCents(num.int, num.frac, exponent);
  if (amount === undefined || amount / 100 > MAX_AMOUNT) return fail('amount_too_large', { max: MAX_AMOUNT });
  const currency =
    distinct[0] ?? (lookupCurrency(defaultCurrency.trim()) || defaultCurrency.trim().toUpperCase());
  return ok({ amount: amount / 100, currency });
}

/** Splits a bare number into integer and fraction digit strings, per the notation rules of parseAmount. */
function splitNumber(
  s: string,
  hasMultiplier: boolean,
): { int: string; frac: string } | 'ambiguous' | undefined {
  let m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (m) {
    const [, int = '', frac = ''] = m;
    if (!hasMultiplier && frac.length === 3 && /^[1-9]\d{0,2}$/.test(int)) return 'ambiguous';
    return { int, frac };
  }
  m = /^(\d{1,3}(?:,\d{3})+)(?:\.(\d+))?$/.exec(s);
  if (m) return { int: (m[1] ?? '').replace(/,/g, ''), frac: m[2] ?? '' };
  // European: dot thousands with a decimal comma, or two or more dot groups (a decimal has only one dot).
  m = /^(\d{1,3}(?:\.\d{3})+),(\d+)$/.exec(s) ?? /^(\d{1,3}(?:\.\d{3}){2,})()$/.exec(s);
  if (m) return { int: (m[1] ?? '').replace(/\./g, ''), frac: m[2] ?? '' };
  return undefined;
}

/** Exact decimal shift by 10^exponent, rounded half-up to cents. Undefined when absurdly large. */
function toCents(int: string, frac: string, exponent: number): number | undefined {
  const digits = int + frac.padEnd(exponent, '0');
  const pointAt = int.length + exponent;
  const whole = digits.slice(0, pointAt).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(pointAt);
  if (whole.length > 16) return undefined;
  let cents = BigInt(whole + fraction.slice(0, 2).padEnd(2, '0'));
  if ((fraction[2] ?? '0') >= '5') cents += 1n;
  return Number(cents);
}

// ───────────────────────────── dates ─────────────────────────────

export type ParseDateOptions = {
  now: Date;
  /** IANA zone of the workspace; the returned Date is 00:00 of the day in this zone. */
  timeZone: string;
  /** Accepted for symmetry with the adapters; English and Chinese forms are always both understood. */
  locale?: 'en' | 'zh-CN';
  /** Default false: a day before today is Invalid 'date_past'. */
  allowPast?: boolean;
  /** Field named in errors; default 'dueDate'. */
  field?: string;
};

const MIN_DATE = '1970-01-01';
const MAX_DATE = '2199-12-31';

const EN_WEEKDAYS: Readonly<Record<string, number>> = {
  mon: 1,
  monday: 1,
  tue: 2,
  tues: 2,
  tuesday: 2,
  wed: 3,
  weds: 3,
  wednesday: 3,
  thu: 4,
  thur: 4,
  thurs: 4,
  thursday: 4,
  fri: 5,
  friday: 5,
  sat: 6,
  saturday: 6,
  sun: 7,
  sunday: 7,
};
const CN_WEEKDAYS: Readonly<Record<string, number>> = {
  一: 1,
  二: 2,
  三: 3,
  四: 4,
  五: 5,
  六: 6,
  日: 7,
  天: 7,
  '1': 1,
  '2': 2,
  '3': 3,
  '4': 4,
  '5': 5,
  '6': 6,
  '7': 7,
};
const EN_MONTHS: Readonly<Record<string, number>> = {
  jan: 1,
  january: 1,
  feb: 2,
  february: 2,
  mar: 3,
  march: 3,
  apr: 4,
  april: 4,
  may: 5,
  jun: 6,
  june: 6,
  jul: 7,
  july: 7,
  aug: 8,
  august: 8,
  sep: 9,
  sept: 9,
  september: 9,
  oct: 10,
  october: 10,
  nov: 11,
  november: 11,
  dec: 12,
  december: 12,
};

type Unit = 'days' | 'weeks' | 'months' | 'years';

/** Unit words (lower case, no spaces) for relative dates and durations. Months are calendar months in dates. */
const UNITS: Readonly<Record<string, Unit>> = {
  d: 'days',
  day: 'days',
  days: 'days',
  天: 'days',
  日: 'days',
  w: 'weeks',
  wk: 'weeks',
  wks: 'weeks',
  week: 'weeks',
  weeks: 'weeks',
  周: 'weeks',
  週: 'weeks',
  星期: 'weeks',
  个星期: 'weeks',
  礼拜: 'weeks',
  个礼拜: 'weeks',
  m: 'months',
  mo: 'months',
  mos: 'months',
  month: 'months',
  months: 'months',
  个月: 'months',
  個月: 'months',
  y: 'years',
  yr: 'years',
  yrs: 'years',
  year: 'years',
  years: 'years',
  年: 'years',
};

/**
 * `3d`, `+3d`, `3 days`, `in 3 days`, `3 days later`, `3天后`, `两周后`, `1个月后` → count + unit.
 * Chinese `N月` is a month name and `N日` a day of month, so neither is a relative date; `N日后` is.
 */
function parseRelative(s: string): { n: number; unit: Unit } | undefined {
  const m =
    /^(?:in\s*)?\+?\s*([0-9]+|[零〇一二两兩三四五六七八九十]+)\s*([a-z]+|[天日周週年]|个月|個月|个?星期|个?礼拜)\s*(later|from now|后|以后|之后)?$/u.exec(
      s,
    );
  if (!m) return undefined;
  const n = parseSmallNumber(m[1] ?? '');
  const unit = UNITS[m[2] ?? ''];
  if (n === undefined || !unit || (m[2] === '日' && !m[3])) return undefined;
  return { n, unit };
}

/**
 * Parses a due/close date and returns 00:00 of that day in `opts.timeZone` as a JS Date.
 *
 * Accepted: ISO `2026-12-01` (also `/` or `.` separated, optional `T10:00[:00][Z|±hh:mm]` as Excel/CSV export it —
 * an explicit offset with a non-midnight time is converted into the workspace zone first; `…T00:00:00Z` keeps
 * its calendar day), `2026年12月1日`, `12月1日`/`12月1号` and
 * `Dec 1`/`1 December` (this year, or next year when already past), `December 1, 2026`, `today`/`今天`,
 * `tomorrow`/`明天`, `后天`, `大后天`, `yesterday`/`昨天`, `+3d`, `3d`, `2w`, `1m` (calendar months), `1y`,
 * `in 3 days`, `3天后`, `两周后`, weekday names (`fri`, `Friday`, `next friday`, `周五`, `星期五`, `礼拜五`: the next
 * occurrence, never today), `下周五`/`friday next week` (that day of next week, Monday-based weeks), `下下周五`,
 * `这周五`/`本周五`/`this friday` (this week's, may be past), `next week`/`下周` (next Monday), `next month`/`下个月`
 * (the 1st), `end of month`/`eom`/`月底`/`月末`, `end of quarter`/`eoq`/`季度末`/`季末`,
 * `end of year`/`eoy`/`年底`/`年末`.
 * Rejected: `12/01`, `01/12/2026` (day/month order ambiguous → 'date_ambiguous'), bare numbers (Excel serials go
 * through parseExcelSerialDate), impossible days, days before today unless `allowPast`.
 */
export function parseDate(input: string, opts: ParseDateOptions): Result<Date> {
  const field = opts.field ?? 'dueDate';
  const fail = (reason: string, params?: Record<string, string | number>) =>
    invalid<Date>(field, input, reason, params);
  if (!validZone(opts.timeZone)) return invalid('timezone', opts.timeZone, 'timezone_unknown');
  const now = DateTime.fromJSDate(opts.now, { zone: opts.timeZone });
  if (!now.isValid) return fail('date_format');
  const today = now.startOf('day');

  const s = canon(input).toLowerCase();
  if (s === '') return fail('text_empty');
  if (s.length > MAX_TOKEN_LENGTH) return fail('date_format');

  const day = resolveDay(s, today, opts.timeZone);
  if (day === 'ambiguous') return fail('date_ambiguous', { format: 'YYYY-MM-DD' });
  if (day === 'invalid') return fail('date_invalid');
  if (!day) return fail('date_format');
  const iso = day.toISODate() ?? '';
  if (iso < MIN_DATE || iso > MAX_DATE) return fail('date_range', { min: MIN_DATE, max: MAX_DATE });
  if (!opts.allowPast && day < today) return fail('date_past', { today: today.toISODate() ?? '' });
  return ok(day.toJSDate());
}

function dayOf(year: number, month: number, dayOfMonth: number, zone: string): DateTime | 'invalid' {
  const d = DateTime.fromObject({ year, month, day: dayOfMonth }, { zone });
  return d.isValid ? d.startOf('day') : 'invalid';
}

/** Month/day without a year: this year's, or next year's if this year's is already past. */
function upcoming(month: number, dayOfMonth: number, today: DateTime, zone: string): DateTime | 'invalid' {
  const leapSafeYear = month === 2 && dayOfMonth === 29 ? nextLeapYear(today.year) : today.year;
  const d = dayOf(leapSafeYear, month, dayOfMonth, zone);
  if (d === 'invalid' || d >= today) return d;
  return dayOf(
    month === 2 && dayOfMonth === 29 ? nextLeapYear(d.year + 1) : d.year + 1,
    month,
    dayOfMonth,
    zone,
  );
}

function nextLeapYear(from: number): number {
  let y = from;
  while (!((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0)) y++;
  return y;
}

/** The next `weekday` (1 = Monday) strictly after today. */
function nextWeekday(today: DateTime, weekday: number): DateTime {
  const diff = (weekday - today.weekday + 7) % 7 || 7;
  return today.plus({ days: diff });
}

/** `weekday` of the week `weeksAhead` after the current Monday-based week. */
function weekdayOfWeek(today: DateTime, weekday: number, weeksAhead: number): DateTime {
  return today.minus({ days: today.weekday - 1 }).plus({ days: weeksAhead * 7 + weekday - 1 });
}

function resolveDay(
  s: string,
  today: DateTime,
  zone: string,
): DateTime | 'invalid' | 'ambiguous' | undefined {
  let m: RegExpExecArray | null;

  // ISO-like, optional time and offset (as exported by Excel/CSV).
  m =
    /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[t ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(z|[+-]\d{2}:?\d{2})?)?$/.exec(
      s,
    );
  if (m) {
    const [, y, mo, d, hh, mm, ss, offset] = m;
    // Exactly midnight with an offset is a date-only cell serialised as an instant (ExcelJS, JSON): keep its day.
    const midnight = +(hh ?? 0) === 0 && +(mm ?? 0) === 0 && +(ss ?? 0) === 0;
    if (offset && !midnight) {
      const off =
        offset === 'z'
          ? 'UTC'
          : `UTC${offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset}`;
      const instant = DateTime.fromObject(
        {
          year: +(y ?? 0),
          month: +(mo ?? 0),
          day: +(d ?? 0),
          hour: +(hh ?? 0),
          minute: +(mm ?? 0),
          second: +(ss ?? 0),
        },
        { zone: off },
      );
      return instant.isValid ? instant.setZone(zone).startOf('day') : 'invalid';
    }
    if (hh !== undefined && (+hh > 23 || +(mm ?? 0) > 59 || +(ss ?? 0) > 59)) return 'invalid';
    return dayOf(+(y ?? 0), +(mo ?? 0), +(d ?? 0), zone);
  }
  // Compact ISO 20261201.
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) return dayOf(+(m[1] ?? 0), +(m[2] ?? 0), +(m[3] ?? 0), zone);
  // a/b or a/b/yyyy: US vs European order cannot be told apart.
  if (/^\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?$/.test(s)) return 'ambiguous';

  // Chinese: 2026年12月1日, 12月1日, 12月1号.
  m = /^(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?$/u.exec(s);
  if (m) {
    const [, y, mo, d] = m;
    if (y) return dayOf(+y, +(mo ?? 0), +(d ?? 0), zone);
    return upcoming(+(mo ?? 0), +(d ?? 0), today, zone);
  }
  // English month names: Dec 1, Dec 1st, 1 Dec, December 1, 2026, 1 December 2026.
  m = /^([a-z]+)\.?\s*(\d{1,2})(?:st|nd|rd|th)?(?:,?\s*(\d{4}))?$/.exec(s) ?? null;
  const m2 = m ? null : /^(\d{1,2})(?:st|nd|rd|th)?\s*([a-z]+)\.?,?(?:\s*(\d{4}))?$/.exec(s);
  if (m || m2) {
    const monthWord = m ? m[1] : m2?.[2];
    const dayStr = m ? m[2] : m2?.[1];
    const yearStr = m ? m[3] : m2?.[3];
    const month = EN_MONTHS[monthWord ?? ''];
    if (month) {
      if (yearStr) return dayOf(+yearStr, month, +(dayStr ?? 0), zone);
      return upcoming(month, +(dayStr ?? 0), today, zone);
    }
  }

  const words = s.replace(/\s+/g, ' ');
  switch (words) {
    case 'today':
    case 'tod':
    case '今天':
    case '今日':
      return today;
    case 'tomorrow':
    case 'tmr':
    case 'tmrw':
    case '明天':
    case '明日':
      return today.plus({ days: 1 });
    case '后天':
    case '後天':
      return today.plus({ days: 2 });
    case '大后天':
    case '大後天':
      return today.plus({ days: 3 });
    case 'yesterday':
    case '昨天':
    case '昨日':
      return today.minus({ days: 1 });
    case 'next week':
    case '下周':
    case '下星期':
    case '下个星期':
    case '下礼拜':
    case '下个礼拜':
      return weekdayOfWeek(today, 1, 1);
    case 'next month':
    case '下个月':
    case '下月':
      return today.plus({ months: 1 }).startOf('month');
    case 'end of month':
    case 'end of the month':
    case 'eom':
    case '月底':
    case '月末':
    case '本月底':
    case '这个月底':
      return today.endOf('month').startOf('day');
    case 'end of quarter':
    case 'end of the quarter':
    case 'eoq':
    case '季度末':
    case '季末':
    case '本季度末':
    case '季度底':
      return today.endOf('quarter').startOf('day');
    case 'end of year':
    case 'end of the year':
    case 'eoy':
    case '年底':
    case '年末':
    case '今年底':
      return today.endOf('year').startOf('day');
  }

  // English weekdays: fri, friday, next friday, this friday, friday next week.
  m = /^(next |this |coming |the coming )?([a-z]+)\.?( next week| this week)?$/.exec(words);
  if (m) {
    const weekday = EN_WEEKDAYS[m[2] ?? ''];
    if (weekday) {
      const [, prefix, , suffix] = m;
      if (prefix && suffix) return undefined;
      if (suffix === ' next week') return weekdayOfWeek(today, weekday, 1);
      if (prefix === 'this ' || suffix === ' this week') return weekdayOfWeek(today, weekday, 0);
      return nextWeekday(today, weekday);
    }
  }
  // Chinese weekdays: 周五, 星期五, 礼拜五, 下周五, 下下周五, 这周五, 本周五.
  m = /^(下下|下个?|这个?|本|这一)?(?:周|週|星期|礼拜|禮拜)([一二三四五六日天1-7])$/u.exec(words);
  if (m) {
    const weekday = CN_WEEKDAYS[m[2] ?? ''];
    if (!weekday) return undefined;
    const prefix = m[1] ?? '';
    if (prefix === '') return nextWeekday(today, weekday);
    if (prefix === '下下') return weekdayOfWeek(today, weekday, 2);
    if (prefix.startsWith('下')) return weekdayOfWeek(today, weekday, 1);
    return weekdayOfWeek(today, weekday, 0);
  }

  const rel = parseRelative(words);
  if (rel) return today.plus({ [rel.unit]: rel.n });
  return undefined;
}

/**
 * Excel (1900 date system) serial → 00:00 of that calendar day in `timeZone`. The time-of-day fraction is dropped.
 * Serial 60 (Excel's fictitious 1900-02-29) and anything outside 1 … 2958465 (9999-12-31) are Invalid.
 */
export function parseExcelSerialDate(n: number, timeZone: string, field = 'dueDate'): Result<Date> {
  const fail = (reason: string) => invalid<Date>(field, String(n), reason);
  if (!validZone(timeZone)) return invalid('timezone', timeZone, 'timezone_unknown');
  if (!Number.isFinite(n)) return fail('date_format');
  const serial = Math.floor(n);
  if (serial < 1 || serial > 2958465 || serial === 60) return fail('date_invalid');
  const base = DateTime.fromObject({ year: 1899, month: 12, day: serial < 60 ? 31 : 30 }, { zone: 'UTC' });
  const d = base.plus({ days: serial });
  const result = dayOf(d.year, d.month, d.day, timeZone);
  return result === 'invalid' ? fail('date_invalid') : ok(result.toJSDate());
}

// ───────────────────────────── duration ─────────────────────────────

export const MAX_DURATION_DAYS = 3650;
const DAYS_PER_UNIT: Readonly<Record<Unit, number>> = { days: 1, weeks: 7, months: 30, years: 365 };

/**
 * `1d`, `3 days`, `1w`, `2 weeks`, `1m`/`1 month` (= 30 days), `1y` (= 365), `3天`, `1周`, `一周`, `两天`,
 * `3个月`, `两个星期`. Returns whole days. Hours/minutes (`12h`) are rejected ('duration_format') rather than
 * silently rounded: everything that uses a duration (snooze, pipeline windows) is day-granular. A bare number
 * is rejected too (unit required). Range 1 … 3650 days. Field 'duration'.
 */
export function parseDuration(input: string): Result<{ days: number }> {
  const s = canon(input).toLowerCase();
  if (s === '') return invalid('duration', input, 'text_empty');
  if (s.length > MAX_TOKEN_LENGTH) return invalid('duration', input, 'duration_format');
  const m =
    /^([0-9]+|[零〇一二两兩三四五六七八九十]+)\s*([a-z]+|[天日周週年]|个月|個月|个?星期|个?礼拜)$/u.exec(s);
  const n = m ? parseSmallNumber(m[1] ?? '') : undefined;
  const unit = m ? UNITS[m[2] ?? ''] : undefined;
  if (n === undefined || !unit) return invalid('duration', input, 'duration_format');
  const days = n * DAYS_PER_UNIT[unit];
  if (days < 1 || days > MAX_DURATION_DAYS) {
    return invalid('duration', input, 'duration_range', { min: 1, max: MAX_DURATION_DAYS });
  }
  return ok({ days });
}

// ───────────────────────────── deal code ─────────────────────────────

export const MAX_DEAL_NUMBER = 1_000_000_000;

/** `D-12`, `d-12`, `d12`, `D 12`, `12`, `#12`, `#D-12`, `D－12` (full width), ` D-12 ` → `{ number: 12, code: 'D-12' }`. */
export function parseDealCode(input: string): Result<{ number: number; code: string }> {
  const s = canon(input);
  if (s === '') return invalid('code', input, 'text_empty');
  const m = /^#?(?:d\s*[-_#]?\s*)?(\d{1,12})$/i.exec(s);
  const n = m ? Number(m[1]) : 0;
  if (!m || n < 1 || n > MAX_DEAL_NUMBER) return invalid('code', input, 'code_format');
  return ok({ number: n, code: `D-${n}` });
}

// ───────────────────────────── stage ─────────────────────────────

export type StageLike = {
  key: string;
  labels: { en: string; 'zh-CN': string };
  /** Extra names accepted for the stage (e.g. `POC`). */
  aliases?: readonly string[];
};

/**
 * Resolves a stage by, in order: key (case-insensitive; `closed won` = `closed_won`), label in either language
 * (case-insensitive, spaces and punctuation such as `/` ignored), alias, acronym of a multi-word English label
 * (`Proof of Concept` → `poc`), then unique prefix of any of those (`prop` → proposal, `方案` → 方案/报价; Latin
 * prefixes need 2+ characters), then unique prefix of a word of the English label (`won` → Closed Won).
 * Several stages at the same step → 'stage_ambiguous' { matches }; none → 'stage_unknown' { accepted }.
 */
export function resolveStage<S extends StageLike>(input: string, stages: readonly S[]): Result<S> {
  const q = squash(input);
  if (q === '') {
    // Only punctuation or symbols ("$", "🙂"): not a stage, rather than "empty".
    return input.trim() === ''
      ? invalid('stage', input, 'text_empty')
      : invalid('stage', input, 'stage_unknown', { accepted: stages.map((s) => s.key).join(', ') });
  }
  const names = stages.map((stage) => {
    const exact = [stage.key, stage.labels.en, stage.labels['zh-CN'], ...(stage.aliases ?? [])].map(squash);
    const words = stage.labels.en.split(/[\s/_-]+/u).filter(Boolean);
    const acronym =
      words.length > 1
        ? words
            .map((w) => w[0] ?? '')
            .join('')
            .toLowerCase()
        : '';
    const zhWords = stage.labels['zh-CN'].split(/[\s\p{P}\p{S}]+/u);
    return {
      stage,
      exact,
      acronym,
      words: [...words, ...zhWords, ...stage.key.split('_')].map(squash).filter(Boolean),
    };
  });
  const steps: ((n: (typeof names)[number]) => boolean)[] = [
    (n) => n.exact[0] === q,
    (n) => n.exact.slice(1).includes(q),
    (n) => n.acronym === q,
  ];
  if (q.length >= 2 || isCjk(q)) {
    steps.push((n) => n.exact.some((name) => name.startsWith(q)));
    steps.push((n) => n.words.some((w) => w.startsWith(q)));
  }
  for (const step of steps) {
    const hits = names.filter(step);
    if (hits.length === 1 && hits[0]) return ok(hits[0].stage);
    if (hits.length > 1) {
      return invalid('stage', input, 'stage_ambiguous', { matches: hits.map((h) => h.stage.key).join(', ') });
    }
  }
  return invalid('stage', input, 'stage_unknown', { accepted: stages.map((s) => s.key).join(', ') });
}

// ───────────────────────────── free text ─────────────────────────────

export type ParseTextOptions = { field: string; max: number; required?: boolean };

/** Bidi embedding/override/isolate controls (Trojan-Source style), U+202A–U+202E and U+2066–U+2069. */
const BIDI_RE = /[\u202A-\u202E\u2066-\u2069]/gu;
/** ZWSP, ZWNJ, BOM, word joiner; ZWJ is kept only inside emoji sequences (👩‍💻), elsewhere it is stripped. */
const ZERO_WIDTH_TEXT_RE =
  /[\u200B\u200C\uFEFF\u2060]|(?<![\p{Extended_Pictographic}\u{FE0F}\p{Emoji_Modifier}])\u200D|\u200D(?!\p{Extended_Pictographic})/gu;
/** C0/C1 controls except newline (tab is turned into a space first), and lone surrogates. */
const CONTROL_RE = /(?!\n)\p{Cc}|\p{Cs}/gu;

/**
 * Free text (names, notes, next steps): NFC, CRLF/CR/U+2028/U+2029 → `\n`, tab → space, zero-width and bidi
 * controls and other control characters removed, then trimmed. Nothing else is collapsed. Length is counted in
 * code points (an emoji counts 1). Empty and not required → ok(''). Emoji and CJK are allowed.
 */
export function parseText(input: string, opts: ParseTextOptions): Result<string> {
  const text = input
    .normalize('NFC')
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(ZERO_WIDTH_TEXT_RE, '')
    .replace(BIDI_RE, '')
    .replace(CONTROL_RE, '')
    .trim();
  if (text === '') return opts.required ? invalid(opts.field, input, 'text_empty') : ok('');
  let length = 0;
  for (const _ of text) length++;
  if (length > opts.max) return invalid(opts.field, input, 'text_too_long', { max: opts.max, length });
  return ok(text);
}

// ───────────────────────────── lead source ─────────────────────────────

export const DEAL_SOURCES = [
  'website',
  'paid_search',
  'content',
  'social',
  'referral',
  'event',
  'outbound',
  'partner',
  'other',
] as const;
export type DealSource = (typeof DEAL_SOURCES)[number];

/** Aliases, compared after `squash` (lower case, no spaces/punctuation). */
const SOURCE_ALIASES: Readonly<Record<DealSource, readonly string[]>> = {
  website: [
    'web',
    'site',
    'inbound',
    'organic',
    'seo',
    'homepage',
    '官网',
    '网站',
    '官方网站',
    '自然流量',
    '官网询盘',
  ],
  paid_search: [
    'paid',
    'ppc',
    'sem',
    'adwords',
    'googleads',
    'ads',
    '搜索广告',
    '付费搜索',
    '竞价',
    '百度推广',
    '广告',
  ],
  content: [
    'blog',
    'whitepaper',
    'ebook',
    'webinar',
    'newsletter',
    '内容',
    '内容营销',
    '博客',
    '白皮书',
    '直播',
  ],
  social: [
    'socialmedia',
    'linkedin',
    'twitter',
    'x',
    'wechat',
    'weibo',
    '社交',
    '社交媒体',
    '社媒',
    '微信',
    '微博',
    '朋友圈',
    '小红书',
  ],
  referral: [
    'ref',
    'referred',
    'wordofmouth',
    'introduction',
    'intro',
    '转介绍',
    '推荐',
    '介绍',
    '口碑',
    '老客户推荐',
  ],
  event: [
    'events',
    'tradeshow',
    'conference',
    'expo',
    'meetup',
    'summit',
    '展会',
    '活动',
    '会议',
    '峰会',
    '线下活动',
  ],
  outbound: [
    'coldcall',
    'coldemail',
    'sdr',
    'prospecting',
    'outreach',
    '外呼',
    '陌拜',
    '陌生拜访',
    '电销',
    '地推',
    '主动开发',
  ],
  partner: [
    'partners',
    'channel',
    'reseller',
    'distributor',
    'alliance',
    '渠道',
    '合作伙伴',
    '伙伴',
    '代理商',
    '经销商',
  ],
  other: ['others', 'unknown', 'misc', 'n/a', 'na', '其他', '其它', '未知'],
};

/** Canonical key, English/Chinese alias (see SOURCE_ALIASES) or unique prefix (2+ chars) of a key. Field 'source'. */
export function parseSource(input: string): Result<DealSource> {
  const q = squash(input);
  if (q === '') return invalid('source', input, 'text_empty');
  const exact = DEAL_SOURCES.find((k) => squash(k) === q || SOURCE_ALIASES[k].some((a) => squash(a) === q));
  if (exact) return ok(exact);
  const prefixed = q.length >= 2 ? DEAL_SOURCES.filter((k) => squash(k).startsWith(q)) : [];
  if (prefixed.length === 1 && prefixed[0]) return ok(prefixed[0]);
  return invalid('source', input, 'source_unknown', { accepted: DEAL_SOURCES.join(', ') });
}
