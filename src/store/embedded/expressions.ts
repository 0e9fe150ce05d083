/**
 * The mingo operator context the embedded store aggregates with: mingo's
 * operators, with those that diverge from mongod replaced.
 *
 * - comparison expressions ($eq $ne $gt $gte $lt $lte $cmp) and $max/$min
 *   (expressions and accumulators) follow BSON comparison order, with missing
 *   below null as in aggregation expressions;
 * - conversions: ObjectId to and from strings and dates, strict numeric
 *   parsing, ConversionFailure (241) errors, $convert with onError/onNull;
 *   $toDecimal is refused (aggregation computes on doubles here);
 * - time zones: 'UTC', 'GMT', Olson names and ±HH[:MM] offsets, with the
 *   offset in force at each instant (DST), for the date operators;
 * - $dateTrunc, $dateFromParts, $dateAdd, $dateSubtract in local time;
 * - $size of a non-array fails (17124), $arrayElemAt out of range and
 *   $ifNull of only missing values are missing;
 * - $lookup with localField/foreignField and a pipeline joins on equality
 *   first; $sort uses BSON order (arrays by their min/max element).
 */
import { MinKey, ObjectId } from 'bson';
import { Aggregator as BaseAggregator } from 'mingo/aggregator';
import { Context, evalExpr } from 'mingo/core';
import { Lazy } from 'mingo/lazy';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import * as projectionOps from 'mingo/operators/projection';
import * as queryOps from 'mingo/operators/query';
import * as windowOps from 'mingo/operators/window';
import { Query as BaseQuery } from 'mingo/query';
import { ServerError, unsupported } from './errors.js';
import { compareValues, isPlainObject, keyOf, numericValue, sortKey, valuesAt, type Doc } from './values.js';

type Options = Parameters<typeof evalExpr>[2];
type ExpressionOperator = (obj: unknown, expr: unknown, options: Options) => unknown;
type AccumulatorOperator = (coll: unknown[], expr: unknown, options: Options) => unknown;
interface Iter {
  map(f: (o: unknown) => unknown): Iter;
  transform(f: (docs: unknown[]) => Iter): Iter;
  collect(): unknown[];
}
type PipelineOperator = (coll: Iter, expr: unknown, options: Options) => Iter;

const mingoExpr = expressionOps as unknown as Record<string, ExpressionOperator>;
const mingoPipe = pipelineOps as unknown as Record<string, PipelineOperator>;
const mingoLookup = mingoPipe.$lookup!;
const toIter = (docs: unknown[]): Iter => Lazy(docs) as unknown as Iter;

const ev = (obj: unknown, expr: unknown, options: Options): unknown =>
  evalExpr(obj as Doc, expr as Doc, options) as unknown;

/** A literal wrapper so mingo does not evaluate an already computed value again. */
const lit = (v: unknown): Doc => ({ $literal: v });

// ---------------------------------------------------------------------------
// Comparison

/** Aggregation-expression comparison: BSON order, with missing below null. */
export function exprCompare(a: unknown, b: unknown): number {
  if (a === undefined || b === undefined) {
    if (a === b) return 0;
    if (a === undefined) return b instanceof MinKey ? 1 : -1;
    return a instanceof MinKey ? -1 : 1;
  }
  return compareValues(a, b);
}

function twoArgs(name: string, obj: unknown, expr: unknown, options: Options): [unknown, unknown] {
  if (!Array.isArray(expr) || expr.length !== 2)
    throw new ServerError(
      'Location16020',
      `Expression ${name} takes exactly 2 arguments. ${Array.isArray(expr) ? expr.length : 1} were passed in.`,
    );
  return [ev(obj, expr[0], options), ev(obj, expr[1], options)];
}

const comparison = (name: string, test: (c: number) => boolean): ExpressionOperator =>
  ((obj, expr, options) => {
    const [a, b] = twoArgs(name, obj, expr, options);
    return test(exprCompare(a, b));
  }) as ExpressionOperator;

