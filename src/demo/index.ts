/**
 * `--demo`: loads a realistic pipeline into the local console workspace through
 * the real use cases (createDeal, advanceDeal, winDeal, loseDeal, addNote) with
 * the context clock set to each historical step, so every StageChange, version
 * and note is what the app itself would have written. The use cases publish to
 * a private event bus: history replayed from months ago must not fire live
 * alerts, rules or notifications.
 *
 * Idempotent: deals carry externalId (and requestKey) `demo-<n>`; existing ones
 * are skipped, so loading twice adds nothing and an interrupted load resumes.
 * Replaying ~300 deals step by step takes ~20 s on the embedded store, so the
 * default writes the same documents in bulk (see bulk.ts).
 */
import type { Core } from '../app.js';
import type { Locale } from '../domain/types.js';
import { t } from '../i18n/index.js';
import { enterWorkspace, type AppDeps, type Ctx } from '../usecases/context.js';
import { addNote, advanceDeal, createDeal, loseDeal, winDeal } from '../usecases/deals.js';
import { EventBus } from '../usecases/events.js';
import { buildDemoDocs, isoDay } from './bulk.js';
import { planDemo, type DealPlan } from './plan.js';

export { planDemo, DEMO_DEALS } from './plan.js';

export interface DemoOptions {
  locale: Locale;
  /** "Now" of the demo (default: the app clock). */
  now?: Date;
  /** Where to say what happened; default stderr (stdout belongs to the chat). */
  report?: (line: string) => void;
  /** Fewer deals (tests). */
  deals?: number;
  /** How to write: bulk inserts (default) or every step through the use cases. */
  mode?: 'bulk' | 'usecases';
}

export interface DemoResult {
  /** Deals created by this call (0 when the demo was already loaded). */
  created: number;
  /** Demo deals in the workspace afterwards. */
  total: number;
  workspaceId: string;
  manager: string;
  reps: string[];
}

export class DemoLoadError extends Error {}

