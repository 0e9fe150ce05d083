/**
 * The Slack adapter: picks the running mode from the configuration, registers
 * the listeners and the notifier.
 *
 * - Socket Mode when SLACK_APP_TOKEN is set (no public URL needed).
 * - HTTP mode otherwise: Bolt's receiver on PORT, endpoint /slack/events.
 * - One workspace with SLACK_BOT_TOKEN; many with OAuth (SLACK_CLIENT_ID,
 *   SLACK_CLIENT_SECRET, SLACK_STATE_SECRET; /slack/install, /slack/oauth_redirect),
 *   installations stored in MongoDB.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, LogLevel, webApi, type InstallationStore, type Logger as BoltLogger } from '@slack/bolt';
import type { Core } from '../../app.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { WorkspaceRecord } from '../../store/repo.js';
import { registerActions } from './actions/index.js';
import { registerCommands } from './commands/index.js';
import { registerEvents } from './events/index.js';
import { MongoInstallationStore } from './installation-store.js';
import { LocaleCache } from './locale.js';
import { SlackNotifier } from './notifier.js';
import { RecentKeys, type SlackEnv } from './runtime.js';
import { registerShortcuts } from './shortcuts/index.js';
import { ImportForms } from './transfer.js';
import { registerViews } from './views/index.js';

export type SlackConfig = Pick<
  Config,
  | 'PORT'
  | 'SLACK_BOT_TOKEN'
  | 'SLACK_APP_TOKEN'
  | 'SLACK_SIGNING_SECRET'
  | 'SLACK_CLIENT_ID'
  | 'SLACK_CLIENT_SECRET'
  | 'SLACK_STATE_SECRET'
  | 'SLACK_API_URL'
>;

export type SlackMode = 'socket' | 'http';

export interface SlackHandle {
  mode: SlackMode;
  oauth: boolean;
  app: App;
  notifier: SlackNotifier;
  /** The HTTP port actually listened on (HTTP mode, or Socket Mode with OAuth install pages). */
  port: number | undefined;
  stop(): Promise<void>;
}

export interface StartSlackOptions {
  /** Overrides config.PORT (tests pass 0 for a free port). */
  port?: number;
  /** How long a modal submission may take before the modal closes and the result follows as a message. */
  submitTimeBoxMs?: number;
  /** Web API retries (Bolt's default retries for ~30 minutes). */
  retries?: number;
  /** More routes served on the same port (Feishu's webhooks when both run over HTTP). */
  customRoutes?: NonNullable<ConstructorParameters<typeof App>[0]>['customRoutes'];
}

/** Bot scopes the app asks for on install (keep in sync with manifests/slack.yaml). */
export const BOT_SCOPES = [
  'commands',
  'chat:write',
  'users:read',
  'channels:history',
  'groups:history',
  'files:write',
  'files:read',
  'im:history',
  'im:write',
];

/** Bolt's logger on top of ours (pino redacts secrets); Bolt's debug chatter stays at debug. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'slack' });
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) =>
    msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m)))
      .join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug(text(msg)),
    info: (...msg: unknown[]) => child.info(text(msg)),
    warn: (...msg: unknown[]) => child.warn(text(msg)),
    error: (...msg: unknown[]) => child.error(text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export async function startSlack(
  core: Core,
  config: SlackConfig,
  logger: Logger,
  opts: StartSlackOptions = {},
): Promise<SlackHandle> {
  const oauth = Boolean(config.SLACK_CLIENT_ID);
  const mode: SlackMode = config.SLACK_APP_TOKEN ? 'socket' : 'http';
  if (!config.SLACK_BOT_TOKEN && !oauth) throw new Error('Slack needs SLACK_BOT_TOKEN or SLACK_CLIENT_ID');
  if (mode === 'http' && !config.SLACK_SIGNING_SECRET)
    throw new Error('Slack HTTP mode needs SLACK_SIGNING_SECRET');
  const port = opts.port ?? config.PORT;
  const bLogger = boltLogger(logger);
  const clientOptions: webApi.WebClientOptions = {
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
    ...(opts.retries !== undefined ? { retryConfig: { retries: opts.retries } } : {}),
    logger: bLogger,
  };
  const installationStore: InstallationStore | undefined = oauth
    ? new MongoInstallationStore(core.conn)
    : undefined;

  const app = new App({
    logger: bLogger,
    clientOptions,
    ...(opts.customRoutes?.length ? { customRoutes: opts.customRoutes } : {}),
    ...(mode === 'socket'
      ? { socketMode: true, appToken: config.SLACK_APP_TOKEN }
      : { signingSecret: config.SLACK_SIGNING_SECRET }),
    ...(oauth
      ? {
          clientId: config.SLACK_CLIENT_ID,
          clientSecret: config.SLACK_CLIENT_SECRET,
          stateSecret: config.SLACK_STATE_SECRET,
          scopes: BOT_SCOPES,
          installationStore,
          installerOptions: {
            clientOptions,
            directInstall: false,
            ...(mode === 'socket' ? { port } : {}),
          },
        }
      : { token: config.SLACK_BOT_TOKEN, installerOptions: { clientOptions } }),
  });

  // The notifier reaches a workspace with its own bot token.
  const clients = new Map<string, webApi.WebClient>();
  const clientFor = async (workspace: WorkspaceRecord): Promise<webApi.WebClient> => {
    if (!installationStore) return app.client;
    const teamId = workspace.externalId;
    const installation = await installationStore.fetchInstallation({
      teamId,
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });
    const token = installation.bot?.token;
    if (!token) throw new Error(`no bot token for Slack team ${teamId}`);
    const cached = clients.get(teamId);
    if (cached && cached.token === token) return cached;
    const client = new webApi.WebClient(token, clientOptions);
    clients.set(teamId, client);
    return client;
  };
  const notifier = new SlackNotifier(clientFor, logger);
  const env: SlackEnv = {
    core,
    logger,
    locales: new LocaleCache(),
    notifier,
    seen: new RecentKeys(),
    importForms: new ImportForms(),
  };

  registerCommands(app, env);
  registerActions(app, env);
  registerViews(
    app,
    env,
    opts.submitTimeBoxMs !== undefined ? { submitTimeBoxMs: opts.submitTimeBoxMs } : {},
  );
  registerShortcuts(app, env);
  registerEvents(app, env, installationStore);
  // Log without payloads (they may carry user text), then let Bolt answer as usual (e.g. 401 for unknown teams).
  app.error(async (err) => {
    logger.error({ err: { message: err.message, code: err.code } }, 'slack listener error');
    throw err;
  });

  let actualPort: number | undefined;
  if (mode === 'http') {
    const server = (await app.start(port)) as Server;
    actualPort = (server.address() as AddressInfo).port;
  } else {
    await app.start();
    actualPort = oauth ? port : undefined;
  }
  core.notifiers.register('slack', notifier);
  logger.info({ mode, oauth, port: actualPort }, 'Slack adapter started');
  return {
    mode,
    oauth,
    app,
    notifier,
    port: actualPort,
    stop: async () => {
      await app.stop();
    },
  };
}
