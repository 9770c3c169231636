// MsgBlock: one append-only segment file of a FileStore and what the store
// knows about it in memory. A block is "active" while appends go to it; then it
// is sealed and only read, until every message in it is gone and it is removed.
//
// Byte ranges: [0, written) has been handed to the OS; [written, size) is
// encoded in `cache` but not yet written; a block with unwritten bytes always
// keeps its cache (it is the only copy).

import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

export class MsgBlock {
  readonly id: number;
  readonly path: string;
  /** Bytes of records in the block, including unwritten ones. */
  size: number;
  /** Bytes handed to the OS. */
  written: number;
  /** Live message records. */
  live = 0;
  /** Lowest and highest message seq ever stored here (0 = none yet). */
  firstSeq = 0;
  lastSeq = 0;
  /** Seqs of tombstones written into this block (re-written elsewhere if this block goes first). */
  tombTargets: number[] = [];
  /** Block contents (a prefix is valid up to `size`); undefined when evicted. */
  cache: Buffer | undefined;
  /** Open file descriptor while the block is being written or awaits fsync. */
  fd: number | undefined;
  /** Opened because the block before it filled up: appends are likely to fill this one too. */
  busy = false;

  constructor(dir: string, id: number, size: number) {
    this.id = id;
    this.path = join(dir, blockFileName(id));
    this.size = size;
    this.written = size;
  }

  get pending(): boolean {
    return this.written < this.size;
  }

  openForAppend(): number {
    if (this.fd === undefined) this.fd = openSync(this.path, 'r+');
    return this.fd;
  }

  closeFd(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Make room in the cache for `extra` more bytes. It grows by doubling from 64 KiB, so a
   * quiet stream keeps a small buffer; past 1 MiB it goes straight to `full` (the block size),
   * and a block that follows a full one (`busy`) starts there. Each doubling copies everything
   * so far into fresh memory, whose every page is a fault on first touch: growing a busy 8 MiB
   * block in steps cost as much again as writing it.
   */
  reserve(extra: number, full: number): Buffer {
    const need = this.size + extra;
    const cur = this.cache;
    if (cur !== undefined && cur.length >= need) return cur;
    let cap = Math.max(cur?.length ?? 0, this.busy ? full : MIN_CACHE);
    while (cap < need) cap *= 2;
    if (cap > DIRECT_FROM && cap < full) cap = Math.max(full, need);
    const next = Buffer.allocUnsafe(cap);
    // Earlier reads may hold views of the old buffer; they stay valid since records are never rewritten.
    if (cur !== undefined) cur.copy(next, 0, 0, this.size);
    this.cache = next;
    return next;
  }
}

const MIN_CACHE = 64 * 1024;
const DIRECT_FROM = 1024 * 1024;

export function blockFileName(id: number): string {
  return `${String(id).padStart(8, '0')}.blk`;
}

/** The id of a block file name, or undefined when the name is not one. */
export function parseBlockFileName(name: string): number | undefined {
  const m = /^(\d+)\.blk$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}
