/**
 * The Feishu (Lark) adapter: starts the long connection (default) or the HTTP
 * endpoints (`FEISHU_MODE=http`: `/feishu/events`, `/feishu/card`), and registers
 * the Feishu notifier. Workspaces are tenants (`tenant_key`), users are open_ids.
 *
 * Both modes feed one SDK EventDispatcher. In HTTP mode every request is checked
 * first (signature, decryption, verification token; see security.ts) and then
 * handed to the SDK without its own checks. The long connection is authenticated
 * by the app secret when it is opened, and its frames are neither encrypted nor
 * token-checked (as in the SDK). Message events are acknowledged at
 * once and processed in the background; card callbacks are answered within 3 s
 * (after 2.5 s the user gets a "working" toast and the card is patched later).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import type { Core } from '../../app.js';
import type { Config } from '../../config.js';
import { t } from '../../i18n/index.js';
import type { Logger } from '../../logger.js';
import { FeishuApi, sdkDomain, sdkLogger } from './api.js';
import { handleCardAction, type CardActionEvent, type CardResponse } from './cards.js';
import {
  handleMenuEvent,
  handleMessageEvent,
  mongoDedupe,
  type FeishuDeps,
  type MenuEvent,
  type MessageEvent,
} from './events.js';
import { FeishuNotifier } from './notifier.js';
import { openRequest } from './security.js';

export const EVENTS_PATH = '/feishu/events';
export const CARD_PATH = '/feishu/card';
const MAX_BODY = 1024 * 1024;

export type FeishuConfig = Pick<
  Config,
  | 'FEISHU_APP_ID'
  | 'FEISHU_APP_SECRET'
  | 'FEISHU_VERIFICATION_TOKEN'
  | 'FEISHU_ENCRYPT_KEY'
  | 'FEISHU_DOMAIN'
  | 'FEISHU_MODE'
  | 'PORT'
>;

export interface FeishuStartOptions {
  /** HTTP mode: start our own server on this port (default `config.PORT`); `false` to only return the handler for main.ts to mount. */
  listen?: number | false;
  /** Card callbacks answered later than this get a "working" toast and a later card update (default 2500 ms). */
  cardDeadlineMs?: number;
  /** Long connection: how long start waits for the first connection before going on (the SDK keeps retrying); default 30 s. */
  connectTimeoutMs?: number;
  /** Rate-limit retry policy of API calls. */
  retries?: number;
  backoffMs?: number;
}

