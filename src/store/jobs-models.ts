/**
 * The scheduler's own collections: alert records, digest claims, rule firings
 * and webhook deliveries. Unique indexes make "claim, then post" safe across
 * several bot instances sharing one database.
 */
import { Schema, type Connection, type Model } from 'mongoose';

const refSchema = new Schema({ channel: String, id: String }, { _id: false });

/** One stall episode of a deal; claimed (inserted) before the alert is posted. */
const alertSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    dealId: { type: String, required: true },
    episode: { type: String, required: true },
    /** `c:<channel>` or `u:<user>`. */
    target: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    /** The alert message (root of the deal's discussion thread); absent when summarised under the cap. */
    ref: { type: refSchema, default: undefined },
    summarised: { type: Boolean, default: false },
    postedAt: { type: Date, default: null },
    escalatedAt: { type: Date, default: null },
    resolvedAt: { type: Date, default: null },
    resolution: { type: String },
  },
  { versionKey: false },
);
alertSchema.index({ workspaceId: 1, dealId: 1, episode: 1 }, { unique: true });
alertSchema.index({ workspaceId: 1, dealId: 1, resolvedAt: 1 });

/** One pipeline-review digest per workspace and period. */
const digestSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    periodKey: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    ref: { type: refSchema, default: undefined },
    postedAt: { type: Date, default: null },
  },
  { versionKey: false },
);
digestSchema.index({ workspaceId: 1, periodKey: 1 }, { unique: true });

/** One firing of a rule on a deal (see domain/rules.ts firingKey). */
const ruleFiringSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    ruleId: { type: String, required: true },
    key: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
ruleFiringSchema.index({ workspaceId: 1, ruleId: 1, key: 1 }, { unique: true });

/** An outgoing webhook call and its attempts; the secret is never stored here. */
const webhookDeliverySchema = new Schema(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    ruleId: { type: String, required: true },
    url: { type: String, required: true },
    body: { type: String, required: true },
    status: { type: String, enum: ['pending', 'delivered', 'failed'], required: true },
    attempts: { type: Number, default: 0 },
    lastStatus: { type: Number, default: null },
    lastError: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
webhookDeliverySchema.index({ workspaceId: 1, ruleId: 1, createdAt: -1 });

export interface AlertDoc {
  workspaceId: string;
  dealId: string;
  episode: string;
  target: string;
  claimedAt: Date;
  ref?: { channel: string; id: string } | undefined;
  summarised: boolean;
  postedAt: Date | null;
  escalatedAt: Date | null;
  resolvedAt: Date | null;
  resolution?: string | undefined;
}

export interface DigestDoc {
  workspaceId: string;
  periodKey: string;
  claimedAt: Date;
  ref?: { channel: string; id: string } | undefined;
  postedAt: Date | null;
}

export interface RuleFiringDoc {
  workspaceId: string;
  ruleId: string;
  key: string;
  at: Date;
}

export interface WebhookDeliveryDoc {
  _id: string;
  workspaceId: string;
  ruleId: string;
  url: string;
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface JobsModels {
  Alert: Model<AlertDoc>;
  Digest: Model<DigestDoc>;
  RuleFiring: Model<RuleFiringDoc>;
  WebhookDelivery: Model<WebhookDeliveryDoc>;
}

const cache = new WeakMap<Connection, JobsModels>();

/** The scheduler's models on a connection (created once per connection). */
export function jobsModels(conn: Connection): JobsModels {
  let m = cache.get(conn);
  if (!m) {
    m = {
      Alert: conn.model<AlertDoc>('Alert', alertSchema, 'alerts'),
      Digest: conn.model<DigestDoc>('Digest', digestSchema, 'digests'),
      RuleFiring: conn.model<RuleFiringDoc>('RuleFiring', ruleFiringSchema, 'rule_firings'),
      WebhookDelivery: conn.model<WebhookDeliveryDoc>(
        'WebhookDelivery',
        webhookDeliverySchema,
        'webhook_deliveries',
      ),
    };
    cache.set(conn, m);
  }
  return m;
}

const indexed = new WeakMap<Connection, Promise<void>>();

/** Creates the unique indexes the claims rely on (once per connection). */
export function ensureJobsIndexes(conn: Connection): Promise<void> {
  let p = indexed.get(conn);
  if (!p) {
    const m = jobsModels(conn);
    p = Promise.all([
      m.Alert.createIndexes(),
      m.Digest.createIndexes(),
      m.RuleFiring.createIndexes(),
      m.WebhookDelivery.createIndexes(),
    ]).then(() => undefined);
    p.catch(() => indexed.delete(conn));
    indexed.set(conn, p);
  }
  return p;
}

/** The models, once their indexes exist: every claim goes through this. */
export async function readyJobsModels(conn: Connection): Promise<JobsModels> {
  await ensureJobsIndexes(conn);
  return jobsModels(conn);
}

export const isDuplicateKey = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
