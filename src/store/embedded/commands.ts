/**
 * Command dispatcher: validates a command, runs it against the store and
 * returns the reply body as BSON. Replies and error shapes follow mongod
 * (standalone, wire version 21).
 */
import { Double, Long, ObjectId, serialize } from 'bson';
import { Aggregator, Query } from './expressions.js';
import type { Logger } from 'pino';
import type { Collection, Rec } from './collection.js';
import { validateIndexSpec, type IndexSpec } from './collection.js';
import type { CursorManager } from './cursors.js';
import { ServerError, toServerError, unsupported } from './errors.js';
import { validateName, type Store } from './store.js';
import { groupRunner, isBail, pipelineFields, runFast, type Fallback } from './fastpipe.js';
import { fieldNames, filterFields, partialView, quickPredicate, simplePredicate } from './scan.js';
import { applyUpdate, buildUpsert, updateKind, type UpdateSpec } from './update.js';
import {
  compareValues,
  deserializeTyped,
  deserializeView,
  hasWrappers,
  isPlainObject,
  keyOf,
  makeComparator,
  numericValue,
  toView,
  valuesAt,
  type Doc,
} from './values.js';
import {
  cursorReplyBody,
  MAX_BSON_SIZE,
  MAX_MESSAGE_SIZE,
  MAX_WRITE_BATCH,
  serializeBody,
  type ParsedCommand,
} from './wire.js';

export interface CommandContext {
  store: Store;
  cursors: CursorManager;
  logger: Logger;
  connectionId: number;
  startedAt: Date;
}

type Handler = (ctx: CommandContext, cmd: Doc, db: string, seq: Map<string, Buffer[]>) => Doc | Buffer;

const WIRE_VERSION = 21;
const DEFAULT_BATCH = 101;

/** Fields any command may carry that the store accepts and ignores. */
const GENERIC_FIELDS = new Set([
  '$db',
  'lsid',
  '$clusterTime',
  'readConcern',
  'writeConcern',
  'comment',
  'maxTimeMS',
  '$readPreference',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  'bypassDocumentValidation',
  '$audit',
  'let',
]);

const WRITE_COMMANDS = new Set([
  'insert',
  'update',
  'delete',
  'findandmodify',
  'create',
  'drop',
  'dropdatabase',
  'createindexes',
  'dropindexes',
]);

function num(v: unknown, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  const n = numericValue(v);
  if (n === undefined)
    throw new ServerError('TypeMismatch', `expected a number but got ${JSON.stringify(v)}`);
  return n;
}

function bool(v: unknown): boolean {
  const n = numericValue(v);
  return n !== undefined ? n !== 0 : Boolean(v);
}

function collName(cmd: Doc, field: string): string {
  const v = cmd[field];
  if (typeof v !== 'string' || v === '') {
    throw new ServerError('InvalidNamespace', `collection name has invalid type ${typeof v}`);
  }
  return v;
}

function checkFields(cmd: Doc, name: string, allowed: string[]): void {
  for (const k of Object.keys(cmd)) {
    if (k === name || GENERIC_FIELDS.has(k) || allowed.includes(k)) continue;
    throw new ServerError(
      'BadValue',
      `${name} option '${k}' is not supported by the DealPulse embedded store; set MONGODB_URI to use a full MongoDB server`,
    );
  }
}

function checkCollation(c: unknown): void {
  if (c === undefined) return;
  if (isPlainObject(c) && (c.locale === 'simple' || Object.keys(c).length === 0)) return;
  throw unsupported('collation');
}

/** `missing`: computed documents (aggregation) omit fields whose value is missing, like mongod. */
function serializeDoc(doc: Doc, missing = false): Buffer {
  const raw = Buffer.from(serialize(doc, { checkKeys: false, ignoreUndefined: missing }));
  if (raw.length > MAX_BSON_SIZE)
    throw new ServerError(
      'BadValue',
      `object to insert too large. size in bytes: ${raw.length}, max size: ${MAX_BSON_SIZE}`,
    );
  return raw;
}

