/**
 * Per-collection storage. Documents are kept as their BSON bytes (exact types,
 * compact, returned to clients without re-serializing) in a Map keyed by the
 * canonical `_id` key; secondary indexes are hash maps from canonical index
 * keys to records, so equality lookups and unique checks never scan.
 */
import { Query } from 'mingo';
import { ServerError } from './errors.js';
import { deserializeView, isPlainObject, keyOf, numericValue, toView, valuesAt, type Doc } from './values.js';

export interface Rec {
  raw: Buffer;
  /** The document holds Decimal128 or out-of-range Long values: views need a normalising walk. */
  special: boolean;
  idKey: string;
}

export interface IndexSpec extends Doc {
  v: number;
  key: Doc;
  name: string;
}

const INDEX_OPTIONS = new Set([
  'key',
  'name',
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'background',
  'v',
  'hidden',
  'ns',
  'collation',
]);

interface KeyEntry {
  key: string;
  values: unknown[];
}

export class Index {
  readonly spec: IndexSpec;
  readonly fields: string[];
  readonly unique: boolean;
  readonly sparse: boolean;
  readonly partial: Query | undefined;
  readonly expireAfterSeconds: number | undefined;
  readonly map = new Map<string, Rec | Set<Rec>>();

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.fields = Object.keys(spec.key);
    this.unique = spec.unique === true || spec.name === '_id_';
    this.sparse = spec.sparse === true;
    this.partial = isPlainObject(spec.partialFilterExpression)
      ? new Query(toView(spec.partialFilterExpression) as Doc, {})
      : undefined;
    const ttl = numericValue(spec.expireAfterSeconds);
    this.expireAfterSeconds = ttl === undefined ? undefined : ttl;
  }

  /** Keys under which a document is indexed (none when sparse/partial excludes it). */
  entries(view: Doc): KeyEntry[] {
    if (this.partial && !this.partial.test(view)) return [];
    const perField: unknown[][] = [];
    let present = false;
    for (const f of this.fields) {
      const vals = valuesAt(view, f);
      const expanded: unknown[] = [];
      for (const v of vals) {
        if (Array.isArray(v)) {
          if (v.length === 0) expanded.push(undefined);
          else expanded.push(...v);
        } else expanded.push(v);
      }
      if (expanded.length > 0) present = true;
      perField.push(expanded.length > 0 ? expanded : [null]);
    }
    if (this.sparse && !present) return [];
    let combos: unknown[][] = [[]];
    for (const vals of perField) {
      const next: unknown[][] = [];
      for (const c of combos) for (const v of vals) next.push([...c, v]);
      combos = next;
    }
    const seen = new Set<string>();
    const out: KeyEntry[] = [];
    for (const values of combos) {
      const key = values.map(keyOf).join('\u0001');
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ key, values });
      }
    }
    return out;
  }

  lookup(key: string): Rec[] {
    const hit = this.map.get(key);
    if (!hit) return [];
    return hit instanceof Set ? [...hit] : [hit];
  }

  conflict(entries: KeyEntry[], self: Rec | undefined): KeyEntry | undefined {
    if (!this.unique) return undefined;
    for (const e of entries) {
      const hit = this.map.get(e.key);
      if (!hit) continue;
      if (hit instanceof Set) {
        for (const r of hit) if (r !== self) return e;
      } else if (hit !== self) return e;
    }
    return undefined;
  }

  add(rec: Rec, entries: KeyEntry[]): void {
    for (const { key } of entries) {
      const hit = this.map.get(key);
      if (!hit) this.map.set(key, rec);
      else if (hit instanceof Set) hit.add(rec);
      else if (hit !== rec) this.map.set(key, new Set([hit, rec]));
    }
  }

  remove(rec: Rec, entries: KeyEntry[]): void {
    for (const { key } of entries) {
      const hit = this.map.get(key);
      if (hit === rec) this.map.delete(key);
      else if (hit instanceof Set) {
        hit.delete(rec);
        if (hit.size === 1) this.map.set(key, hit.values().next().value!);
        else if (hit.size === 0) this.map.delete(key);
      }
    }
  }

  duplicateError(ns: string, e: KeyEntry): ServerError {
    const keyValue: Doc = {};
    this.fields.forEach((f, i) => (keyValue[f] = e.values[i] ?? null));
    const shown = this.fields.map((f, i) => `${f}: ${JSON.stringify(e.values[i] ?? null)}`).join(', ');
    return new ServerError(
      'DuplicateKey',
      `E11000 duplicate key error collection: ${ns} index: ${this.spec.name} dup key: { ${shown} }`,
      { keyPattern: { ...this.spec.key }, keyValue },
    );
  }
}

