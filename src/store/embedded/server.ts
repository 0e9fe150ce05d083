/**
 * TCP server: frames messages per connection, runs them one at a time in
 * arrival order (like mongod), and writes replies. Protocol violations close
 * the connection.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { execute, type CommandContext } from './commands.js';
import type { CursorManager } from './cursors.js';
import type { Store } from './store.js';
import {
  MAX_MESSAGE_SIZE,
  OP_MSG,
  OP_QUERY,
  opMsgReply,
  opReply,
  parseOpMsg,
  parseOpQuery,
  ProtocolError,
  readHeader,
} from './wire.js';

export interface ServerDeps {
  store: Store;
  cursors: CursorManager;
  logger: Logger;
}

export class WireServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private nextConnectionId = 1;
  private nextRequestId = 1;
  private readonly startedAt = new Date();

  constructor(private readonly deps: ServerDeps) {
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const ctx: CommandContext = {
      store: this.deps.store,
      cursors: this.deps.cursors,
      logger: this.deps.logger,
      connectionId: this.nextConnectionId++,
      startedAt: this.startedAt,
    };
    let chunks: Buffer[] = [];
    let buffered = 0;
    let queue: Promise<void> = Promise.resolve();
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (data) => {
      chunks.push(data);
      buffered += data.length;
      for (;;) {
        if (buffered < 4) return;
        if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks, buffered)];
        const len = chunks[0]!.readInt32LE(0);
        if (len < 16 || len > MAX_MESSAGE_SIZE) {
          this.deps.logger.warn({ len }, 'embedded store: message size out of range; closing connection');
          socket.destroy();
          return;
        }
        if (buffered < len) return;
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
        const msg = all.subarray(0, len);
        const rest = all.subarray(len);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        queue = queue.then(() => this.handle(socket, ctx, msg));
      }
    });
  }

  private async handle(socket: net.Socket, ctx: CommandContext, msg: Buffer): Promise<void> {
    if (socket.destroyed) return;
    const h = readHeader(msg);
    try {
      if (h.opCode === OP_MSG) {
        const parsed = parseOpMsg(msg);
        const body = await execute(ctx, parsed);
        if (parsed.moreToCome) return;
        this.write(socket, opMsgReply(this.nextRequestId++, h.requestId, body));
      } else if (h.opCode === OP_QUERY) {
        const parsed = parseOpQuery(msg);
        const body = await execute(ctx, parsed);
        this.write(socket, opReply(this.nextRequestId++, h.requestId, body));
      } else {
        throw new ProtocolError(`unsupported opCode ${h.opCode}`);
      }
    } catch (err) {
      this.deps.logger.warn({ err: String(err) }, 'embedded store: protocol error; closing connection');
      socket.destroy();
    }
  }

  private write(socket: net.Socket, parts: Buffer[]): void {
    if (socket.destroyed) return;
    socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}
