/**
 * A local fake of Slack for end-to-end tests: the Web API (records every call
 * and answers like Slack), response_url, the external upload endpoint, and a
 * Socket Mode server. Plus helpers that sign requests the way Slack does.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type Json = Record<string, unknown>;

export interface ApiCall {
  method: string;
  args: Json;
  token: string | undefined;
  /** What the fake answered. */
  result?: Json;
}

export interface ResponseUrlCall {
  id: string;
  body: Json;
}

export interface Upload {
  fileId: string;
  bytes: number;
  /** The file's name as given to files.getUploadURLExternal. */
  filename?: string;
  /** The uploaded file's bytes (the `body` part of the multipart upload). */
  data?: Buffer;
}

/** A file users shared: served at its url_private_download to the bot token, described by files.info. */
export interface FakeFile {
  id: string;
  name: string;
  data: Buffer;
  mimetype?: string;
}

type Handler = (args: Json, call: ApiCall) => Json | Promise<Json>;

/** Fields Slack sends as JSON strings inside form-encoded Web API calls. */
const JSON_FIELDS = new Set(['blocks', 'view', 'files', 'attachments', 'metadata']);

export interface FakeUser {
  id: string;
  locale?: string;
  name?: string;
  isBot?: boolean;
}

export class FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly responses: ResponseUrlCall[] = [];
  readonly uploads: Upload[] = [];
  readonly users = new Map<string, FakeUser>();
  /** Files users shared with the bot (see `addFile`). */
  readonly files = new Map<string, FakeFile>();
  /** Paths of file downloads, with the token they carried. */
  readonly downloads: { path: string; token: string | undefined }[] = [];
  /** The bot token the file server accepts. */
  botToken = 'xoxb-test';
  private uploadNames = new Map<string, string>();
  /** Channel ids where chat.postMessage answers `not_in_channel`. */
  readonly notInChannel = new Set<string>();
  readonly botUserId = 'UBOT';
  readonly botId = 'BBOT';
  teamId = 'T1';
  private server!: Server;
  private wss?: WebSocketServer;
  private socket?: WebSocket;
  private handlers = new Map<string, Handler>();
  private ts = 1_700_000_000;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  private pendingAcks = new Map<string, (payload: Json | undefined) => void>();
  url = '';

  /** Base URL for `slackApiUrl` (ends with /api/). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').startsWith('/files-pri/')) return this.serveFile(req, res);
      void this.handle(req).then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.socket?.terminate();
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A file a user shared (file_input or DM); returns its description as Slack puts it in payloads. */
  addFile(name: string, data: Buffer, mimetype = 'application/octet-stream'): Json {
    const id = `F${randomBytes(5).toString('hex').toUpperCase()}`;
    this.files.set(id, { id, name, data, mimetype });
    return this.fileObject(this.files.get(id)!);
  }

  fileObject(f: FakeFile): Json {
    const ext = /\.([a-z0-9]+)$/i.exec(f.name)?.[1]?.toLowerCase() ?? '';
    return {
      id: f.id,
      name: f.name,
      title: f.name,
      mimetype: f.mimetype,
      filetype: ext,
      size: f.data.length,
      mode: 'hosted',
      url_private: `${this.url}/files-pri/${this.teamId}-${f.id}/${encodeURIComponent(f.name)}`,
      url_private_download: `${this.url}/files-pri/${this.teamId}-${f.id}/download/${encodeURIComponent(f.name)}`,
    };
  }

  /** Like files.slack.com: the bytes for the bot token, the sign-in page (HTML, 200) otherwise. */
  private serveFile(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    this.downloads.push({ path, token });
    const id = /^\/files-pri\/[^-/]+-([^/]+)\//.exec(path)?.[1];
    const file = id ? this.files.get(id) : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    } else if (token !== this.botToken) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><html><body>Sign in to Slack</body></html>');
    } else {
      res.writeHead(200, { 'content-type': file.mimetype ?? 'application/octet-stream' });
      res.end(file.data);
    }
    this.notify();
  }

  /** Overrides the answer to a Web API method. */
  on(method: string, handler: Handler): void {
    this.handlers.set(method, handler);
  }

  reset(): void {
    this.calls.length = 0;
    this.responses.length = 0;
    this.uploads.length = 0;
    this.downloads.length = 0;
  }

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `pred` holds (checked after every recorded call); rejects after `ms`. */
  waitFor(pred: () => boolean, what = 'condition', ms = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiters.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Waits until `method` was called `n` times in total and returns the last call. */
  async nextCall(method: string, n = this.callsTo(method).length + 1): Promise<ApiCall> {
    await this.waitFor(() => this.callsTo(method).length >= n, `${method} #${n}`);
    return this.callsTo(method)[n - 1]!;
  }

  async nextResponse(n = this.responses.length + 1): Promise<ResponseUrlCall> {
    await this.waitFor(() => this.responses.length >= n, `response_url #${n}`);
    return this.responses[n - 1]!;
  }

  /** A fresh response_url pointing at this fake. */
  responseUrl(): string {
    return `${this.url}/response/${randomBytes(4).toString('hex')}`;
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }

  private nextTs(): string {
    this.ts += 1;
    return `${this.ts}.000100`;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: Json }> {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0]!;
    if (path.startsWith('/response/')) {
      this.responses.push({
        id: path.slice('/response/'.length),
        body: JSON.parse(raw.toString('utf8')) as Json,
      });
      this.notify();
      return { status: 200, body: { ok: true } };
    }
    if (path.startsWith('/upload/')) {
      const fileId = path.slice('/upload/'.length);
      const type = req.headers['content-type'] ?? '';
      let data: Buffer | undefined;
      if (type.startsWith('multipart/form-data')) {
        const form = await new Request('http://fake/upload', {
          method: 'POST',
          headers: { 'content-type': type },
          body: raw,
        }).formData();
        const part = form.get('body');
        if (part && typeof part !== 'string') data = Buffer.from(await part.arrayBuffer());
      }
      this.uploads.push({ fileId, bytes: raw.length, filename: this.uploadNames.get(fileId), data });
      this.notify();
      return { status: 200, body: { ok: true } };
    }
    if (!path.startsWith('/api/')) return { status: 404, body: { ok: false } };
    const method = path.slice('/api/'.length);
    const type = req.headers['content-type'] ?? '';
    const args: Json = {};
    if (type.includes('application/json')) Object.assign(args, JSON.parse(raw.toString('utf8') || '{}'));
    else
      for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
        args[k] = JSON_FIELDS.has(k) ? JSON.parse(v) : v;
      }
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (args.token as string | undefined);
    const call: ApiCall = { method, args, token };
    this.calls.push(call);
    const custom = this.handlers.get(method);
    const body = custom ? await custom(args, call) : this.answer(method, args);
    call.result = body;
    this.notify();
    return { status: 200, body };
  }

  /** Default answers, shaped like Slack's. */
  private answer(method: string, args: Json): Json {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'dealpulse',
          team_id: this.teamId,
          user_id: this.botUserId,
          bot_id: this.botId,
        };
      case 'chat.postMessage': {
        const channel = String(args.channel);
        if (this.notInChannel.has(channel)) return { ok: false, error: 'not_in_channel' };
        // Posting to a user id opens the DM with the bot.
        const ch = channel.startsWith('U') ? `D${channel.slice(1)}` : channel;
        return { ok: true, channel: ch, ts: this.nextTs(), message: { text: args.text } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.getPermalink':
        return {
          ok: true,
          channel: args.channel,
          permalink: `https://fake.slack.com/archives/${String(args.channel)}/p${String(args.message_ts).replace('.', '')}`,
        };
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish':
        return {
          ok: true,
          view: { id: `V${randomBytes(4).toString('hex').toUpperCase()}`, ...(args.view as Json) },
        };
      case 'users.info': {
        const id = String(args.user);
        const u = this.users.get(id);
        if (!u) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id,
            team_id: this.teamId,
            name: u.name ?? id.toLowerCase(),
            real_name: u.name ?? id,
            is_bot: u.isBot ?? false,
            profile: { display_name: u.name ?? id, real_name: u.name ?? id },
            ...(args.include_locale ? { locale: u.locale ?? 'en-US' } : {}),
          },
        };
      }
      case 'files.info': {
        const f = this.files.get(String(args.file));
        return f ? { ok: true, file: this.fileObject(f) } : { ok: false, error: 'file_not_found' };
      }
      case 'conversations.open': {
        const user = String(args.users ?? '');
        if (!user || user.includes(',')) return { ok: false, error: 'invalid_arguments' };
        return { ok: true, channel: { id: `D${user.slice(1)}` } };
      }
      case 'conversations.replies':
        return { ok: true, messages: [], has_more: false };
      case 'files.getUploadURLExternal': {
        const id = `F${randomBytes(4).toString('hex').toUpperCase()}`;
        this.uploadNames.set(id, String(args.filename));
        return { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal':
        return { ok: true, files: ((args.files as Json[]) ?? []).map((f) => ({ id: f.id, title: f.title })) };
      case 'oauth.v2.access':
        return {
          ok: true,
          app_id: 'A1',
          authed_user: { id: 'UINSTALLER' },
          scope: 'commands,chat:write',
          token_type: 'bot',
          access_token: `xoxb-installed-${String(args.code)}`,
          bot_user_id: this.botUserId,
          team: { id: 'T2', name: 'Second team' },
          enterprise: null,
          is_enterprise_install: false,
        };
      case 'apps.connections.open':
        return this.wss
          ? { ok: true, url: `${this.url.replace('http', 'ws')}/socket` }
          : { ok: false, error: 'not_allowed' };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  // ── Socket Mode ──────────────────────────────────────────────────────────
  /** Accepts Socket Mode connections on `/socket` (apps.connections.open returns it). */
  enableSocketMode(): void {
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        this.socket = ws;
        ws.on('message', (data) => {
          const msg = JSON.parse(String(data)) as { envelope_id?: string; payload?: Json };
          if (msg.envelope_id) this.pendingAcks.get(msg.envelope_id)?.(msg.payload);
        });
        ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' } }));
        this.notify();
      });
    });
  }

  get socketConnected(): boolean {
    return this.socket?.readyState === 1;
  }

  /** Sends an envelope and resolves with the client's ack payload. */
  sendEnvelope(
    type: 'slash_commands' | 'interactive' | 'events_api',
    payload: Json,
    retryAttempt = 0,
  ): Promise<Json | undefined> {
    const id = randomBytes(8).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no socket ack')), 5000);
      this.pendingAcks.set(id, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
      this.socket!.send(
        JSON.stringify({
          envelope_id: id,
          type,
          payload,
          accepts_response_payload: type !== 'events_api',
          retry_attempt: retryAttempt,
          retry_reason: '',
        }),
      );
    });
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// ── signed requests to the bot ────────────────────────────────────────────────
export interface SignedResponse {
  status: number;
  text: string;
  json(): Json;
}