export function validateIndexSpec(spec: Doc): IndexSpec {
  if (!isPlainObject(spec.key) || Object.keys(spec.key).length === 0) {
    throw new ServerError('CannotCreateIndex', "Index key pattern must be a non-empty object ('key' field)");
  }
  for (const [f, d] of Object.entries(spec.key)) {
    const n = numericValue(d);
    if (n === undefined || n === 0) {
      throw new ServerError(
        'CannotCreateIndex',
        `Index type ${JSON.stringify(d)} on field ${f} is not supported by the DealPulse embedded store; set MONGODB_URI to use a full MongoDB server`,
      );
    }
  }
  if (typeof spec.name !== 'string' || spec.name === '') {
    throw new ServerError('CannotCreateIndex', "index must have a 'name' field");
  }
  for (const k of Object.keys(spec)) {
    if (!INDEX_OPTIONS.has(k)) {
      throw new ServerError(
        'InvalidOptions',
        `The field '${k}' is not valid for an index specification in the DealPulse embedded store`,
      );
    }
  }
  if (spec.collation !== undefined)
    throw new ServerError(
      'InvalidOptions',
      'index collations are not supported by the DealPulse embedded store',
    );
  return { ...spec, v: 2 } as IndexSpec;
}

export class Collection {
  readonly docs = new Map<string, Rec>();
  readonly indexes: Index[];
  readonly ns: string;
  readonly options: Doc;

  constructor(
    readonly db: string,
    readonly name: string,
    options: Doc = {},
  ) {
    this.ns = `${db}.${name}`;
    this.options = options;
    this.indexes = [new Index({ v: 2, key: { _id: 1 }, name: '_id_' })];
  }

  get idIndex(): Index {
    return this.indexes[0]!;
  }

  view(rec: Rec): Doc {
    return deserializeView(rec.raw, rec.special);
  }

  /** Adds a document; throws DuplicateKey (nothing changed) on a unique violation. */
  insert(raw: Buffer, view: Doc, special: boolean): Rec {
    const idKey = keyOf(view._id);
    const rec: Rec = { raw, special, idKey };
    if (this.docs.has(idKey)) throw this.idIndex.duplicateError(this.ns, { key: idKey, values: [view._id] });
    const all = this.indexes.map((ix, i) => (i === 0 ? [] : ix.entries(view)));
    for (let i = 1; i < this.indexes.length; i++) {
      const c = this.indexes[i]!.conflict(all[i]!, undefined);
      if (c) throw this.indexes[i]!.duplicateError(this.ns, c);
    }
    this.docs.set(idKey, rec);
    for (let i = 1; i < this.indexes.length; i++) this.indexes[i]!.add(rec, all[i]!);
    return rec;
  }

  /** Replaces a record's document in place (same _id); throws DuplicateKey with nothing changed. */
  replace(rec: Rec, oldView: Doc, raw: Buffer, view: Doc, special: boolean): void {
    const olds = this.indexes.map((ix, i) => (i === 0 ? [] : ix.entries(oldView)));
    const news = this.indexes.map((ix, i) => (i === 0 ? [] : ix.entries(view)));
    for (let i = 1; i < this.indexes.length; i++) {
      const c = this.indexes[i]!.conflict(news[i]!, rec);
      if (c) throw this.indexes[i]!.duplicateError(this.ns, c);
    }
    for (let i = 1; i < this.indexes.length; i++) {
      const ix = this.indexes[i]!;
      const o = olds[i]!.map((e) => e.key).join('\u0002');
      const n = news[i]!.map((e) => e.key).join('\u0002');
      if (o === n) continue;
      ix.remove(rec, olds[i]!);
      ix.add(rec, news[i]!);
    }
    rec.raw = raw;
    rec.special = special;
  }

