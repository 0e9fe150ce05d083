/**
 * The console surface: a chat in the terminal over the same interaction core,
 * use cases and notifier port as Slack and Feishu (like Hubot's shell adapter).
 * The workspace is platform `console`, externalWorkspaceId `local`; you are the
 * `--user` name (default: the OS user). Team-visible outcomes are posted to
 * `#general` through the console notifier; forms become prompts; buttons become
 * numbered choices; charts are written under DATA_DIR/out/.
 *
 * Console-only commands: a number presses that button of the last message;
 * `/reply <msg> text` replies in a message's thread (a note when the message is
 * about a deal); `/whoami`; `/help`; `/quit`.
 *
 * `--exec` runs its commands in order, prints their output and returns 1 when
 * any of them failed (see errors.ts), else 0. Interactive mode returns 0 at the
 * end of input.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Core } from '../../app.js';
import type { Config } from '../../config.js';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import { errorMessage, runAction, runCommand, submitForm, unexpected } from '../../interactions/index.js';
import { parseCommand } from '../../interactions/commands.js';
import { exportFiles, importOutcome } from '../../interactions/transfer.js';
import type { FormSpec, Outcome } from '../../interactions/types.js';
import type { Logger } from '../../logger.js';
import type { RichAction, RichMessage } from '../../presenters/rich.js';
import { enterWorkspace, type Ctx, type Identity } from '../../usecases/context.js';
import { noteFromThreadReply, rememberThread } from '../../usecases/deals.js';
import { isErrorOutcome } from './errors.js';
import { FormPrompter } from './forms.js';
import { ConsoleNotifier } from './notifier.js';
import { renderMessage, safeText } from './render.js';
import { INTERRUPT, Terminal } from './terminal.js';

export { ConsoleNotifier } from './notifier.js';
export { renderMessage } from './render.js';

export interface ConsoleCli {
  user?: string | undefined;
  locale?: Locale | undefined;
  exec: string[];
}

export interface ConsoleIo {
  input: Readable;
  output: Writable;
  /** Interactive terminal; default: whether input and output are TTYs. */
  tty?: boolean;
}

/** The OS user name, or `me`. */
export function defaultUser(): string {
  try {
    const name = userInfo().username.trim();
    return name && /^[\p{L}\p{N}_.-]+$/u.test(name) ? name : 'me';
  } catch {
    return 'me';
  }
}

/** `@alice` → `<@alice>` (not inside e-mail addresses); the interaction core reads mention tokens. */
export function normaliseMentions(line: string): string {
  return line.replace(/(^|[\s(（,，:：])@([\p{L}\p{N}_](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}_])?)/gu, '$1<@$2>');
}

const isTty = (s: unknown): boolean => Boolean((s as { isTTY?: boolean }).isTTY);

export class ConsoleSession {
  readonly term: Terminal;
  readonly notifier: ConsoleNotifier;
  readonly userId: string;
  private locale: Locale;
  private choices: RichAction[] = [];
  private seq = 0;
  private readonly color: boolean;
  private readonly outDir: string;

  constructor(
    private readonly core: Core,
    config: Pick<Config, 'DATA_DIR' | 'DEFAULT_LOCALE'>,
    private readonly logger: Logger,
    private readonly cli: ConsoleCli,
    io: ConsoleIo,
  ) {
    const tty = io.tty ?? (isTty(io.input) && isTty(io.output));
    this.term = new Terminal({ input: io.input, output: io.output, tty });
    this.color = tty && !process.env.NO_COLOR;
    this.userId = cli.user?.trim().replace(/^@/, '') || defaultUser();
    this.locale = cli.locale ?? (config.DEFAULT_LOCALE as Locale);
    this.outDir = path.resolve(config.DATA_DIR, 'out');
    this.notifier = new ConsoleNotifier({
      locale: () => this.locale,
      outDir: this.outDir,
      color: this.color,
      print: (text, actions) => this.show(text, actions),
    });
  }

  private identity(): Identity {
    return {
      platform: 'console',
      externalWorkspaceId: 'local',
      workspaceName: 'Local',
      userId: this.userId,
      displayName: this.userId,
      ...(this.cli.locale ? { locale: this.cli.locale } : {}),
    };
  }

  async context(): Promise<Ctx> {
    const ctx = await enterWorkspace(this.core.deps, this.identity());
    this.locale = ctx.locale;
    return ctx;
  }

  private show(text: string, actions: RichAction[]): void {
    if (actions.length) this.choices = actions;
    this.term.print(text);
  }

  private async printEphemeral(message: RichMessage): Promise<void> {
    const r = await renderMessage(message, { locale: this.locale, outDir: this.outDir, color: this.color });
    this.show(r.text, r.actions);
  }