const nullish = (v: unknown): boolean => v === null || v === undefined;

function extreme(values: unknown[], sign: number): unknown {
  let best: unknown = null;
  for (const v of values) {
    if (nullish(v)) continue;
    if (best === null || compareValues(v, best) * sign > 0) best = v;
  }
  return best;
}

const extremeExpr =
  (sign: number): ExpressionOperator =>
  (obj, expr, options) => {
    let values = Array.isArray(expr) ? expr.map((e) => ev(obj, e, options)) : [ev(obj, expr, options)];
    if (values.length === 1 && Array.isArray(values[0])) values = values[0] as unknown[];
    return extreme(values, sign);
  };

const extremeAcc =
  (sign: number): AccumulatorOperator =>
  (coll, expr, options) =>
    extreme(
      (coll as unknown[]).map((d) => ev(d, expr, options)),
      sign,
    );

// ---------------------------------------------------------------------------
// Conversions

function bsonTypeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? 'int' : 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Date) return 'date';
  if (v instanceof ObjectId) return 'objectId';
  if (Array.isArray(v)) return 'array';
  if (v instanceof RegExp) return 'regex';
  return 'object';
}

const conversionFailure = (msg: string): ServerError =>
  new ServerError('ConversionFailure', `${msg} in $convert with no onError value`);

const unsupportedConversion = (v: unknown, to: string): ServerError =>
  conversionFailure(`Unsupported conversion from ${bsonTypeName(v)} to ${to}`);

function toStringValue(v: unknown): unknown {
  if (nullish(v)) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof ObjectId) return v.toHexString();
  throw unsupportedConversion(v, 'string');
}

function numberToString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

function toObjectIdValue(v: unknown): unknown {
  if (nullish(v)) return null;
  if (v instanceof ObjectId) return v;
  if (typeof v === 'string') {
    if (v.length !== 24)
      throw conversionFailure(
        `Failed to parse objectId '${v}': Invalid string length for parsing to OID, expected 24 but found ${v.length}`,
      );
    if (!/^[0-9a-fA-F]{24}$/.test(v))
      throw conversionFailure(`Failed to parse objectId '${v}': Invalid character found in hex string`);
    return new ObjectId(v);
  }
  throw unsupportedConversion(v, 'objectId');
}

function toDateValue(v: unknown): unknown {
  if (nullish(v)) return null;
  if (v instanceof Date) return v;
  if (v instanceof ObjectId) return v.getTimestamp();
  if (typeof v === 'number') {
    const d = new Date(Math.trunc(v));
    if (Number.isNaN(d.getTime())) throw conversionFailure(`Cannot convert ${v} to date`);
    return d;
  }
  if (typeof v === 'string') {
    // ISO 8601 dates, optionally with a time and a zone (what $dateFromString reads without a format).
    if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/.test(v)) {
      const iso = /[T ]\d{2}:\d{2}/.test(v) && !/(Z|[+-]\d{2}(:?\d{2})?)$/.test(v) ? `${v}Z` : v;
      const d = new Date(iso.replace(' ', 'T'));
      if (!Number.isNaN(d.getTime())) return d;
    }
    throw conversionFailure(`Error parsing date string '${v}'`);
  }
  throw unsupportedConversion(v, 'date');
}

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumberValue(v: unknown, to: 'int' | 'long' | 'double'): unknown {
  if (nullish(v)) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) {
    if (to === 'int') throw unsupportedConversion(v, to);
    return v.getTime();
  }
  let n: number;
  if (typeof v === 'number') {
    n = v;
    if (to === 'double') return n;
    if (!Number.isFinite(n))
      throw conversionFailure(`Attempt to convert ${numberToString(n)} value to integer type`);
    n = Math.trunc(n);
  } else if (typeof v === 'string') {
    if (to === 'double') {
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity' || v === 'inf' || v === '-inf')
        return Number(v.replace('inf', 'Infinity'));
      if (!FLOAT_RE.test(v)) throw conversionFailure(`Failed to parse number '${v}'`);
      return Number(v);
    }
    if (!/^[+-]?\d+$/.test(v)) throw conversionFailure(`Failed to parse number '${v}'`);
    n = Number(v);
  } else {
    throw unsupportedConversion(v, to);
  }
  const limit = to === 'int' ? 2 ** 31 : 2 ** 63;
  if (n < -limit || n >= limit)
    throw conversionFailure(
      `Conversion would overflow target type in $convert with no onError value: ${numberToString(n)}`,
    );
  return n === 0 ? 0 : n;
}