function idFirst(doc: Doc): Doc {
  if (!('_id' in doc) || Object.keys(doc)[0] === '_id') return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

// ---------------------------------------------------------------------------
// Query execution

interface Match {
  rec: Rec;
  view: Doc;
}

function compileFilter(filter: unknown): { fv: Doc; q: Query } {
  if (filter !== undefined && filter !== null && !isPlainObject(filter)) {
    throw new ServerError('TypeMismatch', "BSON field 'filter' is the wrong type, expected type 'object'");
  }
  const fv = toView(filter ?? {}) as Doc;
  try {
    return { fv, q: new Query(fv, {}) };
  } catch (err) {
    throw new ServerError('BadValue', (err as Error).message);
  }
}

function matchDocs(coll: Collection | undefined, filter: unknown, stopAfter = Infinity): Match[] {
  const out: Match[] = [];
  scan(coll, filter, undefined, stopAfter, (rec, view) => out.push({ rec, view }));
  return out;
}

/**
 * Feeds `emit` the documents matching `filter`: full views, or (with `fields`)
 * views holding only those top-level fields plus the ones the filter reads.
 * The filter is tested on a partial decode when it reads known fields only.
 */
function scan(
  coll: Collection | undefined,
  filter: unknown,
  fields: Set<string> | undefined,
  stopAfter: number,
  emit: (rec: Rec, view: Doc) => void,
): number {
  const { fv, q } = compileFilter(filter);
  if (!coll || stopAfter <= 0) return 0;
  const read = filterFields(fv);
  const full = (d: Doc): boolean => q.test(d);
  const test = simplePredicate(fv) ?? quickPredicate(fv, full) ?? full;
  let n = 0;
  if (read && read.size === 0 && !fields) {
    for (const rec of coll.candidates(fv)) {
      emit(rec, coll.view(rec));
      if (++n >= stopAfter) break;
    }
    return n;
  }
  if (!read) {
    for (const rec of coll.candidates(fv)) {
      const view = coll.view(rec);
      if (!q.test(view)) continue;
      emit(rec, view);
      if (++n >= stopAfter) break;
    }
    return n;
  }
  const names = fieldNames(fields ? new Set([...read, ...fields]) : read);
  for (const rec of coll.candidates(fv)) {
    const partial = partialView(coll.raw(rec), names);
    if (!test(partial)) continue;
    emit(rec, fields ? partial : coll.view(rec));
    if (++n >= stopAfter) break;
  }
  return n;
}

function sortMatches(matches: Match[], sort: unknown): void {
  if (!isPlainObject(sort) || Object.keys(sort).length === 0) return;
  const cmp = makeComparator(sort);
  matches.sort((a, b) => cmp(a.view, b.view));
}

function project(raw: Buffer, projection: unknown): Buffer {
  if (!isPlainObject(projection) || Object.keys(projection).length === 0) return raw;
  const typed = deserializeTyped(raw);
  let out: Doc;
  try {
    out = new Query({}, {}).find([typed], toView(projection) as Doc).all()[0] as Doc;
  } catch (err) {
    throw new ServerError('BadValue', (err as Error).message);
  }
  return Buffer.from(serialize(idFirst(out)));
}

function projectTyped(doc: Doc, projection: unknown): Doc {
  if (!isPlainObject(projection) || Object.keys(projection).length === 0) return doc;
  return idFirst(new Query({}, {}).find([doc], toView(projection) as Doc).all()[0] as Doc);
}

function reply(ns: string, key: 'firstBatch' | 'nextBatch', batch: Buffer[], id: Long): Buffer {
  return cursorReplyBody(id, ns, key, batch);
}

// ---------------------------------------------------------------------------
// Handlers

function hello(ctx: CommandContext, cmd: Doc, legacyName: boolean): Doc {
  const out: Doc = {};
  if (cmd.helloOk !== undefined) out.helloOk = true;
  if (legacyName) out.ismaster = true;
  else out.isWritablePrimary = true;
  Object.assign(out, {
    maxBsonObjectSize: MAX_BSON_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE,
    maxWriteBatchSize: MAX_WRITE_BATCH,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: WIRE_VERSION,
    readOnly: false,
    ok: 1,
  });
  return out;
}

function insertCmd(ctx: CommandContext, cmd: Doc, db: string, seq: Map<string, Buffer[]>): Doc {
  checkFields(cmd, 'insert', ['documents', 'ordered']);
  const name = collName(cmd, 'insert');
  validateName(db, name);
  const raws: Buffer[] | undefined = seq.get('documents');
  const typedDocs = Array.isArray(cmd.documents) ? (cmd.documents as Doc[]) : undefined;
  const count = raws?.length ?? typedDocs?.length ?? 0;
  if (count > MAX_WRITE_BATCH)
    throw new ServerError(
      'InvalidOptions',
      `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH}. Got ${count} operations.`,
    );
  const ordered = cmd.ordered === undefined ? true : bool(cmd.ordered);
  const { coll } = ctx.store.ensureCollection(db, name);
  const writeErrors: Doc[] = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    try {
      let raw: Buffer;
      let view: Doc;
      const src = raws?.[i];
      if (src) {
        if (src.length > MAX_BSON_SIZE)
          throw new ServerError(
            'BadValue',
            `object to insert too large. size in bytes: ${src.length}, max size: ${MAX_BSON_SIZE}`,
          );
        view = deserializeView(src, false);
        if (Object.keys(view)[0] === '_id') {
          raw = src;
        } else {
          const typed = deserializeTyped(src);
          if (typed._id === undefined) typed._id = new ObjectId();
          raw = serializeDoc(idFirst(typed));
          view = deserializeView(raw, false);
        }
      } else {
        const typed = { ...typedDocs![i]! };
        if (typed._id === undefined) typed._id = new ObjectId();
        raw = serializeDoc(idFirst(typed));
        view = deserializeView(raw, false);
      }
      checkId(view._id);
      const special = hasWrappers(view);
      if (special) view = deserializeView(raw, true);
      ctx.store.insert(coll, raw, view, special);
      n++;
    } catch (err) {
      const e = toServerError(err);
      writeErrors.push({ index: i, code: e.code, errmsg: e.message, ...e.extra });
      if (ordered) break;
    }
  }
  const out: Doc = { n, ok: 1 };
  if (writeErrors.length > 0) out.writeErrors = writeErrors;
  return out;
}

function checkId(id: unknown): void {
  if (Array.isArray(id)) throw new ServerError('InvalidIdField', `The '_id' value cannot be of type array`);
  if (id instanceof RegExp)
    throw new ServerError('InvalidIdField', `The '_id' value cannot be of type regex`);
}

