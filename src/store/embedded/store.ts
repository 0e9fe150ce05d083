/**
 * The catalogue of databases and collections, and the only place that mutates
 * them: every change is applied in memory and appended to the journal (when
 * persistent) in the same order. Also replays the journal and sweeps TTL indexes.
 */
import { serialize } from 'bson';
import type { Logger } from 'pino';
import { Collection, validateIndexSpec, type IndexSpec, type Rec } from './collection.js';
import { ServerError } from './errors.js';
import { Op, Persistence, type JournalRecord } from './persistence.js';
import { deserializeTyped, deserializeView, hasWrappers, type Doc } from './values.js';
import { deserialize } from 'bson';

export interface StoreOptions {
  dbPath?: string | undefined;
  logger: Logger;
  compactBytes?: number;
}

export class Store {
  readonly dbs = new Map<string, Map<string, Collection>>();
  readonly persistence: Persistence | undefined;
  private readonly logger: Logger;

  constructor(opts: StoreOptions) {
    this.logger = opts.logger;
    if (opts.dbPath) {
      this.persistence = new Persistence({
        dir: opts.dbPath,
        logger: opts.logger,
        compactBytes: opts.compactBytes,
      });
      const started = Date.now();
      const { snapshotRecords, journalRecords } = this.persistence.load((r) => this.replay(r));
      this.logger.info(
        { dbPath: opts.dbPath, snapshotRecords, journalRecords, ms: Date.now() - started },
        'embedded store: data loaded',
      );
      if (journalRecords > 0) this.compactNow();
    }
  }

  // -- catalogue -----------------------------------------------------------

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** Returns the collection, creating it (journaled) when missing. */
  ensureCollection(db: string, name: string, options: Doc = {}): { coll: Collection; created: boolean } {
    const existing = this.collection(db, name);
    if (existing) return { coll: existing, created: false };
    validateName(db, name);
    const coll = new Collection(db, name, options);
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    colls.set(name, coll);
    this.persistence?.append(Op.CreateCollection, coll.ns, serialize(options));
    return { coll, created: true };
  }

  dropCollection(db: string, name: string): Collection | undefined {
    const coll = this.collection(db, name);
    if (!coll) return undefined;
    this.dbs.get(db)!.delete(name);
    if (this.dbs.get(db)!.size === 0) this.dbs.delete(db);
    this.persistence?.append(Op.DropCollection, coll.ns, Buffer.alloc(0));
    return coll;
  }

  dropDatabase(db: string): void {
    if (!this.dbs.has(db)) return;
    this.dbs.delete(db);
    this.persistence?.append(Op.DropDatabase, db, Buffer.alloc(0));
  }

  createIndex(coll: Collection, spec: IndexSpec): void {
    coll.addIndex(spec);
    this.persistence?.append(Op.CreateIndex, coll.ns, serialize(spec));
  }

  dropIndex(coll: Collection, name: string): void {
    if (!coll.dropIndex(name)) return;
    this.persistence?.append(Op.DropIndex, coll.ns, serialize({ name }));
  }

  // -- documents -----------------------------------------------------------

  /** Inserts one stored-form document (raw BSON with _id first). */
  insert(coll: Collection, raw: Uint8Array, view: Doc, special: boolean): Rec {
    const rec = coll.insert(raw, view, special);
    this.persistence?.append(Op.Put, coll.ns, raw);
    return rec;
  }

  replace(coll: Collection, rec: Rec, oldView: Doc, raw: Uint8Array, view: Doc, special: boolean): void {
    coll.replace(rec, oldView, raw, view, special);
    this.persistence?.append(Op.Put, coll.ns, raw);
  }

  remove(coll: Collection, rec: Rec, view?: Doc): void {
    const body = this.persistence ? idBody(coll, rec) : undefined;
    coll.remove(rec, view);
    if (body) this.persistence?.append(Op.Delete, coll.ns, body);
  }

  // -- durability ----------------------------------------------------------

  /** Resolves when every change so far is on disk. */
  commit(): Promise<void> {
    // Between commands: no slot numbers are held, so collections may compact their slabs.
    for (const colls of this.dbs.values()) for (const coll of colls.values()) coll.maybeCompact();
    if (!this.persistence) return Promise.resolve();
    const p = this.persistence.commit();
    if (this.persistence.needsCompaction())
      void this.persistence.after(() => this.compactNow()).catch(() => {});
    return p;
  }

