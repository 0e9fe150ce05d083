/**
 * Starts one database for the whole run, chosen like the app does:
 * MONGODB_URI → mongodb-memory-server when a mongod binary is available → the embedded store.
 * Each test file uses its own database name (see test/helpers/db.ts).
 */
import type { TestProject } from 'vitest/node';
import { chooseDatabase, type DatabaseHandle } from '../src/store/connection.js';
import { silentLogger } from '../src/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoKind: string;
  }
}

let handle: DatabaseHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  handle = await chooseDatabase({ mongodbUri: process.env.MONGODB_URI, logger: silentLogger });
  project.provide('mongoUri', handle.uri);
  project.provide('mongoKind', handle.kind);
  console.log(
    `[test] database: ${handle.kind} (${handle.kind === 'external' ? 'MONGODB_URI' : handle.where})`,
  );
}

export async function teardown(): Promise<void> {
  await handle?.stop();
}
