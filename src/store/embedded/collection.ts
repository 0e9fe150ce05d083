/**
 * Per-collection storage. Documents are kept as their BSON bytes (exact types,
 * returned to clients without re-serializing), appended to shared slab buffers;
 * a document is a slot number whose slab and offset live in typed arrays, so a
 * stored document costs its bytes plus a few bytes of bookkeeping, not a Buffer
 * object. Slabs are append-only (bytes handed out are never overwritten); when
 * garbage from updates and deletes dominates, live documents are copied into
 * fresh slabs and slots renumbered (natural order kept) at a safe point.
 *
 * The `_id` map and secondary indexes are hash maps from a 32-bit hash of the
 * canonical key to slot(s): no key strings are kept per document. Lookups
 * return a superset that callers filter (every query re-tests its filter);
 * unique checks and `_id` lookups confirm a hash hit against the stored document.
 */
import { Query } from 'mingo';
import { ServerError } from './errors.js';
import { deserializeView, isPlainObject, keyOf, numericValue, toView, valuesAt, type Doc } from './values.js';

/** A stored document: its slot number in the collection (stable until compaction). */
export type Rec = number;

/** 32-bit FNV-1a hash of a canonical key (a small integer, so a cheap Map key). */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** hash → one slot, or a set of slots (O(1) add and remove however many share a key). */
type Buckets = Map<number, number | Set<number>>;

function bucketAdd(map: Buckets, h: number, slot: number): void {
  const hit = map.get(h);
  if (hit === undefined) map.set(h, slot);
  else if (typeof hit === 'number') {
    if (hit !== slot) map.set(h, new Set([hit, slot]));
  } else hit.add(slot);
}

function bucketRemove(map: Buckets, h: number, slot: number): void {
  const hit = map.get(h);
  if (hit === slot) map.delete(h);
  else if (hit !== undefined && typeof hit !== 'number') {
    hit.delete(slot);
    if (hit.size === 1) map.set(h, hit.values().next().value!);
    else if (hit.size === 0) map.delete(h);
  }
}

function bucketSlots(map: Buckets, h: number): readonly number[] {
  const hit = map.get(h);
  if (hit === undefined) return [];
  return typeof hit === 'number' ? [hit] : [...hit];
}

