/**
 * Chooses the database: MONGODB_URI → a real mongod through
 * mongodb-memory-server (when a binary is on disk or can be downloaded) → the
 * embedded MongoDB-compatible store. Nothing else knows the embedded store exists.
 */
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { redactUri } from '../logger.js';

export type DatabaseKind = 'external' | 'memory-server' | 'embedded';

export interface DatabaseHandle {
  uri: string;
  kind: DatabaseKind;
  /** Where the data lives, for the start-up log line. */
  where: string;
  stop(): Promise<void>;
}

export interface ChooseDatabaseOptions {
  mongodbUri?: string | undefined;
  /** Directory for persistent data; undefined keeps everything in memory (tests). */
  dataDir?: string | undefined;
  logger: Logger;
  /** Skip mongodb-memory-server entirely (benchmarks of the embedded store). */
  preferEmbedded?: boolean;
}

const DOWNLOAD_HOST = 'fastdl.mongodb.org';
/** How long a failed download attempt is remembered before trying again. */
const DOWNLOAD_RETRY_AFTER_MS = 24 * 3600_000;

export async function chooseDatabase(opts: ChooseDatabaseOptions): Promise<DatabaseHandle> {
  const { logger } = opts;
  if (opts.mongodbUri) {
    const handle: DatabaseHandle = {
      uri: opts.mongodbUri,
      kind: 'external',
      where: redactUri(opts.mongodbUri),
      stop: async () => {},
    };
    return handle;
  }
  if (!opts.preferEmbedded) {
    const memory = await tryMemoryServer(opts);
    if (memory) return memory;
  }
  const { startEmbeddedMongo } = await import('./embedded/index.js');
  const dbPath = opts.dataDir ? path.join(opts.dataDir, 'db') : undefined;
  if (dbPath) await mkdir(dbPath, { recursive: true });
  const server = await startEmbeddedMongo({ dbPath, port: 0, logger });
  return {
    uri: server.uri,
    kind: 'embedded',
    where: dbPath ?? 'memory',
    stop: () => server.stop(),
  };
}

async function tryMemoryServer(opts: ChooseDatabaseOptions): Promise<DatabaseHandle | undefined> {
  const { logger } = opts;
  const marker = opts.dataDir ? path.join(opts.dataDir, '.mongod-download-failed') : undefined;
  try {
    const { MongoMemoryServer, DryMongoBinary } = await import('mongodb-memory-server-core');
    const system = process.env.MONGOMS_SYSTEM_BINARY;
    let available = Boolean(system && existsSync(system));
    if (!available) {
      const located = await DryMongoBinary.locateBinary(DryMongoBinary.getEnsuredOptions()).catch(
        () => undefined,
      );
      available = Boolean(located);
    }
    if (!available) {
      if (process.env.MONGOMS_DISABLE_DOWNLOAD === '1' || process.env.MONGOMS_DISABLE_DOWNLOAD === 'true')
        return;
      if (marker && (await recentlyFailed(marker))) return;
      // Offline machines fail here in milliseconds instead of the ~7 s a download attempt takes.
      const reachable = await Promise.race([
        lookup(DOWNLOAD_HOST).then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
      ]);
      if (!reachable) {
        if (marker) await remember(marker, `${DOWNLOAD_HOST} not resolvable`);
        logger.debug('no mongod binary and no network to download one; using the embedded store');
        return;
      }
    }
    const dbPath = opts.dataDir ? path.join(opts.dataDir, 'mongod') : undefined;
    if (dbPath) await mkdir(dbPath, { recursive: true });
    const server = await MongoMemoryServer.create({
      instance: dbPath ? { dbPath, storageEngine: 'wiredTiger' } : {},
    });
    return {
      uri: server.getUri(),
      kind: 'memory-server',
      where: dbPath ?? 'memory',
      stop: async () => {
        await server.stop({ doCleanup: !dbPath });
      },
    };
  } catch (err) {
    if (marker) await remember(marker, String(err));
    logger.warn({ err: String(err) }, 'mongodb-memory-server unavailable; using the embedded store');
    return;
  }
}

async function recentlyFailed(marker: string): Promise<boolean> {
  try {
    const at = Number((await readFile(marker, 'utf8')).split('\n')[0]);
    return Date.now() - at < DOWNLOAD_RETRY_AFTER_MS;
  } catch {
    return false;
  }
}

async function remember(marker: string, why: string): Promise<void> {
  await mkdir(path.dirname(marker), { recursive: true }).catch(() => {});
  await writeFile(marker, `${Date.now()}\n${why}\n`).catch(() => {});
}
