/**
 * A local fake of the Feishu open platform for end-to-end tests:
 * - the open API the adapter calls (tenant token, bot info, messages create /
 *   reply / patch, images, ephemeral cards), recording every call and answering
 *   like Feishu (`{code, msg, data}`; business errors with HTTP 200);
 * - the long-connection endpoint: POST /callback/ws/endpoint returns a ws:// URL
 *   on this server, which speaks the SDK's protobuf `pbbp2.Frame` frames.
 * Helpers build events and card callbacks as Feishu sends them, and post them
 * over HTTP plain or encrypted, signed or not.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import protobuf from 'protobufjs';
import { encryptPayload, signBody } from '../../../src/adapters/feishu/security.js';

export const APP_ID = 'cli_a1b2c3d4e5f60718';
export const APP_SECRET = 'fake-app-secret';
export const VERIFICATION_TOKEN = 'v-token-123';
export const ENCRYPT_KEY = 'encrypt-key-456';
export const BOT_OPEN_ID = 'ou_bot0000000000';
export const TENANT = 'tenant_acme';

interface WsSocket {
  on(event: 'message', cb: (data: Buffer) => void): void;
  on(event: 'close', cb: () => void): void;
  send(data: Uint8Array): void;
  terminate(): void;
}
interface WsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WsSocket) => void): void;
  close(): void;
}
const require = createRequire(import.meta.url);
const { WebSocketServer } = require('ws') as { WebSocketServer: new (opts: { noServer: true }) => WsServer };

const frameRoot = protobuf.Root.fromJSON({
  nested: {
    pbbp2: {
      nested: {
        Header: {
          fields: {
            key: { rule: 'required', type: 'string', id: 1 },
            value: { rule: 'required', type: 'string', id: 2 },
          },
        },
        Frame: {
          fields: {
            SeqID: { rule: 'required', type: 'uint64', id: 1 },
            LogID: { rule: 'required', type: 'uint64', id: 2 },
            service: { rule: 'required', type: 'int32', id: 3 },
            method: { rule: 'required', type: 'int32', id: 4 },
            headers: { rule: 'repeated', type: 'Header', id: 5 },
            payloadEncoding: { type: 'string', id: 6 },
            payloadType: { type: 'string', id: 7 },
            payload: { type: 'bytes', id: 8 },
            LogIDNew: { type: 'string', id: 9 },
          },
        },
      },
    },
  },
});
const Frame = frameRoot.lookupType('pbbp2.Frame');
interface FrameData {
  SeqID: number;
  LogID: number;
  service: number;
  method: number;
  headers: { key: string; value: string }[];
  payload?: Uint8Array;
}

export interface ApiCall {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body (multipart uploads: `{ filename, bytes, data, image_type | file_type, file_name }`). */
  body: Record<string, unknown>;
  /** The card sent, parsed from `content` (or `card` for ephemeral). */
  card?: Record<string, unknown>;
  /** What the fake answered (`data` of a success, or the failure). */
  answer?: { status: number; code: number; data?: Record<string, unknown> };
}

interface Failure {
  path: string;
  status: number;
  code: number;
  times: number;
}

