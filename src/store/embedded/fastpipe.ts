/**
 * Aggregation stages run without mingo for the shapes DealPulse's reports send:
 * expressions compiled once into closures (a subset of operators, each with
 * mongod's semantics on the value types it accepts), `$group` with computed
 * keys and `$sum`/`$avg`/`$min`/`$max`/`$first`/`$last`/`$push`/`$count`,
 * `$project` of computed fields, `$replaceWith`, simple `$unwind`, `$match`,
 * `$sort`/`$limit` and `$facet` over those.
 *
 * Anything outside that subset — an operator or option not listed, a value of
 * another type at run time (where mongod might raise an error or mingo and
 * mongod could differ), a missing value where its handling is subtle, ties in
 * `$sortArray` — makes the stage (and the rest of the pipeline) run through
 * mingo instead, on the same documents, so results never depend on the path.
 */
import { exprCompare, Query } from './expressions.js';
import { filterFields, groupFields, quickPredicate, simpleGroup, simplePredicate } from './scan.js';
import { compareValues, isPlainObject, keyOf, sortKey, type Doc } from './values.js';

/** Thrown at run time when a value is outside what the compiled code handles. */
class Bail extends Error {}
const BAIL = new Bail('fast path bail-out');
const bail = (): never => {
  throw BAIL;
};

/** Variables in scope: a chain of single bindings, innermost first. */
type Vars = { n: string; v: unknown; p: Vars } | null;
export type Compiled = (doc: Doc, vars: Vars) => unknown;

const nullish = (v: unknown): boolean => v === null || v === undefined;
const truthy = (v: unknown): boolean => !(v === false || v === null || v === undefined || v === 0);
const isDate = (v: unknown): v is Date => v instanceof Date;
const isNum = (v: unknown): v is number => typeof v === 'number';

/** Value at a dotted path through plain objects; arrays on the way bail. */
function walkPath(v: unknown, path: string[]): unknown {
  for (const p of path) {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) {
      // `$$arr.f` maps over elements: only plain objects that all hold the field.
      const out: unknown[] = [];
      for (const e of v) {
        if (!isPlainObject(e)) bail();
        const x = Object.prototype.hasOwnProperty.call(e, p) ? (e as Doc)[p] : undefined;
        if (x === undefined || Array.isArray(x)) bail();
        out.push(x);
      }
      v = out;
      continue;
    }
    if (!isPlainObject(v)) return undefined;
    v = Object.prototype.hasOwnProperty.call(v, p) ? v[p] : undefined;
  }
  return v;
}

const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function compilePath(ref: string): Compiled | undefined {
  if (ref.startsWith('$$')) {
    const [name, ...rest] = ref.slice(2).split('.');
    if (!name || !SAFE_NAME.test(name) || name === 'ROOT' || name === 'CURRENT' || name === 'REMOVE')
      return undefined;
    if (rest.some((p) => !p || !SAFE_NAME.test(p))) return undefined;
    return (_d, vars) => {
      let s = vars;
      while (s !== null && s.n !== name) s = s.p;
      if (s === null) return bail();
      return rest.length ? walkPath(s.v, rest) : s.v;
    };
  }
  const path = ref.slice(1).split('.');
  if (path.some((p) => !p || p.startsWith('$') || p === '__proto__')) return undefined;
  if (path.length === 1) {
    const f = path[0]!;
    return (d) => {
      return Object.prototype.hasOwnProperty.call(d, f) ? d[f] : undefined;
    };
  }
  return (d) => {
    let v: unknown = d;
    for (const p of path) {
      if (Array.isArray(v)) bail();
      if (!isPlainObject(v)) return undefined;
      v = Object.prototype.hasOwnProperty.call(v, p) ? v[p] : undefined;
    }
    return v;
  };
}

const args = (x: unknown, n: number): unknown[] | undefined =>
  Array.isArray(x) && x.length === n ? x : undefined;

function intArg(v: unknown): number {
  if (!isNum(v) || !Number.isInteger(v)) bail();
  return v as number;
}

function arrayArg(v: unknown): unknown[] | null {
  if (nullish(v)) return null;
  if (!Array.isArray(v)) bail();
  return v as unknown[];
}

