/** Drives the console in-process over stdin/stdout (PassThrough streams, not a TTY). */
import { PassThrough } from 'node:stream';
import type { Core } from '../../../src/app.js';
import { runConsole } from '../../../src/adapters/console/index.js';
import { silentLogger } from '../../../src/logger.js';

export interface SessionCli {
  user: string;
  locale?: 'en' | 'zh-CN' | undefined;
  exec?: string[];
}

/** Runs a console session over the given input lines; resolves with the exit code and everything printed. */
export async function runSession(core: Core, dataDir: string, lines: string[], cli: SessionCli) {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (c: Buffer) => (text += c.toString('utf8')));
  input.end(lines.map((l) => `${l}\n`).join(''));
  const code = await runConsole(
    core,
    { DATA_DIR: dataDir, DEFAULT_LOCALE: 'en' },
    silentLogger,
    { user: cli.user, locale: cli.locale, exec: cli.exec ?? [] },
    { input, output, tty: false },
  );
  return { code, text };
}
