/**
 * Cheaper collection scans: decode only the top-level fields a filter (and, for
 * aggregations, the following `$group`) reads, and test simple equality / `$in`
 * filters without mingo. Everything that cannot be proven to read only known
 * top-level fields falls back to full documents.
 */
import { deserialize, ObjectId } from 'bson';
import { isPlainObject, toViewInPlace, type Doc } from './values.js';

/** Top-level operators that only combine per-field conditions. */
const COMBINERS = new Set(['$and', '$or', '$nor']);

/**
 * The top-level fields a query filter (view form) reads, or undefined when it
 * may read anything (`$expr`, `$where`, `$text`, `$jsonSchema`, unknown operators).
 */
export function filterFields(filter: Doc, out = new Set<string>()): Set<string> | undefined {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$comment') continue;
    if (k.startsWith('$')) {
      if (!COMBINERS.has(k) || !Array.isArray(v)) return undefined;
      for (const sub of v) {
        if (!isPlainObject(sub) || !filterFields(sub, out)) return undefined;
      }
      continue;
    }
    if (isPlainObject(v) && ('$where' in v || '$expr' in v || '$function' in v)) return undefined;
    const dot = k.indexOf('.');
    const top = dot < 0 ? k : k.slice(0, dot);
    if (top === '__proto__') return undefined;
    out.add(top);
  }
  return out;
}

/** Operators inside a `$group` under which field names appear without a `$` (or code runs). */
const OPAQUE_OPERATORS = new Set(['$getField', '$setField', '$function', '$accumulator', '$let', '$where']);

/** Top-level fields a `$group` stage reads, or undefined when it may read the whole document. */
export function groupFields(spec: unknown): Set<string> | undefined {
  const out = new Set<string>();
  const walk = (v: unknown): boolean => {
    if (typeof v === 'string') {
      if (v.startsWith('$$')) return false;
      if (v.startsWith('$')) {
        const path = v.slice(1);
        const dot = path.indexOf('.');
        const top = dot < 0 ? path : path.slice(0, dot);
        if (top === '__proto__') return false;
        out.add(top);
      }
      return true;
    }
    if (Array.isArray(v)) return v.every(walk);
    if (isPlainObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (OPAQUE_OPERATORS.has(k)) return false;
        if (!walk(x)) return false;
      }
      return true;
    }
    return true;
  };
  return isPlainObject(spec) && walk(spec) ? out : undefined;
}

type Simple = string | number | boolean;

const isSimple = (v: unknown): v is Simple =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Number.isNaN(v));

/**
 * A predicate equivalent to the filter when it is only `field: value`,
 * `field: { $eq: value }` and `field: { $in: [values] }` on top-level fields
 * with string, number or boolean values (MongoDB equality, arrays match by
 * element); undefined otherwise.
 */
export function simplePredicate(filter: Doc): ((doc: Doc) => boolean) | undefined {
  const conds: { field: string; values: Simple[] }[] = [];
  for (const [k, v] of Object.entries(filter)) {
    if (k.startsWith('$') || k.includes('.')) return undefined;
    if (isSimple(v)) conds.push({ field: k, values: [v] });
    else if (isPlainObject(v) && Object.keys(v).length === 1) {
      if ('$eq' in v && isSimple(v.$eq)) conds.push({ field: k, values: [v.$eq] });
      else if ('$in' in v && Array.isArray(v.$in) && v.$in.every(isSimple))
        conds.push({ field: k, values: v.$in });
      else return undefined;
    } else return undefined;
  }
  const equal = (x: unknown, values: Simple[]): boolean => {
    for (const y of values) if (x === y) return true;
    return false;
  };
  return (doc) => {
    for (const { field, values } of conds) {
      const x = doc[field];
      if (equal(x, values)) continue;
      if (Array.isArray(x) && x.some((e) => equal(e, values))) continue;
      return false;
    }
    return true;
  };
}

/** Wanted top-level field names, as bytes for matching element names without decoding them. */
export interface FieldNames {
  bytes: Buffer[];
  names: string[];
}