/** compareValues with shortcuts for two dates, two (non-NaN) numbers. */
function cmpValues(a: unknown, b: unknown): number {
  if (a instanceof Date && b instanceof Date) {
    const x = a.getTime();
    const y = b.getTime();
    if (x === x && y === y) return x < y ? -1 : x > y ? 1 : 0;
  } else if (typeof a === 'number' && typeof b === 'number' && a === a && b === b) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return compareValues(a, b);
}

/** Scalars whose equal values are indistinguishable once serialized. */
const plainScalar = (v: unknown): boolean =>
  v instanceof Date || typeof v === 'string' || typeof v === 'boolean' || v === null;

function extreme(values: unknown[], sign: number): unknown {
  let best: unknown = null;
  for (const v of values) {
    if (nullish(v)) continue;
    if (best === null || cmpValues(v, best) * sign > 0) best = v;
  }
  return best;
}

type OpCompiler = (arg: unknown) => Compiled | undefined;

const compileAll = (xs: unknown[]): Compiled[] | undefined => {
  const out: Compiled[] = [];
  for (const x of xs) {
    const c = compileExpr(x);
    if (!c) return undefined;
    out.push(c);
  }
  return out;
};

const compare =
  (test: (c: number) => boolean): OpCompiler =>
  (arg) => {
    const a = args(arg, 2);
    const c = a && compileAll(a);
    if (!c) return undefined;
    const [x, y] = c as [Compiled, Compiled];
    return (d, v) => {
      const a = x(d, v);
      const b = y(d, v);
      if (a instanceof Date && b instanceof Date) return test(cmpValues(a, b));
      return test(exprCompare(a, b));
    };
  };