function remapBuckets(map: Buckets, to: Int32Array): void {
  for (const [h, v] of map) {
    if (typeof v === 'number') map.set(h, to[v]!);
    else map.set(h, new Set(Array.from(v, (x) => to[x]!)));
  }
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
  readonly map: Buckets = new Map();
  /** Reads a stored document (to confirm hash hits in unique checks). */
  viewOf: (slot: Rec) => Doc = () => ({});

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

  /** Slots whose keys hash like `key` (a superset of the exact matches). */
  lookup(key: string): readonly Rec[] {
    return bucketSlots(this.map, hashKey(key));
  }

  conflict(entries: KeyEntry[], self: Rec | undefined): KeyEntry | undefined {
    if (!this.unique) return undefined;
    for (const e of entries) {
      for (const slot of bucketSlots(this.map, hashKey(e.key))) {
        if (slot === self) continue;
        if (this.entries(this.viewOf(slot)).some((o) => o.key === e.key)) return e;
      }
    }
    return undefined;
  }

  add(slot: Rec, entries: KeyEntry[]): void {
    const hashes = new Set(entries.map((e) => hashKey(e.key)));
    for (const h of hashes) bucketAdd(this.map, h, slot);
  }

  remove(slot: Rec, entries: KeyEntry[]): void {
    const hashes = new Set(entries.map((e) => hashKey(e.key)));
    for (const h of hashes) bucketRemove(this.map, h, slot);
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

const FIRST_SLAB = 16 * 1024;
const MAX_SLAB = 1024 * 1024;
const LIVE = 1;
const SPECIAL = 2;

export class Collection {
  readonly indexes: Index[];
  readonly ns: string;
  readonly options: Doc;
  /** Slab buffers; a document never spans two. */
  private slabs: Buffer[] = [];
  private slabUsed = 0;
  private slabOf = new Uint32Array(64);
  private offOf = new Uint32Array(64);
  private flags = new Uint8Array(64);
  /** Slots handed out so far (live and dead). */
  private nextSlot = 0;
  private live = 0;
  private liveBytes = 0;
  private deadBytes = 0;
  /** hash(canonical _id key) → slot(s). */
  private readonly ids: Buckets = new Map();
  /**
   * Internal single-field indexes on the leading field of compound indexes
   * (not listed, not journaled), so an equality on that field alone (DealPulse's
   * `workspaceId`) narrows a scan.
   */
  private leading: Index[] = [];

  constructor(
    readonly db: string,
    readonly name: string,
    options: Doc = {},
  ) {
    this.ns = `${db}.${name}`;
    this.options = options;
    this.indexes = [this.own(new Index({ v: 2, key: { _id: 1 }, name: '_id_' }))];
  }

  private own(ix: Index): Index {
    ix.viewOf = (slot) => this.view(slot);
    return ix;
  }

  get idIndex(): Index {
    return this.indexes[0]!;
  }

  /** Number of documents. */
  get size(): number {
    return this.live;
  }

  /** Total BSON bytes of the documents. */
  get dataSize(): number {
    return this.liveBytes;
  }

  /** Live slots in natural (insertion) order. */
  *slots(): IterableIterator<Rec> {
    for (let s = 0; s < this.nextSlot; s++) if (this.flags[s]! & LIVE) yield s;
  }

  /** The document's BSON (a view into a slab: never written again, safe to hand out). */
  raw(slot: Rec): Buffer {
    const slab = this.slabs[this.slabOf[slot]!]!;
    const off = this.offOf[slot]!;
    return slab.subarray(off, off + slab.readInt32LE(off));
  }

  isSpecial(slot: Rec): boolean {
    return (this.flags[slot]! & SPECIAL) !== 0;
  }

  view(slot: Rec): Doc {
    return deserializeView(this.raw(slot), this.isSpecial(slot));
  }

  /** The slot of the document whose `_id` equals `id` (view form), or undefined. */
  findId(id: unknown): Rec | undefined {
    const key = keyOf(id);
    for (const slot of bucketSlots(this.ids, hashKey(key))) if (this.idKeyAt(slot) === key) return slot;
    return undefined;
  }

  private idKeyAt(slot: Rec): string {
    const slab = this.slabs[this.slabOf[slot]!]!;
    const off = this.offOf[slot]!;
    // _id is stored first: type byte, "_id\0", value.
    if (slab[off + 5] === 0x5f && slab[off + 6] === 0x69 && slab[off + 7] === 0x64 && slab[off + 8] === 0) {
      const t = slab[off + 4];
      if (t === 0x07) return 'o' + slab.toString('hex', off + 9, off + 21);
      if (t === 0x02) {
        const len = slab.readInt32LE(off + 9);
        return 's' + slab.toString('utf8', off + 13, off + 13 + len - 1);
      }
    }
    return keyOf(this.view(slot)._id);
  }

  private store(raw: Uint8Array, special: boolean): Rec {
    const len = raw.length;
    let slab = this.slabs[this.slabs.length - 1];
    if (!slab || this.slabUsed + len > slab.length) {
      const size =
        len > MAX_SLAB / 2 ? len : Math.min(MAX_SLAB, Math.max(FIRST_SLAB, (slab?.length ?? 0) * 2));
      slab = Buffer.allocUnsafeSlow(Math.max(size, len));
      this.slabs.push(slab);
      this.slabUsed = 0;
    }
    slab.set(raw, this.slabUsed);
    const slot = this.nextSlot++;
    if (slot >= this.flags.length) this.grow(slot + 1);
    this.slabOf[slot] = this.slabs.length - 1;
    this.offOf[slot] = this.slabUsed;
    this.flags[slot] = LIVE | (special ? SPECIAL : 0);
    this.slabUsed += len;
    this.live++;
    this.liveBytes += len;
    return slot;
  }

  private grow(min: number): void {
    let cap = this.flags.length;
    while (cap < min) cap *= 2;
    const s = new Uint32Array(cap);
    s.set(this.slabOf);
    const o = new Uint32Array(cap);
    o.set(this.offOf);
    const f = new Uint8Array(cap);
    f.set(this.flags);
    this.slabOf = s;
    this.offOf = o;
    this.flags = f;
  }

  /** Moves a slot's content to new bytes (the old bytes become garbage). */
  private rewrite(slot: Rec, raw: Uint8Array, special: boolean): void {
    const old = this.raw(slot).length;
    const tmp = this.store(raw, special);
    // store() took a fresh slot; move its location to `slot` and give the fresh one back.
    this.slabOf[slot] = this.slabOf[tmp]!;
    this.offOf[slot] = this.offOf[tmp]!;
    this.flags[slot] = this.flags[tmp]!;
    this.flags[tmp] = 0;
    this.nextSlot--;
    this.live--;
    this.liveBytes -= old;
    this.deadBytes += old;
  }

  /** Adds a document; throws DuplicateKey (nothing changed) on a unique violation. */
  insert(raw: Uint8Array, view: Doc, special: boolean): Rec {
    const idKey = keyOf(view._id);
    for (const s of bucketSlots(this.ids, hashKey(idKey)))
      if (this.idKeyAt(s) === idKey)
        throw this.idIndex.duplicateError(this.ns, { key: idKey, values: [view._id] });
    const all = this.indexes.map((ix, i) => (i === 0 ? [] : ix.entries(view)));
    for (let i = 1; i < this.indexes.length; i++) {
      const c = this.indexes[i]!.conflict(all[i]!, undefined);
      if (c) throw this.indexes[i]!.duplicateError(this.ns, c);
    }
    const slot = this.store(raw, special);
    bucketAdd(this.ids, hashKey(idKey), slot);
    for (let i = 1; i < this.indexes.length; i++) this.indexes[i]!.add(slot, all[i]!);
    for (const ix of this.leading) ix.add(slot, ix.entries(view));
    return slot;
  }

  /** Replaces a record's document in place (same _id); throws DuplicateKey with nothing changed. */
  replace(slot: Rec, oldView: Doc, raw: Uint8Array, view: Doc, special: boolean): void {
    const olds = this.indexes.map((ix, i) => (i === 0 ? [] : ix.entries(oldView)));
    const news = this.indexes.map((ix, i) => (i === 0 ? [] : ix.entries(view)));
    for (let i = 1; i < this.indexes.length; i++) {
      const c = this.indexes[i]!.conflict(news[i]!, slot);
      if (c) throw this.indexes[i]!.duplicateError(this.ns, c);
    }
    for (let i = 1; i < this.indexes.length; i++) {
      const ix = this.indexes[i]!;
      const o = olds[i]!.map((e) => e.key).join('\u0002');
      const n = news[i]!.map((e) => e.key).join('\u0002');
      if (o === n) continue;
      ix.remove(slot, olds[i]!);
      ix.add(slot, news[i]!);
    }
    for (const ix of this.leading) {
      const o = ix.entries(oldView);
      const n = ix.entries(view);
      if (o.map((e) => e.key).join('\u0002') === n.map((e) => e.key).join('\u0002')) continue;
      ix.remove(slot, o);
      ix.add(slot, n);
    }
    this.rewrite(slot, raw, special);
  }

  isLive(slot: Rec): boolean {
    return slot < this.nextSlot && (this.flags[slot]! & LIVE) !== 0;
  }

  remove(slot: Rec, view?: Doc): void {
    if (!this.isLive(slot)) return;
    const v = view ?? this.view(slot);
    bucketRemove(this.ids, hashKey(keyOf(v._id)), slot);
    for (let i = 1; i < this.indexes.length; i++) this.indexes[i]!.remove(slot, this.indexes[i]!.entries(v));
    for (const ix of this.leading) ix.remove(slot, ix.entries(v));
    const len = this.raw(slot).length;
    this.flags[slot] = 0;
    this.live--;
    this.liveBytes -= len;
    this.deadBytes += len;
  }

  /** Builds a new index over existing documents; throws DuplicateKey without adding it. */
  addIndex(spec: IndexSpec): Index {
    const ix = this.build(new Index(spec));
    this.indexes.push(ix);
    this.syncLeading();
    return ix;
  }

  private build(ix: Index): Index {
    this.own(ix);
    for (const slot of this.slots()) {
      const entries = ix.entries(this.view(slot));
      const c = ix.conflict(entries, slot);
      if (c) throw ix.duplicateError(this.ns, c);
      ix.add(slot, entries);
    }
    return ix;
  }

  /** Drops a (non-_id) index by name; false when there is none. */
  dropIndex(name: string): boolean {
    const i = this.indexes.findIndex((ix) => ix.spec.name === name);
    if (i <= 0) return false;
    this.indexes.splice(i, 1);
    this.syncLeading();
    return true;
  }

  /** Keeps one internal index per leading field of the non-partial compound indexes. */
  private syncLeading(): void {
    const wanted = new Set(
      this.indexes.filter((ix) => ix.fields.length > 1 && !ix.partial).map((ix) => ix.fields[0]!),
    );
    this.leading = this.leading.filter((ix) => wanted.has(ix.fields[0]!));
    for (const f of wanted) {
      if (this.leading.some((ix) => ix.fields[0] === f)) continue;
      this.leading.push(this.build(new Index({ v: 2, key: { [f]: 1 }, name: `(leading ${f})` })));
    }
  }

  /**
   * Copies live documents into fresh slabs and renumbers slots (keeping order)
   * when garbage dominates. Only call between commands: slot numbers held by a
   * running command would be invalidated. Returns whether it compacted.
   */
  maybeCompact(): boolean {
    const deadSlots = this.nextSlot - this.live;
    const bytes = this.deadBytes > 1024 * 1024 && this.deadBytes > this.liveBytes / 2;
    const slots = deadSlots > 4096 && deadSlots > this.live;
    if (!bytes && !slots) return false;
    this.compact();
    return true;
  }

  compact(): void {
    const to = new Int32Array(this.nextSlot).fill(-1);
    const oldSlabs = this.slabs;
    const oldSlabOf = this.slabOf;
    const oldOffOf = this.offOf;
    const oldFlags = this.flags;
    const end = this.nextSlot;
    this.slabs = [];
    this.slabUsed = 0;
    let cap = 64;
    while (cap < this.live) cap *= 2;
    this.slabOf = new Uint32Array(cap);
    this.offOf = new Uint32Array(cap);
    this.flags = new Uint8Array(cap);
    this.nextSlot = 0;
    this.live = 0;
    this.liveBytes = 0;
    this.deadBytes = 0;
    for (let s = 0; s < end; s++) {
      if (!(oldFlags[s]! & LIVE)) continue;
      const slab = oldSlabs[oldSlabOf[s]!]!;
      const off = oldOffOf[s]!;
      to[s] = this.store(slab.subarray(off, off + slab.readInt32LE(off)), (oldFlags[s]! & SPECIAL) !== 0);
    }
    remapBuckets(this.ids, to);
    for (const ix of this.indexes) remapBuckets(ix.map, to);
    for (const ix of this.leading) remapBuckets(ix.map, to);
  }

  /**
   * Records that may match `filter` (a view-form query): an index lookup when the
   * filter has equality conditions covering an index, otherwise every record.
   * Index hits are a superset (hash buckets): callers must test the filter.
   */
  candidates(filter: Doc): Iterable<Rec> {
    const eq = equalities(filter);
    if (eq.size === 0) return this.slots();
    const id = eq.get('_id');
    if (id) {
      const out = new Set<Rec>();
      for (const v of id) {
        const r = this.findId(v);
        if (r !== undefined) out.add(r);
      }
      return [...out].sort((a, b) => a - b);
    }
    let best: Index | undefined;
    for (const ix of [...this.indexes, ...this.leading]) {
      if (ix.partial) continue;
      if (!ix.fields.every((f) => eq.has(f))) continue;
      if (ix.fields.length > 1 && ix.fields.some((f) => eq.get(f)!.length !== 1)) continue;
      if (!best || ix.fields.length > best.fields.length) best = ix;
    }
    if (!best) return this.slots();
    if (best.fields.length === 1) {
      const out = new Set<Rec>();
      for (const v of eq.get(best.fields[0]!)!) for (const r of best.lookup(keyOf(v))) out.add(r);
      return [...out].sort((a, b) => a - b);
    }
    return [...best.lookup(best.fields.map((f) => keyOf(eq.get(f)![0])).join('\u0001'))].sort(
      (a, b) => a - b,
    );
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