export class FakeFeishu {
  readonly calls: ApiCall[] = [];
  /** Tokens issued by the fake; the API refuses others. */
  private readonly tokens = new Set<string>();
  private readonly chats = new Map<string, string>();
  /** Files of users' messages, by `message_id/file_key` (see `addResource`). */
  private readonly resources = new Map<string, Buffer>();
  /** Files uploaded by the bot (im.file.create), by file_key. */
  readonly files = new Map<string, { name: string; type: string; data: Buffer }>();
  private failures: Failure[] = [];
  private seq = 0;
  private sockets = new Set<WsSocket>();
  private waiting = new Map<string, (f: FrameData) => void>();
  private readonly wss = new WebSocketServer({ noServer: true });
  wsConnects = 0;
  url = '';

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<FakeFeishu> {
    const server = http.createServer();
    const fake = new FakeFeishu(server);
    server.on('request', (req, res) => void fake.route(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!req.url?.startsWith('/ws')) return socket.destroy();
      fake.wss.handleUpgrade(req, socket, head, (ws) => fake.accept(ws));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    this.wss.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private holds: { path: string; released: Promise<void> }[] = [];

  /** Holds the answers to calls on `path` until the returned function is called. */
  hold(path: string): () => void {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.holds.push({ path, released });
    return () => {
      this.holds = this.holds.filter((h) => h.released !== released);
      release();
    };
  }

  /** The next `times` calls to `path` fail: HTTP `status` with body code `code`. */
  failNext(path: string, failure: { status?: number; code: number; times?: number }): void {
    this.failures.push({
      path,
      status: failure.status ?? 200,
      code: failure.code,
      times: failure.times ?? 1,
    });
  }

  /** Calls to the message APIs (create, reply, patch, ephemeral), in order; resource downloads excluded. */
  messages(): ApiCall[] {
    return this.calls.filter(
      (c) =>
        (c.path.startsWith('/open-apis/im/v1/messages') && !c.path.includes('/resources/')) ||
        c.path.startsWith('/open-apis/ephemeral'),
    );
  }

  /** Downloads of message resources (im.messageResource.get), in order. */
  downloads(): ApiCall[] {
    return this.calls.filter((c) => c.path.includes('/resources/'));
  }

  /** The file of a user's file message, served by im.messageResource.get. */
  addResource(messageId: string, fileKey: string, data: Buffer): void {
    this.resources.set(`${messageId}/${fileKey}`, data);
  }

  clear(): void {
    this.calls.length = 0;
    this.files.clear();
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}_${String(this.seq).padStart(6, '0')}`;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', this.url);
    const path = u.pathname;
    const current: { call?: ApiCall } = {};
    const send = (
      status: number,
      body: { code: number; data?: Record<string, unknown> } & Record<string, unknown>,
    ) => {
      if (current.call)
        current.call.answer = { status, code: body.code, ...(body.data ? { data: body.data } : {}) };
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/open-apis/auth/v3/tenant_access_token/internal') {
      const body = JSON.parse(raw.toString()) as { app_id?: string; app_secret?: string };
      if (body.app_id !== APP_ID || body.app_secret !== APP_SECRET)
        return send(200, { code: 10014, msg: 'app secret invalid' });
      const token = `t-${randomUUID()}`;
      this.tokens.add(token);
      return send(200, { code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 });
    }
    if (path === '/callback/ws/endpoint') {
      const body = JSON.parse(raw.toString()) as { AppID?: string; AppSecret?: string };
      if (body.AppID !== APP_ID || body.AppSecret !== APP_SECRET)
        return send(200, { code: 514, msg: 'auth failed', data: {} });
      const port = (this.server.address() as AddressInfo).port;
      return send(200, {
        code: 0,
        msg: 'ok',
        data: {
          URL: `ws://127.0.0.1:${port}/ws?device_id=dev1&service_id=7`,
          ClientConfig: { PingInterval: 120, ReconnectCount: 1, ReconnectInterval: 120, ReconnectNonce: 0 },
        },
      });
    }
    const auth = req.headers.authorization ?? '';
    if (!this.tokens.has(auth.replace(/^Bearer /, '')))
      return send(401, { code: 99991663, msg: 'tenant token invalid' });

    const call: ApiCall = {
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(u.searchParams),
      body: {},
    };
    const ctype = req.headers['content-type'] ?? '';
    if (ctype.startsWith('multipart/form-data')) call.body = parseMultipart(raw, ctype);
    else if (raw.length) call.body = JSON.parse(raw.toString()) as Record<string, unknown>;
    if (typeof call.body.content === 'string')
      call.card = JSON.parse(call.body.content) as Record<string, unknown>;
    if (typeof call.body.card === 'object' && call.body.card)
      call.card = call.body.card as Record<string, unknown>;
    this.calls.push(call);
    current.call = call;

    const held = this.holds.find((h) => path.startsWith(h.path));
    if (held) await held.released;
    const failure = this.failures.find((f) => path.startsWith(f.path) && f.times > 0);
    if (failure) {
      failure.times -= 1;
      return send(failure.status, { code: failure.code, msg: 'injected failure' });
    }

    if (path === '/open-apis/bot/v3/info')
      return send(200, {
        code: 0,
        msg: 'ok',
        bot: { open_id: BOT_OPEN_ID, app_name: 'DealPulse', activate_status: 2 },
      });
    if (path === '/open-apis/im/v1/messages' && req.method === 'POST') {
      const receive = String(call.body.receive_id);
      const chatId = call.query.receive_id_type === 'chat_id' ? receive : `oc_dm_${receive}`;
      const id = this.nextId('om');
      this.chats.set(id, chatId);
      return send(200, {
        code: 0,
        msg: 'success',
        data: { message_id: id, chat_id: chatId, msg_type: call.body.msg_type },
      });
    }
    const reply = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/.exec(path);
    if (reply && req.method === 'POST') {
      const id = this.nextId('om');
      const chatId = this.chats.get(reply[1]!) ?? 'oc_unknown';
      this.chats.set(id, chatId);
      return send(200, {
        code: 0,
        msg: 'success',
        data: { message_id: id, chat_id: chatId, root_id: reply[1], parent_id: reply[1] },
      });
    }
    if (/^\/open-apis\/im\/v1\/messages\/[^/]+$/.test(path) && req.method === 'PATCH')
      return send(200, { code: 0, msg: 'success', data: {} });
    if (path === '/open-apis/ephemeral/v1/send')
      return send(200, { code: 0, msg: 'success', data: { message_id: this.nextId('om_eph') } });
    const resource = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/resources\/([^/]+)$/.exec(path);
    if (resource && req.method === 'GET') {
      const data = this.resources.get(`${resource[1]}/${resource[2]}`);
      if (!data || call.query.type !== 'file') return send(400, { code: 234003, msg: 'File not in msg.' });
      call.answer = { status: 200, code: 0 };
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(data);
      return;
    }
    if (path === '/open-apis/im/v1/files' && req.method === 'POST') {
      const data = call.body.data;
      if (!call.body.filename || !Buffer.isBuffer(data) || data.length === 0)
        return send(200, { code: 234001, msg: 'Invalid request param.' });
      const types = ['opus', 'mp4', 'pdf', 'doc', 'xls', 'ppt', 'stream'];
      if (!types.includes(String(call.body.file_type)) || !call.body.file_name)
        return send(200, { code: 234001, msg: 'Invalid request param.' });
      const key = this.nextId('file_v3');
      this.files.set(key, { name: String(call.body.file_name), type: String(call.body.file_type), data });
      return send(200, { code: 0, msg: 'success', data: { file_key: key } });
    }
    if (path === '/open-apis/im/v1/images') {
      if (!call.body.filename) return send(200, { code: 234001, msg: 'Invalid request param.' });
      return send(200, { code: 0, msg: 'success', data: { image_key: this.nextId('img_v3') } });
    }
    return send(404, { code: 404, msg: 'not found' });
  }

  /** Remembers a user's message (so replies to it land in its chat). */
  knowMessage(messageId: string, chatId: string): void {
    this.chats.set(messageId, chatId);
  }

  // ── long connection ───────────────────────────────────────────────────────
  private accept(ws: WsSocket): void {
    this.wsConnects += 1;
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data: Buffer) => {
      const frame = Frame.toObject(Frame.decode(data), { longs: Number }) as FrameData;
      const id = frame.headers.find((h) => h.key === 'message_id')?.value;
      const type = frame.headers.find((h) => h.key === 'type')?.value;
      if (type === 'event' && id) this.waiting.get(id)?.(frame);
    });
  }

  get connected(): number {
    return this.sockets.size;
  }

  /**
   * Pushes an event over the long connection (optionally split in `parts`
   * fragments like Feishu does for large events) and resolves with the client's
   * answer: `{ code, data }` where data is the handler's return value.
   */
  pushEvent(payload: object, parts = 1): Promise<{ code: number; data?: unknown }> {
    const [socket] = this.sockets;
    if (!socket) throw new Error('no long connection');
    const id = randomUUID();
    const bytes = Buffer.from(JSON.stringify(payload));
    const answer = new Promise<{ code: number; data?: unknown }>((resolve) => {
      this.waiting.set(id, (frame) => {
        this.waiting.delete(id);
        const body = JSON.parse(Buffer.from(frame.payload ?? []).toString()) as {
          code: number;
          data?: string;
        };
        resolve({
          code: body.code,
          data: body.data ? JSON.parse(Buffer.from(body.data, 'base64').toString()) : undefined,
        });
      });
    });
    const size = Math.ceil(bytes.length / parts);
    for (let seq = 0; seq < parts; seq++) {
      const frame = Frame.create({
        SeqID: seq,
        LogID: 0,
        service: 7,
        method: 1,
        headers: [
          { key: 'type', value: 'event' },
          { key: 'message_id', value: id },
          { key: 'sum', value: String(parts) },
          { key: 'seq', value: String(seq) },
          { key: 'trace_id', value: `trace-${id}` },
        ],
        payload: bytes.subarray(seq * size, (seq + 1) * size),
      });
      socket.send(Frame.encode(frame).finish());
    }
    return answer;
  }
}

