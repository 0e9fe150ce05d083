/** Mongoose models. Every collection carries `workspaceId`; every index starts with it. */
import { Schema, type Connection, type InferSchemaType } from 'mongoose';

const workspaceSchema = new Schema(
  {
    _id: { type: String, required: true },
    platform: { type: String, required: true },
    externalId: { type: String, required: true },
    name: { type: String, default: '' },
    settings: { type: Schema.Types.Mixed, required: true },
    dealSeq: { type: Number, default: 0 },
    settingsVersion: { type: Number, default: 0 },
    adminClaimed: { type: Boolean, default: false },
    /** The user whose first request claimed admin (see Store.ensureMember). */
    adminUserId: { type: String },
  },
  { timestamps: true, minimize: false },
);

const memberSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    userId: { type: String, required: true },
    displayName: { type: String, default: '' },
    role: { type: String, enum: ['rep', 'manager', 'admin'], required: true },
    locale: { type: String },
    email: { type: String },
  },
  { timestamps: true },
);
memberSchema.index({ workspaceId: 1, userId: 1 }, { unique: true });

const dealSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    number: { type: Number, required: true },
    code: { type: String, required: true },
    name: { type: String, required: true },
    company: { type: String, default: '' },
    amount: { type: Number, default: null },
    currency: { type: String, required: true },
    ownerId: { type: String, required: true },
    stage: { type: String, required: true },
    stageEnteredAt: { type: Date, required: true },
    status: { type: String, enum: ['open', 'won', 'lost'], required: true },
    lostReason: { key: String, text: String },
    nextStep: { text: String, dueAt: Date },
    source: { type: String, default: 'other' },
    bant: { budget: String, authority: String, need: String, timeline: String },
    closeDate: { type: Date, default: null },
    custom: { type: Schema.Types.Mixed, default: {} },
    snoozedUntil: { type: Date, default: null },
    createdBy: { type: String, required: true },
    closedAt: { type: Date, default: null },
    version: { type: Number, required: true, default: 1 },
    /** Idempotency key of the request that created the deal (Slack view id, Feishu event id …). */
    requestKey: { type: String },
    externalId: { type: String },
    /** Written with the stage update; cleared once the StageChange is stored (crash repair). */
    pendingChange: { type: Schema.Types.Mixed, default: undefined },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { minimize: false, timestamps: false },
);
dealSchema.index({ workspaceId: 1, number: 1 }, { unique: true });
dealSchema.index(
  { workspaceId: 1, requestKey: 1 },
  { unique: true, partialFilterExpression: { requestKey: { $type: 'string' } } },
);
dealSchema.index(
  { workspaceId: 1, externalId: 1 },
  { unique: true, partialFilterExpression: { externalId: { $type: 'string' } } },
);
dealSchema.index({ workspaceId: 1, status: 1, stage: 1 });
dealSchema.index({ workspaceId: 1, ownerId: 1, status: 1 });
dealSchema.index({ workspaceId: 1, createdAt: 1 });
dealSchema.index({ workspaceId: 1, pendingChange: 1 }, { sparse: true });

const stageChangeSchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    dealId: { type: String, required: true },
    from: { type: String, default: null },
    to: { type: String, required: true },
    at: { type: Date, required: true },
    by: { type: String, required: true },
    version: { type: Number, required: true },
    reason: { type: String },
  },
  { versionKey: false },
);
stageChangeSchema.index({ workspaceId: 1, at: 1 });
stageChangeSchema.index({ workspaceId: 1, dealId: 1, at: 1 });

const noteSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    dealId: { type: String, required: true },
    authorId: { type: String, required: true },
    text: { type: String, required: true },
    at: { type: Date, required: true },
    origin: { type: String, required: true },
    permalink: { type: String },
    /** Idempotency key (message ts, Feishu message_id, request id). */
    sourceKey: { type: String },
    dueAt: { type: Date },
    assigneeId: { type: String },
    remindedAt: { type: Date },
  },
  { versionKey: false },
);
noteSchema.index({ workspaceId: 1, dealId: 1, at: -1 });
noteSchema.index(
  { workspaceId: 1, sourceKey: 1 },
  { unique: true, partialFilterExpression: { sourceKey: { $type: 'string' } } },
);
noteSchema.index({ workspaceId: 1, dueAt: 1 }, { partialFilterExpression: { dueAt: { $type: 'date' } } });

/** Messages about a deal whose thread replies become notes (cards, confirmations, alerts, digest lines). */
const threadSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    channel: { type: String, required: true },
    messageId: { type: String, required: true },
    dealId: { type: String, required: true },
    kind: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
threadSchema.index({ workspaceId: 1, channel: 1, messageId: 1 }, { unique: true });
threadSchema.index({ workspaceId: 1, dealId: 1, kind: 1, at: -1 });

export type WorkspaceDoc = InferSchemaType<typeof workspaceSchema>;
export type MemberDoc = InferSchemaType<typeof memberSchema>;
export type DealDoc = InferSchemaType<typeof dealSchema>;
export type StageChangeDoc = InferSchemaType<typeof stageChangeSchema>;
export type NoteDoc = InferSchemaType<typeof noteSchema>;

export type Models = ReturnType<typeof createModels>;

export function createModels(conn: Connection) {
  return {
    Workspace: conn.model('Workspace', workspaceSchema, 'workspaces'),
    Member: conn.model('Member', memberSchema, 'members'),
    Deal: conn.model('Deal', dealSchema, 'deals'),
    StageChange: conn.model('StageChange', stageChangeSchema, 'stage_changes'),
    Note: conn.model('Note', noteSchema, 'notes'),
    Thread: conn.model('Thread', threadSchema, 'threads'),
  };
}

export async function ensureIndexes(models: Models): Promise<void> {
  const all: { createIndexes(): Promise<unknown> }[] = Object.values(models);
  await Promise.all(all.map((m) => m.createIndexes()));
}
