/** Embedded-store behaviour that needs its own server instance: TTL sweep, idle cursors, wire limits. */
import net from 'node:net';
import { Long, MongoClient, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../../../src/store/embedded/index.js';

describe('embedded store internals', () => {
  it('sweeps TTL indexes in the background', async () => {
    const s = await startEmbeddedMongo({ ttlIntervalMs: 50 });
    const c = await MongoClient.connect(s.uri);
    try {
      const col = c.db('t').collection('sessions');
      await col.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
      await col.insertMany([
        { expiresAt: new Date(Date.now() - 1000) },
        { expiresAt: new Date(Date.now() + 3_600_000) },
        { other: 1 },
      ]);
      await expect.poll(() => col.countDocuments(), { timeout: 10_000, interval: 50 }).toBe(2);
      expect(await col.countDocuments({ other: 1 })).toBe(1);
    } finally {
      await c.close();
      await s.stop();
    }
  });

  it('closes idle cursors; a later getMore gets CursorNotFound', async () => {
    const s = await startEmbeddedMongo({ cursorTimeoutMs: 100 });
    const c = await MongoClient.connect(s.uri);
    try {
      const db = c.db('t');
      await db.collection('x').insertMany(Array.from({ length: 10 }, (_, i) => ({ i })));
      const first = await db.command({ find: 'x', filter: {}, batchSize: 2 });
      const id = Long.fromValue(first.cursor.id as Long);
      await expect
        .poll(
          async () => {
            const err = await db
              .command({ getMore: id, collection: 'x', batchSize: 1 })
              .catch((e: unknown) => e);
            return err instanceof MongoServerError ? err.code : 'alive';
          },
          { timeout: 10_000, interval: 150 },
        )
        .toBe(43);
    } finally {
      await c.close();
      await s.stop();
    }
  });

  it('closes a connection that announces a message above the size limit', async () => {
    const s = await startEmbeddedMongo({});
    try {
      const sock = net.connect(s.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const header = Buffer.alloc(16);
      header.writeInt32LE(64 * 1024 * 1024, 0);
      header.writeInt32LE(2013, 12);
      sock.write(header);
      await new Promise((r) => sock.once('close', r));
      expect(sock.destroyed).toBe(true);
      // the server keeps serving others
      const c = await MongoClient.connect(s.uri);
      expect((await c.db('t').command({ ping: 1 })).ok).toBe(1);
      await c.close();
    } finally {
      await s.stop();
    }
  });

  it('applies unacknowledged (w:0) writes', async () => {
    const s = await startEmbeddedMongo({});
    const c = await MongoClient.connect(s.uri);
    try {
      const col = c.db('t').collection('w0');
      await col.insertOne({ a: 1 }, { writeConcern: { w: 0 } });
      await expect.poll(() => col.countDocuments(), { timeout: 5000, interval: 20 }).toBe(1);
    } finally {
      await c.close();
      await s.stop();
    }
  });
});