export function sign(secret: string, ts: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
}

export interface SendOptions {
  /** Seconds since the epoch; default now. */
  ts?: number;
  /** Override the signature (bad-signature tests). */
  signature?: string;
  retryNum?: number;
  path?: string;
}

/** Sends a body to the bot like Slack does: exact content type, signed. */
export async function sendSigned(
  baseUrl: string,
  secret: string,
  body: string,
  contentType: 'application/x-www-form-urlencoded' | 'application/json',
  opts: SendOptions = {},
): Promise<SignedResponse> {
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': opts.signature ?? sign(secret, ts, body),
  };
  if (opts.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(opts.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  const res = await fetch(`${baseUrl}${opts.path ?? '/slack/events'}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Json };
}

/** A signed request sender bound to one bot. */
export class SlackClientSim {
  private n = 0;
  constructor(
    readonly baseUrl: string,
    readonly secret: string,
    readonly fake: FakeSlack,
  ) {}

  /** A unique id like Slack's trigger ids. */
  id(prefix: string): string {
    this.n += 1;
    return `${prefix}${this.n}${randomBytes(3).toString('hex')}`;
  }

  command(
    command: string,
    text: string,
    who: { user: string; team?: string; channel?: string },
    opts: SendOptions & { triggerId?: string; responseUrl?: string } = {},
  ): Promise<SignedResponse> {
    const body = new URLSearchParams({
      token: 'legacy',
      team_id: who.team ?? this.fake.teamId,
      team_domain: 'fake',
      channel_id: who.channel ?? 'C1',
      channel_name: 'sales',
      user_id: who.user,
      user_name: who.user.toLowerCase(),
      command,
      text,
      api_app_id: 'A1',
      is_enterprise_install: 'false',
      response_url: opts.responseUrl ?? this.fake.responseUrl(),
      trigger_id: opts.triggerId ?? this.id('trig'),
    }).toString();
    return sendSigned(this.baseUrl, this.secret, body, 'application/x-www-form-urlencoded', opts);
  }

  interactive(payload: Json, opts: SendOptions = {}): Promise<SignedResponse> {
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    return sendSigned(this.baseUrl, this.secret, body, 'application/x-www-form-urlencoded', opts);
  }

  event(event: Json, opts: SendOptions & { eventId?: string; team?: string } = {}): Promise<SignedResponse> {
    const body = JSON.stringify({
      token: 'legacy',
      team_id: opts.team ?? this.fake.teamId,
      api_app_id: 'A1',
      event,
      type: 'event_callback',
      event_id: opts.eventId ?? this.id('Ev'),
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        {
          team_id: opts.team ?? this.fake.teamId,
          user_id: this.fake.botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
    });
    return sendSigned(this.baseUrl, this.secret, body, 'application/json', opts);
  }

  /** A button press on a message posted in a channel. */
  blockAction(
    who: { user: string; team?: string; channel?: string },
    action: { action_id: string; value: string },
    extra: Json = {},
  ): Promise<SignedResponse> {
    return this.interactive({
      type: 'block_actions',
      user: { id: who.user, username: who.user.toLowerCase(), team_id: who.team ?? this.fake.teamId },
      api_app_id: 'A1',
      token: 'legacy',
      container: {
        type: 'message',
        message_ts: '1700000000.000100',
        channel_id: who.channel ?? 'C1',
        is_ephemeral: false,
      },
      trigger_id: this.id('trig'),
      team: { id: who.team ?? this.fake.teamId, domain: 'fake' },
      channel: { id: who.channel ?? 'C1', name: 'sales' },
      message: { type: 'message', ts: '1700000000.000100', text: 'card', blocks: [] },
      response_url: this.fake.responseUrl(),
      actions: [
        {
          type: 'button',
          block_id: 'b1',
          action_id: action.action_id,
          value: action.value,
          text: { type: 'plain_text', text: 'x' },
          action_ts: '1700000001.000200',
        },
      ],
      ...extra,
    });
  }

  /** Submits a modal the bot opened: `view` as sent to views.open, `values` as field name → state entry. */
  viewSubmission(
    who: { user: string; team?: string },
    view: Json,
    state: Record<string, Json>,
    viewId = this.id('V'),
  ): Promise<SignedResponse> {
    const values: Record<string, Json> = {};
    for (const [block, v] of Object.entries(state)) values[block] = { v };
    return this.interactive({
      type: 'view_submission',
      team: { id: who.team ?? this.fake.teamId, domain: 'fake' },
      user: { id: who.user, username: who.user.toLowerCase(), team_id: who.team ?? this.fake.teamId },
      api_app_id: 'A1',
      token: 'legacy',
      trigger_id: this.id('trig'),
      view: {
        id: viewId,
        team_id: who.team ?? this.fake.teamId,
        type: 'modal',
        hash: 'h1',
        state: { values },
        app_id: 'A1',
        bot_id: this.fake.botId,
        ...view,
      },
      response_urls: [],
    });
  }
}

/** State entries for `viewSubmission`, shaped like Slack's. */
export const input = {
  text: (value: string): Json => ({ type: 'plain_text_input', value }),
  select: (value: string | null): Json => ({
    type: 'static_select',
    selected_option: value === null ? null : { value, text: { type: 'plain_text', text: value } },
  }),
  user: (id: string | null): Json => ({ type: 'users_select', selected_user: id }),
  date: (d: string | null): Json => ({ type: 'datepicker', selected_date: d }),
  checks: (values: string[]): Json => ({
    type: 'checkboxes',
    selected_options: values.map((v) => ({ value: v, text: { type: 'plain_text', text: v } })),
  }),
};
