/**
 * The embedded store killed with SIGKILL during a write burst, then restarted on
 * the same port and data directory: no acknowledged write is lost, the app's
 * next command succeeds without restarting the app, and the scheduler's stall
 * scan runs again (a deal that stalls after the restart gets its alert).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createCore, type Core } from '../../../src/app.js';
import { runCommand } from '../../../src/interactions/index.js';
import { startScheduler, type Scheduler } from '../../../src/jobs/index.js';
import { silentLogger } from '../../../src/logger.js';
import { enterWorkspace } from '../../../src/usecases/context.js';
import { createDeal } from '../../../src/usecases/deals.js';
import { updateSettings } from '../../../src/usecases/settings.js';
import { RecordingNotifier, testConfig } from '../../jobs/helpers.js';

const root = path.resolve(import.meta.dirname, '../../..');
const DAY = 86_400_000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `npm run db` as a child; resolves with the process once it printed its URI. */
function startStore(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/store/embedded/cli.ts', '--port', String(port), '--dbpath', dir],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`store did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on mongodb://')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`store exited with ${code}: ${out}`)));
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let dir = '';
let store: ChildProcess | undefined;
let core: Core | undefined;
let scheduler: Scheduler | undefined;
afterAll(async () => {
  await scheduler?.stop().catch(() => {});
  await core?.stop().catch(() => {});
  store?.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

it(
  'loses no acknowledged write, reconnects by itself and the jobs resume',
  { timeout: 240_000 },
  async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dealpulse-sigkill-'));
    const port = await freePort();
    store = await startStore(port, dir);
    core = await createCore({
      config: testConfig,
      logger: silentLogger,
      uri: `mongodb://127.0.0.1:${port}/sigkill`,
      dbName: 'sigkill',
    });
    const notifier = new RecordingNotifier();
    core.notifiers.register('slack', notifier);
    const who = {
      platform: 'slack' as const,
      externalWorkspaceId: 'T1',
      userId: 'U-ADMIN',
      displayName: 'Ada',
    };
    const admin = await enterWorkspace(core.deps, who);
    await updateSettings(admin, {
      alertChannel: 'C-ALERTS',
      quietHours: { start: '00:00', end: '00:00', weekends: false },
    });
    scheduler = await startScheduler(core, { ...testConfig, STALL_SCAN_INTERVAL: '300 ms' }, silentLogger, {
      processEvery: 100,
      drainTimeoutMs: 2000,
    });
    // The scan works before the crash: a stalled deal gets its alert.
    const old = new Date(Date.now() - 9 * DAY);
    await createDeal(admin, { name: 'Stalled before', amount: '1k', createdAt: old, stageEnteredAt: old });
    const alerted = (name: string) =>
      notifier
        .posts()
        .some((p) => p.message.summary.startsWith('Stalled:') && p.message.summary.includes(name));
    await until(() => alerted('Stalled before'), 'the first alert');

    // A burst of writers; the store is killed once 100 deals were acknowledged.
    const acknowledged: string[] = [];
    const failed: string[] = [];
    let killed = false;
    const writer = async (w: number) => {
      for (let i = 0; i < 60; i += 1) {
        const name = `Burst ${w}-${i}`;
        try {
          const r = await createDeal(admin, { name, amount: `${i + 1}k`, requestKey: `burst:${w}:${i}` });
          if (r.ok) acknowledged.push(name);
          else failed.push(name);
        } catch {
          failed.push(name);
        }
        if (!killed && acknowledged.length >= 100) {
          killed = true;
          store!.kill('SIGKILL');
        }
        if (killed && failed.length > 0) return;
      }
    };
    await Promise.all(Array.from({ length: 5 }, (_, w) => writer(w)));
    expect(killed).toBe(true);
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);
    await new Promise<void>((r) =>
      store!.exitCode !== null || store!.signalCode ? r() : store!.once('exit', () => r()),
    );

    // Restart on the same port and directory; the app is not restarted.
    store = await startStore(port, dir);
    const ctx = await enterWorkspace(core.deps, who).catch(() => undefined);
    let next = ctx ? await runCommand(ctx, '/deal new After restart 5k').catch(() => undefined) : undefined;
    for (let i = 0; i < 30 && !(next?.kind === 'message' && /created/.test(next.message.summary)); i += 1) {
      await new Promise((r) => setTimeout(r, 500));
      next = await runCommand(await enterWorkspace(core.deps, who), '/deal new After restart 5k').catch(
        () => undefined,
      );
    }
    expect(next?.kind === 'message' && next.message.summary).toMatch(/^D-\d+ created: After restart/);

    // Every acknowledged deal is there, once.
    const names = (await core.deps.store.listDeals(admin.workspace.id, {}, { limit: 5000 })).deals.map(
      (d) => d.name,
    );
    const missing = acknowledged.filter((n) => !names.includes(n));
    expect(missing).toEqual([]);
    for (const n of acknowledged) expect(names.filter((x) => x === n)).toHaveLength(1);

    // The scheduler's stall scan runs again: a deal that is stalled after the restart gets its alert.
    await createDeal(await enterWorkspace(core.deps, who), {
      name: 'Stalled after',
      amount: '2k',
      createdAt: old,
      stageEnteredAt: old,
    });
    await until(() => alerted('Stalled after'), 'an alert after the restart', 120_000);
  },
);
