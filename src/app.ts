/**
 * The core every surface shares: configuration, database, store, event bus.
 * Adapters and the scheduler are started on top of it by main.ts.
 */
import mongoose, { type Connection } from 'mongoose';
import type { Config } from './config.js';
import type { Locale } from './domain/types.js';
import type { Logger } from './logger.js';
import { redactUri } from './logger.js';
import { chooseDatabase, type DatabaseHandle } from './store/connection.js';
import { Store } from './store/repo.js';
import type { AppDeps } from './usecases/context.js';
import { EventBus } from './usecases/events.js';
import { NotifierRegistry } from './usecases/notifier.js';

export interface Core {
  deps: AppDeps;
  conn: Connection;
  db: DatabaseHandle;
  notifiers: NotifierRegistry;
  stop(): Promise<void>;
}

export interface CoreOptions {
  config: Pick<
    Config,
    'MONGODB_URI' | 'DATA_DIR' | 'DEFAULT_LOCALE' | 'DEFAULT_TIMEZONE' | 'DEFAULT_REVIEW_SCHEDULE'
  >;
  logger: Logger;
  now?: () => Date;
  /** Database name; default `dealpulse`. */
  dbName?: string;
  /** Use this URI instead of choosing (tests share one database server). */
  uri?: string;
  /** Keep the embedded database in memory (tests, `--exec` in a throwaway dir). */
  inMemory?: boolean;
}

/** The database named in a connection string's path (`mongodb://host/name?…`), if any. */
export function databaseNameIn(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

export async function createCore(opts: CoreOptions): Promise<Core> {
  const { config, logger } = opts;
  const db: DatabaseHandle = opts.uri
    ? { uri: opts.uri, kind: 'external', where: redactUri(opts.uri), stop: async () => {} }
    : await chooseDatabase({
        mongodbUri: config.MONGODB_URI,
        dataDir: opts.inMemory ? undefined : config.DATA_DIR,
        logger,
      });
  const conn = mongoose.createConnection(db.uri, {
    dbName: opts.dbName ?? databaseNameIn(db.uri) ?? 'dealpulse',
    serverSelectionTimeoutMS: 5000,
    autoIndex: false,
  });
  try {
    await conn.asPromise();
  } catch (err) {
    await db.stop().catch(() => {});
    throw err;
  }
  const store = new Store(conn);
  await store.init();
  const repaired = await store.repairPendingChanges();
  if (repaired) logger.warn({ repaired }, 'repaired stage changes interrupted by a crash');
  const bus = new EventBus(logger);
  const deps: AppDeps = {
    store,
    bus,
    logger,
    now: opts.now ?? (() => new Date()),
    defaults: {
      locale: config.DEFAULT_LOCALE as Locale,
      timezone: config.DEFAULT_TIMEZONE,
      reviewSchedule: config.DEFAULT_REVIEW_SCHEDULE,
    },
  };
  return {
    deps,
    conn,
    db,
    notifiers: new NotifierRegistry(),
    stop: async () => {
      await conn.close().catch(() => {});
      await db.stop();
    },
  };
}
