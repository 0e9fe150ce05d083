/**
 * Open cursors: the remaining result documents (raw BSON) of a find or
 * aggregate, served in batches bounded by count and by 16 MB. Idle cursors are
 * closed after `timeoutMs`; using them afterwards gives CursorNotFound (43).
 */
import { randomBytes } from 'node:crypto';
import { Long } from 'bson';
import { ServerError } from './errors.js';
import { MAX_BSON_SIZE } from './wire.js';

/** Room left in a 16 MB reply for the envelope around the documents. */
const BATCH_BYTES = MAX_BSON_SIZE - 16 * 1024;

interface OpenCursor {
  id: Long;
  ns: string;
  docs: Buffer[];
  pos: number;
  lastUsed: number;
}

export function takeBatch(docs: Buffer[], from: number, max: number): Buffer[] {
  const out: Buffer[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length && out.length < max; i++) {
    const d = docs[i]!;
    if (out.length > 0 && bytes + d.length + 16 > BATCH_BYTES) break;
    bytes += d.length + 16;
    out.push(d);
  }
  return out;
}

export class CursorManager {
  private readonly open = new Map<string, OpenCursor>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly timeoutMs = 10 * 60_000) {
    this.timer = setInterval(() => this.reap(), Math.min(60_000, Math.max(50, timeoutMs / 4)));
    this.timer.unref();
  }

  /** Returns the first batch and the cursor id (0 when everything fit). */
  first(ns: string, docs: Buffer[], batchSize: number, singleBatch: boolean): { batch: Buffer[]; id: Long } {
    const batch = takeBatch(docs, 0, batchSize);
    if (singleBatch || batch.length >= docs.length) return { batch, id: Long.ZERO };
    // Bit 62 set: ids never fit a JS number, so clients that promote longs still send a Long back.
    const id = Long.fromBigInt(
      (randomBytes(8).readBigInt64LE(0) & 0x3fffffffffffffffn) | 0x4000000000000000n,
    );
    this.open.set(id.toString(), { id, ns, docs, pos: batch.length, lastUsed: Date.now() });
    return { batch, id };
  }

  next(id: Long, ns: string, batchSize: number): { batch: Buffer[]; id: Long } {
    const c = this.open.get(id.toString());
    if (!c) throw new ServerError('CursorNotFound', `cursor id ${id.toString()} not found`);
    if (c.ns !== ns) {
      throw new ServerError(
        'Unauthorized',
        `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${c.ns}`,
      );
    }
    const batch = takeBatch(c.docs, c.pos, batchSize > 0 ? batchSize : Number.MAX_SAFE_INTEGER);
    c.pos += batch.length;
    c.lastUsed = Date.now();
    if (c.pos >= c.docs.length) {
      this.open.delete(id.toString());
      return { batch, id: Long.ZERO };
    }
    return { batch, id: c.id };
  }

  kill(id: Long): boolean {
    return this.open.delete(id.toString());
  }

  get size(): number {
    return this.open.size;
  }

  reap(now = Date.now()): void {
    for (const [k, c] of this.open) if (now - c.lastUsed > this.timeoutMs) this.open.delete(k);
  }

  close(): void {
    clearInterval(this.timer);
    this.open.clear();
  }
}
