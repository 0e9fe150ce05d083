/**
 * Update semantics on top of mingo's update operators: operator validation,
 * `_id` immutability, upsert seeding from the filter and `$setOnInsert`,
 * replacement documents, pipeline updates, and BSON-typed `$inc`/`$mul`/`$min`/`$max`.
 */
import { ObjectId } from 'bson';
import { update as mingoUpdate } from 'mingo';
import { Aggregator } from './expressions.js';
import { ServerError, unsupported } from './errors.js';
import {
  arith,
  compareValues,
  hasWrappers,
  isNumeric,
  isPlainObject,
  keyOf,
  toView,
  type Doc,
} from './values.js';

const SUPPORTED = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$pull',
  '$pullAll',
  '$pop',
  '$rename',
  '$currentDate',
  '$setOnInsert',
  '$bit',
]);
const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);

export type UpdateSpec = Doc | Doc[];

export function updateKind(u: unknown): 'operators' | 'replacement' | 'pipeline' {
  if (Array.isArray(u)) {
    for (const st of u) {
      const k = isPlainObject(st) ? Object.keys(st)[0] : undefined;
      if (!k || !PIPELINE_STAGES.has(k)) {
        throw new ServerError('FailedToParse', `${k ?? 'stage'} is not allowed to be used within an update`);
      }
    }
    return 'pipeline';
  }
  if (!isPlainObject(u))
    throw new ServerError('FailedToParse', 'Update argument must be either an object or an array');
  const keys = Object.keys(u);
  if (keys.length > 0 && keys.every((k) => k.startsWith('$'))) {
    for (const k of keys) {
      if (!SUPPORTED.has(k)) {
        throw new ServerError(
          'FailedToParse',
          `Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`,
        );
      }
      if (!isPlainObject(u[k]))
        throw new ServerError(
          'FailedToParse',
          `Modifiers operate on fields but we found type ${typeof u[k]} instead.`,
        );
    }
    return 'operators';
  }
  if (keys.some((k) => k.startsWith('$'))) {
    throw new ServerError(
      'FailedToParse',
      `The dollar ($) prefixed field '${keys.find((k) => k.startsWith('$'))}' in '${keys.find((k) => k.startsWith('$'))}' is not allowed in the context of an update's replacement document.`,
    );
  }
  return 'replacement';
}

/** Rejects updates where one path is touched by two operators (or a path and its prefix). */
function checkConflicts(u: Doc): void {
  const paths: string[] = [];
  for (const [op, fields] of Object.entries(u)) {
    for (const p of Object.keys(fields as Doc)) {
      paths.push(p);
      if (op === '$rename') paths.push(String((fields as Doc)[p]));
    }
  }
  const norm = paths.map((p) =>
    p
      .split('.')
      .filter((s) => !s.startsWith('$'))
      .join('.'),
  );
  for (let i = 0; i < norm.length; i++) {
    for (let j = i + 1; j < norm.length; j++) {
      const a = norm[i]!;
      const b = norm[j]!;
      if (a === b || a.startsWith(b + '.') || b.startsWith(a + '.')) {
        throw new ServerError(
          'ConflictingUpdateOperators',
          `Updating the path '${paths[j]}' would create a conflict at '${paths[i]}'`,
        );
      }
    }
  }
}

function getPath(
  doc: Doc,
  parts: string[],
): { parent: Doc | unknown[] | undefined; key: string; value: unknown } {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    if (Array.isArray(cur)) cur = /^\d+$/.test(parts[i]!) ? cur[Number(parts[i])] : undefined;
    else if (isPlainObject(cur)) cur = cur[parts[i]!];
    else return { parent: undefined, key: parts.at(-1)!, value: undefined };
    if (cur === undefined || cur === null || typeof cur !== 'object')
      return { parent: undefined, key: parts.at(-1)!, value: undefined };
  }
  const key = parts.at(-1)!;
  if (Array.isArray(cur))
    return { parent: cur, key, value: /^\d+$/.test(key) ? cur[Number(key)] : undefined };
  if (isPlainObject(cur)) return { parent: cur, key, value: cur[key] };
  return { parent: undefined, key, value: undefined };
}

/**
 * Handles $inc/$mul/$min/$max on plain paths ourselves (mingo ignores Long and
 * Decimal128 and loses int/long/double types), returning the remaining modifier for mingo.
 */
