/**
 * Value handling that mingo does not give: BSON numeric types, canonical index
 * keys, and MongoDB's cross-type comparison order.
 *
 * Two in-memory forms of a document exist:
 * - "typed": what is stored and returned. Int32 and non-integral (or large)
 *   doubles are JS numbers (bson serializes them back to the same type); a
 *   Double with an integral value in int32 range stays a `Double`, and `Long`
 *   and `Decimal128` stay wrappers, so types survive a round trip.
 * - "view": what mingo queries and aggregates. Every numeric is a JS number
 *   (Long beyond 2^53 and Decimal128 lose precision here, only for matching).
 */
import {
  Binary,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  deserialize,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
  type Document,
} from 'bson';
import { ServerError } from './errors.js';

export type Doc = Record<string, unknown>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const isPlainObject = (v: unknown): v is Doc =>
  typeof v === 'object' &&
  v !== null &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** Deserializes BSON keeping numeric types (see the module comment). */
export function deserializeTyped(buf: Uint8Array): Doc {
  const doc = deserialize(buf, { promoteValues: false, promoteBuffers: false });
  return typedWalk(doc) as Doc;
}

function typedWalk(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Int32) return v.value;
  if (v instanceof Double) {
    const n = v.value;
    return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX && !Object.is(n, -0) ? v : n;
  }
  if (v instanceof BSONSymbol) return v.value;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = typedWalk(v[i]);
    return v;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) v[k] = typedWalk(v[k]);
  }
  return v;
}

/** True when a deserialized (promoted) document still contains Long or Decimal128 wrappers. */
export function hasWrappers(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Long || v instanceof Decimal128 || v instanceof Double || v instanceof Int32) return true;
  if (Array.isArray(v)) return v.some(hasWrappers);
  if (isPlainObject(v)) {
    for (const k in v) if (hasWrappers(v[k])) return true;
  }
  return false;
}

/** Numeric value of a BSON number (JS number, Int32, Double, Long, Decimal128), else undefined. */
export function numericValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'object' || v === null) return undefined;
  if (v instanceof Double || v instanceof Int32) return v.value;
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Decimal128) return Number(v.toString());
  return undefined;
}

/** Deep copy turning every BSON numeric wrapper into a JS number (for mingo). */
export function toView(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const n = numericValue(v);
  if (n !== undefined) return n;
  if (Array.isArray(v)) return v.map(toView);
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const k of Object.keys(v)) out[k] = toView(v[k]);
    return out;
  }
  return v;
}

/** In-place variant of toView for freshly deserialized documents. */
export function toViewInPlace(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const n = numericValue(v);
  if (n !== undefined) return n;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = toViewInPlace(v[i]);
  } else if (isPlainObject(v)) {
    for (const k of Object.keys(v)) v[k] = toViewInPlace(v[k]);
  }
  return v;
}

/** Deserializes a stored document into its view form. */
export function deserializeView(buf: Uint8Array, special: boolean): Doc {
  const doc = deserialize(buf) as Doc;
  return special ? (toViewInPlace(doc) as Doc) : doc;
}

// ---------------------------------------------------------------------------
// Canonical keys: equal (in MongoDB's sense) values get equal strings.

export function keyOf(v: unknown): string {
  if (v === undefined || v === null) return 'n';
  switch (typeof v) {
    case 'number':
      return numKey(v);
    case 'string':
      return 's' + v;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'bigint':
      return numKey(Number(v));
    default:
      break;
  }
  if (v instanceof ObjectId) return 'o' + v.toHexString();
  if (v instanceof Date) return 'd' + v.getTime();
  const n = numericValue(v);
  if (n !== undefined) return numKey(n);
  if (Array.isArray(v)) return '[' + v.map(keyOf).join(',') + ']';
  if (v instanceof Binary) return 'b' + v.sub_type + ':' + Buffer.from(v.buffer).toString('base64');
  if (v instanceof Uint8Array) return 'b0:' + Buffer.from(v).toString('base64');
  if (v instanceof Timestamp) return 't' + v.toString();
  if (v instanceof RegExp) return 'r' + v.source + '/' + v.flags;
  if (v instanceof BSONRegExp) return 'r' + v.pattern + '/' + v.options;
  if (v instanceof MinKey) return '<';
  if (v instanceof MaxKey) return '>';
  if (isPlainObject(v)) {
    let s = '{';
    for (const k of Object.keys(v)) s += JSON.stringify(k) + ':' + keyOf(v[k]) + ',';
    return s + '}';
  }
  return 'x' + String(v);
}