function parseMultipart(raw: Buffer, ctype: string): Record<string, unknown> {
  const boundary = /boundary=(.+)$/.exec(ctype)?.[1] ?? '';
  const out: Record<string, unknown> = {};
  const text = raw.toString('latin1');
  for (const part of text.split(`--${boundary}`)) {
    const m = /Content-Disposition: form-data; name="([^"]+)"(?:; filename="([^"]*)")?/i.exec(part);
    if (!m) continue;
    const value = part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
    if (m[2] !== undefined) {
      out.filename = m[2];
      out.data = Buffer.from(value, 'latin1');
      out.bytes = (out.data as Buffer).length;
    } else out[m[1]!] = Buffer.from(value, 'latin1').toString('utf8');
  }
  return out;
}

// ── what Feishu sends to the bot ────────────────────────────────────────────

let counter = 0;
const nextEventId = () => `evt_${Date.now().toString(36)}_${(counter += 1)}`;

export interface MessageEventInput {
  text: string;
  openId?: string;
  chatId?: string;
  chatType?: 'p2p' | 'group';
  /** Mention the bot as `@_user_1` at the start (groups). */
  atBot?: boolean;
  /** Other users mentioned: `@_user_N` placeholders in the text map to these open_ids in order, after the bot. */
  mentions?: { openId: string; name: string }[];
  rootId?: string;
  messageId?: string;
  eventId?: string;
  tenant?: string;
  token?: string;
  messageType?: string;
  content?: string;
}

