import { describe, expect, it } from 'vitest';
import {
  formatDate,
  formatDays,
  formatMoney,
  formatMonth,
  formatNumber,
  formatPercent,
  toLocale,
} from '../../src/i18n/format.js';

describe('formatMoney', () => {
  it('compact en', () => {
    expect(formatMoney(50_000, 'USD', 'en', { compact: true })).toBe('$50k');
    expect(formatMoney(1_200_000, 'USD', 'en', { compact: true })).toBe('$1.2M');
    expect(formatMoney(1_200_000, 'CNY', 'en', { compact: true })).toBe('¥1.2M');
    expect(formatMoney(950_000, 'USD', 'en', { compact: true })).toBe('$950k');
    expect(formatMoney(999, 'USD', 'en', { compact: true })).toBe('$999');
    expect(formatMoney(0, 'USD', 'en', { compact: true })).toBe('$0');
    expect(formatMoney(-1500, 'USD', 'en', { compact: true })).toBe('-$1.5k');
  });

  it('compact zh-CN uses 万 and 亿', () => {
    expect(formatMoney(1_200_000, 'CNY', 'zh-CN', { compact: true })).toBe('¥120万');
    expect(formatMoney(150_000_000, 'CNY', 'zh-CN', { compact: true })).toBe('¥1.5亿');
    expect(formatMoney(50_000, 'USD', 'zh-CN', { compact: true })).toBe('$5万');
    expect(formatMoney(12_345, 'CNY', 'zh-CN', { compact: true })).toBe('¥1.2万');
    expect(formatMoney(5_000, 'CNY', 'zh-CN', { compact: true })).toBe('¥5000');
  });

  it('full format', () => {
    expect(formatMoney(50_000, 'USD', 'en')).toBe('$50,000');
    expect(formatMoney(50_000, 'CNY', 'zh-CN')).toBe('¥50,000');
    expect(formatMoney(49.95, 'USD', 'en')).toBe('$49.95');
    expect(formatMoney(1234, 'eur', 'en')).toBe('€1,234');
  });

  it('unknown or malformed currency codes fall back to the code', () => {
    expect(formatMoney(5000, 'XYZ', 'en')).toMatch(/^XYZ\s5,000$/);
    expect(formatMoney(5000, 'BTCX', 'en')).toBe('BTCX 5,000');
    expect(formatMoney(50_000, 'BTCX', 'en', { compact: true })).toBe('BTCX 50k');
  });

  it('non-finite amounts render as a dash', () => {
    expect(formatMoney(Number.NaN, 'USD', 'en')).toBe('—');
  });
});

describe('numbers, percents, days', () => {
  it('formatNumber', () => {
    expect(formatNumber(1234.5, 'en')).toBe('1,234.5');
    expect(formatNumber(12_000, 'en', { compact: true })).toBe('12k');
    expect(formatNumber(12_000, 'zh-CN', { compact: true })).toBe('1.2万');
  });

  it('formatPercent', () => {
    expect(formatPercent(0.667, 'en')).toBe('67%');
    expect(formatPercent(0.5, 'zh-CN')).toBe('50%');
    expect(formatPercent(null, 'en')).toBe('—');
    expect(formatPercent(Number.NaN, 'zh-CN')).toBe('—');
  });

  it('formatDays', () => {
    expect(formatDays(3.5, 'en')).toBe('3.5 d');
    expect(formatDays(3.5, 'zh-CN')).toBe('3.5 天');
    expect(formatDays(12, 'zh-CN')).toBe('12 天');
    expect(formatDays(null, 'en')).toBe('—');
  });
});

describe('dates', () => {
  // 2026-03-31T20:00Z is already April 1st in Shanghai.
  const d = new Date(Date.UTC(2026, 2, 31, 20));
  it('formatDate follows the time zone', () => {
    expect(formatDate(d, 'en', 'UTC')).toBe('Mar 31, 2026');
    expect(formatDate(d, 'en', 'Asia/Shanghai')).toBe('Apr 1, 2026');
    expect(formatDate(d, 'zh-CN', 'Asia/Shanghai')).toBe('2026年4月1日');
  });
  it('formatMonth', () => {
    expect(formatMonth(d, 'en', 'UTC')).toBe('Mar 2026');
    expect(formatMonth(d, 'zh-CN', 'Asia/Shanghai')).toBe('2026年4月');
  });
  it('toLocale', () => {
    expect(toLocale('zh-Hans-CN')).toBe('zh-CN');
    expect(toLocale('en-US')).toBe('en');
    expect(toLocale(undefined)).toBe('en');
  });
});