const OPS: Record<string, OpCompiler> = {
  $literal: (arg) => {
    if (typeof arg === 'object' && arg !== null && !isDate(arg)) return undefined;
    return () => arg;
  },
  $eq: compare((c) => c === 0),
  $ne: compare((c) => c !== 0),
  $gt: compare((c) => c > 0),
  $gte: compare((c) => c >= 0),
  $lt: compare((c) => c < 0),
  $lte: compare((c) => c <= 0),
  $and: (arg) => {
    const c = compileAll(Array.isArray(arg) ? arg : [arg]);
    return c && ((d, v) => c.every((f) => truthy(f(d, v))));
  },
  $or: (arg) => {
    const c = compileAll(Array.isArray(arg) ? arg : [arg]);
    return c && ((d, v) => c.some((f) => truthy(f(d, v))));
  },
  $cond: (arg) => {
    const a = Array.isArray(arg)
      ? args(arg, 3)
      : isPlainObject(arg) && Object.keys(arg).length === 3 && 'if' in arg && 'then' in arg && 'else' in arg
        ? [arg.if, arg.then, arg.else]
        : undefined;
    const c = a && compileAll(a);
    if (!c) return undefined;
    const [i, t, e] = c as [Compiled, Compiled, Compiled];
    return (d, v) => (truthy(i(d, v)) ? t(d, v) : e(d, v));
  },
  $ifNull: (arg) => {
    const c = Array.isArray(arg) && arg.length >= 2 ? compileAll(arg) : undefined;
    return (
      c &&
      ((d, v) => {
        let x: unknown;
        for (const f of c) {
          x = f(d, v);
          if (!nullish(x)) return x;
        }
        return x;
      })
    );
  },
  $let: (arg) => {
    if (!isPlainObject(arg) || Object.keys(arg).length !== 2 || !isPlainObject(arg.vars) || !('in' in arg))
      return undefined;
    const names = Object.keys(arg.vars);
    if (names.some((n) => !SAFE_NAME.test(n) || !/^[a-z]/.test(n))) return undefined;
    const vals = compileAll(names.map((n) => (arg.vars as Doc)[n]));
    const body = compileExpr(arg.in);
    if (!vals || !body) return undefined;
    return (d, v) => {
      // All vars are evaluated in the outer scope.
      const computed = vals.map((f) => f(d, v));
      let inner = v;
      for (let i = 0; i < names.length; i++) inner = { n: names[i]!, v: computed[i], p: inner };
      return body(d, inner);
    };
  },
  $filter: (arg) => {
    if (!isPlainObject(arg) || !('input' in arg) || !('cond' in arg)) return undefined;
    if (Object.keys(arg).some((k) => k !== 'input' && k !== 'cond' && k !== 'as')) return undefined;
    const as = arg.as ?? 'this';
    if (typeof as !== 'string' || !SAFE_NAME.test(as) || !/^[a-z]/.test(as)) return undefined;
    const input = compileExpr(arg.input);
    const cond = compileExpr(arg.cond);
    if (!input || !cond) return undefined;
    return (d, v) => {
      const xs = arrayArg(input(d, v));
      if (xs === null) return null;
      const inner = { n: as, v: undefined as unknown, p: v };
      const out: unknown[] = [];
      for (const e of xs) {
        inner.v = e;
        if (truthy(cond(d, inner))) out.push(e);
      }
      return out;
    };
  },
  $max: (arg) => extremeOp(arg, 1),
  $min: (arg) => extremeOp(arg, -1),
  $size: (arg) => {
    const c = compileExpr(Array.isArray(arg) && arg.length === 1 ? arg[0] : arg);
    return (
      c &&
      ((d, v) => {
        const x = c(d, v);
        if (!Array.isArray(x)) bail();
        return (x as unknown[]).length;
      })
    );
  },
  $arrayElemAt: (arg) => {
    const a = args(arg, 2);
    const c = a && compileAll(a);
    if (!c) return undefined;
    const [ca, ci] = c as [Compiled, Compiled];
    return (d, v) => {
      const arr = ca(d, v);
      const idx = ci(d, v);
      if (nullish(arr) || nullish(idx)) return null;
      const xs = arrayArg(arr)!;
      const i = intArg(idx);
      const k = i < 0 ? xs.length + i : i;
      return k >= 0 && k < xs.length ? xs[k] : undefined;
    };
  },
  $slice: (arg) => {
    const c = Array.isArray(arg) && (arg.length === 2 || arg.length === 3) ? compileAll(arg) : undefined;
    if (!c) return undefined;
    return (d, v) => {
      const vals = c.map((f) => f(d, v));
      if (vals.some(nullish)) return null;
      const xs = arrayArg(vals[0])!;
      if (vals.length === 2) {
        const n = intArg(vals[1]);
        return n >= 0 ? xs.slice(0, n) : xs.slice(Math.max(0, xs.length + n));
      }
      let pos = intArg(vals[1]);
      const n = intArg(vals[2]);
      if (n <= 0) bail();
      if (pos < 0) pos = Math.max(0, xs.length + pos);
      return xs.slice(pos, pos + n);
    };
  },
  $concatArrays: (arg) => {
    const c = compileAll(Array.isArray(arg) ? arg : [arg]);
    return (
      c &&
      ((d, v) => {
        const out: unknown[] = [];
        for (const f of c) {
          const x = f(d, v);
          if (nullish(x)) return null;
          out.push(...arrayArg(x)!);
        }
        return out;
      })
    );
  },
  $indexOfArray: (arg) => {
    const a = args(arg, 2);
    const c = a && compileAll(a);
    if (!c) return undefined;
    const [ca, cx] = c as [Compiled, Compiled];
    return (d, v) => {
      const arr = ca(d, v);
      if (nullish(arr)) return null;
      const xs = arrayArg(arr)!;
      const x = cx(d, v);
      if (x === undefined || (typeof x === 'object' && x !== null && !isDate(x))) bail();
      if (typeof x === 'string') {
        // Only an equal string (or a value of a wrapper type, compared fully) can be equal.
        for (let i = 0; i < xs.length; i++) {
          const e = xs[i];
          if (e === x || (typeof e === 'object' && e !== null && exprCompare(e, x) === 0)) return i;
        }
        return -1;
      }
      for (let i = 0; i < xs.length; i++) if (exprCompare(xs[i], x) === 0) return i;
      return -1;
    };
  },
  $sortArray: (arg) => {
    if (!isPlainObject(arg) || Object.keys(arg).length !== 2 || !('input' in arg)) return undefined;
    const input = compileExpr(arg.input);
    const by = arg.sortBy;
    if (!input) return undefined;
    let cmp: (a: unknown, b: unknown) => number;
    const whole = by === 1 || by === -1;
    if (by === 1 || by === -1) cmp = (a, b) => cmpValues(a, b) * by;
    else if (isPlainObject(by) && Object.keys(by).length > 0) {
      const keys = Object.entries(by);
      if (keys.some(([k, dir]) => (dir !== 1 && dir !== -1) || !SAFE_NAME.test(k))) return undefined;
      cmp = (a, b) => {
        if (!isPlainObject(a) || !isPlainObject(b)) bail();
        for (const [k, dir] of keys) {
          const x = (a as Doc)[k];
          const y = (b as Doc)[k];
          if (x === undefined || y === undefined || Array.isArray(x) || Array.isArray(y)) bail();
          const c = cmpValues(x, y);
          if (c !== 0) return c * (dir as number);
        }
        return 0;
      };
    } else return undefined;
    return (d, v) => {
      const xs = arrayArg(input(d, v));
      if (xs === null) return null;
      const out = xs.slice().sort(cmp);
      // Elements with equal sort keys but different values: mongod's order among them is
      // not promised to match; let mingo decide. (Equal whole values are interchangeable.)
      for (let i = 1; i < out.length; i++)
        if (
          cmp(out[i - 1], out[i]) === 0 &&
          !(whole && plainScalar(out[i]) && plainScalar(out[i - 1])) &&
          (!whole || keyOf(out[i - 1]) !== keyOf(out[i]))
        )
          bail();
      return out;
    };
  },
  $zip: (arg) => {
    if (!isPlainObject(arg) || Object.keys(arg).length !== 1 || !Array.isArray(arg.inputs)) return undefined;
    const c = compileAll(arg.inputs);
    if (!c || c.length === 0) return undefined;
    return (d, v) => {
      const ins: unknown[][] = [];
      for (const f of c) {
        const x = f(d, v);
        if (nullish(x)) return null;
        ins.push(arrayArg(x)!);
      }
      const n = ins[0]!.length;
      if (ins.some((a) => a.length !== n)) bail(); // (mingo pads short inputs; mongod truncates)
      const out: unknown[][] = [];
      for (let i = 0; i < n; i++) out.push(ins.map((a) => a[i]));
      return out;
    };
  },
  $subtract: (arg) => {
    const a = args(arg, 2);
    const c = a && compileAll(a);
    if (!c) return undefined;
    const [cx, cy] = c as [Compiled, Compiled];
    return (d, v) => {
      const x = cx(d, v);
      const y = cy(d, v);
      if (nullish(x) || nullish(y)) return null;
      if (isNum(x) && isNum(y)) return x - y;
      if (isDate(x) && isDate(y)) return x.getTime() - y.getTime();
      if (isDate(x) && isNum(y) && Number.isInteger(y)) return new Date(x.getTime() - y);
      return bail();
    };
  },
};

