// MemoryStore: a StreamStore whose messages live only in process memory
// (storage: memory). All policy is in IndexedStore; this keeps copies of the
// bytes in the index's object column: one Buffer (header + data) per message,
// with the header length in location column b (-1: no header).

import { IndexedStore } from './indexed-store.js';
import { memStoreMsgSize, type StoredMessage, type StoreLimits } from './store.js';

export interface MemoryStoreOptions {
  limits?: StoreLimits;
  /** The first sequence the stream will assign (StreamConfig.first_seq); default 1. */
  firstSeq?: number;
}

export class MemoryStore extends IndexedStore {
  readonly kind = 'memory' as const;

  constructor(opts: MemoryStoreOptions = {}) {
    super(opts.limits, opts.firstSeq ?? 1, true);
  }

  protected msgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
    return memStoreMsgSize(subjectLen, hdrLen, dataLen);
  }

  protected append(_seq: number, _subject: string, hdr: Buffer | null, data: Buffer): void {
    // Copy once into one allocation: callers often pass slices of a socket read buffer that will be reused.
    const loc = this.loc;
    loc.a = 0;
    if (hdr === null) {
      loc.b = -1;
      loc.ref = Buffer.from(data);
      return;
    }
    const hl = hdr.length;
    const buf = Buffer.allocUnsafe(hl + data.length);
    hdr.copy(buf, 0);
    data.copy(buf, hl);
    loc.b = hl;
    loc.ref = buf;
  }

  protected read(seq: number, slot: number, subject: string): StoredMessage {
    const buf = this.index.refAt(slot)!;
    const hl = this.index.locBAt(slot);
    const time = this.index.timeAt(slot);
    if (hl < 0) return { subject, seq, hdr: null, data: buf, time };
    return { subject, seq, hdr: buf.subarray(0, hl), data: buf.subarray(hl), time };
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