export function fieldNames(fields: Iterable<string>): FieldNames {
  const names = [...fields];
  return { names, bytes: names.map((f) => Buffer.from(f, 'utf8')) };
}

/** Size of a BSON element value of type `t` starting at `p`. */
function valueSize(buf: Buffer, t: number, p: number): number {
  switch (t) {
    case 0x01:
    case 0x09:
    case 0x11:
    case 0x12:
      return 8;
    case 0x02:
    case 0x0d:
    case 0x0e:
      return 4 + buf.readInt32LE(p);
    case 0x03:
    case 0x04:
    case 0x0f:
      return buf.readInt32LE(p);
    case 0x05:
      return 5 + buf.readInt32LE(p);
    case 0x06:
    case 0x0a:
    case 0xff:
    case 0x7f:
      return 0;
    case 0x07:
      return 12;
    case 0x08:
      return 1;
    case 0x0b: {
      const a = buf.indexOf(0, p);
      return buf.indexOf(0, a + 1) + 1 - p;
    }
    case 0x0c:
      return 4 + buf.readInt32LE(p) + 12;
    case 0x10:
      return 4;
    case 0x13:
      return 16;
    default:
      throw new Error(`embedded store: unknown BSON type ${t}`);
  }
}

/**
 * The view form (as `deserializeView`) of only the wanted top-level fields of a
 * stored document.
 */
export function partialView(buf: Buffer, wanted: FieldNames): Doc {
  const out: Doc = {};
  const { bytes, names } = wanted;
  const end = buf.length - 1;
  let p = 4;
  let found = 0;
  while (p < end && found < bytes.length) {
    const t = buf[p]!;
    const nameStart = p + 1;
    let nameEnd = nameStart;
    while (buf[nameEnd] !== 0) nameEnd++;
    const v = nameEnd + 1;
    const size = valueSize(buf, t, v);
    const nameLen = nameEnd - nameStart;
    for (let j = 0; j < bytes.length; j++) {
      const n = bytes[j]!;
      if (n.length !== nameLen || n[0] !== buf[nameStart]) continue;
      let same = true;
      for (let i = 1; i < nameLen; i++)
        if (n[i] !== buf[nameStart + i]) {
          same = false;
          break;
        }
      if (!same) continue;
      out[names[j]!] = valueAt(buf, t, p, v, size);
      found++;
      break;
    }
    p = v + size;
  }
  return out;
}

/** Decodes a short string without a native call when it is ASCII. */
function stringAt(buf: Buffer, from: number, to: number): string {
  if (to - from > 24) return buf.toString('utf8', from, to);
  let s = '';
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return buf.toString('utf8', from, to);
    s += String.fromCharCode(c);
  }
  return s;
}

function valueAt(buf: Buffer, t: number, elem: number, v: number, size: number): unknown {
  switch (t) {
    case 0x01:
      return buf.readDoubleLE(v);
    case 0x02:
      return stringAt(buf, v + 4, v + size - 1);
    case 0x08:
      return buf[v] === 1;
    case 0x09:
      return new Date(buf.readInt32LE(v + 4) * 4294967296 + buf.readUInt32LE(v));
    case 0x0a:
      return null;
    case 0x10:
      return buf.readInt32LE(v);
    case 0x07:
      return new ObjectId(Uint8Array.prototype.slice.call(buf, v, v + 12));
    default: {
      // Any other type: deserialize a one-element document, exactly as a full decode would.
      const len = v + size - elem;
      const mini = Buffer.allocUnsafe(len + 5);
      mini.writeInt32LE(len + 5, 0);
      buf.copy(mini, 4, elem, v + size);
      mini[len + 4] = 0;
      const doc = deserialize(mini);
      return toViewInPlace(Object.values(doc)[0]);
    }
  }
}

type Step = (acc: unknown[], n: number, doc: Doc) => void;