function extremeOp(arg: unknown, sign: number): Compiled | undefined {
  const c = compileAll(Array.isArray(arg) ? arg : [arg]);
  if (!c) return undefined;
  return (d, v) => {
    let values = c.map((f) => f(d, v));
    if (values.length === 1 && Array.isArray(values[0])) values = values[0] as unknown[];
    for (const x of values) if (Array.isArray(x) || (isPlainObject(x) && !isDate(x))) bail();
    return extreme(values, sign);
  };
}

/** Compiles an aggregation expression, or undefined when it uses anything outside the subset. */
export function compileExpr(expr: unknown): Compiled | undefined {
  if (typeof expr === 'string') {
    if (expr.startsWith('$')) return compilePath(expr);
    return () => expr;
  }
  if (typeof expr === 'number' || typeof expr === 'boolean' || expr === null) return () => expr;
  if (isDate(expr)) return () => expr;
  if (Array.isArray(expr)) {
    const c = compileAll(expr);
    return (
      c &&
      ((d, v) =>
        c.map((f) => {
          const x = f(d, v);
          return x === undefined ? bail() : x;
        }))
    );
  }
  if (isPlainObject(expr)) {
    const keys = Object.keys(expr);
    if (keys.length === 1 && keys[0]!.startsWith('$')) {
      const op = OPS[keys[0]!];
      return op ? op(expr[keys[0]!]) : undefined;
    }
    if (keys.length === 0 || keys.some((k) => k.startsWith('$') || k.includes('.') || k === '__proto__'))
      return undefined;
    const c = compileAll(keys.map((k) => expr[k]));
    if (!c) return undefined;
    return (d, v) => {
      const out: Doc = {};
      for (let i = 0; i < keys.length; i++) {
        const x = c[i]!(d, v);
        if (x !== undefined) out[keys[i]!] = x; // missing values leave the field out
      }
      return out;
    };
  }
  return undefined;
}