interface UpdateOutcome {
  n: number;
  nModified: number;
  upsertedId?: unknown;
  before?: Doc;
  after?: Doc;
}

/** Applies one update statement (also used by findAndModify). */
function runUpdate(
  ctx: CommandContext,
  coll: Collection,
  q: Doc,
  u: UpdateSpec,
  opts: {
    multi: boolean;
    upsert: boolean;
    arrayFilters?: Doc[] | undefined;
    sort?: unknown;
    wantDocs?: boolean;
  },
): UpdateOutcome {
  const kind = updateKind(u);
  if (opts.multi && kind === 'replacement')
    throw new ServerError('FailedToParse', 'multi update is not supported for replacement-style update');
  if (opts.arrayFilters !== undefined && !Array.isArray(opts.arrayFilters))
    throw new ServerError('TypeMismatch', 'arrayFilters must be an array');
  const hasSort = isPlainObject(opts.sort) && Object.keys(opts.sort).length > 0;
  const matches = matchDocs(coll, q, opts.multi || hasSort ? Infinity : 1);
  if (hasSort) sortMatches(matches, opts.sort);
  const targets = opts.multi ? matches : matches.slice(0, 1);
  if (targets.length === 0) {
    if (!opts.upsert) return { n: 0, nModified: 0 };
    const doc = buildUpsert(q, u, opts.arrayFilters);
    checkId(doc._id);
    const raw = serializeDoc(doc);
    ctx.store.insert(coll, raw, deserializeView(raw, true), hasWrappers(doc));
    return { n: 1, nModified: 0, upsertedId: doc._id, after: opts.wantDocs ? doc : undefined };
  }
  let nModified = 0;
  let before: Doc | undefined;
  let after: Doc | undefined;
  for (const { rec, view } of targets) {
    const stored = coll.raw(rec);
    const typed = deserializeTyped(stored);
    if (opts.wantDocs) before = deserializeTyped(stored);
    const next = idFirst(
      applyUpdate(typed, u, { arrayFilters: opts.arrayFilters, condition: q, inserting: false }),
    );
    const raw = serializeDoc(next);
    if (opts.wantDocs) after = next;
    if (raw.equals(stored)) continue;
    const special = hasWrappers(next);
    const newView = deserializeView(raw, special);
    ctx.store.replace(coll, rec, view, raw, newView, special);
    nModified++;
  }
  return { n: targets.length, nModified, before, after };
}

function updateCmd(ctx: CommandContext, cmd: Doc, db: string, seq: Map<string, Buffer[]>): Doc {
  checkFields(cmd, 'update', ['updates', 'ordered']);
  const name = collName(cmd, 'update');
  const stmts = (seq.get('updates')?.map((b) => deserializeTyped(b)) ?? cmd.updates) as Doc[] | undefined;
  if (!Array.isArray(stmts))
    throw new ServerError('FailedToParse', "BSON field 'update.updates' is missing but a required field");
  const ordered = cmd.ordered === undefined ? true : bool(cmd.ordered);
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const writeErrors: Doc[] = [];
  stmts.forEach((s, index) => {
    if (ordered && writeErrors.length > 0) return;
    try {
      for (const k of Object.keys(s)) {
        if (
          ![
            'q',
            'u',
            'upsert',
            'multi',
            'arrayFilters',
            'hint',
            'collation',
            'sort',
            'c',
            'upsertSupplied',
          ].includes(k)
        ) {
          throw new ServerError(
            'BadValue',
            `update statement option '${k}' is not supported by the DealPulse embedded store`,
          );
        }
      }
      checkCollation(s.collation);
      const coll = ctx.store.collection(db, name);
      const upsert = bool(s.upsert);
      const target = coll ?? (upsert ? ctx.store.ensureCollection(db, name).coll : undefined);
      if (!target) {
        updateKind(s.u);
        compileFilter(s.q);
        return;
      }
      const r = runUpdate(ctx, target, (s.q ?? {}) as Doc, s.u as UpdateSpec, {
        multi: bool(s.multi),
        upsert,
        arrayFilters: s.arrayFilters as Doc[] | undefined,
        sort: s.sort,
      });
      n += r.n;
      nModified += r.nModified;
      if (r.upsertedId !== undefined) upserted.push({ index, _id: r.upsertedId });
    } catch (err) {
      const e = toServerError(err);
      writeErrors.push({ index, code: e.code, errmsg: e.message, ...e.extra });
    }
  });
  const out: Doc = { n, nModified, ok: 1 };
  if (upserted.length > 0) out.upserted = upserted;
  if (writeErrors.length > 0) out.writeErrors = writeErrors;
  return out;
}

