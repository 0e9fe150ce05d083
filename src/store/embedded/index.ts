/**
 * DealPulse embedded MongoDB-compatible store: a small server speaking the
 * MongoDB wire protocol on 127.0.0.1 so the official driver, Mongoose and
 * Agenda run unchanged against a `mongodb://` URI where no mongod exists.
 * It implements what DealPulse and its libraries send, with mongod's reply
 * shapes and error codes, and refuses everything else with a clear error
 * (CommandNotFound 59 / NotImplemented 238 naming the embedded store).
 *
 * Modules:
 * - wire.ts         message framing, OP_QUERY/OP_REPLY handshake, OP_MSG, raw reply writer
 * - server.ts       TCP connections, per-connection ordered execution
 * - commands.ts     command dispatcher (CRUD, findAndModify, aggregate, indexes, catalogue)
 * - expressions.ts  mingo operator context: mongod semantics for comparisons, conversions, time zones,
 *                   date arithmetic, missing values, $lookup (localField + pipeline) and $sort
 * - update.ts       update semantics mingo lacks (upsert seed, $setOnInsert, _id, typed $inc/$mul)
 * - collection.ts   per-collection storage (raw BSON in append-only slabs, slot numbers) and hashed indexes
 *                   (unique, sparse, partial, TTL); slab compaction between commands
 * - scan.ts         partial top-level decoding, simple filter predicates and $group without mingo
 * - fastpipe.ts     aggregation stages without mingo: compiled expressions, $group/$project/$facet…,
 *                   falling back to mingo for anything outside the subset
 * - cursors.ts      cursor batches (count and 16 MB), getMore, idle timeout
 * - store.ts        catalogue and the single mutation path (memory + journal), replay, TTL sweep
 * - persistence.ts  lock file, fsynced append-only journal, snapshot compaction, torn-tail recovery
 * - values.ts       numeric normalisation for mingo, canonical keys, BSON comparison order
 */
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import { CursorManager } from './cursors.js';
import { WireServer } from './server.js';
import { Store } from './store.js';

export interface EmbeddedMongoOptions {
  /** Data directory; omitted = in memory only. */
  dbPath?: string | undefined;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  logger?: Logger;
  /** How often TTL indexes are swept (default 5 s). */
  ttlIntervalMs?: number;
  /** Idle cursor timeout (default 10 min). */
  cursorTimeoutMs?: number;
  /** Journal size that triggers compaction (default 64 MB). */
  compactBytes?: number;
}

export interface EmbeddedMongo {
  uri: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedMongo(opts: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const logger = opts.logger ?? silentLogger;
  const host = opts.host ?? '127.0.0.1';
  const store = new Store({ dbPath: opts.dbPath, logger, compactBytes: opts.compactBytes });
  const cursors = new CursorManager(opts.cursorTimeoutMs);
  const server = new WireServer({ store, cursors, logger });
  let port: number;
  try {
    port = await server.listen(opts.port ?? 0, host);
  } catch (err) {
    cursors.close();
    await store.close();
    throw err;
  }
  const ttl = setInterval(() => {
    try {
      if (store.sweepTtl() > 0)
        void store
          .commit()
          .catch((err: unknown) => logger.error({ err }, 'embedded store: journal write failed'));
    } catch (err) {
      logger.error({ err }, 'embedded store: TTL sweep failed');
    }
  }, opts.ttlIntervalMs ?? 5000);
  ttl.unref();
  const uri = `mongodb://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  logger.info({ uri, dbPath: opts.dbPath ?? 'memory' }, 'embedded store: accepting connections');
  let stopped: Promise<void> | undefined;
  return {
    uri,
    port,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(ttl);
        await server.close();
        cursors.close();
        await store.close();
      })()),
  };
}
