/**
 * Line input and output for the console over node:readline. Lines are queued as
 * they arrive, so piped input (stdin not a terminal) is read line by line and
 * nothing typed ahead is lost. In a terminal, Ctrl-C interrupts the current read
 * (a form is cancelled, not the app) and output printed while a prompt is shown
 * (an alert from the scheduler) appears above the prompt.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export const INTERRUPT = Symbol('interrupt');
export type ReadResult = string | null | typeof INTERRUPT;

export interface TerminalOptions {
  input: Readable;
  output: Writable;
  /** Interactive terminal: prompts, colours, Ctrl-C handling. */
  tty: boolean;
}

export class Terminal {
  private rl: Interface | undefined;
  private readonly queue: ReadResult[] = [];
  private waiter: ((r: ReadResult) => void) | undefined;
  private ended = false;
  private prompting = false;

  constructor(private readonly opts: TerminalOptions) {}

  get tty(): boolean {
    return this.opts.tty;
  }

  /** Starts reading input (lazily, so `--exec` without forms never touches stdin). */
  private open(): Interface {
    if (this.rl) return this.rl;
    const rl = createInterface({
      input: this.opts.input,
      output: this.opts.tty ? this.opts.output : undefined,
      terminal: this.opts.tty,
      historySize: this.opts.tty ? 200 : 0,
    });
    rl.on('line', (line) => this.push(line));
    rl.on('close', () => {
      this.ended = true;
      this.push(null);
    });
    rl.on('SIGINT', () => {
      if (this.waiter) this.push(INTERRUPT);
      else this.opts.output.write('\n');
    });
    this.rl = rl;
    return rl;
  }

  private push(r: ReadResult): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(r);
    } else if (r !== INTERRUPT) this.queue.push(r);
  }

  /** Reads one line; null at the end of input, INTERRUPT on Ctrl-C. */
  read(prompt: string): Promise<ReadResult> {
    const rl = this.open();
    if (this.queue.length) {
      return Promise.resolve(this.queue.shift()!);
    }
    if (this.ended) return Promise.resolve(null);
    if (this.opts.tty) {
      rl.setPrompt(prompt);
      rl.prompt();
      this.prompting = true;
    }
    return new Promise((resolve) => {
      this.waiter = (r) => {
        this.prompting = false;
        resolve(r);
      };
    });
  }

  /** Prints a block of text; above the prompt when one is showing. */
  print(text: string): void {
    if (this.opts.tty && this.prompting && this.rl) {
      this.opts.output.write(`\r\u001b[K${text}\n`);
      this.rl.prompt(true);
    } else this.opts.output.write(`${text}\n`);
  }

  close(): void {
    this.rl?.close();
    this.rl = undefined;
  }
}
