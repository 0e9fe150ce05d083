/**
 * DealPulse entry point: `npm start [-- --demo] [-- --user NAME] [-- --locale zh-CN] [-- --exec "/pipeline"]`.
 * Validates the configuration, chooses the database, then starts every configured
 * surface: Slack, Feishu, and the local console when no chat platform is configured.
 */
import dotenv from 'dotenv';
import { parseArgs } from 'node:util';
import { createCore, type Core } from './app.js';
import { startServices, type Stoppable } from './bootstrap.js';
import { ConfigError, feishuEnabled, loadConfig, slackEnabled, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';

export interface CliOptions {
  demo: boolean;
  user?: string;
  locale?: 'en' | 'zh-CN';
  exec: string[];
  console: boolean;
}

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      demo: { type: 'boolean', default: false },
      user: { type: 'string' },
      locale: { type: 'string' },
      exec: { type: 'string', multiple: true },
      console: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.locale !== undefined && values.locale !== 'en' && values.locale !== 'zh-CN')
    throw new ConfigError([`--locale: expected "en" or "zh-CN" (got "${values.locale}")`]);
  return {
    demo: values.demo ?? false,
    user: values.user,
    locale: values.locale as CliOptions['locale'],
    exec: values.exec ?? [],
    console: values.console ?? false,
  };
}

async function main(): Promise<number> {
  dotenv.config({ quiet: true });
  let config: Config;
  let cli: CliOptions;
  try {
    config = loadConfig();
    cli = parseCli(process.argv.slice(2));
  } catch (err) {
    if (
      err instanceof ConfigError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const interactiveConsole =
    cli.exec.length === 0 && (cli.console || (!slackEnabled(config) && !feishuEnabled(config)));
  // In console mode the terminal belongs to the chat: logs go to stderr at warn level unless asked otherwise.
  const consoleMode = cli.exec.length > 0 || interactiveConsole;
  const logger: Logger = createLogger(consoleMode && !process.env.LOG_LEVEL ? 'warn' : config.LOG_LEVEL, {
    stderr: consoleMode,
  });
  const core: Core = await createCore({ config, logger });
  logger.info(
    { database: core.db.kind, where: core.db.where },
    `database: ${core.db.kind} (${core.db.where})`,
  );
  if (consoleMode) process.stderr.write(`DealPulse: database ${core.db.kind} (${core.db.where})\n`);

  const running: Stoppable[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const s of running.reverse()) await s.stop().catch((err) => logger.error({ err }, 'stop failed'));
    await core.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const { warmUpCharts } = await import('./charts/index.js');
  void warmUpCharts()
    .then((r) => {
      if (!r.fonts.ok) logger.warn({ missing: r.fonts.missing }, `chart fonts missing: ${r.fonts.hint}`);
    })
    .catch((err) => logger.warn({ err }, 'chart warm-up failed'));

  if (!slackEnabled(config) && !feishuEnabled(config)) {
    logger.info('no chat platform configured (SLACK_* / FEISHU_*): running the local console');
    if (consoleMode)
      process.stderr.write(
        'DealPulse: no chat platform configured (SLACK_*, FEISHU_*): local console mode\n',
      );
  }
  running.push(await startServices(core, config, logger));

  if (cli.demo) {
    const { loadDemo } = await import('./demo/index.js');
    await loadDemo(core, { locale: cli.locale ?? config.DEFAULT_LOCALE });
  }
  if (cli.exec.length > 0 || interactiveConsole) {
    const { runConsole } = await import('./adapters/console/index.js');
    const code = await runConsole(core, config, logger, cli);
    await shutdown(code);
  }
  return 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`DealPulse failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
