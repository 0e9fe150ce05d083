/**
 * The notifier port in the terminal: posts print as "#channel ▸ msg 3" blocks,
 * DMs as "✉ @user ▸ msg 4", thread replies as "↳ thread msg 3 ▸ msg 5". Ids
 * increase per session and carry a run tag (`<tag>-<n>`) so thread links stored
 * in the database by an earlier session never collide with this one's; users
 * type the short number (`/reply 3 …`).
 */
import { randomBytes } from 'node:crypto';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import type { RichAction, RichMessage } from '../../presenters/rich.js';
import type { WorkspaceRecord } from '../../store/repo.js';
import type { Destination, MessageRef, Notifier } from '../../usecases/notifier.js';
import { renderMessage, safeText } from './render.js';

export interface ConsoleNotifierOptions {
  /** The reader's language for the console's own chrome (headers, choices). */
  locale: () => Locale;
  outDir: string;
  color?: boolean;
  /** Prints a finished block; `actions` are the numbered buttons it shows. */
  print: (text: string, actions: RichAction[]) => void;
  /** Run tag for message ids; default: the start time in base 36. */
  runTag?: string;
}

export interface PostedMessage {
  ref: MessageRef;
  /** The short number users type. */
  n: number;
  /** The thread root, for replies. */
  root?: MessageRef;
}

const indent = (text: string, by: number): string =>
  text
    .split('\n')
    .map((l) => (l ? ' '.repeat(by) + l : l))
    .join('\n');

export class ConsoleNotifier implements Notifier {
  private seq = 0;
  private readonly byId = new Map<string, PostedMessage>();
  readonly runTag: string;
  /** Default channel of the local workspace (where team-visible outcomes go). */
  static readonly CHANNEL = 'general';

  constructor(private readonly opts: ConsoleNotifierOptions) {
    // Unique per session: message refs and request keys must never repeat across runs.
    this.runTag = opts.runTag ?? `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  }

  private next(channel: string, root?: MessageRef): PostedMessage {
    const n = ++this.seq;
    const posted: PostedMessage = {
      ref: { channel, id: `${this.runTag}-${n}` },
      n,
      ...(root ? { root } : {}),
    };
    this.byId.set(posted.ref.id, posted);
    return posted;
  }

  /** Finds a message of this session by its short number or full id. */
  find(idOrNumber: string): PostedMessage | undefined {
    const s = idOrNumber.trim().replace(/^#/, '');
    if (/^\d+$/.test(s)) return this.byId.get(`${this.runTag}-${Number(s)}`);
    return this.byId.get(s);
  }

  label(ref: MessageRef): string {
    const n = this.byId.get(ref.id)?.n;
    return n === undefined ? safeText(ref.id) : t(this.opts.locale(), 'console.msgId', { n });
  }

  private async print(head: string, message: RichMessage, depth: number): Promise<void> {
    const r = await renderMessage(message, {
      locale: this.opts.locale(),
      outDir: this.opts.outDir,
      color: this.opts.color ?? false,
    });
    this.opts.print(`${indent(head, depth - 2)}\n${indent(r.text, depth)}`, r.actions);
  }

  async post(_workspace: WorkspaceRecord, to: Destination, message: RichMessage): Promise<MessageRef> {
    const channel = 'channel' in to ? to.channel : `@${to.user}`;
    const posted = this.next(channel);
    const L = this.opts.locale();
    const id = this.label(posted.ref);
    const head =
      'channel' in to
        ? t(L, 'console.channel', { channel: safeText(to.channel.replace(/^#/, '')), id })
        : t(L, 'console.dm', { user: safeText(to.user), id });
    await this.print(head, message, 2);
    return posted.ref;
  }

  async reply(_workspace: WorkspaceRecord, root: MessageRef, message: RichMessage): Promise<MessageRef> {
    const posted = this.next(root.channel, root);
    const head = t(this.opts.locale(), 'console.thread', {
      root: this.label(root),
      id: this.label(posted.ref),
    });
    await this.print(head, message, 4);
    return posted.ref;
  }

  async update(_workspace: WorkspaceRecord, ref: MessageRef, message: RichMessage): Promise<void> {
    await this.print(t(this.opts.locale(), 'console.updated', { id: this.label(ref) }), message, 2);
  }
}
