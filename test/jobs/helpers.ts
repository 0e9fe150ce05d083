/** Test helpers for the scheduler: a recording notifier, a controllable clock and a workspace with a team. */
import { createCore, type Core } from '../../src/app.js';
import { configSchema } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import type { RichMessage, RichText } from '../../src/presenters/rich.js';
import type { WorkspaceRecord } from '../../src/store/repo.js';
import { enterWorkspace, type Ctx } from '../../src/usecases/context.js';
import type { Destination, MessageRef, Notifier } from '../../src/usecases/notifier.js';
import { setMemberRole, updateSettings, type SettingsPatch } from '../../src/usecases/settings.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';

export interface Sent {
  kind: 'post' | 'reply' | 'update';
  workspaceId: string;
  /** post: the destination; reply/update: the root / updated message. */
  to: Destination | MessageRef;
  message: RichMessage;
  ref?: MessageRef;
  instance: string;
}

/** Records everything the bot sends and returns fake refs (`<channel or DM-user>` + a sequence number). */
export class RecordingNotifier implements Notifier {
  readonly sent: Sent[] = [];
  private seq = 0;
  /** Fails the next n calls (posts and replies) with a platform-like error. */
  failNext = 0;

  constructor(readonly instance = 'a') {}

  private maybeFail(): void {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('ratelimited');
    }
  }

  async post(ws: WorkspaceRecord, to: Destination, message: RichMessage): Promise<MessageRef> {
    this.maybeFail();
    const ref = {
      channel: 'channel' in to ? to.channel : `DM-${to.user}`,
      id: `${this.instance}.${++this.seq}`,
    };
    this.sent.push({ kind: 'post', workspaceId: ws.id, to, message, ref, instance: this.instance });
    return ref;
  }

  async reply(ws: WorkspaceRecord, root: MessageRef, message: RichMessage): Promise<MessageRef> {
    this.maybeFail();
    const ref = { channel: root.channel, id: `${this.instance}.${++this.seq}` };
    this.sent.push({ kind: 'reply', workspaceId: ws.id, to: root, message, ref, instance: this.instance });
    return ref;
  }

  async update(ws: WorkspaceRecord, ref: MessageRef, message: RichMessage): Promise<void> {
    this.sent.push({ kind: 'update', workspaceId: ws.id, to: ref, message, instance: this.instance });
  }

  posts = () => this.sent.filter((s) => s.kind === 'post');
  replies = () => this.sent.filter((s) => s.kind === 'reply');
  updates = () => this.sent.filter((s) => s.kind === 'update');
  clear = () => this.sent.splice(0);
}

/** Flattens rich text the way a reader sees it, mentions as `@id`. */
export const textOf = (text: RichText): string =>
  text
    .map((s) =>
      typeof s === 'string'
        ? s
        : 'mention' in s
          ? `@${s.mention}`
          : 'link' in s
            ? s.text
            : Object.values(s)[0],
    )
    .join('');

/** Everything a message says, one line per block, for readable assertions. */
export function linesOf(m: RichMessage): string[] {
  const out: string[] = [];
  for (const b of m.blocks) {
    if (b.type === 'header') out.push(b.text);
    else if (b.type === 'text' || b.type === 'context') out.push(textOf(b.text));
    else if (b.type === 'fields') for (const f of b.fields) out.push(`${f.label}: ${textOf(f.value)}`);
    else if (b.type === 'list') for (const i of b.items) out.push(`• ${textOf(i)}`);
    else if (b.type === 'actions')
      out.push(b.actions.map((a) => `[${a.label}|${a.kind}:${a.value}]`).join(' '));
  }
  return out;
}

export const testConfig = configSchema.parse({ DEFAULT_TIMEZONE: 'UTC' });

export interface Clock {
  now: Date;
  advance(ms: number): void;
}

export function clockAt(iso: string): Clock {
  const c: Clock = {
    now: new Date(iso),
    advance(ms: number) {
      c.now = new Date(c.now.getTime() + ms);
    },
  };
  return c;
}

export async function testCore(prefix: string, clock?: Clock, dbName = uniqueDbName(prefix)): Promise<Core> {
  return createCore({
    config: testConfig,
    logger: silentLogger,
    uri: testMongoUri(),
    dbName,
    ...(clock ? { now: () => clock.now } : {}),
  });
}

export const DAY = 86_400_000;

/** Settings with no quiet time, so tests at any clock time post. */
export const ALWAYS_ON = { quietHours: { start: '00:00', end: '00:00', weekends: false } };

export interface Team {
  admin: Ctx;
  /** Context of a user at the current clock time. */
  as(userId: string): Promise<Ctx>;
  workspace(): Promise<WorkspaceRecord>;
}

/** A Slack workspace with an admin `U-ADMIN`, a manager `U-MGR` and reps `U-ANN`, `U-BOB`. */
export async function team(core: Core, external = 'T1', settings: SettingsPatch = {}): Promise<Team> {
  const who = (userId: string) => ({
    platform: 'slack' as const,
    externalWorkspaceId: external,
    userId,
    displayName: userId,
  });
  const admin = await enterWorkspace(core.deps, who('U-ADMIN'));
  for (const u of ['U-MGR', 'U-ANN', 'U-BOB']) await enterWorkspace(core.deps, who(u));
  const r = await setMemberRole(admin, 'U-MGR', 'manager');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  const s = await updateSettings(admin, {
    alertChannel: 'C-ALERTS',
    reviewChannel: 'C-REVIEW',
    ...ALWAYS_ON,
    ...settings,
  });
  if (!s.ok) throw new Error(JSON.stringify(s.error));
  return {
    admin,
    as: (userId) => enterWorkspace(core.deps, who(userId)),
    workspace: async () => (await core.deps.store.getWorkspace(admin.workspace.id))!,
  };
}
