/**
 * Durability: an append-only journal of state-setting records, fsynced before
 * acknowledged writes are answered, plus snapshot compaction.
 *
 * Files in the data directory:
 * - LOCK: the owning process id (exclusive create; stale when that pid is gone).
 * - snapshot.bin: the full state at generation g (written to a temp file, fsynced, renamed).
 * - journal.<g>.bin: records applied after snapshot g.
 * Record framing: u32 payload length, u32 crc32(payload), payload = u8 op, u16 ns length, ns, body.
 * Every record sets state absolutely (put document, delete by _id, create/drop...),
 * so replaying is idempotent. A torn or corrupt tail is truncated and logged.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
  ftruncateSync,
  fstatSync,
} from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { ServerError } from './errors.js';

export const Op = {
  Header: 0,
  Put: 1,
  Delete: 2,
  CreateCollection: 3,
  DropCollection: 4,
  CreateIndex: 5,
  DropIndex: 6,
  DropDatabase: 7,
  End: 9,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export interface JournalRecord {
  op: Op;
  ns: string;
  body: Buffer;
}

export function encodeRecord(op: Op, ns: string, body: Uint8Array): Buffer {
  const nsLen = Buffer.byteLength(ns);
  const payloadLen = 3 + nsLen + body.length;
  const out = Buffer.allocUnsafe(8 + payloadLen);
  out.writeUInt32LE(payloadLen, 0);
  out[8] = op;
  out.writeUInt16LE(nsLen, 9);
  out.write(ns, 11, 'utf8');
  out.set(body, 11 + nsLen);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

/** Decodes records; stops at the first torn or corrupt one and reports where valid data ends. */
export function decodeRecords(buf: Buffer): { records: JournalRecord[]; validEnd: number; problem?: string } {
  const records: JournalRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 8 > buf.length) return { records, validEnd: at, problem: 'truncated record header' };
    const len = buf.readUInt32LE(at);
    const crc = buf.readUInt32LE(at + 4);
    if (len < 3 || at + 8 + len > buf.length) return { records, validEnd: at, problem: 'truncated record' };
    const payload = buf.subarray(at + 8, at + 8 + len);
    if (crc32(payload) !== crc) return { records, validEnd: at, problem: 'checksum mismatch' };
    const nsLen = payload.readUInt16LE(1);
    records.push({
      op: payload[0] as Op,
      ns: payload.toString('utf8', 3, 3 + nsLen),
      body: payload.subarray(3 + nsLen),
    });
    at += 8 + len;
  }
  return { records, validEnd: at };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(dir: string, logger: Logger): () => void {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      fsyncSync(fd);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8').trim());
      } catch {
        continue;
      }
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new ServerError(
          'IllegalOperation',
          `embedded store data directory ${dir} is in use by process ${owner} (${file}); stop that process or use another --dbpath`,
        );
      }
      logger.warn({ file, owner }, 'embedded store: removing stale lock file');
      try {
        unlinkSync(file);
      } catch {
        /* raced with another process */
      }
    }
  }
  throw new ServerError('IllegalOperation', `could not acquire the lock file ${file}`);
}

