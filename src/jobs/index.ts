/**
 * The scheduler: Agenda 6 on the app's MongoDB database. Job definitions stay
 * small and call the use cases; every job's effect is idempotent (claims under
 * unique indexes), so several bot instances can share one database.
 *
 * Jobs:
 * - `stall-scan`      every STALL_SCAN_INTERVAL: stall alerts, escalations and
 *                     time-based rules of every workspace; keeps digest jobs in sync.
 * - `task-reminder`   every STALL_SCAN_INTERVAL: DMs assignees of due follow-up tasks.
 * - `pipeline-digest` one per workspace, repeating on its review cron in its time zone.
 * - `rule-webhook`    one per delivery, retried with exponential backoff.
 */
import { Agenda, backoffStrategies, type Job } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import ms from 'ms';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { ensureJobsIndexes } from '../store/jobs-models.js';
import type { WorkspaceRecord } from '../store/repo.js';
import { errorText, resolveAlerts, scanWorkspace, type JobEnv, type ScanCounts } from '../usecases/alerts.js';
import { postDigest, reviewSchedule, type DigestBuilder } from '../usecases/digest.js';
import type { DomainEvent } from '../usecases/events.js';
import {
  deliverWebhook,
  fireRulesForEvent,
  remindDueTasks,
  scanRules,
  type JobsPort,
} from '../usecases/rules.js';

export const JOB = {
  stallScan: 'stall-scan',
  taskReminder: 'task-reminder',
  digest: 'pipeline-digest',
  webhook: 'rule-webhook',
} as const;

const JOBS_COLLECTION = 'agendaJobs';

export interface SchedulerOptions {
  /** How often Agenda polls for due jobs, in ms (default 5 s). */
  processEvery?: number;
  /** Name of this instance in the job records. */
  name?: string;
  /** Webhook retries: first delay in ms and attempts after the first (default 30 s, 5). */
  webhookBackoff?: { delay: number; maxRetries: number };
  /** Digest retries after a failed post (default 60 s, 3). */
  digestBackoff?: { delay: number; maxRetries: number };
  /** Builds the digest's parent message (default: the store-only digest). */
  digestBuilder?: DigestBuilder;
  /** How long stop() waits for running jobs before returning (default 25 s). */
  drainTimeoutMs?: number;
}

export interface Scheduler {
  agenda: Agenda;
  /** Stops taking jobs, releases the ones not started, waits for running ones. */
  stop(): Promise<void>;
  /** Waits for the event handlers (resolution replies, event rules) started so far. */
  settle(): Promise<void>;
  /** Creates or reschedules the digest job of a workspace when its schedule changed. */
  ensureDigestJob(workspace: WorkspaceRecord): Promise<boolean>;
  port: JobsPort;
}

