// MemoryStore: a StreamStore whose messages live only in process memory
// (storage: memory). All policy is in IndexedStore; this keeps copies of the
// bytes in the index entries.

import { IndexedStore, type IndexEntry } from './indexed-store.js';
import { memStoreMsgSize, type StoredMessage, type StoreLimits } from './store.js';

interface MemEntry extends IndexEntry {
  hdr: Buffer | null;
  data: Buffer;
}

export interface MemoryStoreOptions {
  limits?: StoreLimits;
  /** The first sequence the stream will assign (StreamConfig.first_seq); default 1. */
  firstSeq?: number;
}

export class MemoryStore extends IndexedStore<MemEntry> {
  readonly kind = 'memory' as const;

  constructor(opts: MemoryStoreOptions = {}) {
    super(opts.limits, opts.firstSeq ?? 1);
  }

  protected msgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
    return memStoreMsgSize(subjectLen, hdrLen, dataLen);
  }

  protected append(_seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint, size: number): MemEntry {
    // Copy once into one allocation: callers often pass slices of a socket read buffer that will be reused.
    if (hdr === null) return { subject, ts, size, hdr: null, data: Buffer.from(data) };
    const hl = hdr.length;
    const buf = Buffer.allocUnsafe(hl + data.length);
    hdr.copy(buf, 0);
    data.copy(buf, hl);
    return { subject, ts, size, hdr: buf.subarray(0, hl), data: buf.subarray(hl) };
  }

  protected read(seq: number, e: MemEntry): StoredMessage {
    return { subject: e.subject, seq, hdr: e.hdr, data: e.data, time: e.ts };
  }

  protected removed(): void {}
  protected cleared(): void {}

  async whenDurable(): Promise<void> {}
  async sync(): Promise<void> {}
  protected async close(): Promise<void> {}

  async delete(): Promise<void> {
    await this.stop();
    this.index.clear(this.lastSeq + 1);
    this.subjects.clear();
  }
}
