/** A Core on a fresh database of the run's server, with a clock the test controls. */
import { createCore, type Core } from '../../src/app.js';
import { silentLogger } from '../../src/logger.js';
import { enterWorkspace, type Ctx, type Identity } from '../../src/usecases/context.js';
import { testMongoUri, uniqueDbName } from './db.js';

export interface TestClock {
  now: Date;
  advance(ms: number): void;
  advanceDays(days: number): void;
  set(d: Date | string): void;
}

export function testClock(start = '2026-11-02T09:00:00Z'): TestClock {
  const c: TestClock = {
    now: new Date(start),
    advance(ms) {
      c.now = new Date(c.now.getTime() + ms);
    },
    advanceDays(days) {
      c.advance(days * 86_400_000);
    },
    set(d) {
      c.now = new Date(d);
    },
  };
  return c;
}

export async function testCore(
  clock: TestClock = testClock(),
  prefix = 'core',
): Promise<Core & { clock: TestClock }> {
  const core = await createCore({
    config: {
      MONGODB_URI: undefined,
      DATA_DIR: './data',
      DEFAULT_LOCALE: 'en',
      DEFAULT_TIMEZONE: 'UTC',
      DEFAULT_REVIEW_SCHEDULE: '0 9 * * 1',
    },
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName(prefix),
    now: () => clock.now,
  });
  return Object.assign(core, {
    clock,
    stop: async () => {
      await core.conn.dropDatabase().catch(() => {});
      await core.conn.close();
    },
  });
}

/** Enters a workspace as a user; the first user of a workspace becomes admin. */
export function as(core: Core, user: string, opts: Partial<Identity> = {}): Promise<Ctx> {
  return enterWorkspace(core.deps, {
    platform: 'slack',
    externalWorkspaceId: 'T1',
    userId: user,
    displayName: user,
    ...opts,
  });
}
