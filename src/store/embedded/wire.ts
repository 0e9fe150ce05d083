/**
 * MongoDB wire protocol codec: message framing, OP_QUERY (legacy handshake),
 * OP_REPLY, OP_MSG (section kinds 0 and 1) and a small raw BSON writer used to
 * put stored documents into replies without re-serializing them.
 */
import type { Long } from 'bson';
import { serialize } from 'bson';
import { deserializeTyped, type Doc } from './values.js';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const MAX_BSON_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE = 48_000_000;
export const MAX_WRITE_BATCH = 100_000;

export const FLAG_CHECKSUM = 1;
export const FLAG_MORE_TO_COME = 2;

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export function readHeader(buf: Buffer): Header {
  return {
    length: buf.readInt32LE(0),
    requestId: buf.readInt32LE(4),
    responseTo: buf.readInt32LE(8),
    opCode: buf.readInt32LE(12),
  };
}

/** A parsed command: the body plus kind-1 sequences (raw documents kept for inserts). */
export interface ParsedCommand {
  body: Doc;
  /** Raw BSON of each document of each kind-1 section, by identifier. */
  sequences: Map<string, Buffer[]>;
  moreToCome: boolean;
  legacy: boolean;
}

export class ProtocolError extends Error {}

function cstringEnd(buf: Buffer, at: number, end: number): number {
  const i = buf.indexOf(0, at);
  if (i < 0 || i >= end) throw new ProtocolError('unterminated cstring');
  return i;
}

function docAt(buf: Buffer, at: number, end: number): Buffer {
  if (at + 5 > end) throw new ProtocolError('truncated document');
  const len = buf.readInt32LE(at);
  if (len < 5 || at + len > end) throw new ProtocolError('invalid document length');
  if (len > MAX_BSON_SIZE + 16 * 1024) throw new ProtocolError('document exceeds maxBsonObjectSize');
  return buf.subarray(at, at + len);
}

export function parseOpMsg(msg: Buffer): ParsedCommand {
  const flags = msg.readUInt32LE(16);
  // Bits 0-15 are required to be understood; only checksumPresent and moreToCome are defined.
  if ((flags & 0xffff & ~(FLAG_CHECKSUM | FLAG_MORE_TO_COME)) !== 0)
    throw new ProtocolError(`unsupported OP_MSG flags ${flags}`);
  const end = flags & FLAG_CHECKSUM ? msg.length - 4 : msg.length;
  let at = 20;
  let body: Doc | undefined;
  const sequences = new Map<string, Buffer[]>();
  while (at < end) {
    const kind = msg[at]!;
    at += 1;
    if (kind === 0) {
      if (body) throw new ProtocolError('more than one kind-0 section');
      const raw = docAt(msg, at, end);
      body = deserializeTyped(raw);
      at += raw.length;
    } else if (kind === 1) {
      const size = msg.readInt32LE(at);
      const secEnd = at + size;
      if (size < 5 || secEnd > end) throw new ProtocolError('invalid document sequence size');
      const idEnd = cstringEnd(msg, at + 4, secEnd);
      const id = msg.toString('utf8', at + 4, idEnd);
      let p = idEnd + 1;
      const docs: Buffer[] = [];
      while (p < secEnd) {
        const d = docAt(msg, p, secEnd);
        docs.push(d);
        p += d.length;
      }
      sequences.set(id, docs);
      at = secEnd;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  return { body, sequences, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0, legacy: false };
}

/** Legacy OP_QUERY: only commands on `<db>.$cmd` (the driver's first handshake) are accepted. */
export function parseOpQuery(msg: Buffer): ParsedCommand & { collection: string } {
  const nameEnd = cstringEnd(msg, 20, msg.length);
  const collection = msg.toString('utf8', 20, nameEnd);
  const at = nameEnd + 1 + 8;
  const raw = docAt(msg, at, msg.length);
  let body = deserializeTyped(raw);
  if (body.$query && typeof body.$query === 'object') body = body.$query as Doc;
  else if (body.query && typeof body.query === 'object' && !('find' in body)) body = body.query as Doc;
  const db = collection.split('.')[0] ?? 'admin';
  return { body: { ...body, $db: db }, sequences: new Map(), moreToCome: false, legacy: true, collection };
}

export function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** OP_MSG reply with one kind-0 section holding `body` (already-serialized BSON). */
export function opMsgReply(requestId: number, responseTo: number, body: Buffer): Buffer[] {
  const pre = Buffer.allocUnsafe(5);
  pre.writeUInt32LE(0, 0);
  pre[4] = 0;
  return [header(16 + 5 + body.length, requestId, responseTo, OP_MSG), pre, body];
}

export function opReply(requestId: number, responseTo: number, body: Buffer): Buffer[] {
  const pre = Buffer.alloc(20);
  // responseFlags 0 (bit 3 AwaitCapable is set by mongod; harmless either way)
  pre.writeInt32LE(8, 0);
  pre.writeBigInt64LE(0n, 4);
  pre.writeInt32LE(0, 12);
  pre.writeInt32LE(1, 16);
  return [header(16 + 20 + body.length, requestId, responseTo, OP_REPLY), pre, body];
}

// ---------------------------------------------------------------------------
// Raw BSON writing for cursor replies: { cursor: { <batch>: [raw...], id, ns }, ok: 1 }

function cstr(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

function element(type: number, name: string, value: Buffer): Buffer[] {
  return [Buffer.from([type]), cstr(name), value];
}

function wrapDoc(parts: Buffer[]): Buffer {
  const len = parts.reduce((n, p) => n + p.length, 0) + 5;
  const head = Buffer.allocUnsafe(4);
  head.writeInt32LE(len, 0);
  return Buffer.concat([head, ...parts, Buffer.from([0])], len);
}

function stringValue(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(4 + b.length + 1);
  out.writeInt32LE(b.length + 1, 0);
  b.copy(out, 4);
  out[4 + b.length] = 0;
  return out;
}

export function cursorReplyBody(
  id: Long,
  ns: string,
  batchKey: 'firstBatch' | 'nextBatch',
  docs: Buffer[],
): Buffer {
  const arr: Buffer[] = [];
  docs.forEach((d, i) => arr.push(...element(0x03, String(i), d)));
  const idBuf = Buffer.allocUnsafe(8);
  idBuf.writeBigInt64LE(id.toBigInt(), 0);
  const okBuf = Buffer.allocUnsafe(8);
  okBuf.writeDoubleLE(1, 0);
  const cursor = wrapDoc([
    ...element(0x04, batchKey, wrapDoc(arr)),
    ...element(0x12, 'id', idBuf),
    ...element(0x02, 'ns', stringValue(ns)),
  ]);
  return wrapDoc([...element(0x03, 'cursor', cursor), ...element(0x01, 'ok', okBuf)]);
}

export function serializeBody(doc: Doc): Buffer {
  return Buffer.from(serialize(doc, { ignoreUndefined: false }));
}
