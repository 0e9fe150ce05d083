/**
 * The Feishu open API as the adapter uses it, on top of the SDK's Client
 * (tenant token fetching and caching, domain handling).
 *
 * The SDK returns business errors (HTTP 200, `code != 0`) instead of throwing,
 * and `im.image.create` even swallows them into `null`: every call here goes
 * through `call()`, which checks `code`, throws a FeishuApiError otherwise and
 * retries rate-limited calls (HTTP 429 or code 99991400) with exponential backoff.
 */
import { Readable } from 'node:stream';
import * as lark from '@larksuiteoapi/node-sdk';
import type { Logger } from '../../logger.js';

/** Feishu's "request too frequent" business code. */
export const RATE_LIMITED = 99991400;

export class FeishuApiError extends Error {
  constructor(
    readonly op: string,
    readonly code: number,
    readonly msg: string,
    readonly httpStatus?: number,
  ) {
    super(`feishu ${op} failed: code=${code} msg=${msg}${httpStatus ? ` http=${httpStatus}` : ''}`);
  }
}

export interface FeishuApiOptions {
  appId: string;
  appSecret: string;
  /** `feishu`, `lark` or a base URL such as `http://127.0.0.1:PORT`. */
  domain: string;
  logger: Logger;
  /** Attempts after the first for rate-limited calls (default 3). */
  retries?: number;
  /** First backoff delay in ms, doubled on each retry (default 500). */
  backoffMs?: number;
}

export type ReceiveIdType = 'chat_id' | 'open_id';

interface ApiBody<T> {
  code?: number;
  msg?: string;
  data?: T;
}

/** Maps `FEISHU_DOMAIN` to what the SDK accepts. */
export function sdkDomain(domain: string): string | lark.Domain {
  if (domain === 'feishu') return lark.Domain.Feishu;
  if (domain === 'lark') return lark.Domain.Lark;
  return domain.replace(/\/+$/, '');
}

/**
 * The SDK's logger, routed to ours. Only strings and error messages are passed
 * on: the SDK logs whole axios errors, whose request config may carry the
 * tenant token, so objects never reach the log.
 */