function toBoolValue(v: unknown): unknown {
  if (nullish(v)) return null;
  if (typeof v === 'number') return v !== 0;
  return v !== false;
}

function refuseDecimal(): never {
  throw unsupported('Conversion to decimal ($toDecimal, $convert to: "decimal")');
}

const TYPE_ALIASES: Record<string, string> = {
  '1': 'double',
  '2': 'string',
  '7': 'objectId',
  '8': 'bool',
  '9': 'date',
  '16': 'int',
  '18': 'long',
  '19': 'decimal',
  double: 'double',
  string: 'string',
  objectId: 'objectId',
  bool: 'bool',
  date: 'date',
  int: 'int',
  long: 'long',
  decimal: 'decimal',
};

function convertTo(v: unknown, to: string): unknown {
  switch (to) {
    case 'string':
      return toStringValue(v);
    case 'objectId':
      return toObjectIdValue(v);
    case 'date':
      return toDateValue(v);
    case 'bool':
      return toBoolValue(v);
    case 'int':
    case 'long':
    case 'double':
      return toNumberValue(v, to);
    case 'decimal':
      return refuseDecimal();
    default:
      throw new ServerError('BadValue', `Unknown type name: ${to}`);
  }
}

const converter =
  (to: string): ExpressionOperator =>
  (obj, expr, options) =>
    convertTo(ev(obj, Array.isArray(expr) && expr.length === 1 ? expr[0] : expr, options), to);

const $convert: ExpressionOperator = (obj, expr, options) => {
  if (!isPlainObject(expr) || !('input' in expr) || !('to' in expr))
    throw new ServerError('FailedToParse', "Missing 'input' or 'to' parameter to $convert");
  const input = ev(obj, expr.input, options);
  const toValue = ev(obj, expr.to, options);
  if (nullish(toValue)) return null;
  const to = TYPE_ALIASES[String(numericValue(toValue) ?? toValue)];
  if (!to) throw new ServerError('BadValue', `Unknown type name: ${String(toValue)}`);
  if (to === 'decimal') refuseDecimal();
  if (nullish(input)) return 'onNull' in expr ? ev(obj, expr.onNull, options) : null;
  try {
    return convertTo(input, to);
  } catch (err) {
    if (err instanceof ServerError && err.codeName === 'ConversionFailure' && 'onError' in expr)
      return ev(obj, expr.onError, options);
    throw err;
  }
};

// ---------------------------------------------------------------------------
// Time zones

type Zone = { fixed: number } | { fmt: Intl.DateTimeFormat };

const zones = new Map<string, Zone>();

/** Parses a MongoDB timezone argument ('UTC', 'GMT', an Olson name or ±HH[:MM]). */
export function parseZone(tz: unknown): Zone {
  if (typeof tz !== 'string')
    throw new ServerError('Location40517', `timezone must evaluate to a string, found ${bsonTypeName(tz)}`);
  let z = zones.get(tz);
  if (z) return z;
  const m = /^([+-])(\d{2})(?::?(\d{2}))?$/.exec(tz);
  if (m) {
    z = { fixed: (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) };
  } else if (tz === 'UTC' || tz === 'GMT' || tz === 'Etc/UTC' || tz === 'Etc/GMT') {
    z = { fixed: 0 };
  } else {
    try {
      if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) throw new RangeError(tz);
      const fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
      z = { fmt };
    } catch {
      throw new ServerError('Location40485', `unrecognized time zone identifier: "${tz}"`);
    }
  }
  zones.set(tz, z);
  return z;
}

