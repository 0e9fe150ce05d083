/**
 * The database unreachable for a while (30 s by default; OUTAGE_SECONDS overrides):
 * commands fail with a clear, localized message, nothing crashes, and everything
 * recovers by itself when the database comes back, with no acknowledged data lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createCore, type Core } from '../../../src/app.js';
import { runCommand, unexpected, type Outcome } from '../../../src/interactions/index.js';
import { silentLogger } from '../../../src/logger.js';
import { plain } from '../../../src/presenters/rich.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../../src/store/embedded/index.js';
import { enterWorkspace, type Ctx } from '../../../src/usecases/context.js';

const OUTAGE_MS = Number(process.env.OUTAGE_SECONDS ?? 30) * 1000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** What an adapter does: run the command, and turn any exception into the apology message. */
async function guarded(ctx: Ctx, line: string): Promise<{ outcome?: Outcome; text: string }> {
  try {
    const outcome = await runCommand(ctx, line);
    const text = outcome.kind === 'message' ? outcome.message.summary : `form:${outcome.form.id}`;
    return { outcome, text };
  } catch (err) {
    const m = unexpected(ctx, err);
    return { text: plain(m.blocks[0]!.type === 'text' ? m.blocks[0]!.text : []) };
  }
}

let dir = '';
let server: EmbeddedMongo | undefined;
let core: Core | undefined;
afterAll(async () => {
  await core?.stop().catch(() => {});
  await server?.stop().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

it(
  `survives the database being unreachable for ${OUTAGE_MS / 1000} s`,
  { timeout: OUTAGE_MS + 120_000 },
  async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dealpulse-outage-'));
    const port = await freePort();
    server = await startEmbeddedMongo({ dbPath: dir, port });
    core = await createCore({
      config: {
        MONGODB_URI: undefined,
        DATA_DIR: dir,
        DEFAULT_LOCALE: 'en',
        DEFAULT_TIMEZONE: 'UTC',
        DEFAULT_REVIEW_SCHEDULE: '0 9 * * 1',
      },
      logger: silentLogger,
      uri: server.uri,
      dbName: 'outage',
    });
    const who = { platform: 'slack' as const, externalWorkspaceId: 'T1', userId: 'u1', displayName: 'u1' };
    const ctx = await enterWorkspace(core.deps, who);
    const before = await guarded(ctx, '/deal new Before outage 10k');
    expect(before.text).toContain('D-1 created');

    await server.stop();
    server = undefined;
    const started = Date.now();
    const during: string[] = [];
    while (Date.now() - started < OUTAGE_MS) {
      const t0 = Date.now();
      const r = await guarded(ctx, '/deal new During outage 20k');
      during.push(r.text);
      // each command answers within the driver's server-selection timeout, not forever
      expect(Date.now() - t0).toBeLessThan(15_000);
    }
    expect(during.length).toBeGreaterThan(0);
    for (const text of during)
      expect(text).toMatch(
        /^The database is not reachable right now; nothing was saved\. Please try again in a moment\. \(Error id: [0-9a-f]{8}\)$/,
      );

    server = await startEmbeddedMongo({ dbPath: dir, port });
    // the driver reconnects by itself; the first command after the outage may still be selecting a server
    let after = await guarded(await enterWorkspace(core.deps, who), '/deal show D-1');
    for (let i = 0; i < 10 && !after.text.startsWith('D-1'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await guarded(await enterWorkspace(core.deps, who), '/deal show D-1');
    }
    expect(after.text).toMatch(/^D-1 Before outage/);
    const next = await guarded(await enterWorkspace(core.deps, who), '/deal new After outage 30k');
    expect(next.text).toContain('D-2 created');
  },
);