/** Returns true when the request is Feishu's (and answers it); false lets the caller route it elsewhere. */
export type FeishuHttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface FeishuAdapter {
  notifier: FeishuNotifier;
  api: FeishuApi;
  /** HTTP mode only. */
  handler?: FeishuHttpHandler;
  /** HTTP mode with our own server: its base URL. */
  url?: string;
  /** Resolves when every event received so far has been processed. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startFeishu(
  core: Core,
  config: FeishuConfig,
  logger: Logger,
  opts: FeishuStartOptions = {},
): Promise<FeishuAdapter> {
  const appId = config.FEISHU_APP_ID;
  const appSecret = config.FEISHU_APP_SECRET;
  if (!appId || !appSecret)
    throw new Error('FEISHU_APP_ID and FEISHU_APP_SECRET are required for the Feishu adapter');
  const log = logger.child({ adapter: 'feishu' });
  const api = new FeishuApi({
    appId,
    appSecret,
    domain: config.FEISHU_DOMAIN,
    logger: log,
    retries: opts.retries,
    backoffMs: opts.backoffMs,
  });
  const notifier = new FeishuNotifier(api);
  core.notifiers.register('feishu', notifier);
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const done = p
      .catch((err: unknown) => log.error({ err }, 'feishu: event handling failed'))
      .finally(() => pending.delete(done));
    pending.add(done);
  };
  const f: FeishuDeps = {
    deps: core.deps,
    api,
    notifier,
    dedupe: await mongoDedupe(core.conn, core.deps.now),
    logger: log,
    background: track,
  };
  const deadline = opts.cardDeadlineMs ?? 2500;

  const onCard = async (data: CardActionEvent): Promise<CardResponse> => {
    const work = handleCardAction(f, data);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), deadline);
    });
    const first = await Promise.race([work, late]);
    clearTimeout(timer);
    if (first !== 'late') return first;
    // Too slow for the 3-second answer: apply the result to the card when it is ready.
    const messageId = data.context?.open_message_id;
    track(
      work.then(async (r) => {
        if (r.card && messageId) await api.patchCard(messageId, r.card.data);
      }),
    );
    return { toast: { type: 'info', content: t('zh-CN', 'feishu.toast_working') } };
  };

  const dispatcher = new lark.EventDispatcher({ logger: sdkLogger(log) }).register({
    'im.message.receive_v1': (data: MessageEvent) => {
      track(handleMessageEvent(f, data));
      return {};
    },
    'application.bot.menu_v6': (data: MenuEvent) => {
      track(handleMenuEvent(f, data));
      return {};
    },
    'card.action.trigger': (data: CardActionEvent) => onCard(data),
  });

  const drain = async () => {
    while (pending.size) await Promise.allSettled([...pending]);
  };

  if (config.FEISHU_MODE === 'http') {
    const security = {
      verificationToken: config.FEISHU_VERIFICATION_TOKEN,
      encryptKey: config.FEISHU_ENCRYPT_KEY,
    };
    const answer = (res: ServerResponse, status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const raw = await readBody(req);
      if (raw === undefined) return answer(res, 413);
      const opened = openRequest(raw, req.headers, security);
      if (!opened.ok) {
        log.warn({ path: req.url, reason: opened.reason }, 'feishu: request rejected');
        return answer(res, 401);
      }
      if (opened.challenge !== undefined) return answer(res, 200, { challenge: opened.challenge });
      const result: unknown = await dispatcher.invoke(opened.payload, { needCheck: false });
      return answer(res, 200, typeof result === 'object' && result !== null ? result : {});
    };
    const handler: FeishuHttpHandler = (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== EVENTS_PATH && path !== CARD_PATH) return false;
      if (req.method !== 'POST') {
        answer(res, 405);
        return true;
      }
      handle(req, res).catch((err: unknown) => {
        log.error({ err }, 'feishu: request failed');
        if (!res.headersSent) answer(res, 500);
      });
      return true;
    };
    let server: http.Server | undefined;
    let url: string | undefined;
    if (opts.listen !== false) {
      server = http.createServer((req, res) => {
        if (!handler(req, res)) answer(res, 404);
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(opts.listen ?? config.PORT, () => resolve());
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      log.info(
        { port: (server.address() as AddressInfo).port, paths: [EVENTS_PATH, CARD_PATH] },
        'feishu: HTTP endpoints ready',
      );
    }
    return {
      notifier,
      api,
      handler,
      ...(url ? { url } : {}),
      drain,
      stop: async () => {
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
        await drain();
      },
    };
  }

  if (!/^cli_[0-9a-fA-F]{16}$/.test(appId))
    throw new Error('FEISHU_APP_ID must look like cli_ followed by 16 hex digits for the long connection');
  let wsClient: lark.WSClient | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const ws = new lark.WSClient({
      appId,
      appSecret,
      domain: sdkDomain(config.FEISHU_DOMAIN),
      logger: sdkLogger(log),
      autoReconnect: true,
      onReady: () => resolve(),
      onError: (err: Error) => reject(err),
    });
    wsClient = ws;
    void ws.start({ eventDispatcher: dispatcher });
  });
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    ready.then(() => 'ready' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), opts.connectTimeoutMs ?? 30_000);
    }),
  ])
    .catch((err: unknown) => {
      wsClient?.close({ force: true });
      throw err;
    })
    .finally(() => clearTimeout(timer));
  if (waited === 'ready') log.info('feishu: long connection ready');
  else {
    ready.catch((err: unknown) => log.error({ err }, 'feishu: long connection failed'));
    log.warn('feishu: long connection not ready yet; still trying in the background');
  }
  return {
    notifier,
    api,
    drain,
    stop: async () => {
      wsClient?.close({ force: true });
      await drain();
    },
  };
}
