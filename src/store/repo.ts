/**
 * Tenant-scoped repository over the Mongoose models. Every method takes the
 * workspace id and puts it in the filter; nothing here reads across workspaces.
 */
import { Types, type Connection } from 'mongoose';
import type { WorkspaceSettings } from '../domain/settings.js';
import type {
  Deal,
  DealStatus,
  Locale,
  Member,
  Note,
  NoteOrigin,
  Platform,
  Role,
  StageChange,
} from '../domain/types.js';
import { createModels, ensureIndexes, type Models } from './models.js';

export interface WorkspaceRecord {
  id: string;
  platform: Platform;
  externalId: string;
  name: string;
  settings: WorkspaceSettings;
  settingsVersion: number;
}

export interface DealQuery {
  status?: DealStatus | DealStatus[];
  ownerId?: string;
  stage?: string;
  /** Case-insensitive substring of name or company. */
  text?: string;
  /** Only deals whose stage was entered before this instant. */
  stageEnteredBefore?: Date;
  ids?: string[];
  /** Deals whose next step was due before this instant. */
  nextStepDueBefore?: Date;
  /** Open deals past their stage's threshold (cut-off per stage) and not snoozed at `now`. */
  stalled?: { now: Date; stages: { key: string; before: Date }[] };
}

type Lean<T> = T & { _id: unknown };

const DUPLICATE_KEY = 11000;
const isDuplicateKey = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: number }).code === DUPLICATE_KEY;

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function toDeal(d: Lean<Record<string, unknown>>): Deal {
  const doc = d as Record<string, unknown> & { _id: Types.ObjectId };
  const nextStep = doc.nextStep as { text?: string; dueAt?: Date | null } | undefined;
  const lostReason = doc.lostReason as { key?: string; text?: string } | undefined;
  return {
    id: String(doc._id),
    workspaceId: doc.workspaceId as string,
    code: doc.code as string,
    number: doc.number as number,
    name: doc.name as string,
    company: (doc.company as string) ?? '',
    amount: (doc.amount as number | null) ?? null,
    currency: doc.currency as string,
    ownerId: doc.ownerId as string,
    stage: doc.stage as string,
    stageEnteredAt: doc.stageEnteredAt as Date,
    status: doc.status as DealStatus,
    lostReason:
      lostReason && (lostReason.key || lostReason.text)
        ? { key: lostReason.key, text: lostReason.text }
        : undefined,
    nextStep: nextStep?.text ? { text: nextStep.text, dueAt: nextStep.dueAt ?? null } : undefined,
    source: (doc.source as string) ?? 'other',
    bant: { ...((doc.bant as object) ?? {}) },
    closeDate: (doc.closeDate as Date | null) ?? null,
    custom: { ...((doc.custom as object) ?? {}) },
    snoozedUntil: (doc.snoozedUntil as Date | null) ?? null,
    createdAt: doc.createdAt as Date,
    createdBy: doc.createdBy as string,
    closedAt: (doc.closedAt as Date | null) ?? null,
    updatedAt: doc.updatedAt as Date,
    version: doc.version as number,
    externalId: (doc.externalId as string | undefined) ?? undefined,
  };
}

function toStageChange(d: Record<string, unknown>): StageChange {
  return {
    id: d._id as string,
    workspaceId: d.workspaceId as string,
    dealId: d.dealId as string,
    from: (d.from as string | null) ?? null,
    to: d.to as string,
    at: d.at as Date,
    by: d.by as string,
    version: d.version as number,
    reason: (d.reason as string | undefined) ?? undefined,
  };
}

function toNote(d: Record<string, unknown>): Note {
  return {
    id: String(d._id),
    workspaceId: d.workspaceId as string,
    dealId: d.dealId as string,
    authorId: d.authorId as string,
    text: d.text as string,
    at: d.at as Date,
    origin: d.origin as NoteOrigin,
    permalink: (d.permalink as string | undefined) ?? undefined,
    dueAt: (d.dueAt as Date | undefined) ?? null,
    assigneeId: (d.assigneeId as string | undefined) ?? undefined,
  };
}

function toMember(d: Record<string, unknown>): Member {
  return {
    workspaceId: d.workspaceId as string,
    userId: d.userId as string,
    displayName: (d.displayName as string) ?? '',
    role: d.role as Role,
    locale: (d.locale as Locale | undefined) ?? undefined,
    email: (d.email as string | undefined) ?? undefined,
  };
}