/**
 * `$group` computed directly for the common shape: `_id` a top-level field or a
 * constant, accumulators `$sum`/`$avg`/`$first`/`$last` of a top-level field or
 * a number, and `$count`. Results equal mingo's (first-appearance order, plain
 * summation, missing and null group together). Undefined when the stage or a
 * group key (objects, arrays, dates) needs mingo.
 */
export function simpleGroup(spec: unknown, docs: Doc[]): Doc[] | undefined {
  if (!isPlainObject(spec) || !('_id' in spec)) return undefined;
  const field = (v: unknown): string | undefined =>
    typeof v === 'string' && /^\$[^$.]+$/.test(v) && v !== '$__proto__' ? v.slice(1) : undefined;
  const id = spec._id;
  const idField = field(id);
  const constantId =
    id === null ||
    typeof id === 'number' ||
    typeof id === 'boolean' ||
    (typeof id === 'string' && !id.startsWith('$'));
  if (idField === undefined && !constantId) return undefined;
  const init: unknown[] = [];
  const steps: Step[] = [];
  const outputs: { name: string; value: (acc: unknown[]) => unknown }[] = [];
  for (const [name, acc] of Object.entries(spec)) {
    if (name === '_id') continue;
    if (name.startsWith('$') || name.includes('.') || !isPlainObject(acc) || Object.keys(acc).length !== 1)
      return undefined;
    const [op, arg] = Object.entries(acc)[0]!;
    const f = field(arg);
    const k = init.length;
    if (op === '$sum' && f !== undefined) {
      init.push(0);
      steps.push((a, _n, d) => {
        const x = d[f];
        if (typeof x === 'number') a[k] = (a[k] as number) + x;
      });
      outputs.push({ name, value: (a) => a[k] });
    } else if ((op === '$sum' && typeof arg === 'number' && !Number.isNaN(arg)) || op === '$count') {
      if (op === '$count' && !(isPlainObject(arg) && Object.keys(arg).length === 0)) return undefined;
      const by = op === '$count' ? 1 : (arg as number);
      init.push(0);
      steps.push((a) => (a[k] = (a[k] as number) + by));
      outputs.push({ name, value: (a) => a[k] });
    } else if (op === '$avg' && f !== undefined) {
      init.push(0, 0);
      steps.push((a, _n, d) => {
        const x = d[f];
        if (typeof x === 'number') {
          a[k] = (a[k] as number) + x;
          a[k + 1] = (a[k + 1] as number) + 1;
        }
      });
      outputs.push({ name, value: (a) => (a[k + 1] === 0 ? null : (a[k] as number) / (a[k + 1] as number)) });
    } else if ((op === '$first' || op === '$last') && f !== undefined) {
      const first = op === '$first';
      init.push(null);
      steps.push((a, n, d) => {
        if (!first || n === 0) a[k] = d[f] ?? null;
      });
      outputs.push({ name, value: (a) => a[k] });
    } else return undefined;
  }
  const groups = new Map<unknown, { key: unknown; acc: unknown[]; n: number }>();
  for (const d of docs) {
    let key: unknown = idField === undefined ? id : d[idField];
    if (key === undefined) key = null;
    if (key !== null && typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean')
      return undefined;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, acc: [...init], n: 0 }));
    for (const step of steps) step(g.acc, g.n, d);
    g.n++;
  }
  const out: Doc[] = [];
  for (const g of groups.values()) {
    const doc: Doc = { _id: g.key };
    for (const o of outputs) doc[o.name] = o.value(g.acc);
    out.push(doc);
  }
  return out;
}

type Tri = (doc: Doc) => boolean | undefined;

const RANGE_OPS: Record<string, (c: number) => boolean> = {
  $lt: (c) => c < 0,
  $lte: (c) => c <= 0,
  $gt: (c) => c > 0,
  $gte: (c) => c >= 0,
};

