/**
 * Embedded store benchmark (`npm run bench -- store`): 100k documents with a
 * unique index, through the real driver over TCP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { serialize } from 'bson';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../src/store/embedded/index.js';
import { median, ms, type BenchModule, type BenchRow } from './lib.js';

const N = 100_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapNow(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

function deal(i: number) {
  return {
    workspaceId: `ws${i % 20}`,
    code: `D-${i}`,
    title: `Deal number ${i} with ACME Corp`,
    stage: STAGES[i % STAGES.length],
    amount: (i % 1000) * 10 + 0.5,
    ownerId: `u${i % 50}`,
    createdAt: new Date(1_700_000_000_000 + i * 60_000),
    tags: ['inbound', i % 2 ? 'enterprise' : 'smb'],
    version: 1,
  };
}

async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dbPath = mkdtempSync(path.join(tmpdir(), 'dp-bench-store-'));
  try {
    let server = await startEmbeddedMongo({ dbPath, compactBytes: 1024 * 1024 * 1024 });
    let client = await MongoClient.connect(server.uri);
    let col = client.db('bench').collection('deals');
    await col.createIndex({ workspaceId: 1, code: 1 }, { unique: true });
    await col.createIndex({ code: 1 }, { unique: true });

    const heapBefore = heapNow();
    const rssBefore = process.memoryUsage().rss;
    let bsonBytes = 0;
    let insertMs = 0;
    for (let i = 0; i < N; i += 1000) {
      const batch = Array.from({ length: 1000 }, (_, j) => deal(i + j));
      const t0 = process.hrtime.bigint();
      await col.insertMany(batch, { ordered: false });
      insertMs += ms(t0);
      for (const d of batch) bsonBytes += serialize(d).length;
    }
    const used = heapNow() - heapBefore;
    const rss = process.memoryUsage().rss;
    let t: bigint;
    rows.push({
      group: 'store',
      metric: 'insert (batches of 1000, fsync each)',
      value: (insertMs / N) * 1000,
      unit: 'µs/doc',
      goal: '≤ 100 µs',
      pass: insertMs / N <= 0.1,
    });

    const samples: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const code = `D-${(i * 7919) % N}`;
      const s = process.hrtime.bigint();
      const d = await col.findOne({ code });
      samples.push(ms(s));
      if (!d) throw new Error(`missing ${code}`);
    }
    const p50 = median(samples);
    rows.push({
      group: 'store',
      metric: 'indexed findOne p50',
      value: p50,
      unit: 'ms',
      goal: '≤ 1 ms',
      pass: p50 <= 1,
    });

    const aggSamples: number[] = [];
    for (let i = 0; i < 3; i++) {
      t = process.hrtime.bigint();
      const out = await col
        .aggregate([
          { $match: { stage: { $in: ['won', 'lost', 'proposal'] } } },
          { $group: { _id: '$ownerId', total: { $sum: '$amount' }, n: { $sum: 1 } } },
        ])
        .toArray();
      aggSamples.push(ms(t));
      if (out.length !== 50) throw new Error(`unexpected groups ${out.length}`);
    }
    const agg = median(aggSamples);
    rows.push({
      group: 'store',
      metric: '$match+$group over 100k',
      value: agg,
      unit: 'ms',
      goal: '≤ 1000 ms',
      pass: agg <= 1000,
    });

    rows.push({
      group: 'store',
      metric: 'memory / BSON size',
      value: used / bsonBytes,
      unit: '×',
      goal: '≤ 3×',
      pass: used / bsonBytes <= 3,
      note: `heap+buffers growth ${(used / 1048576).toFixed(1)} MB for ${(bsonBytes / 1048576).toFixed(1)} MB of BSON (after GC)`,
    });

    rows.push({
      group: 'store',
      metric: 'RSS after loading 100k (whole bench process)',
      value: rss / 1048576,
      unit: 'MB',
      note: `grew ${((rss - rssBefore) / 1048576).toFixed(1)} MB while loading (server and client share the process)`,
    });

    // Journal replay: 100k inserts are in the journal (compaction disabled above).
    await client.close();
    await server.stop();
    t = process.hrtime.bigint();
    server = await startEmbeddedMongo({ dbPath });
    const replayMs = ms(t);
    rows.push({
      group: 'store',
      metric: 'start: replay 100k-write journal + snapshot',
      value: replayMs,
      unit: 'ms',
      goal: '≤ 5000 ms',
      pass: replayMs <= 5000,
    });
    client = await MongoClient.connect(server.uri);
    col = client.db('bench').collection('deals');
    const count = await col.countDocuments();
    if (count !== N) throw new Error(`replay lost documents: ${count}`);
    await client.close();
    await server.stop();
  } finally {
    rmSync(dbPath, { recursive: true, force: true });
  }
  return rows;
}

const bench: BenchModule = { name: 'embedded MongoDB-compatible store', run };
export default bench;