function deleteCmd(ctx: CommandContext, cmd: Doc, db: string, seq: Map<string, Buffer[]>): Doc {
  checkFields(cmd, 'delete', ['deletes', 'ordered']);
  const name = collName(cmd, 'delete');
  const stmts = (seq.get('deletes')?.map((b) => deserializeTyped(b)) ?? cmd.deletes) as Doc[] | undefined;
  if (!Array.isArray(stmts))
    throw new ServerError('FailedToParse', "BSON field 'delete.deletes' is missing but a required field");
  const ordered = cmd.ordered === undefined ? true : bool(cmd.ordered);
  let n = 0;
  const writeErrors: Doc[] = [];
  stmts.forEach((s, index) => {
    if (ordered && writeErrors.length > 0) return;
    try {
      for (const k of Object.keys(s)) {
        if (!['q', 'limit', 'hint', 'collation'].includes(k)) {
          throw new ServerError(
            'BadValue',
            `delete statement option '${k}' is not supported by the DealPulse embedded store`,
          );
        }
      }
      checkCollation(s.collation);
      const limit = num(s.limit, 0);
      if (limit !== 0 && limit !== 1)
        throw new ServerError(
          'FailedToParse',
          'The limit field in delete objects must be 0 or 1. Got ' + limit,
        );
      const coll = ctx.store.collection(db, name);
      const matches = matchDocs(coll, s.q ?? {}, limit === 1 ? 1 : Infinity);
      for (const m of matches) ctx.store.remove(coll!, m.rec, m.view);
      n += matches.length;
    } catch (err) {
      const e = toServerError(err);
      writeErrors.push({ index, code: e.code, errmsg: e.message, ...e.extra });
    }
  });
  const out: Doc = { n, ok: 1 };
  if (writeErrors.length > 0) out.writeErrors = writeErrors;
  return out;
}

function findCmd(ctx: CommandContext, cmd: Doc, db: string): Buffer {
  checkFields(cmd, 'find', [
    'filter',
    'sort',
    'projection',
    'skip',
    'limit',
    'batchSize',
    'singleBatch',
    'hint',
    'allowDiskUse',
    'collation',
    'noCursorTimeout',
    'allowPartialResults',
    'returnKey',
    'showRecordId',
  ]);
  if (bool(cmd.returnKey) || bool(cmd.showRecordId)) throw unsupported('find with returnKey/showRecordId');
  checkCollation(cmd.collation);
  const name = collName(cmd, 'find');
  const skip = num(cmd.skip, 0);
  let limit = num(cmd.limit, 0);
  let singleBatch = bool(cmd.singleBatch);
  if (skip < 0) throw new ServerError('BadValue', 'skip value must be non-negative, but received: ' + skip);
  if (limit < 0) {
    limit = -limit;
    singleBatch = true;
  }
  const batchSize = num(cmd.batchSize, DEFAULT_BATCH);
  if (batchSize < 0)
    throw new ServerError('BadValue', 'batchSize value must be non-negative, but received: ' + batchSize);
  const coll = ctx.store.collection(db, name);
  const hasSort = isPlainObject(cmd.sort) && Object.keys(cmd.sort).length > 0;
  if (hasSort) makeComparator(cmd.sort as Doc);
  const matches = matchDocs(coll, cmd.filter, !hasSort && limit > 0 ? skip + limit : Infinity);
  sortMatches(matches, cmd.sort);
  let selected = matches.slice(skip);
  if (limit > 0) selected = selected.slice(0, limit);
  const docs = selected.map((m) => project(coll!.raw(m.rec), cmd.projection));
  const firstMax =
    limit > 0
      ? Math.min(limit, batchSize === 0 ? limit : batchSize)
      : batchSize === 0
        ? DEFAULT_BATCH
        : batchSize;
  const { batch, id } = ctx.cursors.first(`${db}.${name}`, docs, firstMax, singleBatch);
  return reply(`${db}.${name}`, 'firstBatch', batch, id);
}

function getMoreCmd(ctx: CommandContext, cmd: Doc, db: string): Buffer {
  checkFields(cmd, 'getMore', ['collection', 'batchSize']);
  const id = cmd.getMore;
  if (!(id instanceof Long))
    throw new ServerError('TypeMismatch', "Field 'getMore' must be of type long in: getMore");
  const ns = `${db}.${collName(cmd, 'collection')}`;
  const { batch, id: next } = ctx.cursors.next(id, ns, num(cmd.batchSize, 0));
  return reply(ns, 'nextBatch', batch, next);
}

function killCursorsCmd(ctx: CommandContext, cmd: Doc): Doc {
  checkFields(cmd, 'killCursors', ['cursors']);
  const killed: Long[] = [];
  const notFound: Long[] = [];
  for (const c of (cmd.cursors as unknown[]) ?? []) {
    const id = c instanceof Long ? c : Long.fromNumber(num(c, 0));
    (ctx.cursors.kill(id) ? killed : notFound).push(id);
  }
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
}

