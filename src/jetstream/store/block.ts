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

  /** Make room in the cache for `extra` more bytes, growing it by doubling. */
  reserve(extra: number): Buffer {
    const need = this.size + extra;
    const cur = this.cache;
    if (cur !== undefined && cur.length >= need) return cur;
    let cap = Math.max(cur?.length ?? 0, 64 * 1024);
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    // Earlier reads may hold views of the old buffer; they stay valid since records are never rewritten.
    if (cur !== undefined) cur.copy(next, 0, 0, this.size);
    this.cache = next;
    return next;
  }
}

export function blockFileName(id: number): string {
  return `${String(id).padStart(8, '0')}.blk`;
}

/** The id of a block file name, or undefined when the name is not one. */
export function parseBlockFileName(name: string): number | undefined {
  const m = /^(\d+)\.blk$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}