/** Offset from UTC in minutes in force at the instant `ms`. */
export function offsetAt(zone: Zone, ms: number): number {
  if ('fixed' in zone) return zone.fixed;
  const p: Record<string, string> = {};
  for (const part of zone.fmt.formatToParts(new Date(ms))) p[part.type] = part.value;
  const year = p.era === 'BC' || p.era === 'B' ? 1 - Number(p.year) : Number(p.year);
  const d = new Date(0);
  d.setUTCFullYear(year, Number(p.month) - 1, Number(p.day));
  d.setUTCHours(Number(p.hour), Number(p.minute), Number(p.second), 0);
  const sec = Math.floor(ms / 1000) * 1000;
  return Math.round((d.getTime() - sec) / 60000);
}

/** The UTC instant of a local wall-clock time (given as a UTC-based ms value). */
function fromLocal(zone: Zone, localMs: number): number {
  const off = offsetAt(zone, localMs);
  let utc = localMs - off * 60000;
  const off2 = offsetAt(zone, utc);
  if (off2 !== off) utc = localMs - off2 * 60000;
  return utc;
}

const offsetString = (min: number): string => {
  const a = Math.abs(min);
  return `${min < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
};

function dateArg(v: unknown): Date | null | undefined {
  if (nullish(v)) return null;
  if (v instanceof Date) return v;
  if (v instanceof ObjectId) return v.getTimestamp();
  return undefined;
}

/**
 * Operators that read the fields of a date in a zone: mingo is given the
 * fixed offset in force at that instant, which it handles correctly.
 */
const zoned =
  (op: ExpressionOperator): ExpressionOperator =>
  (obj, expr, options) => {
    if (!isPlainObject(expr) || !('timezone' in expr) || !('date' in expr)) return op(obj, expr, options);
    const tz = ev(obj, expr.timezone, options);
    const date = dateArg(ev(obj, expr.date, options));
    if (nullish(tz)) return null;
    const zone = parseZone(tz);
    if (!date) return op(obj, { ...expr, timezone: undefined }, options);
    return op(
      obj,
      { ...expr, date: lit(date), timezone: offsetString(offsetAt(zone, date.getTime())) },
      options,
    );
  };

const ZONED_OPS = [
  '$year',
  '$month',
  '$dayOfMonth',
  '$dayOfWeek',
  '$dayOfYear',
  '$hour',
  '$minute',
  '$second',
  '$millisecond',
  '$week',
  '$isoWeek',
  '$isoWeekYear',
  '$isoDayOfWeek',
  '$dateToParts',
  '$dateToString',
] as const;

const PART_ORDER = [
  'year',
  'isoWeekYear',
  'month',
  'isoWeek',
  'day',
  'isoDayOfWeek',
  'hour',
  'minute',
  'second',
  'millisecond',
];

/** mongod lists the parts from the year down. */
const partsInOrder =
  (op: ExpressionOperator): ExpressionOperator =>
  (obj, expr, options) => {
    const r = op(obj, expr, options);
    if (!isPlainObject(r)) return r;
    const out: Doc = {};
    for (const k of PART_ORDER) if (k in r) out[k] = r[k];
    return out;
  };

const DAY = 86400000;
const UNIT_MS: Record<string, number> = {
  millisecond: 1,
  second: 1000,
  minute: 60000,
  hour: 3600000,
  day: DAY,
  week: 7 * DAY,
};
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const REF = Date.UTC(2000, 0, 1);

function unitArg(op: string, unit: unknown): string {
  if (typeof unit !== 'string' || !(unit in UNIT_MS || ['month', 'quarter', 'year'].includes(unit)))
    throw new ServerError(
      'Location5439014',
      `${op} parameter 'unit' value cannot be recognized as a time unit: ${String(unit)}`,
    );
  return unit;
}

function zoneOrUtc(tz: unknown): Zone {
  return tz === undefined ? { fixed: 0 } : parseZone(tz);
}

function args(obj: unknown, expr: unknown, options: Options, op: string, names: string[]): Doc {
  if (!isPlainObject(expr))
    throw new ServerError('Location5439007', `${op} only supports an object as its argument`);
  for (const k of Object.keys(expr))
    if (!names.includes(k)) throw new ServerError('Location5439008', `Unrecognized argument to ${op}: ${k}`);
  const out: Doc = {};
  for (const k of names) if (k in expr) out[k] = ev(obj, expr[k], options);
  return out;
}

function startOfWeekIndex(op: string, v: unknown): number {
  const s = v === undefined ? 'sunday' : typeof v === 'string' ? v.toLowerCase() : '';
  const i = DAYS.findIndex((d) => d === s || d.slice(0, 3) === s);
  if (i < 0)
    throw new ServerError(
      'Location5439016',
      `${op} parameter 'startOfWeek' value cannot be recognized as a day of a week: ${String(v)}`,
    );
  return i;
}

const $dateTrunc: ExpressionOperator = (obj, expr, options) => {
  const a = args(obj, expr, options, '$dateTrunc', ['date', 'unit', 'binSize', 'timezone', 'startOfWeek']);
  if (['date', 'unit', 'binSize', 'timezone', 'startOfWeek'].some((k) => k in a && a[k] === null))
    return null;
  const date = dateArg(a.date);
  if (date === null) return null;
  if (!date)
    throw new ServerError(
      'Location5439012',
      `$dateTrunc requires 'date' to be a date, but got ${bsonTypeName(a.date)}`,
    );
  const unit = unitArg('$dateTrunc', a.unit);
  const bin = a.binSize === undefined ? 1 : numericValue(a.binSize);
  if (bin === undefined || !Number.isInteger(bin) || bin <= 0)
    throw new ServerError('Location5439017', "$dateTrunc requires 'binSize' to be a positive 64-bit integer");
  const zone = zoneOrUtc(a.timezone);
  const local = date.getTime() + offsetAt(zone, date.getTime()) * 60000;
  let out: number;
  if (unit === 'month' || unit === 'quarter' || unit === 'year') {
    const d = new Date(local);
    const months = (d.getUTCFullYear() - 2000) * 12 + d.getUTCMonth();
    const step = bin * (unit === 'month' ? 1 : unit === 'quarter' ? 3 : 12);
    const m = months - (((months % step) + step) % step);
    const r = new Date(0);
    r.setUTCFullYear(2000 + Math.floor(m / 12), ((m % 12) + 12) % 12, 1);
    out = r.getTime();
  } else {
    let ref = REF;
    if (unit === 'week') {
      // The reference is the first `startOfWeek` day of 2000 (2000-01-01 was a Saturday).
      ref += ((startOfWeekIndex('$dateTrunc', a.startOfWeek) - 6 + 7) % 7) * DAY;
    }
    const step = bin * UNIT_MS[unit]!;
    const diff = local - ref;
    out = ref + (diff - (((diff % step) + step) % step));
  }
  // Sub-day bins keep the offset of the instant; day and longer bins are local calendar dates.
  return new Date(
    unit in UNIT_MS && unit !== 'day' && unit !== 'week'
      ? out - offsetAt(zone, date.getTime()) * 60000
      : fromLocal(zone, out),
  );
};

function intPart(op: string, name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  const n = numericValue(v);
  if (n === undefined || !Number.isInteger(n))
    throw new ServerError(
      'Location40515',
      `'${name}' must evaluate to an integer, found ${bsonTypeName(v)} with value ${String(v)}`,
    );
  return n;
}

const $dateFromParts: ExpressionOperator = (obj, expr, options) => {
  const names = [
    'year',
    'month',
    'day',
    'hour',
    'minute',
    'second',
    'millisecond',
    'isoWeekYear',
    'isoWeek',
    'isoDayOfWeek',
    'timezone',
  ];
  const a = args(obj, expr, options, '$dateFromParts', names);
  if (names.some((k) => k in a && a[k] === null)) return null;
  const iso = 'isoWeekYear' in a;
  if (iso === 'year' in a)
    throw new ServerError(
      'Location40516',
      iso
        ? '$dateFromParts does not allow mixing natural dates with ISO dates'
        : "$dateFromParts requires either 'year' or 'isoWeekYear' to be present",
    );
  const p = (k: string, d: number) => intPart('$dateFromParts', k, a[k], d);
  const d = new Date(0);
  if (iso) {
    const y = p('isoWeekYear', 0);
    d.setUTCFullYear(y, 0, 4);
    const monday = d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY;
    d.setTime(monday + ((p('isoWeek', 1) - 1) * 7 + (p('isoDayOfWeek', 1) - 1)) * DAY);
  } else {
    d.setUTCFullYear(p('year', 0), p('month', 1) - 1, p('day', 1));
  }
  d.setUTCHours(p('hour', 0), p('minute', 0), p('second', 0), p('millisecond', 0));
  return new Date(fromLocal(zoneOrUtc(a.timezone), d.getTime()));
};

function dateAdd(op: string, sign: number): ExpressionOperator {
  return (obj, expr, options) => {
    const a = args(obj, expr, options, op, ['startDate', 'unit', 'amount', 'timezone']);
    if (['startDate', 'unit', 'amount', 'timezone'].some((k) => k in a && nullish(a[k]))) return null;
    const date = dateArg(a.startDate);
    if (!date)
      throw new ServerError('Location5166403', `${op} requires startDate to be convertible to a date`);
    const unit = unitArg(op, a.unit);
    const n = numericValue(a.amount);
    if (n === undefined || !Number.isInteger(n))
      throw new ServerError('Location5166405', `${op} expects integer amount of time units`);
    const amount = n * sign;
    if (unit in UNIT_MS && unit !== 'day' && unit !== 'week')
      return new Date(date.getTime() + amount * UNIT_MS[unit]!);
    const zone = zoneOrUtc(a.timezone);
    const local = new Date(date.getTime() + offsetAt(zone, date.getTime()) * 60000);
    if (unit === 'day' || unit === 'week') {
      local.setTime(local.getTime() + amount * UNIT_MS[unit]!);
    } else {
      const months = amount * (unit === 'month' ? 1 : unit === 'quarter' ? 3 : 12);
      const day = local.getUTCDate();
      const total = local.getUTCFullYear() * 12 + local.getUTCMonth() + months;
      const y = Math.floor(total / 12);
      const m = total - y * 12;
      const end = new Date(0);
      end.setUTCFullYear(y, m + 1, 0);
      const lastDay = end.getUTCDate();
      local.setUTCFullYear(y, m, Math.min(day, lastDay));
    }
    return new Date(fromLocal(zone, local.getTime()));
  };
}

const zonedDiff =
  (op: ExpressionOperator): ExpressionOperator =>
  (obj, expr, options) => {
    if (!isPlainObject(expr) || !('timezone' in expr)) return op(obj, expr, options);
    const tz = ev(obj, expr.timezone, options);
    if (nullish(tz)) return null;
    const zone = parseZone(tz);
    const shift = (v: unknown): unknown => {
      const d = dateArg(v);
      return d ? new Date(d.getTime() + offsetAt(zone, d.getTime()) * 60000) : v;
    };
    return op(
      obj,
      {
        ...expr,
        startDate: lit(shift(ev(obj, expr.startDate, options))),
        endDate: lit(shift(ev(obj, expr.endDate, options))),
        timezone: undefined,
      },
      options,
    );
  };

const zonedFromString =
  (op: ExpressionOperator): ExpressionOperator =>
  (obj, expr, options) => {
    if (!isPlainObject(expr) || !('timezone' in expr)) return op(obj, expr, options);
    const tz = ev(obj, expr.timezone, options);
    if (nullish(tz)) return null;
    const zone = parseZone(tz);
    if ('fixed' in zone) return op(obj, { ...expr, timezone: offsetString(zone.fixed) }, options);
    const r = op(obj, { ...expr, timezone: '+00:00' }, options) as unknown;
    return r instanceof Date ? new Date(fromLocal(zone, r.getTime())) : r;
  };

// ---------------------------------------------------------------------------
// Arrays and $ifNull

const $size: ExpressionOperator = (obj, expr, options) => {
  const v = ev(obj, Array.isArray(expr) && expr.length === 1 ? expr[0] : expr, options);
  if (!Array.isArray(v))
    throw new ServerError(
      'Location17124',
      `The argument to $size must be an array. Type of argument: ${bsonTypeName(v)}`,
    );
  return v.length;
};

const $arrayElemAt: ExpressionOperator = (obj, expr, options) => {
  const [arr, idx] = twoArgs('$arrayElemAt', obj, expr, options);
  if (nullish(arr) || nullish(idx)) return null;
  if (!Array.isArray(arr))
    throw new ServerError(
      'Location28689',
      `$arrayElemAt's first argument must be an array, but is ${bsonTypeName(arr)}`,
    );
  const i = numericValue(idx);
  if (i === undefined)
    throw new ServerError(
      'Location28690',
      `$arrayElemAt's second argument must be a numeric value, but is ${bsonTypeName(idx)}`,
    );
  if (!Number.isInteger(i))
    throw new ServerError(
      'Location28691',
      `$arrayElemAt's second argument must be representable as a 32-bit integer: ${i}`,
    );
  const k = i < 0 ? arr.length + i : i;
  return k >= 0 && k < arr.length ? arr[k] : undefined;
};