function applyNumericOps(doc: Doc, u: Doc): Doc {
  const rest: Doc = {};
  for (const [op, fields] of Object.entries(u)) {
    if (op !== '$inc' && op !== '$mul' && op !== '$min' && op !== '$max') {
      rest[op] = fields;
      continue;
    }
    const left: Doc = {};
    for (const [path, operand] of Object.entries(fields as Doc)) {
      if ((op === '$inc' || op === '$mul') && !isNumeric(operand)) {
        throw new ServerError(
          'TypeMismatch',
          `Cannot ${op === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: {${path}: ${JSON.stringify(toView(operand))}}`,
        );
      }
      if (path.includes('$')) {
        left[path] = toView(operand);
        continue;
      }
      const parts = path.split('.');
      const { value } = getPath(doc, parts);
      let next: unknown;
      if (op === '$inc' || op === '$mul') {
        if (value === undefined) next = op === '$inc' ? operand : arith('mul', operand, 0);
        else if (!isNumeric(value)) {
          throw new ServerError(
            'TypeMismatch',
            `Cannot apply ${op} to a value of non-numeric type. {_id: ${JSON.stringify(toView(doc._id))}} has the field '${parts.at(-1)}' of non-numeric type ${typeof value}`,
          );
        } else next = arith(op === '$inc' ? 'add' : 'mul', value, operand);
      } else {
        const c = value === undefined ? 0 : compareValues(operand, value);
        next = value === undefined || (op === '$min' ? c < 0 : c > 0) ? operand : value;
      }
      if (next !== value) setPath(doc, parts, next);
    }
    if (Object.keys(left).length > 0) rest[op] = left;
  }
  return rest;
}

function setPath(doc: Doc, parts: string[], value: unknown): void {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(p))
        throw new ServerError(
          'PathNotViable',
          `Cannot create field '${p}' in element {${parts[i - 1]}: [...]}`,
        );
      cur[Number(p)] ??= {};
      cur = cur[Number(p)];
    } else if (isPlainObject(cur)) {
      if (cur[p] === undefined || cur[p] === null) cur[p] = {};
      cur = cur[p];
    }
    if (typeof cur !== 'object' || cur === null) {
      throw new ServerError(
        'PathNotViable',
        `Cannot create field '${parts[i + 1]}' in element {${p}: ${JSON.stringify(cur)}}`,
      );
    }
  }
  const last = parts.at(-1)!;
  if (Array.isArray(cur)) {
    if (!/^\d+$/.test(last))
      throw new ServerError('PathNotViable', `Cannot create field '${last}' in an array`);
    const i = Number(last);
    while (cur.length < i) cur.push(null);
    cur[i] = value;
  } else (cur as Doc)[last] = value;
}

