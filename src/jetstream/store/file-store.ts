// FileStore: a StreamStore kept in a directory of append-only block files.
//
// Layout: <dir>/msgs/<id>.blk, records as in record.ts. Blocks roll over at
// blockSize. A removal is made durable as a tombstone record (interior seq) or,
// for removals at the head (limits, expiry, purge, compact), as one "floor"
// record written at the next flush; a block whose messages are all gone is
// unlinked after a floor is on disk, and any tombstones it held for older,
// still-present blocks are first re-appended to the active block.
//
// Durability: store() encodes the record into the active block's in-memory
// buffer and returns; a flush scheduled with setImmediate writes everything
// stored during that event-loop turn with one write per block, then fsyncs when
// sync is 'always'. whenDurable() resolves after the flush that covers every
// store() made before it. With a sync interval, a timer fsyncs periodically.
//
// Recovery walks every block in order, validates each record's CRC and
// truncates a block at its first damaged or torn record, logging what it drops.

import {
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  write,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IndexedStore } from './indexed-store.js';
import { MsgBlock, parseBlockFileName } from './block.js';
import {
  checkSubjectLength,
  decodeRecord,
  encodeMarker,
  encodeMessage,
  KIND_FLOOR,
  KIND_MSG,
  KIND_TOMBSTONE,
  messageBody,
  messageRecordLength,
  messageSubject,
  RECORD_OVERHEAD,
} from './record.js';
import { fileStoreMsgSize, StoreError, type StoredMessage, type StoreLimits, type StoreResult } from './store.js';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

export type SyncPolicy = 'always' | number;

export interface FileStoreOptions {
  /** The stream's directory; messages go to <dir>/msgs. delete() removes the whole directory. */
  dir: string;
  limits?: StoreLimits;
  /** First sequence for a new stream (StreamConfig.first_seq); ignored when the directory has data. */
  firstSeq?: number;
  /** Roll over to a new block file past this many bytes. Default 8 MiB. */
  blockSize?: number;
  /** 'always': fsync before whenDurable() resolves; a number: fsync every that many ms. Default 120000 (nats-server's 2m). */
  sync?: SyncPolicy;
  /** Sealed blocks kept in memory for reads (the active block always is). Default 4. */
  cacheBlocks?: number;
  /** Where recovery reports what it dropped. Default: stderr. */
  log?: (line: string) => void;
}

export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
export const DEFAULT_SYNC_INTERVAL_MS = 120_000;

/** What recovery found, for logs and tests. */
export interface RecoveryReport {
  blocks: number;
  messages: number;
  /** Damaged or torn tails cut off: block id, offset, bytes dropped. */
  truncated: { block: number; offset: number; dropped: number }[];
}

/** Pending bytes up to which durableNow() writes synchronously. */
const SYNC_WRITE_MAX_BYTES = 4 * 1024 * 1024;

// Index location columns: a = block id, b = offset of the record in the block.
export class FileStore extends IndexedStore {
  readonly kind = 'file' as const;
  readonly dir: string;
  readonly recovery: RecoveryReport = { blocks: 0, messages: 0, truncated: [] };
  private readonly msgDir: string;
  private readonly blockSize: number;
  private readonly syncAlways: boolean;
  private readonly cacheBlocks: number;
  private readonly log: (line: string) => void;
  /** Blocks in id (= seq) order; the last one is active. */
  private blocks: MsgBlock[] = [];
  /** Live blocks by id (what the index's location column a names). */
  private readonly blockById = new Map<number, MsgBlock>();
  /** Sealed blocks holding a cache, least recently used first. */
  private readonly lru = new Set<MsgBlock>();
  /** The last block in `lru` (most recently used), if known. */
  private mru: MsgBlock | undefined;
  private readonly unsynced = new Set<MsgBlock>();
  private readonly toUnlink: MsgBlock[] = [];
  private floorDirty = false;
  private dirDirty = false;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private forceSync = false;
  private failure: Error | undefined;
  private syncTimer: NodeJS.Timeout | undefined;

  private constructor(opts: FileStoreOptions) {
    super(opts.limits, opts.firstSeq ?? 1);
    this.dir = opts.dir;
    this.msgDir = join(opts.dir, 'msgs');
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    const sync = opts.sync ?? DEFAULT_SYNC_INTERVAL_MS;
    this.syncAlways = sync === 'always';
    this.cacheBlocks = opts.cacheBlocks ?? 4;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    if (typeof sync === 'number') {
      if (!(sync > 0)) throw new StoreError('io', `invalid sync interval ${sync}`);
      this.syncTimer = setInterval(() => {
        // A failed store has nothing more to sync; the failure was logged once where it happened.
        if (this.failure !== undefined) return;
        // Rejections need no handling here: flushLoop logged them and rejected every waiter.
        if (this.unsynced.size > 0 || this.active().pending) this.sync().catch(() => undefined);
      }, sync);
      this.syncTimer.unref();
    }
  }