const $ifNull: ExpressionOperator = (obj, expr, options) => {
  if (!Array.isArray(expr) || expr.length < 2)
    throw new ServerError('Location1257300', '$ifNull needs at least two arguments');
  let v: unknown;
  for (let i = 0; i < expr.length; i++) {
    v = ev(obj, expr[i], options);
    if (!nullish(v)) return v;
  }
  return v;
};

// ---------------------------------------------------------------------------
// Stages

/** Keys of a value for equality joins: the value, and each element of an array. */
function joinKeys(values: unknown[]): string[] {
  if (values.length === 0) return [keyOf(null)];
  const out: string[] = [];
  for (const v of values) {
    out.push(keyOf(v));
    if (Array.isArray(v)) for (const e of v) out.push(keyOf(e));
  }
  return out;
}

const $lookup: PipelineOperator = (coll, expr, options) => {
  if (!isPlainObject(expr) || typeof expr.localField !== 'string' || typeof expr.foreignField !== 'string')
    return mingoLookup(coll, expr, options);
  const { localField, foreignField, as } = expr as { localField: string; foreignField: string; as: string };
  if (typeof expr.from !== 'string')
    throw new ServerError('FailedToParse', "$lookup 'from' must be a string");
  const resolver = (options as { collectionResolver?: (n: string) => Doc[] }).collectionResolver;
  const foreign = resolver ? resolver(expr.from) : [];
  const index = new Map<string, number[]>();
  foreign.forEach((doc, i) => {
    for (const k of new Set(joinKeys(valuesAt(doc, foreignField)))) {
      const list = index.get(k);
      if (list) list.push(i);
      else index.set(k, [i]);
    }
  });
  const pipeline = Array.isArray(expr.pipeline) ? (expr.pipeline as Doc[]) : undefined;
  return coll.map((o) => {
    const obj = o as Doc;
    const local = valuesAt(obj, localField);
    const keys = new Set<string>();
    if (local.length === 0) keys.add(keyOf(null));
    for (const v of local) {
      if (Array.isArray(v)) for (const e of v) keys.add(keyOf(e));
      else keys.add(keyOf(v));
    }
    const hits = new Set<number>();
    for (const k of keys) for (const i of index.get(k) ?? []) hits.add(i);
    const matched = [...hits].sort((x, y) => x - y).map((i) => foreign[i]!);
    if (!pipeline) return { ...obj, [as]: matched };
    const sub = mingoLookup(
      toIter([obj]),
      { from: matched, let: expr.let, pipeline, as },
      options,
    ).collect() as Doc[];
    return sub[0]!;
  });
};