/** Applies an update to a typed document in place and returns it (possibly a new object for replacements). */
export function applyUpdate(
  doc: Doc,
  u: UpdateSpec,
  opts: { arrayFilters?: Doc[] | undefined; condition?: Doc | undefined; inserting: boolean },
): Doc {
  const kind = updateKind(u);
  const id = doc._id;
  let out: Doc;
  if (kind === 'replacement') {
    const repl = u as Doc;
    if ('_id' in repl && id !== undefined && keyOf(toView(repl._id)) !== keyOf(toView(id))) {
      throw new ServerError(
        'ImmutableField',
        "After applying the update, the (immutable) field '_id' was found to have been altered to _id: " +
          JSON.stringify(toView(repl._id)),
      );
    }
    out = id === undefined ? { ...repl } : { _id: id, ...repl };
  } else if (kind === 'pipeline') {
    const [res] = new Aggregator(u as Doc[], {}).run([toView(doc) as Doc]) as Doc[];
    out = res ?? {};
    if (id !== undefined && keyOf(toView(out._id)) !== keyOf(toView(id))) {
      throw new ServerError(
        'ImmutableField',
        "After applying the update, the (immutable) field '_id' was found to have been altered",
      );
    }
    if (id !== undefined) out = { _id: id, ...out };
  } else {
    const ops: Doc = {};
    // mongod applies the fields of one update in path order.
    for (const [op, fields] of Object.entries(u as Doc)) ops[op] = sortedFields(fields as Doc);
    if (ops.$setOnInsert) {
      if (opts.inserting)
        ops.$set = sortedFields({ ...(ops.$setOnInsert as Doc), ...((ops.$set as Doc | undefined) ?? {}) });
      delete ops.$setOnInsert;
    }
    checkConflicts(u as Doc);
    // _id: setting it to its current value is a no-op, anything else is refused.
    for (const op of Object.keys(ops)) {
      const fields = ops[op] as Doc;
      for (const p of Object.keys(fields)) {
        if (p === '_id' || p.startsWith('_id.')) {
          if (
            op === '$set' &&
            p === '_id' &&
            (id === undefined || keyOf(toView(fields[p])) === keyOf(toView(id)))
          ) {
            if (id === undefined) doc._id = fields[p];
            const { _id: _ignored, ...others } = fields;
            ops[op] = others;
            continue;
          }
          throw new ServerError(
            'ImmutableField',
            `Performing an update on the path '_id' would modify the immutable field '_id'`,
          );
        }
      }
      if (Object.keys(ops[op] as Doc).length === 0) delete ops[op];
    }
    const numericOps: Doc = {};
    const mingoOps: Doc = {};
    for (const [op, fields] of Object.entries(ops)) {
      if (op === '$inc' || op === '$mul' || op === '$min' || op === '$max') numericOps[op] = fields;
      else mingoOps[op] = fields;
    }
    // Paths with a positional `$` need the query to pick the array element; mingo
    // evaluates it on the document, so give it the numeric view form.
    const positional = Object.values(ops).some((f) =>
      Object.keys(f as Doc).some((p) => /(^|\.)\$(\.|$)/.test(p)),
    );
    if (positional && hasWrappers(doc)) {
      const view = toView(doc) as Doc;
      for (const k of Object.keys(doc)) delete doc[k];
      Object.assign(doc, view);
    }
    const condition = positional && opts.condition ? (toView(opts.condition) as Doc) : undefined;
    if (mingoOps.$bit) throw unsupported('The $bit update operator');
    if (Object.keys(mingoOps).length > 0) {
      mingoUpdate(
        doc,
        mingoOps,
        opts.arrayFilters?.map((f) => toView(f) as Doc),
        condition,
        { cloneMode: 'deep' },
      );
    }
    const rest = applyNumericOps(doc, numericOps);
    if (Object.keys(rest).length > 0) {
      mingoUpdate(
        doc,
        rest,
        opts.arrayFilters?.map((f) => toView(f) as Doc),
        condition,
        { cloneMode: 'deep' },
      );
    }
    out = doc;
  }
  return out;
}

function sortedFields(fields: Doc): Doc {
  const out: Doc = {};
  for (const k of Object.keys(fields).sort()) out[k] = fields[k];
  return out;
}

/** The document an upsert starts from: the filter's equality fields (top level and `$and`). */
export function upsertSeed(filter: Doc): Doc {
  const seed: Doc = {};
  const visit = (f: Doc): void => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' && Array.isArray(v)) {
        for (const s of v) if (isPlainObject(s)) visit(s);
        continue;
      }
      if (k === '$or' && Array.isArray(v) && v.length === 1 && isPlainObject(v[0])) {
        visit(v[0]);
        continue;
      }
      if (k.startsWith('$')) continue;
      let val: unknown = v;
      if (isPlainObject(v) && Object.keys(v).some((x) => x.startsWith('$'))) {
        if (Object.keys(v).length === 1 && '$eq' in v) val = v.$eq;
        else continue;
      }
      if (val instanceof RegExp) continue;
      setPath(seed, k.split('.'), structuredCloneBson(val));
    }
  };
  visit(filter);
  return seed;
}

function structuredCloneBson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(structuredCloneBson);
  if (isPlainObject(v)) {
    const o: Doc = {};
    for (const [k, x] of Object.entries(v)) o[k] = structuredCloneBson(x);
    return o;
  }
  return v;
}

/** Builds the document an upsert inserts. */
export function buildUpsert(filter: Doc, u: UpdateSpec, arrayFilters: Doc[] | undefined): Doc {
  const kind = updateKind(u);
  let doc: Doc;
  if (kind === 'replacement') {
    const seedId = upsertSeed(filter)._id;
    doc = { ...(u as Doc) };
    if (doc._id === undefined && seedId !== undefined) doc = { _id: seedId, ...doc };
  } else {
    doc = upsertSeed(filter);
    doc = applyUpdate(doc, u, { arrayFilters, condition: undefined, inserting: true });
  }
  if (doc._id === undefined) doc = { _id: new ObjectId(), ...doc };
  else if (Object.keys(doc)[0] !== '_id') {
    const { _id, ...rest } = doc;
    doc = { _id, ...rest };
  }
  return doc;
}