const NO_VARS: Vars = null;

type Acc = { init: () => unknown; step: (a: unknown, d: Doc) => unknown; out: (a: unknown) => unknown };

function accumulator(op: string, arg: unknown): Acc | undefined {
  if (op === '$count') {
    if (!isPlainObject(arg) || Object.keys(arg).length) return undefined;
    return { init: () => 0, step: (a) => (a as number) + 1, out: (a) => a };
  }
  const c = compileExpr(arg);
  if (!c) return undefined;
  const val = (d: Doc): unknown => {
    const x = c(d, NO_VARS);
    if (Array.isArray(x)) bail(); // $sum/$avg/$min/$max of arrays differ between forms
    return x;
  };
  switch (op) {
    case '$sum':
      return {
        init: () => 0,
        step: (a, d) => (isNum((d = val(d) as Doc)) ? (a as number) + d : a),
        out: (a) => a,
      };
    case '$avg':
      return {
        init: () => [0, 0],
        step: (a, d) => {
          const x = val(d);
          if (isNum(x)) {
            (a as number[])[0]! += x;
            (a as number[])[1]! += 1;
          }
          return a;
        },
        out: (a) => ((a as number[])[1] === 0 ? null : (a as number[])[0]! / (a as number[])[1]!),
      };
    case '$min':
    case '$max': {
      const sign = op === '$max' ? 1 : -1;
      return {
        init: () => null,
        step: (a, d) => {
          const x = val(d);
          if (isPlainObject(x)) bail();
          return nullish(x) ? a : a === null || cmpValues(x, a) * sign > 0 ? x : a;
        },
        out: (a) => a,
      };
    }
    case '$push':
      return {
        init: () => [],
        step: (a, d) => {
          const x = c(d, NO_VARS);
          if (x === undefined) bail();
          (a as unknown[]).push(x);
          return a;
        },
        out: (a) => a,
      };
    default:
      return undefined;
  }
}

/** Whether an error is the fast path's bail-out (the caller then runs mingo instead). */
export const isBail = (err: unknown): boolean => err === BAIL;

/** Documents fed one at a time (so they need not all be held), then the groups. */
export interface GroupRun {
  add(doc: Doc): void;
  end(): Doc[];
}

/** `$group` with compiled key and accumulators; undefined when the spec is outside the subset. */
export function fastGroup(spec: unknown): ((docs: Doc[]) => Doc[]) | undefined {
  const start = groupRunner(spec);
  return (
    start &&
    ((docs) => {
      const run = start();
      for (const d of docs) run.add(d);
      return run.end();
    })
  );
}