function findAndModifyCmd(ctx: CommandContext, cmd: Doc, db: string, name: string): Doc {
  checkFields(cmd, 'findAndModify', [
    'query',
    'sort',
    'remove',
    'update',
    'new',
    'fields',
    'upsert',
    'arrayFilters',
    'collation',
    'hint',
    'findandmodify',
  ]);
  checkCollation(cmd.collation);
  const remove = bool(cmd.remove);
  if (remove && cmd.update !== undefined)
    throw new ServerError('FailedToParse', 'Cannot specify both an update and remove=true');
  if (!remove && cmd.update === undefined)
    throw new ServerError('FailedToParse', 'Either an update or remove=true must be specified');
  if (remove && (bool(cmd.upsert) || bool(cmd.new)))
    throw new ServerError(
      'FailedToParse',
      'Cannot specify both upsert=true and remove=true, or new=true and remove=true',
    );
  const q = (cmd.query ?? {}) as Doc;
  if (remove) {
    const coll = ctx.store.collection(db, name);
    const matches = matchDocs(
      coll,
      q,
      isPlainObject(cmd.sort) && Object.keys(cmd.sort).length > 0 ? Infinity : 1,
    );
    sortMatches(matches, cmd.sort);
    const m = matches[0];
    if (!m) return { lastErrorObject: { n: 0 }, value: null, ok: 1 };
    const value = projectTyped(deserializeTyped(coll!.raw(m.rec)), cmd.fields);
    ctx.store.remove(coll!, m.rec, m.view);
    return { lastErrorObject: { n: 1 }, value, ok: 1 };
  }
  updateKind(cmd.update);
  const upsert = bool(cmd.upsert);
  const coll =
    ctx.store.collection(db, name) ?? (upsert ? ctx.store.ensureCollection(db, name).coll : undefined);
  if (!coll) {
    compileFilter(q);
    return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
  }
  const r = runUpdate(ctx, coll, q, cmd.update as UpdateSpec, {
    multi: false,
    upsert,
    arrayFilters: cmd.arrayFilters as Doc[] | undefined,
    sort: cmd.sort,
    wantDocs: true,
  });
  const lastErrorObject: Doc = { n: r.n, updatedExisting: r.n > 0 && r.upsertedId === undefined };
  if (r.upsertedId !== undefined) lastErrorObject.upserted = r.upsertedId;
  const chosen = bool(cmd.new) ? r.after : r.upsertedId !== undefined ? undefined : r.before;
  return { lastErrorObject, value: chosen ? projectTyped(chosen, cmd.fields) : null, ok: 1 };
}

const UNSUPPORTED_STAGES = new Set([
  '$out',
  '$merge',
  '$changeStream',
  '$currentOp',
  '$collStats',
  '$indexStats',
  '$listSessions',
  '$planCacheStats',
  '$search',
  '$geoNear',
  '$graphLookup',
  '$unionWith',
  '$documents',
]);

/** Validates stages and replaces those where mingo differs from mongod. */
function rewritePipeline(stages: Doc[]): Doc[] {
  const out: Doc[] = [];
  for (const st of stages) {
    if (!isPlainObject(st))
      throw new ServerError('TypeMismatch', 'Each element of the pipeline array must be an object');
    const k = Object.keys(st)[0];
    if (!k || Object.keys(st).length !== 1) {
      throw new ServerError(
        'FailedToParse',
        'A pipeline stage specification object must contain exactly one field.',
      );
    }
    if (UNSUPPORTED_STAGES.has(k)) throw unsupported(`The ${k} aggregation stage`);
    const arg = st[k];
    if (k === '$facet' && isPlainObject(arg)) {
      out.push({
        $facet: Object.fromEntries(Object.entries(arg).map(([f, p]) => [f, rewritePipeline(p as Doc[])])),
      });
    } else if (k === '$lookup' && isPlainObject(arg) && Array.isArray(arg.pipeline)) {
      out.push({ $lookup: { ...arg, pipeline: rewritePipeline(arg.pipeline as Doc[]) } });
    } else if (k === '$bucket' && isPlainObject(arg)) {
      out.push(...rewriteBucket(arg));
    } else out.push(st);
  }
  return out;
}

/** mingo puts values equal to a boundary in the lower bucket; mongod buckets are [lower, upper). */
function rewriteBucket(spec: Doc): Doc[] {
  const bounds = spec.boundaries;
  if (!Array.isArray(bounds) || bounds.length < 2) {
    throw new ServerError(
      'BadValue',
      "The $bucket 'boundaries' field must be an array of at least two values",
    );
  }
  for (let i = 1; i < bounds.length; i++) {
    if (compareValues(bounds[i - 1], bounds[i]) >= 0) {
      throw new ServerError(
        'BadValue',
        "The 'boundaries' option to $bucket must be sorted in ascending order",
      );
    }
  }
  const branches = bounds.slice(0, -1).map((lo, i) => ({
    case: { $and: [{ $gte: [spec.groupBy, lo] }, { $lt: [spec.groupBy, bounds[i + 1]] }] },
    then: lo,
  }));
  const sw: Doc = { branches };
  if (spec.default !== undefined) sw.default = spec.default;
  const output = isPlainObject(spec.output) ? spec.output : { count: { $sum: 1 } };
  return [{ $group: { _id: { $switch: sw }, ...output } }, { $sort: { _id: 1 } }];
}