const $sort: PipelineOperator = (coll, spec, _options) => {
  if (!isPlainObject(spec) || Object.keys(spec).length === 0)
    throw new ServerError('Location15976', '$sort stage must have at least one sort key');
  const fields = Object.entries(spec).map(([k, d]) => {
    const dir = numericValue(d);
    if (dir !== 1 && dir !== -1) {
      if (isPlainObject(d) && '$meta' in d) throw unsupported('$meta sort');
      throw new ServerError(
        'Location15975',
        '$sort key ordering must be 1 (for ascending) or -1 (for descending)',
      );
    }
    return { k, dir };
  });
  return coll.transform((docs: unknown[]) => {
    const keyed = (docs as Doc[]).map((d, i) => ({ d, i, keys: fields.map((f) => sortKey(d, f.k, f.dir)) }));
    keyed.sort((a, b) => {
      for (let j = 0; j < fields.length; j++) {
        const c = compareValues(a.keys[j], b.keys[j]);
        if (c !== 0) return c * fields[j]!.dir;
      }
      return a.i - b.i;
    });
    return toIter(keyed.map((x) => x.d));
  });
};

// ---------------------------------------------------------------------------

const expressions: Record<string, ExpressionOperator> = {
  ...mingoExpr,
  $eq: comparison('$eq', (c) => c === 0),
  $ne: comparison('$ne', (c) => c !== 0),
  $gt: comparison('$gt', (c) => c > 0),
  $gte: comparison('$gte', (c) => c >= 0),
  $lt: comparison('$lt', (c) => c < 0),
  $lte: comparison('$lte', (c) => c <= 0),
  $cmp: ((obj, expr, options) =>
    Math.sign(exprCompare(...twoArgs('$cmp', obj, expr, options)))) as ExpressionOperator,
  $max: extremeExpr(1),
  $min: extremeExpr(-1),
  $toString: converter('string'),
  $toObjectId: converter('objectId'),
  $toDate: converter('date'),
  $toBool: converter('bool'),
  $toInt: converter('int'),
  $toLong: converter('long'),
  $toDouble: converter('double'),
  $toDecimal: () => refuseDecimal(),
  $convert,
  $dateTrunc,
  $dateFromParts,
  $dateAdd: dateAdd('$dateAdd', 1),
  $dateSubtract: dateAdd('$dateSubtract', -1),
  $dateDiff: zonedDiff(mingoExpr.$dateDiff!),
  $dateFromString: zonedFromString(mingoExpr.$dateFromString!),
  $size,
  $arrayElemAt,
  $ifNull,
};
for (const op of ZONED_OPS) expressions[op] = zoned(mingoExpr[op]!);
expressions.$dateToParts = partsInOrder(expressions.$dateToParts!);

const CONTEXT = Context.init({
  accumulator: {
    ...(accumulatorOps as unknown as Record<string, AccumulatorOperator>),
    $max: extremeAcc(1),
    $min: extremeAcc(-1),
  } as never,
  expression: expressions as never,
  pipeline: { ...mingoPipe, $lookup, $sort } as never,
  projection: projectionOps as never,
  query: queryOps as never,
  window: windowOps as never,
});

type AggOptions = NonNullable<ConstructorParameters<typeof BaseAggregator>[1]>;
type QueryOptions = NonNullable<ConstructorParameters<typeof BaseQuery>[1]>;

/** mingo's Aggregator with the embedded store's operators. */
export class Aggregator extends BaseAggregator {
  constructor(pipeline: Doc[], options: Partial<AggOptions> = {}) {
    super(pipeline, { ...options, context: CONTEXT } as AggOptions);
  }
}

/** mingo's Query with the embedded store's operators (for $expr). */
export class Query extends BaseQuery {
  constructor(condition: Doc, options: Partial<QueryOptions> = {}) {
    super(condition, { ...options, context: CONTEXT } as QueryOptions);
  }
}