  /** Open (recovering) or create the store in opts.dir. */
  static open(opts: FileStoreOptions): FileStore {
    const fs = new FileStore(opts);
    try {
      fs.recover();
    } catch (err) {
      if (fs.syncTimer !== undefined) clearInterval(fs.syncTimer);
      for (const b of fs.blocks) b.closeFd();
      throw err;
    }
    return fs;
  }

  // ---- IndexedStore hooks ----

  protected msgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
    return fileStoreMsgSize(subjectLen, hdrLen, dataLen);
  }

  override store(subject: string, hdr: Buffer | null, data: Buffer, timestampNs?: bigint): StoreResult {
    if (this.failure !== undefined) throw new StoreError('io', this.failure.message);
    return super.store(subject, hdr, data, timestampNs);
  }

  protected append(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint): void {
    const sl = Buffer.byteLength(subject);
    if (!checkSubjectLength(sl)) throw new StoreError('bad_subject', 'subject longer than 65535 bytes');
    const len = messageRecordLength(sl, hdr === null ? 0 : hdr.length, data.length);
    const b = this.roomFor(len);
    const off = b.size;
    encodeMessage(b.reserve(len, this.blockSize), off, seq, ts, subject, sl, hdr, data);
    b.size += len;
    b.live++;
    if (b.firstSeq === 0) b.firstSeq = seq;
    b.lastSeq = seq;
    this.scheduleFlush();
    this.loc.a = b.id;
    this.loc.b = off;
  }

  protected read(seq: number, slot: number, subject: string): StoredMessage {
    const b = this.blockById.get(this.index.locAAt(slot))!;
    const { hdr, data } = messageBody(this.blockData(b), this.index.locBAt(slot));
    return { subject, seq, hdr, data, time: this.index.timeAt(slot) };
  }

  protected removed(seq: number, blockId: number): void {
    const first = this.index.firstSeq();
    if (first === undefined || seq < first) this.floorDirty = true;
    else this.appendMarker(KIND_TOMBSTONE, seq);
    const b = this.blockById.get(blockId)!;
    b.live--;
    if (b.live === 0 && b !== this.active()) this.retire(b);
    this.scheduleFlush();
  }

  protected cleared(): void {
    const old = this.blocks.slice();
    if (this.active().size > 0) this.roll();
    for (const b of old) if (b !== this.active()) this.retire(b);
    this.floorDirty = true;
    this.scheduleFlush();
  }

  // ---- durability ----

  whenDurable(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(new StoreError('io', this.failure.message));
    if (!this.hasWork() && this.flushing === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.scheduleFlush();
    });
  }

  durableNow(): boolean {
    if (this.failure !== undefined || this.syncAlways || this.flushing !== undefined) return false;
    // Floors, unlinks and forced syncs need the ordered async path (fsync before unlink).
    if (this.floorDirty || this.toUnlink.length > 0 || this.forceSync) return false;
    let bytes = 0;
    for (const b of this.blocks) if (b.pending) bytes += b.size - b.written;
    // A large backlog goes to the thread pool rather than stalling the event loop.
    if (bytes > SYNC_WRITE_MAX_BYTES) return false;
    try {
      for (const b of this.blocks) {
        if (!b.pending) continue;
        const fd = b.openForAppend();
        const end = b.size;
        let pos = b.written;
        while (pos < end) pos += writeSync(fd, b.cache!, pos, end - pos, pos);
        b.written = end;
        this.unsynced.add(b);
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.log(`tern filestore ${this.dir}: write failed, store is now read-only: ${this.failure.message}`);
      const e = new StoreError('io', this.failure.message);
      for (const w of this.waiters.splice(0)) w.reject(e);
      return false;
    }
    for (const w of this.waiters.splice(0)) w.resolve();
    return true;
  }

  sync(): Promise<void> {
    // After a write failure no flush runs again: a waiter would never settle (and pile up).
    if (this.failure !== undefined) return Promise.reject(new StoreError('io', this.failure.message));
    this.forceSync = true;
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.scheduleFlush();
    });
  }

  protected async close(): Promise<void> {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    try {
      // A failed store cannot sync; its writers were already told, so closing must still work.
      if (this.failure === undefined) await this.sync();
    } finally {
      for (const b of this.blocks) b.closeFd();
      for (const b of this.toUnlink) b.closeFd();
      this.lru.clear();
      this.mru = undefined;
      for (const b of this.blocks) b.cache = undefined;
    }
  }

  async delete(): Promise<void> {
    try {
      await this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private hasWork(): boolean {
    if (this.floorDirty || this.toUnlink.length > 0 || this.forceSync) return true;
    for (const b of this.blocks) if (b.pending) return true;
    return false;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.flushing !== undefined) return; // the running loop picks the new work up
      // Usually one synchronous write per event-loop turn; fsync, floor and unlink work takes the async loop.
      if (this.durableNow() || this.failure !== undefined) return;
      this.flushing = this.flushLoop().finally(() => (this.flushing = undefined));
    });
  }

  /** Write batches until nothing is pending; each batch: floor, writes, fsync, unlinks, then wake its waiters. */
  private async flushLoop(): Promise<void> {
    while (this.hasWork() || this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      const doSync = this.syncAlways || this.forceSync;
      this.forceSync = false;
      try {
        // Blocks retired so far; their floor/tombstones are already in the buffers or appended just below.
        const unlinks = this.toUnlink.splice(0);
        if (this.floorDirty) {
          this.floorDirty = false;
          this.appendMarker(KIND_FLOOR, this.index.firstSeq() ?? this.lastSeq + 1);
        }
        for (const b of this.blocks) {
          if (!b.pending) continue;
          const fd = b.openForAppend();
          const end = b.size;
          let pos = b.written;
          while (pos < end) pos += (await writeAsync(fd, b.cache!, pos, end - pos, pos)).bytesWritten;
          b.written = end;
          this.unsynced.add(b);
        }
        // A block may only disappear once the floor/tombstones that replace it are on disk.
        if (doSync || unlinks.length > 0) await this.fsyncAll();
        for (const b of unlinks) {
          b.closeFd();
          b.cache = undefined;
          this.unsynced.delete(b);
          rmSync(b.path, { force: true });
          this.dirDirty = true;
        }
        if (this.dirDirty && (doSync || unlinks.length > 0)) this.fsyncDir();
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.log(`tern filestore ${this.dir}: write failed, store is now read-only: ${this.failure.message}`);
        const e = new StoreError('io', this.failure.message);
        for (const w of waiters.concat(this.waiters.splice(0))) w.reject(e);
        return;
      }
    }
  }

  private async fsyncAll(): Promise<void> {
    for (const b of [...this.unsynced]) {
      if (b.fd === undefined) continue;
      await fdatasyncAsync(b.fd);
      this.unsynced.delete(b);
      if (b !== this.active() && !b.pending) b.closeFd();
    }
  }

  private fsyncDir(): void {
    this.dirDirty = false;
    const fd = openSync(this.msgDir, 'r');
    try {
      fsyncSyncSafe(fd);
    } finally {
      closeSync(fd);
    }
  }

  // ---- blocks ----

  private active(): MsgBlock {
    return this.blocks[this.blocks.length - 1]!;
  }

  /** The block a record of len bytes goes to, rolling over when the active one is full. */
  private roomFor(len: number): MsgBlock {
    const a = this.active();
    if (a.size > 0 && a.size + len > this.blockSize) return this.roll();
    return a;
  }

  private roll(): MsgBlock {
    const old = this.active();
    const b = new MsgBlock(this.msgDir, old.id + 1, 0);
    b.busy = true;
    b.fd = openSync(b.path, 'wx');
    this.dirDirty = true;
    this.addBlock(b);
    if (old.cache !== undefined) this.touch(old);
    if (old.live === 0) this.retire(old);
    return b;
  }

  /** Schedule an emptied block for removal, first carrying its still-needed tombstones forward. */
  private retire(b: MsgBlock): void {
    const i = this.blocks.indexOf(b);
    if (i < 0 || b === this.active()) return;
    this.blocks.splice(i, 1);
    this.blockById.delete(b.id);
    this.lru.delete(b);
    if (this.mru === b) this.mru = undefined;
    const first = this.index.firstSeq();
    if (first !== undefined) {
      for (const t of b.tombTargets) if (t >= first && t < b.firstSeq) this.appendMarker(KIND_TOMBSTONE, t);
    }
    b.tombTargets = [];
    this.toUnlink.push(b);
    this.floorDirty = true;
    this.scheduleFlush();
  }

  private addBlock(b: MsgBlock): void {
    this.blocks.push(b);
    this.blockById.set(b.id, b);
  }

  private appendMarker(kind: typeof KIND_TOMBSTONE | typeof KIND_FLOOR, seq: number): void {
    const b = this.roomFor(RECORD_OVERHEAD);
    encodeMarker(b.reserve(RECORD_OVERHEAD, this.blockSize), b.size, kind, seq, this.lastTs);
    b.size += RECORD_OVERHEAD;
    if (kind === KIND_TOMBSTONE) b.tombTargets.push(seq);
  }

  /** The bytes of a block, from cache or read whole from disk (reads are mostly sequential). */
  private blockData(b: MsgBlock): Buffer {
    if (b.cache !== undefined) {
      if (b !== this.active()) this.touch(b);
      return b.cache;
    }
    const buf = readFileSync(b.path);
    if (buf.length < b.written) throw new StoreError('io', `block ${b.path} is shorter than expected`);
    b.cache = buf;
    this.touch(b);
    return buf;
  }

  private touch(b: MsgBlock): void {
    // Reads in a row from one block (a consumer catching up) need no reordering.
    if (this.mru === b) return;
    this.mru = b;
    this.lru.delete(b);
    this.lru.add(b);
    if (this.lru.size <= this.cacheBlocks) return;
    for (const old of this.lru) {
      if (this.lru.size <= this.cacheBlocks) break;
      if (old.pending || old === b) continue; // the cache is the only copy of unwritten bytes
      old.cache = undefined;
      this.lru.delete(old);
    }
  }

  // ---- recovery ----

  /** During recovery the block being read is not in blockById yet. */
  private blockOf(id: number, reading: MsgBlock): MsgBlock {
    return id === reading.id ? reading : this.blockById.get(id)!;
  }

  private recover(): void {
    mkdirSync(this.msgDir, { recursive: true });
    const ids = readdirSync(this.msgDir)
      .map(parseBlockFileName)
      .filter((id): id is number => id !== undefined)
      .sort((a, b) => a - b);
    let floor = 0;
    let seenRecord = false;
    for (const id of ids) {
      const b = new MsgBlock(this.msgDir, id, 0);
      const buf = readFileSync(b.path);
      let off = 0;
      while (off < buf.length) {
        const rec = decodeRecord(buf, off, buf.length);
        if (rec === undefined) break;
        if (!seenRecord) {
          // Existing data decides the sequence, not the first_seq option.
          seenRecord = true;
          this.lastSeq = 0;
        }
        if (rec.kind === KIND_MSG) {
          if (rec.seq <= this.lastSeq) {
            this.log(`tern filestore ${this.dir}: block ${id}: message seq ${rec.seq} out of order, ignored`);
          } else if (rec.seq >= floor) {
            const size = fileStoreMsgSize(rec.subjectLen, rec.hdrLen, rec.len - RECORD_OVERHEAD - rec.subjectLen - rec.hdrLen);
            this.recoverEntry(rec.seq, messageSubject(buf, off), rec.ts, size, id, off);
            b.live++;
            if (b.firstSeq === 0) b.firstSeq = rec.seq;
            b.lastSeq = rec.seq;
            this.recovery.messages++;
          }
        } else if (rec.kind === KIND_TOMBSTONE) {
          const bid = this.unrecoverEntry(rec.seq);
          if (bid >= 0) this.blockOf(bid, b).live--;
          b.tombTargets.push(rec.seq);
        } else {
          floor = Math.max(floor, rec.seq);
          for (let s = this.index.firstSeq(); s !== undefined && s < floor; s = this.index.firstSeq()) {
            this.blockOf(this.unrecoverEntry(s), b).live--;
          }
          if (floor - 1 > this.lastSeq) this.lastSeq = floor - 1;
          if (rec.ts > this.lastTs) this.lastTs = rec.ts;
        }
        off += rec.len;
      }
      if (off < buf.length) {
        this.log(
          `tern filestore ${this.dir}: block ${id}: damaged or torn record at offset ${off}, ` +
            `dropping ${buf.length - off} bytes (last good message seq ${b.lastSeq || 'none'})`,
        );
        this.recovery.truncated.push({ block: id, offset: off, dropped: buf.length - off });
        const fd = openSync(b.path, 'r+');
        try {
          ftruncateSync(fd, off);
          fsyncSyncSafe(fd);
        } finally {
          closeSync(fd);
        }
      }
      b.size = b.written = off;
      b.cache = buf.subarray(0, off);
      this.addBlock(b);
    }
    this.recovery.blocks = this.blocks.length;
    if (this.blocks.length === 0) {
      const b = new MsgBlock(this.msgDir, 1, 0);
      b.fd = openSync(b.path, 'wx');
      this.addBlock(b);
      this.dirDirty = true;
      // Remember a configured first_seq even before the first message.
      if (this.lastSeq > 0) this.floorDirty = true;
    }
    // Only the active block keeps its recovered bytes in memory.
    for (const b of this.blocks) if (b !== this.active()) b.cache = undefined;
    for (const b of this.blocks.slice(0, -1)) if (b.live === 0) this.retire(b);
    this.enforceAllLimits();
    if (this.hasWork()) this.scheduleFlush();
  }
}

/** fsync, tolerating file systems that refuse it on directories. */
function fsyncSyncSafe(fd: number): void {
  try {
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  }
}