export function messageEvent(input: MessageEventInput) {
  const tenant = input.tenant ?? TENANT;
  const mentions: {
    key: string;
    id: { open_id: string; union_id: string; user_id: string };
    name: string;
    tenant_key: string;
  }[] = [];
  let text = input.text;
  if (input.atBot) {
    mentions.push({
      key: '@_user_1',
      id: { open_id: BOT_OPEN_ID, union_id: 'on_bot', user_id: '' },
      name: 'DealPulse',
      tenant_key: tenant,
    });
    text = `@_user_1 ${text}`;
  }
  for (const m of input.mentions ?? [])
    mentions.push({
      key: `@_user_${mentions.length + 1}`,
      id: { open_id: m.openId, union_id: `on_${m.openId}`, user_id: '' },
      name: m.name,
      tenant_key: tenant,
    });
  const messageId = input.messageId ?? `om_user_${(counter += 1)}`;
  return {
    schema: '2.0',
    header: {
      event_id: input.eventId ?? nextEventId(),
      event_type: 'im.message.receive_v1',
      create_time: String(Date.now()),
      token: input.token ?? VERIFICATION_TOKEN,
      app_id: APP_ID,
      tenant_key: tenant,
    },
    event: {
      sender: {
        sender_id: { open_id: input.openId ?? 'ou_alice', union_id: 'on_alice', user_id: '' },
        sender_type: 'user',
        tenant_key: tenant,
      },
      message: {
        message_id: messageId,
        ...(input.rootId ? { root_id: input.rootId, parent_id: input.rootId } : {}),
        create_time: String(Date.now()),
        chat_id: input.chatId ?? 'oc_dm_alice',
        chat_type: input.chatType ?? 'p2p',
        message_type: input.messageType ?? 'text',
        content: input.content ?? JSON.stringify({ text }),
        ...(mentions.length ? { mentions } : {}),
      },
    },
  };
}