/** A streaming `$group` (may throw the bail-out from `add`); undefined when the spec is outside the subset. */
export function groupRunner(spec: unknown): (() => GroupRun) | undefined {
  if (!isPlainObject(spec) || !('_id' in spec)) return undefined;
  const key = compileExpr(spec._id);
  if (!key) return undefined;
  const accs: { name: string; acc: Acc }[] = [];
  for (const [name, a] of Object.entries(spec)) {
    if (name === '_id') continue;
    if (name.startsWith('$') || name.includes('.') || !isPlainObject(a) || Object.keys(a).length !== 1)
      return undefined;
    const [op, arg] = Object.entries(a)[0]!;
    const acc = accumulator(op, arg);
    if (!acc) return undefined;
    accs.push({ name, acc });
  }
  const idFields =
    isPlainObject(spec._id) && !Object.keys(spec._id).some((k) => k.startsWith('$'))
      ? Object.keys(spec._id).length
      : -1;
  return () => {
    // Strings keyed by themselves, anything else by its canonical key (which never equals a plain string's).
    const byString = new Map<string, { id: unknown; acc: unknown[] }>();
    const byKey = new Map<string, { id: unknown; acc: unknown[] }>();
    const order: { id: unknown; acc: unknown[] }[] = [];
    const add = (d: Doc): void => {
      let id = key(d, NO_VARS);
      if (id === undefined) id = null;
      if (Array.isArray(id)) bail();
      // A missing value in a compound key: leave its representation to mingo.
      if (idFields >= 0 && Object.keys(id as Doc).length !== idFields) bail();
      const str = typeof id === 'string';
      let k: string;
      if (str) k = id as string;
      else if (idFields >= 0) {
        // Same field names in the same order for every document: the values' canonical keys, length-prefixed.
        k = '{';
        for (const x of Object.values(id as Doc)) {
          const kx = keyOf(x);
          k += kx.length + ':' + kx;
        }
      } else k = keyOf(id);
      const map = str ? byString : byKey;
      let g = map.get(k);
      if (!g) {
        map.set(k, (g = { id, acc: accs.map((a) => a.acc.init()) }));
        order.push(g);
      }
      for (let i = 0; i < accs.length; i++) g.acc[i] = accs[i]!.acc.step(g.acc[i], d);
    };
    const end = (): Doc[] => {
      const out: Doc[] = [];
      for (const g of order) {
        const doc: Doc = { _id: g.id };
        accs.forEach((a, i) => (doc[a.name] = a.acc.out(g.acc[i])));
        out.push(doc);
      }
      return out;
    };
    return { add, end };
  };
}

/**
 * `$project` of top-level inclusions and computed fields: `_id` first (unless
 * `_id: 0`), included fields in document order, then computed ones in spec order.
 */
function fastProject(spec: unknown): ((docs: Doc[]) => Doc[]) | undefined {
  if (!isPlainObject(spec)) return undefined;
  const fields: { name: string; c: Compiled }[] = [];
  const include = new Set<string>();
  let keepId = true;
  for (const [name, e] of Object.entries(spec)) {
    if (name === '_id' && (e === 0 || e === false)) {
      keepId = false;
      continue;
    }
    if (name.startsWith('$') || name.includes('.') || name === '__proto__') return undefined;
    if (e === 1 || e === true) {
      include.add(name);
      continue;
    }
    if (typeof e === 'number' || typeof e === 'boolean') return undefined;
    const c = compileExpr(e);
    if (!c) return undefined;
    fields.push({ name, c });
  }
  if (include.size === 0 && fields.length === 0) return undefined;
  if (fields.some((f) => f.name === '_id') || include.has('_id')) keepId = false;
  return (docs) =>
    docs.map((d) => {
      const out: Doc = {};
      if (keepId && d._id !== undefined) out._id = d._id;
      if (include.size) for (const k of Object.keys(d)) if (include.has(k)) out[k] = d[k];
      for (const { name, c } of fields) {
        const x = c(d, NO_VARS);
        if (x !== undefined) out[name] = x;
      }
      return out;
    });
}

