import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';

/** The URI of the run's database (see test/global-setup.ts). */
export function testMongoUri(): string {
  return inject('mongoUri');
}

export function testMongoKind(): string {
  return inject('mongoKind');
}

/** A database name no other test file uses. */
export function uniqueDbName(prefix = 'test'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A raw driver client on a fresh database; `close()` drops it. */
export async function connectTestClient(prefix = 'test') {
  const client = await MongoClient.connect(testMongoUri());
  const db = client.db(uniqueDbName(prefix));
  return {
    client,
    db,
    close: async () => {
      await db.dropDatabase().catch(() => {});
      await client.close();
    },
  };
}

/** A Mongoose connection (not the global one) on a fresh database; `close()` drops it. */
export async function connectTestMongoose(prefix = 'test') {
  const conn = mongoose.createConnection(testMongoUri(), { dbName: uniqueDbName(prefix), autoIndex: true });
  await conn.asPromise();
  return {
    conn,
    close: async () => {
      await conn.dropDatabase().catch(() => {});
      await conn.close();
    },
  };
}