export interface CardActionInput {
  value: unknown;
  formValue?: Record<string, unknown>;
  openId?: string;
  messageId?: string;
  chatId?: string;
  eventId?: string;
  tenant?: string;
  token?: string;
}

export function cardAction(input: CardActionInput) {
  const tenant = input.tenant ?? TENANT;
  return {
    schema: '2.0',
    header: {
      event_id: input.eventId ?? nextEventId(),
      token: input.token ?? VERIFICATION_TOKEN,
      create_time: String(Date.now() * 1000),
      event_type: 'card.action.trigger',
      tenant_key: tenant,
      app_id: APP_ID,
    },
    event: {
      operator: {
        tenant_key: tenant,
        user_id: '',
        open_id: input.openId ?? 'ou_alice',
        union_id: 'on_alice',
      },
      // The card-update token: the SDK's merge lets it overwrite header.token.
      token: 'c-card-update-token',
      action: {
        value: input.value,
        tag: input.formValue ? 'button' : 'button',
        ...(input.formValue ? { form_value: input.formValue, name: 'submit' } : {}),
      },
      host: 'im_message',
      context: { open_message_id: input.messageId ?? 'om_card', open_chat_id: input.chatId ?? 'oc_dm_alice' },
    },
  };
}

export interface PostOptions {
  encryptKey?: string;
  /** Sign with this key instead (a wrong one makes a bad signature). */
  signKey?: string;
  unsigned?: boolean;
}

/** Posts a payload to the bot as Feishu would: encrypted and signed when an encrypt key is given. */
export async function postToBot(
  url: string,
  payload: object,
  opts: PostOptions = {},
): Promise<{ status: number; body: string }> {
  const body = opts.encryptKey
    ? JSON.stringify({ encrypt: encryptPayload(JSON.stringify(payload), opts.encryptKey) })
    : JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = opts.signKey ?? opts.encryptKey;
  if (key && !opts.unsigned) {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomUUID();
    headers['x-lark-request-timestamp'] = ts;
    headers['x-lark-request-nonce'] = nonce;
    headers['x-lark-signature'] = signBody(ts, nonce, key, body);
  }
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

/** A bot menu click ("推送事件" menu item with `eventKey`). */
export function menuEvent(input: { eventKey: string; openId?: string; tenant?: string; eventId?: string }) {
  const tenant = input.tenant ?? TENANT;
  return {
    schema: '2.0',
    header: {
      event_id: input.eventId ?? nextEventId(),
      event_type: 'application.bot.menu_v6',
      create_time: String(Date.now()),
      token: VERIFICATION_TOKEN,
      app_id: APP_ID,
      tenant_key: tenant,
    },
    event: {
      operator: {
        operator_name: 'Alice',
        operator_id: { open_id: input.openId ?? 'ou_alice', union_id: 'on_alice', user_id: '' },
      },
      event_key: input.eventKey,
      timestamp: Date.now(),
    },
  };
}
