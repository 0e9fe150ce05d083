/**
 * KPI computation for a workspace with 20,000 open deals and 200,000 stage
 * changes on the in-memory embedded store: time of `pipelineReport` (both
 * aggregations + KPI math + bottleneck diagnosis) and the number of database
 * commands it sends, counted by the driver's command monitoring.
 */
import mongoose, { Types } from 'mongoose';
import { openStages } from '../src/domain/pipeline.js';
import { silentLogger } from '../src/logger.js';
import { startEmbeddedMongo } from '../src/store/embedded/index.js';
import { Store } from '../src/store/repo.js';
import { enterWorkspace, type AppDeps } from '../src/usecases/context.js';
import { EventBus } from '../src/usecases/events.js';
import { pipelineReport } from '../src/usecases/reports.js';
import { median, ms, type BenchModule, type BenchRow } from './lib.js';

const DEALS = 20_000;
const CHANGES_PER_DEAL = 10;
const RUNS = 3;
const DAY = 86_400_000;

async function run(): Promise<BenchRow[]> {
  const server = await startEmbeddedMongo({ port: 0, logger: silentLogger });
  const conn = mongoose.createConnection(server.uri, {
    dbName: 'bench_analytics',
    autoIndex: false,
    monitorCommands: true,
  });
  await conn.asPromise();
  const now = new Date(Date.UTC(2026, 5, 1));
  try {
    const store = new Store(conn);
    await store.init();
    const deps: AppDeps = {
      store,
      bus: new EventBus(silentLogger),
      logger: silentLogger,
      now: () => now,
      defaults: { locale: 'en', timezone: 'UTC', reviewSchedule: '0 9 * * 1' },
    };
    const ctx = await enterWorkspace(deps, {
      platform: 'console',
      externalWorkspaceId: 'bench',
      userId: 'boss',
    });
    await store.ensureMember(ctx.workspace.id, { userId: 'u3', defaultRole: 'rep' });
    const open = openStages(ctx.workspace.settings.stages).map((s) => s.key);
    const ws = ctx.workspace.id;

    const seedStart = process.hrtime.bigint();
    const BATCH = 2_000;
    for (let b = 0; b < DEALS; b += BATCH) {
      const deals: Record<string, unknown>[] = [];
      const changes: Record<string, unknown>[] = [];
      for (let i = b; i < Math.min(DEALS, b + BATCH); i++) {
        const _id = new Types.ObjectId();
        const created = now.getTime() - (200 - (i % 180)) * DAY;
        let at = created;
        let stage = open[0]!;
        for (let v = 1; v <= CHANGES_PER_DEAL; v++) {
          // Mostly forward, with a backward move every third step: 10 changes ending in an open stage.
          const to = open[(i + v + (v % 3 === 0 ? -2 : 0) + open.length * 4) % open.length]!;
          changes.push({
            _id: `${String(_id)}:${v}`,
            workspaceId: ws,
            dealId: String(_id),
            from: v === 1 ? null : stage,
            to,
            at: new Date(at),
            by: `u${i % 25}`,
            version: v,
          });
          stage = to;
          at += ((i * 7 + v * 13) % 5) * DAY + 3_600_000;
        }
        deals.push({
          _id,
          workspaceId: ws,
          number: i + 1,
          code: `D-${i + 1}`,
          name: `Deal ${i + 1}`,
          company: `Co ${i % 997}`,
          amount: 1_000 + (i % 50) * 500,
          currency: 'USD',
          ownerId: `u${i % 25}`,
          stage,
          stageEnteredAt: new Date(at - 3_600_000),
          status: 'open',
          source: ['website', 'event', 'referral', 'outbound', 'partner'][i % 5],
          closeDate: new Date(now.getTime() + ((i % 120) + 1) * DAY),
          createdAt: new Date(created),
          createdBy: 'boss',
          updatedAt: new Date(at),
          version: CHANGES_PER_DEAL,
          snoozedUntil: null,
          closedAt: null,
          bant: {},
          custom: {},
        });
      }
      await store.models.Deal.collection.insertMany(deals as never[]);
      await store.models.StageChange.collection.insertMany(changes as never[]);
    }
    const seedMs = ms(seedStart);

    let commands = 0;
    const client = conn.getClient();
    const count = () => commands++;
    client.on('commandStarted', count);
    const samples: number[] = [];
    const trips: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      commands = 0;
      const t0 = process.hrtime.bigint();
      const rep = await pipelineReport(ctx, {});
      samples.push(ms(t0));
      if (!rep.ok) throw new Error(JSON.stringify(rep.error));
      trips.push(commands);
    }
    commands = 0;
    const tf = process.hrtime.bigint();
    const filtered = await pipelineReport(ctx, { owner: 'u3' });
    const filteredMs = ms(tf);
    const filteredTrips = commands;
    if (!filtered.ok) throw new Error(JSON.stringify(filtered.error));
    client.off('commandStarted', count);

    const p50 = median(samples);
    return [
      { group: 'analytics', metric: 'seed 20k deals + 200k changes (insertMany)', value: seedMs, unit: 'ms' },
      {
        group: 'analytics',
        metric: 'pipelineReport p50 (20k open, 200k changes)',
        value: p50,
        unit: 'ms',
        goal: '≤ 2000 ms',
        pass: p50 <= 2000,
        note: `runs: ${samples.map((s) => s.toFixed(0)).join(', ')}`,
      },
      {
        group: 'analytics',
        metric: 'pipelineReport db commands',
        value: Math.max(...trips),
        unit: 'commands',
        goal: 'constant',
        pass: trips.every((t) => t === trips[0]),
        note: 'counted by driver command monitoring',
      },
      {
        group: 'analytics',
        metric: 'pipelineReport filtered by owner',
        value: filteredMs,
        unit: 'ms',
        note: `${filteredTrips} commands`,
      },
    ];
  } finally {
    await conn.close();
    await server.stop();
  }
}

const mod: BenchModule = { name: 'analytics', run };
export default mod;