export function sdkLogger(logger: Logger): lark.Logger {
  const text = (args: unknown[]): string =>
    args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : '[details]')).join(' ');
  return {
    error: (...args: unknown[]) => logger.warn({ sdk: 'lark' }, text(args)),
    warn: (...args: unknown[]) => logger.warn({ sdk: 'lark' }, text(args)),
    info: (...args: unknown[]) => logger.debug({ sdk: 'lark' }, text(args)),
    debug: () => {},
    trace: () => {},
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function axiosFailure(err: unknown): { status?: number; code?: number; msg?: string } | undefined {
  if (typeof err !== 'object' || err === null || !('isAxiosError' in err)) return undefined;
  const e = err as { response?: { status?: number; data?: unknown }; message?: string };
  const data = e.response?.data as ApiBody<unknown> | undefined;
  return { status: e.response?.status, code: data?.code, msg: data?.msg ?? e.message };
}

export class FeishuApi {
  readonly client: lark.Client;
  private readonly retries: number;
  private readonly backoffMs: number;
  private botOpenId: Promise<string> | undefined;

  constructor(private readonly opts: FeishuApiOptions) {
    this.client = new lark.Client({
      appId: opts.appId,
      appSecret: opts.appSecret,
      domain: sdkDomain(opts.domain),
      logger: sdkLogger(opts.logger),
      // One token cache per adapter: the SDK's default cache is process-wide.
      cache: new lark.DefaultCache(),
    });
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 500;
  }

  /** Runs one API call: checks `code`, retries rate limits, throws FeishuApiError on failure. */
  async call<T>(op: string, fn: () => Promise<ApiBody<T> | null | undefined>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let body: ApiBody<T> | null | undefined;
      let failure: { status?: number; code?: number; msg?: string } | undefined;
      try {
        body = await fn();
      } catch (err) {
        failure = axiosFailure(err);
        if (!failure) throw err;
      }
      if (!failure) {
        if (body && (body.code === 0 || body.code === undefined) && typeof body === 'object')
          return (body.data ?? {}) as T;
        failure = { code: body?.code ?? -1, msg: body?.msg ?? 'empty response' };
      }
      const limited = failure.status === 429 || failure.code === RATE_LIMITED;
      if (limited && attempt < this.retries) {
        const delay = this.backoffMs * 2 ** attempt;
        this.opts.logger.warn({ op, attempt: attempt + 1, delay }, 'feishu rate limited; retrying');
        await sleep(delay);
        continue;
      }
      throw new FeishuApiError(op, failure.code ?? -1, failure.msg ?? '', failure.status);
    }
  }

  private request<T>(
    op: string,
    config: {
      method: string;
      url: string;
      params?: Record<string, string>;
      data?: unknown;
      headers?: Record<string, string>;
    },
  ) {
    return this.call<T>(op, () => this.client.request<ApiBody<T>>(config));
  }

  /** Sends a card to a chat (`chat_id`) or a user (`open_id`); returns the message and its chat. */
  async sendCard(
    receiveIdType: ReceiveIdType,
    receiveId: string,
    card: object,
  ): Promise<{ messageId: string; chatId: string }> {
    const data = await this.call<{ message_id?: string; chat_id?: string }>('im.message.create', () =>
      this.client.im.message.create({
        params: { receive_id_type: receiveIdType },
        data: { receive_id: receiveId, msg_type: 'interactive', content: JSON.stringify(card) },
      }),
    );
    const chatId = data.chat_id ?? (receiveIdType === 'chat_id' ? receiveId : undefined);
    return {
      messageId: requireId('im.message.create', data.message_id),
      chatId: requireId('im.message.create', chatId),
    };
  }

  /** Replies to a message, in its thread when `inThread`; returns the new message id. */
  async replyCard(messageId: string, card: object, inThread: boolean): Promise<string> {
    const data = await this.call<{ message_id?: string }>('im.message.reply', () =>
      this.client.im.message.reply({
        path: { message_id: messageId },
        data: { msg_type: 'interactive', content: JSON.stringify(card), reply_in_thread: inThread },
      }),
    );
    return requireId('im.message.reply', data.message_id);
  }

  /** Replaces the card of a message the bot sent (shared cards: `update_multi`). */
  async patchCard(messageId: string, card: object): Promise<void> {
    await this.call('im.message.patch', () =>
      this.client.im.message.patch({
        path: { message_id: messageId },
        data: { content: JSON.stringify(card) },
      }),
    );
  }

  /** A card only `openId` sees in a group chat. */
  async sendEphemeral(chatId: string, openId: string, card: object): Promise<string> {
    const data = await this.request<{ message_id?: string }>('ephemeral.send', {
      method: 'POST',
      url: '/open-apis/ephemeral/v1/send',
      data: { chat_id: chatId, open_id: openId, msg_type: 'interactive', card },
    });
    return requireId('ephemeral.send', data.message_id);
  }

  /**
   * Uploads a PNG for use in messages and cards. The bytes go as a stream with a
   * `path` so the multipart part has a file name (a bare Buffer is rejected, 234001).
   */
  async uploadImage(png: Buffer, filename: string): Promise<string> {
    const data = await this.request<{ image_key?: string }>('im.image.create', {
      method: 'POST',
      url: '/open-apis/im/v1/images',
      headers: { 'Content-Type': 'multipart/form-data' },
      data: { image_type: 'message', image: Object.assign(Readable.from([png]), { path: filename }) },
    });
    return requireId('im.image.create', data.image_key);
  }

  /**
   * Downloads the file of a message the bot received (im.messageResource.get, scope im:resource).
   * Reads at most `maxBytes + 1` bytes: a larger file is cut there, so the caller can refuse it
   * without holding all of it.
   */
  async downloadResource(messageId: string, fileKey: string, maxBytes: number): Promise<Buffer> {
    return this.call<Buffer>('im.messageResource.get', async () => {
      const res = await this.client.im.messageResource.get({
        params: { type: 'file' },
        path: { message_id: messageId, file_key: fileKey },
      });
      const stream = res.getReadableStream();
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(b);
        size += b.length;
        if (size > maxBytes) {
          stream.destroy();
          break;
        }
      }
      return { code: 0, data: Buffer.concat(chunks).subarray(0, maxBytes + 1) };
    });
  }

  /**
   * Uploads a file for a file message (im.file.create); `fileType` is Feishu's kind (`xls` for
   * spreadsheets, `stream` for anything else). Sent as a named stream like images.
   */
  async uploadFile(
    data: Buffer,
    filename: string,
    fileType: 'xls' | 'stream' | 'pdf' | 'doc',
  ): Promise<string> {
    const res = await this.request<{ file_key?: string }>('im.file.create', {
      method: 'POST',
      url: '/open-apis/im/v1/files',
      headers: { 'Content-Type': 'multipart/form-data' },
      data: {
        file_type: fileType,
        file_name: filename,
        file: Object.assign(Readable.from([data]), { path: filename }),
      },
    });
    return requireId('im.file.create', res.file_key);
  }

  /** Sends an uploaded file as a message to a user (`open_id`) or chat; returns the message id. */
  async sendFile(receiveIdType: ReceiveIdType, receiveId: string, fileKey: string): Promise<string> {
    const data = await this.call<{ message_id?: string }>('im.message.create', () =>
      this.client.im.message.create({
        params: { receive_id_type: receiveIdType },
        data: { receive_id: receiveId, msg_type: 'file', content: JSON.stringify({ file_key: fileKey }) },
      }),
    );
    return requireId('im.message.create', data.message_id);
  }

  /** The bot's own open_id (to recognise @bot mentions), fetched once. */
  botId(): Promise<string> {
    this.botOpenId ??= this.call<unknown>('bot.info', () =>
      this.client
        .request<ApiBody<unknown> & { bot?: { open_id?: string } }>({
          method: 'GET',
          url: '/open-apis/bot/v3/info',
        })
        .then((body) => ({ ...body, data: body.bot })),
    ).then((bot) => requireId('bot.info', (bot as { open_id?: string } | undefined)?.open_id));
    this.botOpenId.catch(() => {
      this.botOpenId = undefined;
    });
    return this.botOpenId;
  }
}

function requireId(op: string, id: string | undefined): string {
  if (!id) throw new FeishuApiError(op, -1, 'response without id');
  return id;
}