  compactNow(): void {
    const p = this.persistence;
    if (!p) return;
    const started = Date.now();
    p.compact((write) => {
      for (const colls of this.dbs.values()) {
        for (const coll of colls.values()) {
          write(Op.CreateCollection, coll.ns, serialize(coll.options));
          for (const ix of coll.indexes.slice(1)) write(Op.CreateIndex, coll.ns, serialize(ix.spec));
          for (const slot of coll.slots()) write(Op.Put, coll.ns, coll.raw(slot));
        }
      }
    });
    this.logger.debug({ ms: Date.now() - started }, 'embedded store: snapshot written');
  }

  private replay(r: JournalRecord): void {
    const dot = r.ns.indexOf('.');
    const db = dot < 0 ? r.ns : r.ns.slice(0, dot);
    const name = dot < 0 ? '' : r.ns.slice(dot + 1);
    switch (r.op) {
      case Op.CreateCollection:
        if (!this.collection(db, name)) {
          let colls = this.dbs.get(db);
          if (!colls) this.dbs.set(db, (colls = new Map()));
          colls.set(name, new Collection(db, name, deserialize(r.body) as Doc));
        }
        return;
      case Op.DropCollection:
        this.dbs.get(db)?.delete(name);
        return;
      case Op.DropDatabase:
        this.dbs.delete(db);
        return;
      case Op.CreateIndex: {
        const coll = this.replayCollection(db, name);
        const spec = validateIndexSpec(deserialize(r.body) as Doc);
        if (!coll.indexes.some((ix) => ix.spec.name === spec.name)) coll.addIndex(spec);
        return;
      }
      case Op.DropIndex: {
        const coll = this.replayCollection(db, name);
        const { name: ixName } = deserialize(r.body) as { name: string };
        coll.dropIndex(ixName);
        return;
      }
      case Op.Put: {
        const coll = this.replayCollection(db, name);
        const raw = r.body;
        const view = deserializeView(raw, false);
        const special = hasWrappers(view);
        const existing = coll.findId(view._id);
        if (existing !== undefined)
          coll.replace(
            existing,
            coll.view(existing),
            raw,
            special ? deserializeView(raw, true) : view,
            special,
          );
        else coll.insert(raw, special ? deserializeView(raw, true) : view, special);
        return;
      }
      case Op.Delete: {
        const coll = this.replayCollection(db, name);
        const { _id } = deserializeView(r.body, true);
        const existing = coll.findId(_id);
        if (existing !== undefined) coll.remove(existing);
        return;
      }
      default:
        throw new Error(`embedded store: unknown journal record type ${r.op as number}`);
    }
  }

  private replayCollection(db: string, name: string): Collection {
    const c = this.collection(db, name);
    if (c) return c;
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    const coll = new Collection(db, name);
    colls.set(name, coll);
    return coll;
  }

  // -- TTL -----------------------------------------------------------------

  /** Deletes documents whose TTL has passed; returns how many. */
  sweepTtl(now = Date.now()): number {
    let removed = 0;
    for (const colls of this.dbs.values()) {
      for (const coll of colls.values()) {
        for (const ix of coll.indexes) {
          if (ix.expireAfterSeconds === undefined || ix.fields.length !== 1) continue;
          const limit = now - ix.expireAfterSeconds * 1000;
          for (const rec of [...coll.slots()]) {
            const view = coll.view(rec);
            if (ix.partial && !ix.partial.test(view)) continue;
            const v = view[ix.fields[0]!] as unknown;
            const dates = (Array.isArray(v) ? v : [v]).filter((d): d is Date => d instanceof Date);
            if (dates.length === 0) continue;
            if (Math.min(...dates.map((d) => d.getTime())) <= limit) {
              this.remove(coll, rec, view);
              removed++;
            }
          }
        }
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.persistence?.close();
  }
}

function idBody(coll: Collection, rec: Rec): Buffer {
  const typed = deserializeTyped(coll.raw(rec));
  return Buffer.from(serialize({ _id: typed._id }));
}

export function validateName(db: string, name: string): void {
  if (!db || /[/\\. "$\0]/.test(db))
    throw new ServerError('InvalidNamespace', `Invalid database name: '${db}'`);
  if (!name || name.includes('\0') || name.startsWith('.') || name.includes('$')) {
    throw new ServerError('InvalidNamespace', `Invalid collection name: ${name}`);
  }
}