  remove(rec: Rec, view?: Doc): void {
    if (this.docs.get(rec.idKey) !== rec) return;
    const v = this.indexes.length > 1 ? (view ?? this.view(rec)) : undefined;
    this.docs.delete(rec.idKey);
    for (let i = 1; i < this.indexes.length; i++) this.indexes[i]!.remove(rec, this.indexes[i]!.entries(v!));
  }

  /** Builds a new index over existing documents; throws DuplicateKey without adding it. */
  addIndex(spec: IndexSpec): Index {
    const ix = new Index(spec);
    for (const rec of this.docs.values()) {
      const entries = ix.entries(this.view(rec));
      const c = ix.conflict(entries, rec);
      if (c) throw ix.duplicateError(this.ns, c);
      ix.add(rec, entries);
    }
    this.indexes.push(ix);
    return ix;
  }

  /**
   * Records that may match `filter` (a view-form query): an index lookup when the
   * filter has equality conditions covering an index, otherwise every record.
   */
  candidates(filter: Doc): Iterable<Rec> {
    const eq = equalities(filter);
    if (eq.size === 0) return this.docs.values();
    const id = eq.get('_id');
    if (id) {
      const out: Rec[] = [];
      for (const v of id) {
        const r = this.docs.get(keyOf(v));
        if (r) out.push(r);
      }
      return out;
    }
    let best: Index | undefined;
    for (const ix of this.indexes) {
      if (ix.partial) continue;
      if (!ix.fields.every((f) => eq.has(f))) continue;
      if (ix.fields.length > 1 && ix.fields.some((f) => eq.get(f)!.length !== 1)) continue;
      if (!best || ix.fields.length > best.fields.length) best = ix;
    }
    if (!best) return this.docs.values();
    if (best.fields.length === 1) {
      const out = new Set<Rec>();
      for (const v of eq.get(best.fields[0]!)!) for (const r of best.lookup(keyOf(v))) out.add(r);
      return out;
    }
    return best.lookup(best.fields.map((f) => keyOf(eq.get(f)![0])).join('\u0001'));
  }
}

/** field → values it must equal (from `field: v`, `$eq` and `$in`, at top level or in `$and`). */
function equalities(filter: Doc, out = new Map<string, unknown[]>()): Map<string, unknown[]> {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (isPlainObject(sub)) equalities(sub, out);
      continue;
    }
    if (k.startsWith('$')) continue;
    if (isIndexable(v)) {
      out.set(k, [v]);
    } else if (isPlainObject(v)) {
      const ops = Object.keys(v);
      if (ops.length === 1 && ops[0] === '$eq' && isIndexable(v.$eq)) out.set(k, [v.$eq]);
      else if (ops.length === 1 && ops[0] === '$in' && Array.isArray(v.$in) && v.$in.every(isIndexable)) {
        out.set(k, v.$in);
      }
    }
  }
  return out;
}

/** Values whose equality match is exactly "same canonical key" (no regex, array, null or operator semantics). */
function isIndexable(v: unknown): boolean {
  if (v === null || v === undefined || Array.isArray(v) || v instanceof RegExp) return false;
  if (typeof v !== 'object') return true;
  if (isPlainObject(v))
    return (
      Object.keys(v).length > 0 &&
      !Object.keys(v).some((k) => k.startsWith('$')) &&
      Object.values(v).every((x) => !Array.isArray(x))
    );
  return !(v.constructor?.name === 'BSONRegExp');
}