function aggregateCmd(ctx: CommandContext, cmd: Doc, db: string): Buffer {
  checkFields(cmd, 'aggregate', ['pipeline', 'cursor', 'allowDiskUse', 'collation', 'hint', 'explain']);
  if (cmd.explain !== undefined) throw unsupported('explain');
  checkCollation(cmd.collation);
  if (typeof cmd.aggregate !== 'string') throw unsupported('database-level aggregation (aggregate: 1)');
  const name = cmd.aggregate;
  if (!Array.isArray(cmd.pipeline))
    throw new ServerError('TypeMismatch', "'pipeline' option must be specified as an array");
  if (!isPlainObject(cmd.cursor))
    throw new ServerError(
      'FailedToParse',
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  const pipeline = rewritePipeline(cmd.pipeline.map((s) => toView(s) as Doc));
  const coll = ctx.store.collection(db, name);
  // A leading $match runs through the index-aware matcher; only the fields the
  // following stages read are decoded when they can be known.
  const leading = pipeline[0] && '$match' in pipeline[0] ? pipeline[0].$match : undefined;
  let rest = leading === undefined ? pipeline : pipeline.slice(1);
  const fields = rest.length ? pipelineFields(rest) : undefined;
  let input: Doc[] = [];
  // A first $group on the fast path takes the documents as they are decoded (none held for long).
  const first = rest[0];
  const group = first && '$group' in first && !isPlainObject(cmd.let) ? groupRunner(first.$group) : undefined;
  let grouped = false;
  if (group) {
    try {
      const run = group();
      scan(coll, leading ?? {}, fields, Infinity, (_rec, view) => run.add(view));
      input = run.end();
      rest = rest.slice(1);
      grouped = true;
    } catch (err) {
      if (!isBail(err)) throw err;
    }
  }
  if (!grouped) scan(coll, leading ?? {}, fields, Infinity, (_rec, view) => input.push(view));
  const mingo: Fallback = (stages, docs) => {
    if (stages.length === 0) return docs;
    try {
      return new Aggregator(stages, {
        collectionResolver: (other: string) => {
          const c = ctx.store.collection(db, other);
          return c ? [...c.slots()].map((r) => c.view(r)) : [];
        },
        variables: isPlainObject(cmd.let) ? (toView(cmd.let) as Doc) : undefined,
      }).run(docs) as Doc[];
    } catch (err) {
      if (err instanceof ServerError) throw err;
      throw new ServerError('BadValue', `embedded store aggregation failed: ${(err as Error).message}`);
    }
  };
  // Stages the fast path handles run without mingo; the first it does not, and all after it, through mingo.
  const out = isPlainObject(cmd.let) ? mingo(rest, input) : runFast(rest, input, mingo);
  const docs = out.map((d) => serializeDoc(d, true));
  const batchSize = num((cmd.cursor as Doc).batchSize, DEFAULT_BATCH);
  const { batch, id } = ctx.cursors.first(`${db}.${name}`, docs, batchSize === 0 ? 0 : batchSize, false);
  return reply(`${db}.${name}`, 'firstBatch', batch, id);
}

function countCmd(ctx: CommandContext, cmd: Doc, db: string): Doc {
  checkFields(cmd, 'count', ['query', 'limit', 'skip', 'hint', 'collation', 'fields']);
  checkCollation(cmd.collation);
  const coll = ctx.store.collection(db, collName(cmd, 'count'));
  const skip = num(cmd.skip, 0);
  const limit = Math.abs(num(cmd.limit, 0));
  let n: number;
  if (coll && (cmd.query === undefined || (isPlainObject(cmd.query) && Object.keys(cmd.query).length === 0)))
    n = coll.size;
  else n = scan(coll, cmd.query ?? {}, new Set(), Infinity, () => {});
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n, ok: 1 };
}

function distinctCmd(ctx: CommandContext, cmd: Doc, db: string): Doc {
  checkFields(cmd, 'distinct', ['key', 'query', 'collation', 'hint']);
  checkCollation(cmd.collation);
  if (typeof cmd.key !== 'string')
    throw new ServerError(
      'TypeMismatch',
      "BSON field 'distinct.key' is the wrong type, expected type 'string'",
    );
  const coll = ctx.store.collection(db, collName(cmd, 'distinct'));
  const seen = new Map<string, unknown>();
  for (const m of matchDocs(coll, cmd.query ?? {})) {
    for (const v of valuesAt(deserializeTyped(coll!.raw(m.rec)), cmd.key)) {
      for (const x of Array.isArray(v) ? v : [v]) {
        const k = keyOf(toView(x));
        if (!seen.has(k)) seen.set(k, x);
      }
    }
  }
  const values = [...seen.values()].sort(compareValues);
  return { values, ok: 1 };
}

function listCollectionsCmd(ctx: CommandContext, cmd: Doc, db: string): Buffer {
  checkFields(cmd, 'listCollections', ['filter', 'nameOnly', 'authorizedCollections', 'cursor']);
  const nameOnly = bool(cmd.nameOnly);
  const infos: Doc[] = [...(ctx.store.dbs.get(db)?.values() ?? [])].map((c) =>
    nameOnly
      ? { name: c.name, type: 'collection' }
      : {
          name: c.name,
          type: 'collection',
          options: c.options,
          info: { readOnly: false },
          idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
        },
  );
  const { q } = compileFilter(cmd.filter);
  const docs = infos.filter((i) => q.test(i)).map((d) => serializeDoc(d));
  const batchSize = isPlainObject(cmd.cursor)
    ? num(cmd.cursor.batchSize, Number.MAX_SAFE_INTEGER)
    : Number.MAX_SAFE_INTEGER;
  const { batch, id } = ctx.cursors.first(`${db}.$cmd.listCollections`, docs, batchSize, false);
  return reply(`${db}.$cmd.listCollections`, 'firstBatch', batch, id);
}

const CREATE_OPTIONS = [
  'capped',
  'size',
  'max',
  'validator',
  'validationLevel',
  'validationAction',
  'viewOn',
  'pipeline',
  'timeseries',
  'expireAfterSeconds',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'collation',
  'storageEngine',
  'indexOptionDefaults',
  'autoIndexId',
  'encryptedFields',
];

