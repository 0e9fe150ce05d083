/**
 * Stall scan at scale: 10,000 stalled deals in one workspace on the in-memory
 * embedded store. Measures the scan's duration, its database round trips and
 * the messages posted per channel (the cap keeps a backlog to 10 alerts + 1 summary).
 */
import { Types } from 'mongoose';
import { createCore } from '../src/app.js';
import { configSchema } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import type { RichMessage } from '../src/presenters/rich.js';
import { chooseDatabase } from '../src/store/connection.js';
import type { WorkspaceRecord } from '../src/store/repo.js';
import { scanWorkspace } from '../src/usecases/alerts.js';
import { enterWorkspace } from '../src/usecases/context.js';
import type { Destination, MessageRef, Notifier } from '../src/usecases/notifier.js';
import { updateSettings } from '../src/usecases/settings.js';
import { ms, type BenchModule, type BenchRow } from './lib.js';

const DEALS = 10_000;
const DAY = 86_400_000;

class CountingNotifier implements Notifier {
  perChannel = new Map<string, number>();
  private seq = 0;
  async post(_ws: WorkspaceRecord, to: Destination, _m: RichMessage): Promise<MessageRef> {
    const channel = 'channel' in to ? to.channel : `DM-${to.user}`;
    this.perChannel.set(channel, (this.perChannel.get(channel) ?? 0) + 1);
    return { channel, id: String(++this.seq) };
  }
  async reply(_ws: WorkspaceRecord, root: MessageRef): Promise<MessageRef> {
    return { channel: root.channel, id: String(++this.seq) };
  }
  async update(): Promise<void> {}
}

async function run(): Promise<BenchRow[]> {
  const db = await chooseDatabase({ logger: silentLogger, preferEmbedded: true });
  const core = await createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: db.uri,
    dbName: 'bench_stall',
  });
  try {
    const notifier = new CountingNotifier();
    core.notifiers.register('slack', notifier);
    const admin = await enterWorkspace(core.deps, {
      platform: 'slack',
      externalWorkspaceId: 'TBENCH',
      userId: 'U0',
    });
    await updateSettings(admin, {
      alertChannel: 'C-ALERTS',
      quietHours: { start: '00:00', end: '00:00', weekends: false },
    });
    const now = Date.now();
    const docs = Array.from({ length: DEALS }, (_, i) => {
      const entered = new Date(now - (8 + (i % 30)) * DAY);
      return {
        _id: new Types.ObjectId(),
        workspaceId: admin.workspace.id,
        number: i + 1,
        code: `D-${i + 1}`,
        name: `Deal ${i + 1}`,
        company: `Company ${i % 500}`,
        amount: 1000 + ((i * 7919) % 100_000),
        currency: 'USD',
        ownerId: `U${i % 40}`,
        stage: 'lead',
        stageEnteredAt: entered,
        status: 'open',
        source: 'other',
        bant: {},
        closeDate: null,
        custom: {},
        snoozedUntil: null,
        createdBy: 'U0',
        closedAt: null,
        version: 1,
        createdAt: entered,
        updatedAt: entered,
      };
    });
    for (let i = 0; i < docs.length; i += 1000)
      await core.deps.store.models.Deal.collection.insertMany(docs.slice(i, i + 1000));
    const ws = (await core.deps.store.getWorkspace(admin.workspace.id))!;

    const measure = async () => {
      let trips = 0;
      core.conn.set('debug', () => {
        trips += 1;
      });
      const start = process.hrtime.bigint();
      const counts = await scanWorkspace(core, ws);
      const took = ms(start);
      core.conn.set('debug', false);
      return { took, trips, counts };
    };
    const first = await measure();
    const posted = notifier.perChannel.get('C-ALERTS') ?? 0;
    const second = await measure();
    return [
      {
        group: 'stall-scan',
        metric: `first scan, ${DEALS} stalled deals`,
        value: first.took,
        unit: 'ms',
        goal: '≤ 5000 ms',
        pass: first.took <= 5000,
      },
      {
        group: 'stall-scan',
        metric: 'first scan DB round trips',
        value: first.trips,
        unit: 'ops',
        goal: '≤ 20 (constant)',
        pass: first.trips <= 20,
        note: 'includes 1 thread link per alert',
      },
      {
        group: 'stall-scan',
        metric: 'messages posted to the alert channel',
        value: posted,
        unit: 'msgs',
        goal: '= 11 (10 alerts + 1 summary)',
        pass: posted === 11,
      },
      {
        group: 'stall-scan',
        metric: 'deals claimed (alerted + summarised)',
        value: first.counts.alerted + first.counts.summarised,
        unit: 'deals',
        goal: `= ${DEALS}`,
        pass: first.counts.alerted + first.counts.summarised === DEALS,
      },
      {
        group: 'stall-scan',
        metric: 'steady-state scan (all claimed)',
        value: second.took,
        unit: 'ms',
        goal: '≤ 5000 ms',
        pass: second.took <= 5000,
      },
      {
        group: 'stall-scan',
        metric: 'steady-state DB round trips',
        value: second.trips,
        unit: 'ops',
        goal: '≤ 14 (4 + ≤ 10 escalations)',
        pass: second.trips <= 14,
        note: `${second.counts.alerted} new, ${second.counts.escalated} escalated`,
      },
    ];
  } finally {
    await core.stop();
    await db.stop();
  }
}

const mod: BenchModule = { name: 'stall-scan', run };
export default mod;