function numKey(n: number): string {
  if (Number.isNaN(n)) return '#NaN';
  return '#' + (n === 0 ? '0' : String(n));
}

// ---------------------------------------------------------------------------
// MongoDB comparison order across types.

function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 2;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 3;
    case 'string':
      return 4;
    case 'boolean':
      return 9;
    default:
      break;
  }
  if (v instanceof MinKey) return 1;
  if (v instanceof MaxKey) return 13;
  if (numericValue(v) !== undefined) return 3;
  if (v instanceof BSONSymbol) return 4;
  if (Array.isArray(v)) return 6;
  if (v instanceof Binary || v instanceof Uint8Array) return 7;
  if (v instanceof ObjectId) return 8;
  if (v instanceof Date) return 10;
  if (v instanceof Timestamp) return 11;
  if (v instanceof RegExp || v instanceof BSONRegExp) return 12;
  if (v instanceof Code || v instanceof DBRef) return 14;
  return 5;
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 1:
    case 2:
    case 13:
      return 0;
    case 3: {
      const x = typeof a === 'bigint' ? Number(a) : numericValue(a)!;
      const y = typeof b === 'bigint' ? Number(b) : numericValue(b)!;
      if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
      if (Number.isNaN(y)) return 1;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 4: {
      const x = a instanceof BSONSymbol ? a.value : (a as string);
      const y = b instanceof BSONSymbol ? b.value : (b as string);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 5: {
      const ka = Object.keys(a as Doc);
      const kb = Object.keys(b as Doc);
      for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
        const c = compareValues((a as Doc)[ka[i]!], (b as Doc)[kb[i]!]);
        if (c !== 0) return c;
        if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
      }
      return ka.length - kb.length;
    }
    case 6: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case 7: {
      const x = a instanceof Binary ? a.buffer : (a as Uint8Array);
      const y = b instanceof Binary ? b.buffer : (b as Uint8Array);
      if (x.length !== y.length) return x.length - y.length;
      return Buffer.compare(Buffer.from(x), Buffer.from(y));
    }
    case 8:
      return Buffer.compare(Buffer.from((a as ObjectId).id), Buffer.from((b as ObjectId).id));
    case 9:
      return a === b ? 0 : a ? 1 : -1;
    case 10:
      return Math.sign((a as Date).getTime() - (b as Date).getTime());
    case 11:
      return (a as Timestamp).compare(b as Timestamp);
    default:
      return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
  }
}

/** Values reached by a dotted path, descending through arrays (multikey semantics). */
export function valuesAt(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  const out: unknown[] = [];
  const visit = (v: unknown, i: number): void => {
    if (i === parts.length) {
      out.push(v);
      return;
    }
    if (Array.isArray(v)) {
      const p = parts[i]!;
      if (/^\d+$/.test(p)) {
        if (Number(p) < v.length) visit(v[Number(p)], i + 1);
      }
      for (const el of v) if (typeof el === 'object' && el !== null && !Array.isArray(el)) visit(el, i);
      return;
    }
    if (typeof v === 'object' && v !== null && isPlainObject(v)) {
      const next = v[parts[i]!];
      if (next !== undefined) visit(next, i + 1);
    }
  };
  visit(doc, 0);
  return out;
}

/** The sort key of a document for one field: arrays sort by their min (asc) or max (desc) element. */
export function sortKey(doc: unknown, path: string, dir: number): unknown {
  const values = valuesAt(doc, path);
  if (values.length === 0) return null;
  let best: unknown;
  let found = false;
  for (const v of values) {
    const elems = Array.isArray(v) ? (v.length === 0 ? [undefined] : v) : [v];
    for (const e of elems) {
      if (!found || (dir > 0 ? compareValues(e, best) < 0 : compareValues(e, best) > 0)) {
        best = e;
        found = true;
      }
    }
  }
  return best;
}