  /** Shows a message outcome: team-visible ones are posted to #general and linked to their deal. */
  private async deliver(
    ctx: Ctx,
    message: RichMessage,
    visibility: 'ephemeral' | 'channel',
    dealId?: string,
  ) {
    if (visibility !== 'channel') return this.printEphemeral(message);
    const ref = await this.notifier.post(ctx.workspace, { channel: ConsoleNotifier.CHANNEL }, message);
    if (dealId) {
      const kind = message.blocks[0]?.type === 'header' ? 'card' : 'confirmation';
      const linked = await rememberThread(ctx, ref, dealId, kind);
      if (!linked.ok)
        this.logger.warn({ error: linked.error }, 'could not link the console thread to its deal');
    }
  }

  private requestKey(): string {
    return `console:${this.notifier.runTag}:${++this.seq}`;
  }

  /** Shows an Outcome; a form is prompted. Returns whether it ended in an error (or a cancelled form in --exec). */
  private async handleOutcome(ctx: Ctx, outcome: Outcome, strict: boolean): Promise<boolean> {
    if (outcome.kind === 'message') {
      await this.deliver(ctx, outcome.message, outcome.visibility, outcome.dealId);
      return isErrorOutcome(outcome);
    }
    return this.runForm(ctx, outcome.form, strict);
  }

  private async runForm(ctx: Ctx, form: FormSpec, strict: boolean): Promise<boolean> {
    const prompter = new FormPrompter(this.term, ctx.locale);
    const key = this.requestKey();
    const result = await prompter.fill(form, async (values) => {
      // A fresh context per submission: the clock moves while the user types.
      const fresh = await this.context();
      return submitForm(fresh, form.id, form.state, values, { requestKey: key });
    });
    if (result.kind === 'done') {
      const o = result.outcome;
      await this.deliver(await this.context(), o.message, o.visibility, o.dealId);
      return false;
    }
    if (result.kind === 'failed') {
      this.term.print(safeText(result.error));
      return true;
    }
    return strict;
  }

  /** Runs one line typed by the user. Returns whether it failed. */
  async handle(line: string, strict = false): Promise<boolean> {
    const text = line.trim();
    if (!text) return false;
    let ctx: Ctx | undefined;
    try {
      ctx = await this.context();
      const lower = text.toLowerCase();
      if (/^\d+$/.test(text)) return await this.choose(ctx, Number(text), strict);
      if (lower === '/help' || lower === 'help' || lower === '/帮助') {
        this.help();
        return false;
      }
      if (lower === '/whoami') {
        this.term.print(
          t(ctx.locale, 'console.whoami', {
            user: safeText(ctx.actor.userId),
            role: t(ctx.locale, `role.${ctx.actor.role}`),
            locale: ctx.locale,
            workspace: safeText(ctx.workspace.name || ctx.workspace.externalId),
          }),
        );
        return false;
      }
      if (/^\/reply(\s|$)/i.test(text)) return await this.reply(ctx, text.replace(/^\/reply\s*/i, ''));
      const cmd = parseCommand(text);
      if (cmd.root === 'deal' && cmd.sub === 'import' && cmd.args.length > 0)
        return await this.importFile(ctx, cmd.args.join(' '), strict);
      if (cmd.root === 'pipeline' && cmd.sub === 'export') return await this.exportFiles(ctx, cmd.args);
      const outcome = await runCommand(ctx, normaliseMentions(text), { requestKey: this.requestKey() });
      return await this.handleOutcome(ctx, outcome, strict);
    } catch (err) {
      const who = ctx ?? { locale: this.locale, deps: this.core.deps };
      await this.printEphemeral(unexpected(who, err));
      return true;
    }
  }