/** Parses `STALL_SCAN_INTERVAL` ("15 minutes", "30s", "1 hour") to milliseconds. */
export function parseInterval(text: string): number {
  const value = ms(text.trim() as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new Error(`invalid interval "${text}"`);
  return value;
}

export async function startScheduler(
  core: JobEnv,
  config: Pick<Config, 'STALL_SCAN_INTERVAL' | 'DEFAULT_REVIEW_SCHEDULE'>,
  logger: Logger,
  opts: SchedulerOptions = {},
): Promise<Scheduler> {
  const intervalMs = parseInterval(config.STALL_SCAN_INTERVAL);
  const db = core.conn.db;
  if (!db) throw new Error('the database connection is not open');
  await ensureJobsIndexes(core.conn);
  const jobsCol = db.collection(JOBS_COLLECTION);
  // One recurring job of each kind and one digest job per workspace, even when instances start together.
  await jobsCol.createIndex(
    { name: 1 },
    { unique: true, name: 'dealpulse_single_jobs', partialFilterExpression: { type: 'single' } },
  );
  await jobsCol.createIndex(
    { name: 1, 'data.workspaceId': 1 },
    { unique: true, name: 'dealpulse_digest_jobs', partialFilterExpression: { name: JOB.digest } },
  );

  // A unique name: Agenda records it on the jobs this instance locks (see stop()).
  const name = opts.name ?? `dealpulse-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: db, collection: JOBS_COLLECTION }),
    processEvery: opts.processEvery ?? 5000,
    name,
    defaultLockLifetime: 10 * 60_000,
  });
  agenda.on('error', (err) => logger.error({ err: errorText(err) }, 'agenda error'));

  const webhookBackoff = opts.webhookBackoff ?? { delay: 30_000, maxRetries: 5 };
  const digestBackoff = opts.digestBackoff ?? { delay: 60_000, maxRetries: 3 };
  const store = core.deps.store;

  /** Runs a job body and logs one line: job, workspace, counts, duration. Errors are logged and rethrown for Agenda's retry. */
  const logged = async (
    job: string,
    fields: Record<string, unknown>,
    body: () => Promise<Record<string, unknown>>,
  ) => {
    const started = performance.now();
    try {
      const counts = await body();
      logger.info(
        { job, ...fields, ...counts, durationMs: Math.round(performance.now() - started) },
        'job run',
      );
    } catch (err) {
      logger.error(
        { job, ...fields, err: errorText(err), durationMs: Math.round(performance.now() - started) },
        'job failed',
      );
      throw err;
    }
  };

  const port: JobsPort = {
    async enqueueWebhook(deliveryId) {
      await agenda
        .create(JOB.webhook, { deliveryId })
        .unique({ 'data.deliveryId': deliveryId }, { insertOnly: true })
        .save();
    },
  };

  const ensureDigestJob = async (ws: WorkspaceRecord): Promise<boolean> => {
    const schedule = reviewSchedule(core, ws);
    const tz = ws.settings.timezone;
    const existing = await jobsCol.findOne({ name: JOB.digest, 'data.workspaceId': ws.id });
    // An unchanged job keeps its nextRunAt: if it passed while the bot was down, Agenda runs it once now.
    if (existing && existing.repeatInterval === schedule && (existing.repeatTimezone ?? null) === tz)
      return false;
    // A scan holding an older snapshot of the settings must not undo a newer reschedule.
    const version = (existing?.data as { settingsVersion?: number } | undefined)?.settingsVersion ?? -1;
    if (version > ws.settingsVersion) return false;
    await agenda
      .create(JOB.digest, { workspaceId: ws.id, settingsVersion: ws.settingsVersion })
      .unique({ 'data.workspaceId': ws.id })
      .repeatEvery(schedule, { timezone: tz, skipImmediate: true })
      .save();
    logger.info({ job: JOB.digest, workspaceId: ws.id, schedule, timezone: tz }, 'digest scheduled');
    return true;
  };

  agenda.define(JOB.stallScan, async () => {
    await logged(JOB.stallScan, {}, async () => {
      const total: ScanCounts & { workspaces: number; rulesFired: number; errors: number } = {
        workspaces: 0,
        stalled: 0,
        alerted: 0,
        summarised: 0,
        escalated: 0,
        failed: 0,
        quiet: false,
        rulesFired: 0,
        errors: 0,
      };
      for (const ws of await store.listWorkspaces()) {
        total.workspaces += 1;
        try {
          const c = await scanWorkspace(core, ws);
          total.stalled += c.stalled;
          total.alerted += c.alerted;
          total.summarised += c.summarised;
          total.escalated += c.escalated;
          total.failed += c.failed;
          const r = await scanRules(core, port, ws);
          total.rulesFired += r.fired;
          total.failed += r.failed;
          await ensureDigestJob(ws);
        } catch (err) {
          // One workspace's failure never stops the others; the next scan retries it.
          total.errors += 1;
          logger.error(
            { job: JOB.stallScan, workspaceId: ws.id, err: errorText(err) },
            'workspace scan failed',
          );
        }
      }
      const { quiet: _q, ...counts } = total;
      return counts;
    });
  });

  agenda.define(JOB.taskReminder, async () => {
    await logged(JOB.taskReminder, {}, async () => {
      let reminded = 0;
      let errors = 0;
      for (const ws of await store.listWorkspaces()) {
        try {
          reminded += await remindDueTasks(core, ws);
        } catch (err) {
          errors += 1;
          logger.error(
            { job: JOB.taskReminder, workspaceId: ws.id, err: errorText(err) },
            'task reminders failed',
          );
        }
      }
      return { reminded, errors };
    });
  });

  agenda.define(
    JOB.digest,
    async (job: Job<{ workspaceId: string; settingsVersion?: number }>) => {
      const { workspaceId } = job.attrs.data;
      await logged(JOB.digest, { workspaceId }, async () => {
        const ws = await store.getWorkspace(workspaceId);
        if (!ws) return { posted: false, reason: 'workspace_gone' };
        const r = await postDigest(core, ws, opts.digestBuilder ? { build: opts.digestBuilder } : {});
        return r.posted
          ? { posted: true, period: r.periodKey }
          : { posted: false, reason: r.reason, period: r.periodKey };
      });
    },
    {
      backoff: backoffStrategies.exponential({
        delay: digestBackoff.delay,
        maxRetries: digestBackoff.maxRetries,
      }),
    },
  );

  agenda.define(
    JOB.webhook,
    async (job: Job<{ deliveryId: string }>) => {
      const { deliveryId } = job.attrs.data;
      const attempt = (job.attrs.failCount ?? 0) + 1;
      await logged(
        JOB.webhook,
        { workspaceId: deliveryId.split(':').slice(0, 2).join(':'), deliveryId, attempt },
        async () => {
          const outcome = await deliverWebhook(core, deliveryId, {
            final: attempt > webhookBackoff.maxRetries,
          });
          return { outcome };
        },
      );
    },
    {
      backoff: backoffStrategies.exponential({
        delay: webhookBackoff.delay,
        maxRetries: webhookBackoff.maxRetries,
      }),
      removeOnComplete: true,
    },
  );

  // Running-job accounting for a graceful stop.
  let running = 0;
  let onIdle: (() => void) | undefined;
  agenda.on('start', () => {
    running += 1;
  });
  agenda.on('complete', () => {
    running -= 1;
    if (running <= 0) onIdle?.();
  });

  // Domain events: resolution replies and event-triggered rules, off the use case's path.
  const inflight = new Set<Promise<void>>();
  const handle = async (event: DomainEvent): Promise<void> => {
    try {
      if (event.type === 'settings.updated') {
        const ws = await store.getWorkspace(event.workspaceId);
        if (ws) await ensureDigestJob(ws);
        return;
      }
      await resolveAlerts(core, event);
      await fireRulesForEvent(core, port, event);
    } catch (err) {
      logger.error(
        { event: event.type, workspaceId: event.workspaceId, err: errorText(err) },
        'scheduler event handler failed',
      );
    }
  };
  const unsubscribe = core.deps.bus.subscribe((event) => {
    const p = handle(event).finally(() => inflight.delete(p));
    inflight.add(p);
  });

  await agenda.start();
  await everyOnce(agenda, intervalMs, JOB.stallScan);
  await everyOnce(agenda, intervalMs, JOB.taskReminder);
  for (const ws of await store.listWorkspaces()) await ensureDigestJob(ws);
  logger.info(
    { stallScanEveryMs: intervalMs, processEveryMs: opts.processEvery ?? 5000 },
    'scheduler started',
  );

  const settle = async () => {
    while (inflight.size) await Promise.allSettled([...inflight]);
  };

  let stopped = false;
  return {
    agenda,
    port,
    settle,
    ensureDigestJob,
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      await agenda.stop(false);
      if (running > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.drainTimeoutMs ?? 25_000);
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await settle();
      if (running <= 0) {
        // Agenda 6.2 can lock jobs in a queue fill that was in flight when stop() ran and never
        // release them (they would wait out the 10-minute lock). Nothing of ours runs any more:
        // release whatever is still locked under this instance's name.
        await new Promise((r) => setTimeout(r, 100));
        await jobsCol.updateMany(
          { lastModifiedBy: name, lockedAt: { $ne: null } },
          { $set: { lockedAt: null } },
        );
      }
      logger.info({ stillRunning: Math.max(0, running) }, 'scheduler stopped');
    },
  };
}

/** `agenda.every` for a single recurring job; a concurrent start of another instance wins the upsert race harmlessly. */
async function everyOnce(agenda: Agenda, intervalMs: number, name: string): Promise<void> {
  try {
    await agenda.every(intervalMs, name);
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    await agenda.every(intervalMs, name);
  }
}