function must<T>(r: { ok: true; value: T } | { ok: false; error: unknown }, what: string): T {
  if (!r.ok) throw new DemoLoadError(`demo: ${what} failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

async function replayDeal(ctxFor: (userId: string, at: Date) => Ctx, plan: DealPlan): Promise<void> {
  const owner = (at: Date) => ctxFor(plan.ownerId, at);
  const first = owner(plan.createdAt);
  const tz = first.workspace.settings.timezone;
  const { deal } = must(
    await createDeal(first, {
      name: plan.name,
      company: plan.company,
      amount: String(plan.amount),
      source: plan.source,
      nextStep: { text: plan.nextStep.text, due: isoDay(plan.nextStep.due, tz) },
      createdAt: plan.createdAt,
      stageEnteredAt: plan.createdAt,
      externalId: plan.externalId,
      requestKey: plan.externalId,
    }),
    `create ${plan.externalId}`,
  );
  for (const step of plan.steps) {
    const ctx = owner(step.at);
    switch (step.kind) {
      case 'advance':
        must(
          await advanceDeal(ctx, deal.code, {
            stage: step.to,
            nextStep: { text: step.nextStep.text, due: isoDay(step.nextStep.due, tz) },
            ...(step.closeDate ? { closeDate: isoDay(step.closeDate, tz) } : {}),
            ...(step.bant ? { bant: step.bant } : {}),
          }),
          `advance ${plan.externalId} to ${step.to}`,
        );
        break;
      case 'won':
        must(await winDeal(ctx, deal.code), `win ${plan.externalId}`);
        break;
      case 'lost':
        must(
          await loseDeal(ctx, deal.code, { reason: step.reason, detail: step.detail }),
          `lose ${plan.externalId}`,
        );
        break;
      case 'note':
        must(
          await addNote(ctx, deal.code, { text: step.text, sourceKey: `${plan.externalId}:note` }),
          `note on ${plan.externalId}`,
        );
        break;
    }
  }
}

const DUPLICATE_KEY = 11000;

/** Inserts documents, ignoring ones already there (same deterministic _id or unique key). */
async function insertNew(
  collection: { insertMany(docs: Record<string, unknown>[], opts: { ordered: boolean }): Promise<unknown> },
  docs: Record<string, unknown>[],
) {
  if (docs.length === 0) return;
  try {
    await collection.insertMany(docs, { ordered: false });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: { code?: number }[] | { code?: number } }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
    if (list.length === 0 || list.some((e) => e.code !== DUPLICATE_KEY)) throw err;
  }
}

/**
 * Loads the demo pipeline into the console workspace (`console:local`), creating
 * the six demo people (one manager). Returns what it did.
 *
 * `mode: 'bulk'` (default) writes the documents the use cases would write in a
 * few bulk inserts (history first, deals last, deterministic ids: an interrupted
 * load completes on the next run); `'usecases'` replays every step through them.
 */
export async function loadDemo(core: Pick<Core, 'deps'>, opts: DemoOptions): Promise<DemoResult> {
  const report = opts.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = opts.now ?? core.deps.now();
  const plan = planDemo({ now, locale: opts.locale, ...(opts.deals ? { deals: opts.deals } : {}) });
  const quiet: AppDeps = { ...core.deps, bus: new EventBus(core.deps.logger) };
  const { store } = quiet;
  const manager = plan.people.find((p) => p.role === 'manager')!;
  const firstRep = plan.people.find((p) => p.role === 'rep')!;
  const contexts = new Map<string, Ctx>();
  for (const person of plan.people) {
    const ctx = await enterWorkspace(quiet, {
      platform: 'console',
      externalWorkspaceId: 'local',
      workspaceName: 'Local',
      userId: person.userId,
      displayName: person.displayName,
      locale: opts.locale,
    });
    // Whoever came first is admin; the demo's manager is a manager, its reps are reps.
    if (ctx.actor.role !== 'admin' && ctx.actor.role !== person.role) {
      const updated = await store.setRole(ctx.workspace.id, person.userId, person.role);
      if (updated) ctx.actor = updated;
    }
    contexts.set(person.userId, ctx);
  }
  const ws = contexts.get(manager.userId)!.workspace;
  const active = new Set(ws.settings.stages.filter((s) => s.active).map((s) => s.key));
  for (const key of ['lead', 'qualification', 'needs', 'proposal', 'negotiation', 'won', 'lost'])
    if (!active.has(key))
      throw new DemoLoadError(
        `demo: the workspace pipeline has no active stage "${key}"; the demo needs the default stages`,
      );
  const existing = new Set(
    (
      await store.models.Deal.find(
        { workspaceId: ws.id, externalId: { $in: plan.deals.map((d) => d.externalId) } },
        { externalId: 1 },
      ).lean()
    ).map((d) => d.externalId as string),
  );
  const missing = plan.deals.filter((d) => !existing.has(d.externalId));
  const params = {
    deals: plan.deals.length,
    reps: plan.people.length,
    manager: manager.userId,
    rep: firstRep.userId,
  };
  const result: DemoResult = {
    created: missing.length,
    total: plan.deals.length,
    workspaceId: ws.id,
    manager: manager.userId,
    reps: plan.people.filter((p) => p.role === 'rep').map((p) => p.userId),
  };
  if (missing.length === 0) {
    report(t(opts.locale, 'console.demo.already', params));
    report(t(opts.locale, 'console.demo.switchUser', params).replace(/`/g, ''));
    return result;
  }
  if ((opts.mode ?? 'bulk') === 'usecases') {
    const ctxFor = (userId: string, at: Date): Ctx => ({ ...contexts.get(userId)!, now: at });
    for (const deal of missing) await replayDeal(ctxFor, deal);
  } else {
    const seq = await store.models.Workspace.findOneAndUpdate(
      { _id: ws.id },
      { $inc: { dealSeq: missing.length } },
      { returnDocument: 'after', lean: true, projection: { dealSeq: 1 } },
    );
    if (!seq) throw new DemoLoadError(`demo: workspace ${ws.id} disappeared`);
    const docs = buildDemoDocs(ws, missing, seq.dealSeq - missing.length + 1, opts.locale);
    await insertNew(store.models.StageChange.collection, docs.changes);
    await insertNew(store.models.Note.collection, docs.notes);
    await insertNew(store.models.Deal.collection, docs.deals);
  }
  report(t(opts.locale, 'console.demo.loaded', params).replace(/`/g, ''));
  report(t(opts.locale, 'console.demo.switchUser', params).replace(/`/g, ''));
  return result;
}