  /** `/deal import <path>`: the console's file upload is a path on this machine. */
  private async importFile(ctx: Ctx, file: string, strict: boolean): Promise<boolean> {
    let buffer: Buffer;
    try {
      buffer = await readFile(file);
    } catch (err) {
      const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err);
      this.term.print(t(ctx.locale, 'console.file.unreadable', { path: safeText(file), reason }));
      return true;
    }
    const start = await importOutcome(ctx, { buffer, filename: path.basename(file) });
    await this.printEphemeral(start.message);
    if (start.kind === 'message') return true;
    return this.runForm(ctx, start.form, strict);
  }

  /** `/pipeline export …`: the files are written under DATA_DIR/out/ instead of a direct message. */
  private async exportFiles(ctx: Ctx, args: string[]): Promise<boolean> {
    const r = await exportFiles(ctx, args);
    await this.printEphemeral(r.message);
    if (r.kind === 'message') return true;
    await mkdir(this.outDir, { recursive: true });
    for (const f of r.files) {
      const target = path.join(this.outDir, path.basename(f.filename));
      await writeFile(target, f.buffer);
      this.term.print(t(ctx.locale, 'console.file.written', { path: target }));
    }
    return false;
  }

  private async choose(ctx: Ctx, n: number, strict: boolean): Promise<boolean> {
    if (this.choices.length === 0) {
      this.term.print(t(ctx.locale, 'console.noChoices'));
      return true;
    }
    const action = this.choices[n - 1];
    if (!action) {
      this.term.print(t(ctx.locale, 'console.choiceRange', { max: this.choices.length }));
      return true;
    }
    const outcome = await runAction(ctx, action.kind, action.value, { requestKey: this.requestKey() });
    return this.handleOutcome(ctx, outcome, strict);
  }

  private async reply(ctx: Ctx, rest: string): Promise<boolean> {
    const L = ctx.locale;
    const m = /^(\S+)\s+([\s\S]+)$/.exec(rest.trim());
    if (!m) {
      this.term.print(t(L, 'console.reply.usage'));
      return true;
    }
    const target = this.notifier.find(m[1]!);
    if (!target) {
      this.term.print(t(L, 'console.reply.unknownMessage', { id: safeText(m[1]!) }));
      return true;
    }
    const root = target.root ?? target.ref;
    const body = m[2]!.trim();
    const posted = await this.notifier.reply(ctx.workspace, root, {
      summary: body,
      blocks: [{ type: 'text', text: [{ mention: ctx.actor.userId }, `: ${body}`] }],
    });
    const r = await noteFromThreadReply(ctx, {
      channel: root.channel,
      rootId: root.id,
      messageId: posted.id,
      text: body,
    });
    if (!r.ok) {
      await this.printEphemeral(errorMessage(ctx, r.error));
      return true;
    }
    if (!r.value) this.term.print(t(L, 'console.reply.notAboutDeal'));
    else
      this.term.print(
        t(L, r.value.created ? 'console.reply.saved' : 'console.reply.duplicate', {
          code: r.value.deal.code,
        }),
      );
    return false;
  }

  help(): void {
    const L = this.locale;
    const keys = ['choice', 'reply', 'whoami', 'quit'] as const;
    const lines = [
      t(L, 'console.help.title'),
      ...keys.map((k) => `  • ${t(L, `console.help.${k}`).replace(/`/g, '')}`),
      t(L, 'console.help.mentions').replace(/`/g, ''),
      t(L, 'console.help.more').replace(/`/g, ''),
    ];
    this.term.print(lines.join('\n'));
  }

  async welcome(): Promise<void> {
    const ctx = await this.context();
    const L = ctx.locale;
    this.term.print(
      `${t(L, 'console.welcome', { user: safeText(ctx.actor.userId), role: t(L, `role.${ctx.actor.role}`) })}\n${t(L, 'console.welcomeHint').replace(/`/g, '')}`,
    );
  }

  /** The interactive loop: returns 0 at the end of input or on /quit. */
  async loop(): Promise<number> {
    if (this.term.tty) await this.welcome();
    for (;;) {
      const line = await this.term.read(t(this.locale, 'console.prompt', { user: this.userId }));
      if (line === null || line === INTERRUPT) return 0;
      const lower = line.trim().toLowerCase();
      if (['/quit', '/exit', 'quit', 'exit', '/退出'].includes(lower)) return 0;
      await this.handle(line);
    }
  }

  /** Runs `--exec` commands in order; 1 if any failed. */
  async exec(commands: readonly string[]): Promise<number> {
    let failed = false;
    for (const [i, cmd] of commands.entries()) {
      if (i > 0) this.term.print('');
      if (await this.handle(cmd, true)) failed = true;
    }
    return failed ? 1 : 0;
  }

  close(): void {
    this.term.close();
  }
}

/**
 * Runs the console: `--exec` commands, else the interactive chat. Registers the
 * console notifier so the scheduler's alerts and digests print here.
 */
export async function runConsole(
  core: Core,
  config: Pick<Config, 'DATA_DIR' | 'DEFAULT_LOCALE'>,
  logger: Logger,
  cli: ConsoleCli,
  io: ConsoleIo = { input: process.stdin, output: process.stdout },
): Promise<number> {
  const session = new ConsoleSession(core, config, logger, cli, io);
  core.notifiers.register('console', session.notifier);
  try {
    await session.context();
    return cli.exec.length > 0 ? await session.exec(cli.exec) : await session.loop();
  } finally {
    session.close();
  }
}