/** Fields of a deal the use cases may set. */
export type DealPatch = Partial<
  Pick<
    Deal,
    | 'name'
    | 'company'
    | 'amount'
    | 'currency'
    | 'ownerId'
    | 'source'
    | 'bant'
    | 'closeDate'
    | 'custom'
    | 'nextStep'
    | 'snoozedUntil'
    | 'status'
    | 'lostReason'
    | 'closedAt'
  >
>;

export class Store {
  readonly models: Models;

  constructor(readonly conn: Connection) {
    this.models = createModels(conn);
  }

  async init(): Promise<void> {
    await ensureIndexes(this.models);
  }

  // ── workspaces ────────────────────────────────────────────────────────────
  async ensureWorkspace(input: {
    platform: Platform;
    externalId: string;
    name?: string;
    settings: WorkspaceSettings;
  }): Promise<WorkspaceRecord> {
    const id = `${input.platform}:${input.externalId}`;
    // Every request enters its workspace: a read, and the upsert only the first time.
    const found = await this.models.Workspace.findOne({ _id: id }).lean();
    if (found) return this.toWorkspace(found as unknown as Record<string, unknown>);
    const doc = await this.models.Workspace.findOneAndUpdate(
      { _id: id },
      {
        $setOnInsert: {
          platform: input.platform,
          externalId: input.externalId,
          name: input.name ?? '',
          settings: input.settings,
          dealSeq: 0,
          settingsVersion: 0,
        },
      },
      { upsert: true, returnDocument: 'after', lean: true },
    );
    return this.toWorkspace(doc as unknown as Record<string, unknown>);
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | undefined> {
    const doc = await this.models.Workspace.findOne({ _id: id }).lean();
    return doc ? this.toWorkspace(doc as unknown as Record<string, unknown>) : undefined;
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    const docs = await this.models.Workspace.find({}).sort({ _id: 1 }).lean();
    return docs.map((d) => this.toWorkspace(d as unknown as Record<string, unknown>));
  }

  /** Replaces the settings when nobody changed them since `expectedVersion`. */
  async saveSettings(
    id: string,
    settings: WorkspaceSettings,
    expectedVersion: number,
  ): Promise<WorkspaceRecord | undefined> {
    const doc = await this.models.Workspace.findOneAndUpdate(
      { _id: id, settingsVersion: expectedVersion },
      { $set: { settings }, $inc: { settingsVersion: 1 } },
      { returnDocument: 'after', lean: true },
    );
    return doc ? this.toWorkspace(doc as unknown as Record<string, unknown>) : undefined;
  }

  async nextDealNumber(workspaceId: string): Promise<number> {
    const doc = await this.models.Workspace.findOneAndUpdate(
      { _id: workspaceId },
      { $inc: { dealSeq: 1 } },
      { returnDocument: 'after', lean: true, projection: { dealSeq: 1 } },
    );
    if (!doc) throw new Error(`workspace ${workspaceId} does not exist`);
    return doc.dealSeq;
  }

  private toWorkspace(d: Record<string, unknown>): WorkspaceRecord {
    return {
      id: d._id as string,
      platform: d.platform as Platform,
      externalId: d.externalId as string,
      name: (d.name as string) ?? '',
      settings: d.settings as WorkspaceSettings,
      settingsVersion: (d.settingsVersion as number) ?? 0,
    };
  }

  // ── members ───────────────────────────────────────────────────────────────
  /** Returns the member, creating it on first sight; the first member of a workspace becomes admin. */
  async ensureMember(
    workspaceId: string,
    input: { userId: string; displayName?: string; locale?: Locale; email?: string; defaultRole: Role },
  ): Promise<Member> {
    const existing = await this.models.Member.findOne({ workspaceId, userId: input.userId }).lean();
    if (existing) {
      const changes: Record<string, string> = {};
      if (input.displayName && input.displayName !== existing.displayName)
        changes.displayName = input.displayName;
      if (input.locale && input.locale !== existing.locale) changes.locale = input.locale;
      if (input.email && input.email !== existing.email) changes.email = input.email;
      if (Object.keys(changes).length === 0) return toMember(existing as Record<string, unknown>);
      const updated = await this.models.Member.findOneAndUpdate(
        { workspaceId, userId: input.userId },
        { $set: changes },
        { returnDocument: 'after', lean: true },
      );
      return toMember(updated as Record<string, unknown>);
    }
    // The first member claims admin atomically on the workspace document, with their user id,
    // so a lost insert race or a failed insert can never leave the workspace without an admin.
    const claimed = await this.models.Workspace.updateOne(
      { _id: workspaceId, adminClaimed: { $ne: true } },
      { $set: { adminClaimed: true, adminUserId: input.userId } },
    );
    let role: Role = input.defaultRole;
    if (claimed.modifiedCount === 1) role = 'admin';
    else {
      const ws = await this.models.Workspace.findOne({ _id: workspaceId }, { adminUserId: 1 }).lean();
      if (ws?.adminUserId === input.userId) role = 'admin';
    }
    try {
      const doc = await this.models.Member.create({
        workspaceId,
        userId: input.userId,
        displayName: input.displayName ?? '',
        role,
        locale: input.locale,
        email: input.email,
      });
      return toMember(doc.toObject() as Record<string, unknown>);
    } catch (err) {
      if (!isDuplicateKey(err)) {
        if (claimed.modifiedCount === 1)
          await this.models.Workspace.updateOne(
            { _id: workspaceId, adminUserId: input.userId },
            { $set: { adminClaimed: false }, $unset: { adminUserId: '' } },
          );
        throw err;
      }
      // A concurrent first request of the same user created the member: it is the admin if the claim is theirs.
      const filter = { workspaceId, userId: input.userId };
      const doc =
        role === 'admin'
          ? await this.models.Member.findOneAndUpdate(
              filter,
              { $set: { role: 'admin' } },
              { returnDocument: 'after', lean: true },
            )
          : await this.models.Member.findOne(filter).lean();
      return toMember(doc as Record<string, unknown>);
    }
  }

  async getMember(workspaceId: string, userId: string): Promise<Member | undefined> {
    const doc = await this.models.Member.findOne({ workspaceId, userId }).lean();
    return doc ? toMember(doc as Record<string, unknown>) : undefined;
  }

  async listMembers(workspaceId: string, roles?: Role[]): Promise<Member[]> {
    const filter: Record<string, unknown> = { workspaceId };
    if (roles) filter.role = { $in: roles };
    const docs = await this.models.Member.find(filter).sort({ userId: 1 }).lean();
    return docs.map((d) => toMember(d as Record<string, unknown>));
  }

  async setRole(workspaceId: string, userId: string, role: Role): Promise<Member | undefined> {
    const doc = await this.models.Member.findOneAndUpdate(
      { workspaceId, userId },
      { $set: { role } },
      { returnDocument: 'after', lean: true },
    );
    return doc ? toMember(doc as Record<string, unknown>) : undefined;
  }

  // ── deals ─────────────────────────────────────────────────────────────────
  /**
   * Inserts a deal with its first StageChange. With a `requestKey`, a repeated
   * request returns the deal the first one created (`created: false`).
   */
  async insertDeal(
    deal: Omit<Deal, 'id'>,
    opts: { requestKey?: string | undefined } = {},
  ): Promise<{ deal: Deal; created: boolean }> {
    const _id = new Types.ObjectId();
    const change = {
      _id: `${String(_id)}:${deal.version}`,
      workspaceId: deal.workspaceId,
      dealId: String(_id),
      from: null,
      to: deal.stage,
      at: deal.stageEnteredAt,
      by: deal.createdBy,
      version: deal.version,
    };
    try {
      await this.models.Deal.collection.insertOne({
        _id,
        ...stripUndefined(deal),
        ...(opts.requestKey ? { requestKey: opts.requestKey } : {}),
        pendingChange: change,
      });
    } catch (err) {
      if (opts.requestKey && isDuplicateKey(err)) {
        const existing = await this.models.Deal.findOne({
          workspaceId: deal.workspaceId,
          requestKey: opts.requestKey,
        }).lean();
        if (existing) return { deal: toDeal(existing as Lean<Record<string, unknown>>), created: false };
      }
      throw err;
    }
    await this.commitChange(deal.workspaceId, String(_id), change);
    return { deal: { ...deal, id: String(_id) }, created: true };
  }

  async getDealByNumber(workspaceId: string, number: number): Promise<Deal | undefined> {
    const doc = await this.models.Deal.findOne({ workspaceId, number }).lean();
    return doc ? this.repairOnRead(doc as Lean<Record<string, unknown>>) : undefined;
  }

  async getDealById(workspaceId: string, id: string): Promise<Deal | undefined> {
    if (!Types.ObjectId.isValid(id)) return undefined;
    const doc = await this.models.Deal.findOne({ workspaceId, _id: new Types.ObjectId(id) }).lean();
    return doc ? this.repairOnRead(doc as Lean<Record<string, unknown>>) : undefined;
  }

  async getDealByExternalId(workspaceId: string, externalId: string): Promise<Deal | undefined> {
    const doc = await this.models.Deal.findOne({ workspaceId, externalId }).lean();
    return doc ? toDeal(doc as Lean<Record<string, unknown>>) : undefined;
  }

  /** Existing deal numbers closest to `number`, for "did you mean" suggestions. */
  async nearbyDealNumbers(workspaceId: string, number: number, count = 3): Promise<number[]> {
    const [below, above] = await Promise.all([
      this.models.Deal.find({ workspaceId, number: { $lt: number } }, { number: 1 })
        .sort({ number: -1 })
        .limit(count)
        .lean(),
      this.models.Deal.find({ workspaceId, number: { $gt: number } }, { number: 1 })
        .sort({ number: 1 })
        .limit(count)
        .lean(),
    ]);
    return [...below, ...above]
      .map((d) => d.number)
      .sort((a, b) => Math.abs(a - number) - Math.abs(b - number) || a - b)
      .slice(0, count);
  }

  async listDeals(
    workspaceId: string,
    q: DealQuery,
    page: { limit: number; skip?: number; sort?: Record<string, 1 | -1> },
  ): Promise<{ deals: Deal[]; total: number }> {
    const filter: Record<string, unknown> = { workspaceId };
    if (q.status) filter.status = Array.isArray(q.status) ? { $in: q.status } : q.status;
    if (q.ownerId) filter.ownerId = q.ownerId;
    if (q.stage) filter.stage = q.stage;
    if (q.stageEnteredBefore) filter.stageEnteredAt = { $lt: q.stageEnteredBefore };
    if (q.nextStepDueBefore) filter['nextStep.dueAt'] = { $lt: q.nextStepDueBefore };
    if (q.ids)
      filter._id = { $in: q.ids.filter((i) => Types.ObjectId.isValid(i)).map((i) => new Types.ObjectId(i)) };
    const and: Record<string, unknown>[] = [];
    if (q.text) {
      const re = new RegExp(escapeRegex(q.text), 'i');
      and.push({ $or: [{ name: re }, { company: re }] });
    }
    if (q.stalled) {
      and.push({ $or: q.stalled.stages.map((s) => ({ stage: s.key, stageEnteredAt: { $lt: s.before } })) });
      and.push({ $or: [{ snoozedUntil: null }, { snoozedUntil: { $lte: q.stalled.now } }] });
      if (q.stalled.stages.length === 0) return { deals: [], total: 0 };
    }
    if (and.length) filter.$and = and;
    const [docs, total] = await Promise.all([
      this.models.Deal.find(filter)
        .sort(page.sort ?? { number: 1 })
        .skip(page.skip ?? 0)
        .limit(page.limit)
        .lean(),
      this.models.Deal.countDocuments(filter),
    ]);
    return { deals: docs.map((d) => toDeal(d as Lean<Record<string, unknown>>)), total };
  }

  /**
   * Conditional update: applies `patch` only if the deal is still at `expectedVersion`.
   * Returns undefined on a version mismatch (a concurrent change won).
   */
  async updateDeal(
    workspaceId: string,
    id: string,
    expectedVersion: number,
    patch: DealPatch,
    now: Date,
  ): Promise<Deal | undefined> {
    const { set, unset } = splitPatch(patch);
    const doc = await this.models.Deal.findOneAndUpdate(
      { workspaceId, _id: new Types.ObjectId(id), version: expectedVersion },
      { $set: { ...set, updatedAt: now }, $inc: { version: 1 }, ...(unset ? { $unset: unset } : {}) },
      { returnDocument: 'after', lean: true },
    );
    return doc ? toDeal(doc as Lean<Record<string, unknown>>) : undefined;
  }

  /**
   * Moves a deal to another stage and logs the StageChange. The deal update is
   * conditional on (stage, version), so a concurrent second move fails instead of
   * overwriting. The change is written on the deal first (`pendingChange`) and then
   * copied to the log under a deterministic id, so a crash in between is repaired
   * idempotently by `repairPendingChanges` or on the next read.
   */
  async moveDeal(
    workspaceId: string,
    deal: Deal,
    to: string,
    by: string,
    now: Date,
    patch: DealPatch,
    reason?: string,
  ): Promise<Deal | undefined> {
    const version = deal.version + 1;
    const change = {
      _id: `${deal.id}:${version}`,
      workspaceId,
      dealId: deal.id,
      from: deal.stage,
      to,
      at: now,
      by,
      version,
      ...(reason ? { reason } : {}),
    };
    const { set, unset } = splitPatch(patch);
    const doc = await this.models.Deal.findOneAndUpdate(
      { workspaceId, _id: new Types.ObjectId(deal.id), version: deal.version, stage: deal.stage },
      {
        $set: { ...set, stage: to, stageEnteredAt: now, updatedAt: now, pendingChange: change },
        $inc: { version: 1 },
        ...(unset ? { $unset: unset } : {}),
      },
      { returnDocument: 'after', lean: true },
    );
    if (!doc) return undefined;
    await this.commitChange(workspaceId, deal.id, change);
    return toDeal(doc as Lean<Record<string, unknown>>);
  }

  private async commitChange(
    workspaceId: string,
    dealId: string,
    change: { _id: string } & Record<string, unknown>,
  ) {
    await this.models.StageChange.updateOne({ _id: change._id }, { $setOnInsert: change }, { upsert: true });
    await this.models.Deal.updateOne(
      { workspaceId, _id: new Types.ObjectId(dealId), 'pendingChange._id': change._id },
      { $unset: { pendingChange: '' } },
    );
  }

  private async repairOnRead(doc: Lean<Record<string, unknown>>): Promise<Deal> {
    const pending = doc.pendingChange as ({ _id: string } & Record<string, unknown>) | undefined;
    if (pending) await this.commitChange(doc.workspaceId as string, String(doc._id), pending);
    return toDeal(doc);
  }

  /** Copies every pending StageChange to the log (after a crash). Returns how many were repaired. */
  async repairPendingChanges(workspaceId?: string): Promise<number> {
    const filter: Record<string, unknown> = { pendingChange: { $exists: true } };
    if (workspaceId) filter.workspaceId = workspaceId;
    const docs = await this.models.Deal.find(filter, { workspaceId: 1, pendingChange: 1 }).lean();
    for (const d of docs) {
      await this.commitChange(
        d.workspaceId,
        String(d._id),
        d.pendingChange as { _id: string } & Record<string, unknown>,
      );
    }
    return docs.length;
  }

  async stageChanges(workspaceId: string, dealId: string): Promise<StageChange[]> {
    const docs = await this.models.StageChange.find({ workspaceId, dealId })
      .sort({ at: 1, version: 1 })
      .lean();
    return docs.map((d) => toStageChange(d as unknown as Record<string, unknown>));
  }

  // ── notes ─────────────────────────────────────────────────────────────────
  /** Adds a note; with a `sourceKey` (message id), a redelivery returns the first note. */
  async addNote(
    note: Omit<Note, 'id'> & { sourceKey?: string | undefined },
  ): Promise<{ note: Note; created: boolean }> {
    try {
      const doc = await this.models.Note.create(stripUndefined(note));
      return { note: toNote(doc.toObject() as Record<string, unknown>), created: true };
    } catch (err) {
      if (note.sourceKey && isDuplicateKey(err)) {
        const existing = await this.models.Note.findOne({
          workspaceId: note.workspaceId,
          sourceKey: note.sourceKey,
        }).lean();
        if (existing) return { note: toNote(existing as Record<string, unknown>), created: false };
      }
      throw err;
    }
  }

  // ── threads ───────────────────────────────────────────────────────────────
  /** Remembers that replies under this message are about `dealId`. Idempotent. */
  async linkThread(
    workspaceId: string,
    ref: { channel: string; id: string },
    dealId: string,
    kind: ThreadKind,
    at: Date,
  ) {
    await this.models.Thread.updateOne(
      { workspaceId, channel: ref.channel, messageId: ref.id },
      { $setOnInsert: { dealId, kind, at } },
      { upsert: true },
    );
  }

  async dealIdForThread(
    workspaceId: string,
    channel: string,
    messageId: string,
  ): Promise<string | undefined> {
    const doc = await this.models.Thread.findOne({ workspaceId, channel, messageId }).lean();
    return doc?.dealId;
  }

  /** The newest thread of a kind about a deal (e.g. its current alert thread). */
  async latestThread(workspaceId: string, dealId: string, kind: ThreadKind) {
    const doc = await this.models.Thread.findOne({ workspaceId, dealId, kind }).sort({ at: -1 }).lean();
    return doc ? { channel: doc.channel, id: doc.messageId } : undefined;
  }

  async listNotes(workspaceId: string, dealId: string, limit = 5): Promise<Note[]> {
    const docs = await this.models.Note.find({ workspaceId, dealId }).sort({ at: -1 }).limit(limit).lean();
    return docs.map((d) => toNote(d as Record<string, unknown>));
  }
}

export type ThreadKind = 'card' | 'confirmation' | 'alert' | 'digest';

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function splitPatch(patch: DealPatch): { set: Record<string, unknown>; unset?: Record<string, ''> } {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) unset[k] = '';
    else set[k] = v;
  }
  return Object.keys(unset).length ? { set, unset } : { set };
}

export async function openStore(conn: Connection): Promise<Store> {
  const store = new Store(conn);
  await store.init();
  return store;
}