export function makeComparator(sort: Doc): (a: Doc, b: Doc) => number {
  const fields = Object.entries(sort).map(([k, d]) => {
    const dir = numericValue(d);
    if (dir !== 1 && dir !== -1) {
      if (isPlainObject(d) && '$meta' in d)
        throw new ServerError('BadValue', '$meta sort is not supported by the embedded store');
      throw new ServerError(
        'BadValue',
        `$sort key ordering must be 1 (for ascending) or -1 (for descending)`,
      );
    }
    return { k, dir };
  });
  return (a, b) => {
    for (const { k, dir } of fields) {
      const c = compareValues(sortKey(a, k, dir), sortKey(b, k, dir));
      if (c !== 0) return c * dir;
    }
    return 0;
  };
}

// ---------------------------------------------------------------------------
// Numeric arithmetic that keeps BSON types ($inc, $mul).

type NumKind = 'int' | 'long' | 'double' | 'decimal';

function kindOf(v: unknown): NumKind | undefined {
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX && !Object.is(v, -0) ? 'int' : 'double';
  if (v instanceof Int32) return 'int';
  if (v instanceof Double) return 'double';
  if (v instanceof Long) return 'long';
  if (v instanceof Decimal128) return 'decimal';
  return undefined;
}

export function isNumeric(v: unknown): boolean {
  return kindOf(v) !== undefined;
}

const RANK: Record<NumKind, number> = { int: 0, long: 1, double: 2, decimal: 3 };

function toBig(v: unknown): bigint {
  if (v instanceof Long) return v.toBigInt();
  return BigInt(numericValue(v)!);
}

interface Dec {
  coef: bigint;
  exp: number;
}

function parseDec(v: unknown): Dec {
  const s =
    v instanceof Decimal128 ? v.toString() : v instanceof Long ? v.toString() : String(numericValue(v));
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]?\d+))?$/i.exec(s);
  if (!m)
    throw new ServerError('BadValue', `cannot do exact decimal arithmetic on ${s} in the embedded store`);
  const frac = m[3] ?? '';
  const coef = BigInt((m[1] ?? '') + m[2]! + frac);
  return { coef, exp: Number(m[4] ?? 0) - frac.length };
}

function decToBson(d: Dec): Decimal128 {
  let s = d.coef.toString();
  if (s.replace('-', '').length > 34)
    throw new ServerError('BadValue', 'decimal result exceeds 34 digits in the embedded store');
  s = d.exp === 0 ? s : `${s}E${d.exp >= 0 ? '+' : ''}${d.exp}`;
  return Decimal128.fromString(s);
}

/** a + b or a * b with MongoDB's type promotion (int → long on overflow, decimal exact). */
export function arith(op: 'add' | 'mul', a: unknown, b: unknown): unknown {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (!ka || !kb) throw new ServerError('TypeMismatch', 'Cannot apply arithmetic to a non-numeric value');
  const kind = RANK[ka] >= RANK[kb] ? ka : kb;
  if (kind === 'decimal') {
    const x = parseDec(a);
    const y = parseDec(b);
    if (op === 'mul') return decToBson({ coef: x.coef * y.coef, exp: x.exp + y.exp });
    const e = Math.min(x.exp, y.exp);
    return decToBson({ coef: x.coef * 10n ** BigInt(x.exp - e) + y.coef * 10n ** BigInt(y.exp - e), exp: e });
  }
  if (kind === 'double') {
    const r = op === 'add' ? numericValue(a)! + numericValue(b)! : numericValue(a)! * numericValue(b)!;
    // Keep the double type for integral results that would otherwise serialize as int32.
    return kindOf(r) === 'int' ? new Double(r) : r;
  }
  const r = op === 'add' ? toBig(a) + toBig(b) : toBig(a) * toBig(b);
  if (kind === 'int' && r >= BigInt(INT32_MIN) && r <= BigInt(INT32_MAX)) return Number(r);
  if (r < -(2n ** 63n) || r >= 2n ** 63n) {
    throw new ServerError('BadValue', 'integer overflow');
  }
  return Long.fromBigInt(r);
}

export { isPlainObject };
export type { Document };
