/**
 * Locale-aware formatting shared by chat messages and charts. Pure functions over Intl
 * (Node ships full ICU). Intl already produces the wanted compact forms once the
 * narrow currency symbol is requested:
 *   en:    $50K → `$50k` (only the thousands suffix is lower-cased), `$1.2M`, `¥1.2M`
 *   zh-CN: `¥120万`, `¥1.5亿`, `$5万`
 * Formatter instances are cached per (locale, options) because constructing them is the
 * expensive part.
 */

export type Locale = 'en' | 'zh-CN';

export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];

/** Normalises any incoming tag ('zh', 'zh-Hans-CN', 'en-US', …) to a supported Locale. */
export function toLocale(tag: string | undefined | null): Locale {
  return tag && /^zh/i.test(tag) ? 'zh-CN' : 'en';
}

const EM_DASH = '—';

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function numberFormat(locale: Locale, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as Intl.NumberFormat | undefined;
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    cache.set(key, f);
  }
  return f;
}

function dateFormat(locale: Locale, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    cache.set(key, f);
  }
  return f;
}

/** Whether Intl accepts the code as a currency (any well-formed 3-letter code is accepted). */
function isWellFormedCurrency(code: string): boolean {
  return /^[A-Za-z]{3}$/.test(code);
}

function joinParts(parts: Intl.NumberFormatPart[], locale: Locale): string {
  return parts
    .map((p) => (p.type === 'compact' && locale === 'en' && p.value === 'K' ? 'k' : p.value))
    .join('');
}

export interface MoneyOptions {
  /** Short form for charts and summaries: `$50k`, `$1.2M`, `¥120万`, `¥1.5亿`. */
  compact?: boolean;
}

/**
 * Formats a money amount in the workspace locale. Compact form uses Intl's compact rounding
 * (two significant digits below 100 units of the suffix: `$1.2M`, `$950k`, `¥1.2万`, `¥120万`). Full form keeps the currency's minor
 * units only when the amount has a fraction (`$50,000`, `$49.95`). Codes Intl has no
 * symbol for come out as the ISO code (`XYZ 5,000`); malformed codes are prefixed as-is.
 */
export function formatMoney(
  amount: number,
  currency: string,
  locale: Locale,
  opts: MoneyOptions = {},
): string {
  if (!Number.isFinite(amount)) return EM_DASH;
  const code = currency.trim().toUpperCase();
  if (!isWellFormedCurrency(code)) {
    return `${code} ${formatNumber(amount, locale, opts.compact ? { compact: true } : {})}`.trim();
  }
  if (opts.compact) {
    const f = numberFormat(locale, {
      style: 'currency',
      currency: code,
      currencyDisplay: 'narrowSymbol',
      notation: 'compact',
    });
    return joinParts(f.formatToParts(amount), locale);
  }
  const whole = Number.isInteger(amount);
  const f = numberFormat(locale, {
    style: 'currency',
    currency: code,
    currencyDisplay: 'narrowSymbol',
    ...(whole ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : {}),
  });
  return f.format(amount);
}

export interface NumberOptions {
  compact?: boolean;
  maximumFractionDigits?: number;
}

/** `1,234` / `1.2k` (en) and `1,234` / `1.2万` (zh-CN). */
export function formatNumber(value: number, locale: Locale, opts: NumberOptions = {}): string {
  if (!Number.isFinite(value)) return EM_DASH;
  const f = numberFormat(locale, {
    maximumFractionDigits: opts.maximumFractionDigits ?? (opts.compact ? 1 : 2),
    ...(opts.compact ? { notation: 'compact' as const } : {}),
  });
  return joinParts(f.formatToParts(value), locale);
}

/** `0.667` → `67%`; `null`/NaN → `—`. */
export function formatPercent(
  ratio: number | null | undefined,
  locale: Locale,
  opts: { maximumFractionDigits?: number } = {},
): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return EM_DASH;
  return numberFormat(locale, {
    style: 'percent',
    maximumFractionDigits: opts.maximumFractionDigits ?? 0,
  }).format(ratio);
}

/** `3.5 d` / `3.5 天` (one decimal at most); null/NaN → `—`. */
export function formatDays(days: number | null | undefined, locale: Locale): string {
  if (days === null || days === undefined || !Number.isFinite(days)) return EM_DASH;
  const n = numberFormat(locale, { maximumFractionDigits: 1 }).format(days);
  return locale === 'zh-CN' ? `${n} 天` : `${n} d`;
}

/** `Nov 26, 2026` / `2026年11月26日` in the given IANA time zone. */
export function formatDate(date: Date, locale: Locale, timeZone: string): string {
  return dateFormat(locale, { dateStyle: 'medium', timeZone }).format(date);
}

/** Short day label for chart axes: `Nov 26` / `11月26日`. */
export function formatDayShort(date: Date, locale: Locale, timeZone: string): string {
  return dateFormat(locale, { month: 'short', day: 'numeric', timeZone }).format(date);
}

/** `Nov 2026` / `2026年11月` in the given IANA time zone. */
export function formatMonth(date: Date, locale: Locale, timeZone: string): string {
  return dateFormat(locale, { year: 'numeric', month: 'short', timeZone }).format(date);
}
