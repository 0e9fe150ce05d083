/**
 * Starts DealPulse's services on a core: Slack, Feishu, the scheduler. When
 * Slack and Feishu both take HTTP requests they share PORT: Feishu's routes are
 * mounted on Bolt's server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Core } from './app.js';
import { feishuEnabled, slackEnabled, type Config } from './config.js';
import type { Logger } from './logger.js';

export interface Stoppable {
  stop(): Promise<void>;
}

export interface Services {
  /** Stops everything started here, newest first (the scheduler before the adapters). */
  stop(): Promise<void>;
  /** The HTTP port Slack's receiver listens on, when it does. */
  slackPort?: number | undefined;
}

export interface StartOptions {
  /** Slack web API retries (tests use 0). */
  slackRetries?: number;
  /** Start the scheduler (default true). */
  scheduler?: boolean;
}

type Route = { path: string; method: string; handler: (req: IncomingMessage, res: ServerResponse) => void };

export async function startServices(
  core: Core,
  config: Config,
  logger: Logger,
  opts: StartOptions = {},
): Promise<Services> {
  const running: Stoppable[] = [];
  const stop = async () => {
    for (const s of running.reverse())
      await s.stop().catch((err: unknown) => logger.error({ err }, 'stop failed'));
  };
  try {
    const slackHttp = slackEnabled(config) && !config.SLACK_APP_TOKEN;
    const feishuHttp = feishuEnabled(config) && config.FEISHU_MODE === 'http';
    const shared = slackHttp && feishuHttp;
    const customRoutes: Route[] = [];
    if (feishuEnabled(config)) {
      const { startFeishu } = await import('./adapters/feishu/index.js');
      const feishu = await startFeishu(core, config, logger, shared ? { listen: false } : {});
      running.push(feishu);
      const handler = feishu.handler;
      if (shared && handler)
        for (const path of ['/feishu/events', '/feishu/card'])
          customRoutes.push({
            path,
            method: 'POST',
            handler: (req, res) => {
              if (!handler(req, res)) res.writeHead(404).end();
            },
          });
    }
    let slackPort: number | undefined;
    if (slackEnabled(config)) {
      const { startSlack } = await import('./adapters/slack/index.js');
      const slack = await startSlack(core, config, logger, {
        customRoutes,
        ...(opts.slackRetries !== undefined ? { retries: opts.slackRetries } : {}),
      });
      slackPort = slack.port;
      running.push(slack);
    }
    if (opts.scheduler !== false) {
      const { startScheduler } = await import('./jobs/index.js');
      running.push(await startScheduler(core, config, logger));
    }
    return { stop, slackPort };
  } catch (err) {
    await stop();
    throw err;
  }
}