function createCmd(ctx: CommandContext, cmd: Doc, db: string): Doc {
  const name = collName(cmd, 'create');
  for (const k of Object.keys(cmd)) {
    if (k === 'create' || GENERIC_FIELDS.has(k)) continue;
    if (CREATE_OPTIONS.includes(k)) throw unsupported(`create option '${k}'`);
    throw new ServerError(
      'BadValue',
      `create option '${k}' is not supported by the DealPulse embedded store`,
    );
  }
  if (ctx.store.collection(db, name))
    throw new ServerError('NamespaceExists', `Collection ${db}.${name} already exists.`);
  ctx.store.ensureCollection(db, name, {});
  return { ok: 1 };
}

function sameKey(a: Doc, b: Doc): boolean {
  return keyOf(toView(a)) === keyOf(toView(b));
}

const COMPARED_OPTIONS = ['unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds'];

function createIndexesCmd(ctx: CommandContext, cmd: Doc, db: string): Doc {
  checkFields(cmd, 'createIndexes', ['indexes', 'commitQuorum']);
  const name = collName(cmd, 'createIndexes');
  if (!Array.isArray(cmd.indexes) || cmd.indexes.length === 0)
    throw new ServerError('BadValue', 'Must specify at least one index to create');
  const specs = (cmd.indexes as Doc[]).map((s) => validateIndexSpec(s as Doc));
  const { coll, created } = ctx.store.ensureCollection(db, name);
  const before = coll.indexes.length;
  for (const spec of specs) {
    const opt = (s: Doc) =>
      keyOf(toView(Object.fromEntries(COMPARED_OPTIONS.map((o) => [o, s[o] === false ? undefined : s[o]]))));
    const byName = coll.indexes.find((ix) => ix.spec.name === spec.name);
    if (byName) {
      if (!sameKey(byName.spec.key, spec.key)) {
        throw new ServerError(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      if (byName.spec.name !== '_id_' && opt(byName.spec) !== opt(spec)) {
        throw new ServerError(
          'IndexOptionsConflict',
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(byName.spec)}`,
        );
      }
      continue;
    }
    const byKey = coll.indexes.find(
      (ix) =>
        sameKey(ix.spec.key, spec.key) &&
        keyOf(toView(ix.spec.partialFilterExpression)) === keyOf(toView(spec.partialFilterExpression)),
    );
    if (byKey)
      throw new ServerError(
        'IndexOptionsConflict',
        `Index already exists with a different name: ${byKey.spec.name}`,
      );
    ctx.store.createIndex(coll, spec as IndexSpec);
  }
  const out: Doc = {
    numIndexesBefore: before,
    numIndexesAfter: coll.indexes.length,
    createdCollectionAutomatically: created,
    ok: 1,
  };
  if (before === coll.indexes.length) out.note = 'all indexes already exist';
  return out;
}

function listIndexesCmd(ctx: CommandContext, cmd: Doc, db: string): Buffer {
  checkFields(cmd, 'listIndexes', ['cursor']);
  const name = collName(cmd, 'listIndexes');
  const coll = ctx.store.collection(db, name);
  if (!coll) throw new ServerError('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
  const docs = coll.indexes.map((ix) => serializeDoc({ ...ix.spec, v: 2 }));
  const ns = `${db}.${name}`;
  const { batch, id } = ctx.cursors.first(ns, docs, Number.MAX_SAFE_INTEGER, false);
  return reply(ns, 'firstBatch', batch, id);
}

function dropIndexesCmd(ctx: CommandContext, cmd: Doc, db: string): Doc {
  checkFields(cmd, 'dropIndexes', ['index']);
  const name = collName(cmd, 'dropIndexes');
  const coll = ctx.store.collection(db, name);
  if (!coll) throw new ServerError('NamespaceNotFound', `ns not found ${db}.${name}`);
  const nIndexesWas = coll.indexes.length;
  const which = cmd.index;
  let names: string[];
  if (which === '*') names = coll.indexes.slice(1).map((ix) => ix.spec.name);
  else if (typeof which === 'string') names = [which];
  else if (Array.isArray(which)) names = which.map(String);
  else if (isPlainObject(which)) {
    const ix = coll.indexes.find((i) => sameKey(i.spec.key, which));
    if (!ix)
      throw new ServerError('IndexNotFound', `can't find index with key: ${JSON.stringify(toView(which))}`);
    names = [ix.spec.name];
  } else throw new ServerError('TypeMismatch', "BSON field 'dropIndexes.index' is the wrong type");
  for (const n of names) {
    if (n === '_id_') throw new ServerError('InvalidOptions', 'cannot drop _id index');
    if (!coll.indexes.some((ix) => ix.spec.name === n))
      throw new ServerError('IndexNotFound', `index not found with name [${n}]`);
  }
  for (const n of names) ctx.store.dropIndex(coll, n);
  return { nIndexesWas, ok: 1 };
}

function listDatabasesCmd(ctx: CommandContext, cmd: Doc): Doc {
  checkFields(cmd, 'listDatabases', ['nameOnly', 'filter', 'authorizedDatabases']);
  let dbs: Doc[] = [...ctx.store.dbs.entries()].map(([name, colls]) => {
    let size = 0;
    for (const c of colls.values()) size += c.dataSize;
    return { name, sizeOnDisk: size, empty: size === 0 };
  });
  if (cmd.filter !== undefined) {
    const { q } = compileFilter(cmd.filter);
    dbs = dbs.filter((d) => q.test(d));
  }
  if (bool(cmd.nameOnly)) return { databases: dbs.map((d) => ({ name: d.name })), ok: 1 };
  return {
    databases: dbs,
    totalSize: dbs.reduce((n, d) => n + (d.sizeOnDisk as number), 0),
    totalSizeMb: 0,
    ok: 1,
  };
}

const HANDLERS: Record<string, Handler> = {
  ping: () => ({ ok: 1 }),
  buildinfo: () => ({
    version: '7.0.0',
    gitVersion: 'dealpulse-embedded',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_SIZE,
    storageEngines: ['dealpulse-embedded'],
    javascriptEngine: 'none',
    modules: [],
    ok: 1,
  }),
  getparameter: (_ctx, cmd) => {
    const out: Doc = {};
    const all = cmd.getParameter === '*';
    if (all || cmd.featureCompatibilityVersion !== undefined)
      out.featureCompatibilityVersion = { version: '7.0' };
    if (all || cmd.authenticationMechanisms !== undefined) out.authenticationMechanisms = [];
    if (all || cmd.requireApiVersion !== undefined) out.requireApiVersion = false;
    return { ...out, ok: 1 };
  },
  endsessions: () => ({ ok: 1 }),
  killallsessions: () => ({ ok: 1 }),
  listdatabases: (ctx, cmd) => listDatabasesCmd(ctx, cmd),
  listcollections: (ctx, cmd, db) => listCollectionsCmd(ctx, cmd, db),
  create: (ctx, cmd, db) => createCmd(ctx, cmd, db),
  drop: (ctx, cmd, db) => {
    const name = collName(cmd, 'drop');
    const coll = ctx.store.dropCollection(db, name);
    return coll ? { nIndexesWas: coll.indexes.length, ns: coll.ns, ok: 1 } : { ok: 1 };
  },
  dropdatabase: (ctx, _cmd, db) => {
    ctx.store.dropDatabase(db);
    return { ok: 1 };
  },
  createindexes: (ctx, cmd, db) => createIndexesCmd(ctx, cmd, db),
  listindexes: (ctx, cmd, db) => listIndexesCmd(ctx, cmd, db),
  dropindexes: (ctx, cmd, db) => dropIndexesCmd(ctx, cmd, db),
  insert: insertCmd,
  update: updateCmd,
  delete: deleteCmd,
  find: (ctx, cmd, db) => findCmd(ctx, cmd, db),
  getmore: (ctx, cmd, db) => getMoreCmd(ctx, cmd, db),
  killcursors: (ctx, cmd) => killCursorsCmd(ctx, cmd),
  findandmodify: (ctx, cmd, db) => findAndModifyCmd(ctx, cmd, db, collName(cmd, Object.keys(cmd)[0]!)),
  aggregate: (ctx, cmd, db) => aggregateCmd(ctx, cmd, db),
  count: (ctx, cmd, db) => countCmd(ctx, cmd, db),
  distinct: (ctx, cmd, db) => distinctCmd(ctx, cmd, db),
  connectionstatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  whatsmyuri: () => ({ you: '127.0.0.1', ok: 1 }),
};

function errorDoc(e: ServerError): Doc {
  const out: Doc = { ok: 0, errmsg: e.message, code: e.code };
  if (e.codeName) out.codeName = e.codeName;
  Object.assign(out, e.extra);
  return out;
}

/** Runs one command. Returns the reply body, or undefined for unacknowledged writes. */
export async function execute(ctx: CommandContext, parsed: ParsedCommand): Promise<Buffer> {
  const cmd = parsed.body;
  const name = Object.keys(cmd)[0] ?? '';
  const lower = name.toLowerCase();
  let body: Doc | Buffer;
  const isWrite = WRITE_COMMANDS.has(lower);
  try {
    if (lower === 'hello' || lower === 'ismaster') {
      body = hello(ctx, cmd, lower === 'ismaster');
    } else {
      if (parsed.legacy)
        throw new ServerError(
          'CommandNotFound',
          `OP_QUERY is only supported for the hello/isMaster handshake; command '${name}' must be sent with OP_MSG`,
        );
      if (
        cmd.txnNumber !== undefined ||
        cmd.startTransaction !== undefined ||
        cmd.autocommit !== undefined ||
        lower === 'committransaction' ||
        lower === 'aborttransaction'
      ) {
        throw new ServerError(
          'IllegalOperation',
          'Transaction numbers are only allowed on a replica set member or mongos',
        );
      }
      const db = cmd.$db;
      if (typeof db !== 'string' || db === '')
        throw new ServerError('InvalidNamespace', 'OP_MSG requests require a $db argument');
      const handler = HANDLERS[lower];
      if (!handler) {
        throw new ServerError(
          'CommandNotFound',
          `no such command: '${name}' (the DealPulse embedded store implements only the commands DealPulse uses; set MONGODB_URI to use a full MongoDB server)`,
        );
      }
      body = handler(ctx, cmd, db, parsed.sequences);
    }
  } catch (err) {
    const e = toServerError(err);
    if (!(err instanceof ServerError))
      ctx.logger.debug({ err, command: name }, 'embedded store: command failed');
    body = errorDoc(e);
  }
  if (isWrite) await ctx.store.commit();
  if (Buffer.isBuffer(body)) return body;
  if (body.ok === 1) body.ok = new Double(1);
  return serializeBody(body);
}