function fastStage(stage: Doc, fallback: Fallback): ((docs: Doc[]) => Doc[]) | undefined {
  const keys = Object.keys(stage);
  if (keys.length !== 1) return undefined;
  const op = keys[0]!;
  const arg = stage[op];
  switch (op) {
    case '$group': {
      const g = fastGroup(arg);
      return g && ((docs) => simpleGroup(arg, docs) ?? g(docs));
    }
    case '$project':
      return fastProject(arg);
    case '$replaceWith': {
      const c = compileExpr(arg);
      return (
        c &&
        ((docs) =>
          docs.map((d) => {
            const x = c(d, NO_VARS);
            if (!isPlainObject(x) || isDate(x)) bail();
            return x as Doc;
          }))
      );
    }
    case '$sort': {
      if (!isPlainObject(arg) || Object.keys(arg).length === 0) return undefined;
      if (Object.entries(arg).some(([k, d]) => (d !== 1 && d !== -1) || k.startsWith('$'))) return undefined;
      const fields = Object.entries(arg) as [string, number][];
      return (docs) => {
        // Keys computed once per document; ties keep input order, as the store's $sort.
        const keyed = docs.map((d, i) => ({ d, i, keys: fields.map(([k, dir]) => sortKey(d, k, dir)) }));
        keyed.sort((a, b) => {
          for (let j = 0; j < fields.length; j++) {
            const c = compareValues(a.keys[j], b.keys[j]);
            if (c !== 0) return c * fields[j]![1];
          }
          return a.i - b.i;
        });
        return keyed.map((x) => x.d);
      };
    }
    case '$limit':
      return typeof arg === 'number' && Number.isInteger(arg) && arg > 0
        ? (docs) => docs.slice(0, arg)
        : undefined;
    case '$unwind': {
      if (typeof arg !== 'string' || !/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(arg)) return undefined;
      const f = arg.slice(1);
      return (docs) => {
        const out: Doc[] = [];
        for (const d of docs) {
          const x = d[f];
          if (Array.isArray(x)) for (const e of x) out.push({ ...d, [f]: e });
          else if (!nullish(x)) out.push(d);
        }
        return out;
      };
    }
    case '$match': {
      if (!isPlainObject(arg) || !filterFields(arg)) return undefined;
      const p = simplePredicate(arg);
      if (p) return (docs) => docs.filter(p);
      let q: Query;
      try {
        q = new Query(arg, {});
      } catch {
        return undefined; // mingo reports the error
      }
      const full = (d: Doc): boolean => q.test(d);
      const test = quickPredicate(arg, full) ?? full;
      return (docs) => docs.filter(test);
    }
    case '$facet': {
      if (!isPlainObject(arg)) return undefined;
      const subs = Object.entries(arg);
      if (subs.some(([, p]) => !Array.isArray(p))) return undefined;
      return (docs) => [
        Object.fromEntries(subs.map(([name, p]) => [name, runFast(p as Doc[], docs, fallback)])),
      ];
    }
    default:
      return undefined;
  }
}

/** Runs stages (mingo) on documents. */
export type Fallback = (stages: Doc[], docs: Doc[]) => Doc[];

/** Runs stages of `pipeline` without mingo while it can; the rest goes to `fallback` (mingo). */
export function runFast(pipeline: Doc[], docs: Doc[], fallback: Fallback): Doc[] {
  let cur = docs;
  for (let i = 0; i < pipeline.length; i++) {
    const f = isPlainObject(pipeline[i]) ? fastStage(pipeline[i]!, fallback) : undefined;
    let next: Doc[] | undefined;
    if (f) {
      try {
        next = f(cur);
      } catch (err) {
        if (err !== BAIL) throw err;
      }
    }
    if (!next) return fallback(pipeline.slice(i), cur);
    cur = next;
  }
  return cur;
}

/**
 * Top-level fields the pipeline reads from its input documents, or undefined
 * when it may read anything.
 */
export function pipelineFields(pipeline: Doc[]): Set<string> | undefined {
  const out = new Set<string>();
  for (const st of pipeline) {
    if (!isPlainObject(st) || Object.keys(st).length !== 1) return undefined;
    const [op, arg] = Object.entries(st)[0]!;
    if (op === '$match') {
      if (!isPlainObject(arg) || !filterFields(arg, out)) return undefined;
    } else if (op === '$group') {
      const g = groupFields(arg);
      if (!g) return undefined;
      for (const f of g) out.add(f);
      return out;
    } else if (op === '$sort') {
      if (!isPlainObject(arg)) return undefined;
      for (const k of Object.keys(arg)) out.add(k.split('.')[0]!);
    } else if (op === '$limit' || op === '$skip') {
      continue;
    } else if (op === '$project') {
      if (!isPlainObject(arg)) return undefined;
      let id = true;
      for (const [k, e] of Object.entries(arg)) {
        if (k === '_id' && (e === 0 || e === false)) {
          id = false;
          continue;
        }
        if (e === 0 || e === false) return undefined;
        if (e === 1 || e === true) out.add(k.split('.')[0]!);
        else {
          const g = groupFields({ e });
          if (!g) return undefined;
          for (const f of g) out.add(f);
        }
      }
      if (id) out.add('_id');
      return out;
    } else if (op === '$facet') {
      if (!isPlainObject(arg)) return undefined;
      for (const p of Object.values(arg)) {
        const f = Array.isArray(p) ? pipelineFields(p as Doc[]) : undefined;
        if (!f) return undefined;
        for (const x of f) out.add(x);
      }
      return out;
    } else return undefined;
  }
  // Reached the end: the output is the (partial) documents themselves.
  return undefined;
}