/** One field's condition: true/false when decided, undefined when the value needs the full matcher. */
function fieldCondition(field: string, cond: unknown): Tri | undefined {
  const valueOf = (doc: Doc): unknown =>
    Object.prototype.hasOwnProperty.call(doc, field) ? doc[field] : undefined;
  /** Arrays and wrapped or structured values (Long, Decimal128, objects…): left to the full matcher. */
  const opaque = (x: unknown): boolean => typeof x === 'object' && x !== null && !(x instanceof Date);
  if (cond === null) {
    return (doc) => {
      const x = valueOf(doc);
      if (x === null || x === undefined) return true;
      return opaque(x) ? undefined : false;
    };
  }
  if (isSimple(cond)) {
    return (doc) => {
      const x = valueOf(doc);
      return opaque(x) ? undefined : x === cond;
    };
  }
  if (!isPlainObject(cond) || Object.keys(cond).length === 0) return undefined;
  const tests: Tri[] = [];
  for (const [op, arg] of Object.entries(cond)) {
    if (op === '$in' && Array.isArray(arg) && arg.every(isSimple)) {
      const set = new Set<unknown>(arg);
      tests.push((doc) => {
        const x = valueOf(doc);
        return opaque(x) ? undefined : set.has(x);
      });
    } else if (op === '$eq' && isSimple(arg)) {
      tests.push((doc) => {
        const x = valueOf(doc);
        return opaque(x) ? undefined : x === arg;
      });
    } else if (op in RANGE_OPS && (arg instanceof Date || (typeof arg === 'number' && !Number.isNaN(arg)))) {
      const ok = RANGE_OPS[op]!;
      const isDate = arg instanceof Date;
      const bound = isDate ? arg.getTime() : arg;
      tests.push((doc) => {
        const x = valueOf(doc);
        if (x === undefined || x === null) return false;
        if (isDate && x instanceof Date) {
          const t = x.getTime();
          return Number.isNaN(t) || Number.isNaN(bound) ? undefined : ok(t < bound ? -1 : t > bound ? 1 : 0);
        }
        if (!isDate && typeof x === 'number' && !Number.isNaN(x))
          return ok(x < bound ? -1 : x > bound ? 1 : 0);
        if (typeof x === 'string' || typeof x === 'boolean') return false; // other type brackets
        return undefined;
      });
    } else return undefined;
  }
  return (doc) => {
    for (const t of tests) {
      const r = t(doc);
      if (r !== true) return r;
    }
    return true;
  };
}

/**
 * A matcher for filters of top-level `field: value`, `field: null`, `$eq`, `$in`
 * (strings, numbers, booleans), `$lt`/`$lte`/`$gt`/`$gte` against a date or a
 * number, combined with `$and`/`$or`; documents whose values it cannot decide
 * (arrays, other types) go to `full`. Undefined for other filters.
 */
export function quickPredicate(
  filter: Doc,
  full: (doc: Doc) => boolean,
): ((doc: Doc) => boolean) | undefined {
  const compile = (f: Doc): Tri | undefined => {
    const parts: Tri[] = [];
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' || k === '$or') {
        if (!Array.isArray(v) || v.length === 0) return undefined;
        const subs: Tri[] = [];
        for (const s of v) {
          const c = isPlainObject(s) ? compile(s) : undefined;
          if (!c) return undefined;
          subs.push(c);
        }
        const all = k === '$and';
        parts.push((doc) => {
          let unknown = false;
          for (const s of subs) {
            const r = s(doc);
            if (r === undefined) unknown = true;
            else if (r !== all) return r;
          }
          return unknown ? undefined : all;
        });
        continue;
      }
      if (k.startsWith('$') || k.includes('.') || k === '__proto__') return undefined;
      const c = fieldCondition(k, v);
      if (!c) return undefined;
      parts.push(c);
    }
    return (doc) => {
      let unknown = false;
      for (const p of parts) {
        const r = p(doc);
        if (r === false) return false;
        if (r === undefined) unknown = true;
      }
      return unknown ? undefined : true;
    };
  };
  const c = compile(filter);
  return c && ((doc) => c(doc) ?? full(doc));
}
