/** Persistence of the embedded store itself (not run through MONGODB_URI). */
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serialize } from 'bson';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../../../src/store/embedded/index.js';
import { encodeRecord, Op } from '../../../src/store/embedded/persistence.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'dp-embedded-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function captureLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  return { logger, lines };
}

async function withClient<T>(uri: string, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const client = await MongoClient.connect(uri);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('embedded store durability', () => {
  it('recovers documents, updates, deletes and indexes after a restart', async () => {
    const dbPath = tempDir();
    const a = await startEmbeddedMongo({ dbPath });
    await withClient(a.uri, async (c) => {
      const col = c.db('app').collection('deals');
      await col.createIndex({ code: 1 }, { unique: true });
      await col.insertMany([
        { code: 'a', v: 1 },
        { code: 'b', v: 2 },
        { code: 'c', v: 3 },
      ]);
      await col.updateOne({ code: 'a' }, { $inc: { v: 10 } });
      await col.deleteOne({ code: 'b' });
      await c.db('app').collection('gone').insertOne({ x: 1 });
      await c.db('app').collection('gone').drop();
    });
    await a.stop();
    const b = await startEmbeddedMongo({ dbPath });
    await withClient(b.uri, async (c) => {
      const col = c.db('app').collection('deals');
      expect(
        await col
          .find({}, { projection: { _id: 0 } })
          .sort({ code: 1 })
          .toArray(),
      ).toEqual([
        { code: 'a', v: 11 },
        { code: 'c', v: 3 },
      ]);
      expect((await col.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'code_1']);
      await expect(col.insertOne({ code: 'c' })).rejects.toMatchObject({ code: 11000 });
      expect((await c.db('app').listCollections().toArray()).map((x) => x.name)).toEqual(['deals']);
    });
    await b.stop();
  });

  it('truncates a torn journal tail, logs it and keeps every complete record', async () => {
    const dbPath = tempDir();
    const a = await startEmbeddedMongo({ dbPath });
    await withClient(a.uri, async (c) => {
      await c
        .db('app')
        .collection('k')
        .insertMany([{ _id: 1 }, { _id: 2 }] as never);
    });
    await a.stop();
    const journal = readdirSync(dbPath).find((f) => f.startsWith('journal.'))!;
    const full = encodeRecord(Op.Put, 'app.k', serialize({ _id: 3 }));
    appendFileSync(path.join(dbPath, journal), full.subarray(0, full.length - 5));
    const { logger, lines } = captureLogger();
    const b = await startEmbeddedMongo({ dbPath, logger });
    expect(lines.some((l) => l.level === 40 && /torn journal tail/.test(l.msg))).toBe(true);
    await withClient(b.uri, async (c) => {
      expect(await c.db('app').collection('k').countDocuments()).toBe(2);
    });
    await b.stop();
  });

  it('refuses a second process on the same directory and clears stale locks', async () => {
    const dbPath = tempDir();
    const a = await startEmbeddedMongo({ dbPath });
    await expect(startEmbeddedMongo({ dbPath })).rejects.toThrow(/in use by process/);
    await a.stop();
    // A lock left by a process that no longer exists.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(path.join(dbPath, 'LOCK'), String(dead.pid));
    const b = await startEmbeddedMongo({ dbPath });
    await b.stop();
    expect(existsSync(path.join(dbPath, 'LOCK'))).toBe(false);
  });

  it('compacts the journal into a snapshot when it grows', async () => {
    const dbPath = tempDir();
    const a = await startEmbeddedMongo({ dbPath, compactBytes: 4096 });
    await withClient(a.uri, async (c) => {
      const col = c.db('app').collection('n');
      for (let i = 0; i < 60; i++)
        await col.updateOne(
          { _id: 'ctr' as never },
          { $inc: { v: 1 }, $set: { pad: 'x'.repeat(100) } },
          { upsert: true },
        );
    });
    await a.stop();
    expect(existsSync(path.join(dbPath, 'snapshot.bin'))).toBe(true);
    const journal = readdirSync(dbPath).find((f) => f.startsWith('journal.'))!;
    expect(statSync(path.join(dbPath, journal)).size).toBeLessThan(60 * 150);
    const b = await startEmbeddedMongo({ dbPath });
    await withClient(b.uri, async (c) => {
      expect(
        await c
          .db('app')
          .collection('n')
          .findOne({ _id: 'ctr' as never }),
      ).toMatchObject({ v: 60 });
    });
    await b.stop();
  });

  it('keeps every acknowledged write when the server process is killed with SIGKILL mid-burst', async () => {
    const dbPath = tempDir();
    const cli = path.resolve('src/store/embedded/cli.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', '--dbpath', dbPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const uri = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /mongodb:\/\/127\.0\.0\.1:\d+\/?/.exec(out);
        if (m) resolve(m[0]);
      });
      child.on('exit', (code) => reject(new Error(`server exited early (${code})`)));
    });
    const acked = new Set<string>();
    let counterAcks = 0;
    const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 2000, retryWrites: false });
    const col = client.db('app').collection('burst');
    let killed = false;
    const writer = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const id = `w${w}-${i}`;
        try {
          await col.insertOne({ _id: id as never, w, i, pad: 'p'.repeat(200) });
          acked.add(id);
          await col.updateOne({ _id: 'counter' as never }, { $inc: { n: 1 } }, { upsert: true });
          counterAcks++;
        } catch {
          return;
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (acked.size >= 300) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    killed = true;
    await Promise.all(writers);
    await client.close(true).catch(() => {});
    const { logger } = captureLogger();
    const restarted = await startEmbeddedMongo({ dbPath, logger });
    await withClient(restarted.uri, async (c) => {
      const burst = c.db('app').collection('burst');
      const present = new Set(
        (await burst.find({ w: { $exists: true } }, { projection: { _id: 1 } }).toArray()).map((d) =>
          String(d._id),
        ),
      );
      const missing = [...acked].filter((id) => !present.has(id));
      expect(missing).toEqual([]);
      const counter = await burst.findOne({ _id: 'counter' as never });
      expect(counter!.n as number).toBeGreaterThanOrEqual(counterAcks);
    });
    await restarted.stop();
  }, 60_000);
});