/** Buffers writes into large chunks for snapshot writing. */
class ChunkWriter {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly fd: number) {}
  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
    if (this.size > 4 * 1024 * 1024) this.flush();
  }
  flush(): void {
    if (this.size === 0) return;
    writeSync(this.fd, Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}

export interface PersistenceOptions {
  dir: string;
  logger: Logger;
  /** Compact when the journal exceeds this many bytes and twice the snapshot size. */
  compactBytes?: number;
}

export class Persistence {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly compactBytes: number;
  private gen = 0;
  private fd = -1;
  private journalSize = 0;
  private snapshotSize = 0;
  private pending: Buffer[] = [];
  private dirty = false;
  private syncScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private releaseLock: () => void;
  private closed = false;

  constructor(opts: PersistenceOptions) {
    this.dir = opts.dir;
    this.logger = opts.logger;
    this.compactBytes = opts.compactBytes ?? 64 * 1024 * 1024;
    mkdirSync(this.dir, { recursive: true });
    this.releaseLock = acquireLock(this.dir, this.logger);
  }

  private journalPath(gen: number): string {
    return path.join(this.dir, `journal.${gen}.bin`);
  }

  /** Reads snapshot + journal and feeds every record to `apply`. Truncates a torn tail. */
  load(apply: (r: JournalRecord) => void): { snapshotRecords: number; journalRecords: number } {
    const snapFile = path.join(this.dir, 'snapshot.bin');
    let snapshotRecords = 0;
    if (existsSync(snapFile)) {
      const buf = readFileSync(snapFile);
      const { records, problem } = decodeRecords(buf);
      const head = records[0];
      const end = records.at(-1);
      if (problem || !head || head.op !== Op.Header || !end || end.op !== Op.End) {
        throw new Error(
          `embedded store: snapshot ${snapFile} is damaged (${problem ?? 'incomplete'}); refusing to start`,
        );
      }
      this.gen = head.body.readUInt32LE(0);
      this.snapshotSize = buf.length;
      for (const r of records.slice(1, -1)) apply(r);
      snapshotRecords = records.length - 2;
    }
    let journalRecords = 0;
    const jf = this.journalPath(this.gen);
    if (existsSync(jf)) {
      const buf = readFileSync(jf);
      const { records, validEnd, problem } = decodeRecords(buf);
      for (const r of records) apply(r);
      journalRecords = records.length;
      if (problem) {
        this.logger.warn(
          { file: jf, problem, offset: validEnd, droppedBytes: buf.length - validEnd },
          'embedded store: torn journal tail detected and truncated (unacknowledged write)',
        );
        const fd = openSync(jf, 'r+');
        ftruncateSync(fd, validEnd);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    // Leftovers of an interrupted compaction.
    for (const f of readdirSync(this.dir)) {
      const m = /^journal\.(\d+)\.bin$/.exec(f);
      if ((m && Number(m[1]) !== this.gen) || f === 'snapshot.tmp') unlinkSync(path.join(this.dir, f));
    }
    this.fd = openSync(jf, 'a');
    this.journalSize = fstatSync(this.fd).size;
    return { snapshotRecords, journalRecords };
  }

  append(op: Op, ns: string, body: Uint8Array): void {
    if (this.closed) throw new Error('embedded store: persistence is closed');
    this.pending.push(encodeRecord(op, ns, body));
  }

  /** Writes pending records and resolves once they are on disk (group commit). */
  commit(): Promise<void> {
    if (this.pending.length > 0) {
      const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [];
      writeSync(this.fd, buf);
      this.journalSize += buf.length;
      this.dirty = true;
    }
    if (!this.dirty) return this.chain;
    if (!this.syncScheduled) {
      this.syncScheduled = true;
      const fd = this.fd;
      this.chain = this.chain.then(
        () =>
          new Promise<void>((resolve, reject) => {
            this.syncScheduled = false;
            this.dirty = false;
            fdatasync(fd, (err) => (err ? reject(err) : resolve()));
          }),
      );
    }
    return this.chain;
  }

  needsCompaction(): boolean {
    return this.journalSize > this.compactBytes && this.journalSize > 2 * this.snapshotSize;
  }

  /**
   * Writes a new snapshot from `dump` and starts an empty journal. Call with no
   * pending records (after commit); runs synchronously.
   */
  compact(dump: (write: (op: Op, ns: string, body: Uint8Array) => void) => void): void {
    const tmp = path.join(this.dir, 'snapshot.tmp');
    const next = this.gen + 1;
    const fd = openSync(tmp, 'w');
    const w = new ChunkWriter(fd);
    const genBuf = Buffer.alloc(4);
    genBuf.writeUInt32LE(next, 0);
    w.push(encodeRecord(Op.Header, '', genBuf));
    dump((op, ns, body) => w.push(encodeRecord(op, ns, body)));
    w.push(encodeRecord(Op.End, '', Buffer.alloc(0)));
    w.flush();
    fsyncSync(fd);
    this.snapshotSize = fstatSync(fd).size;
    closeSync(fd);
    const newJournal = openSync(this.journalPath(next), 'w');
    fsyncSync(newJournal);
    renameSync(tmp, path.join(this.dir, 'snapshot.bin'));
    this.fsyncDir();
    const old = this.fd;
    const oldPath = this.journalPath(this.gen);
    this.fd = newJournal;
    this.gen = next;
    this.journalSize = 0;
    closeSync(old);
    unlinkSync(oldPath);
    this.fsyncDir();
  }

  private fsyncDir(): void {
    try {
      const d = openSync(this.dir, 'r');
      fsyncSync(d);
      closeSync(d);
    } catch {
      /* not supported on every platform */
    }
  }

  /** Schedules work after every in-flight fsync (used for compaction). */
  after(fn: () => void): Promise<void> {
    this.chain = this.chain.then(fn);
    return this.chain;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.commit();
    await this.chain.catch(() => {});
    this.closed = true;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.releaseLock();
  }
}
