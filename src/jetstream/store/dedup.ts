// DedupWindow: Nats-Msg-Id -> stream seq for the stream's duplicate_window.
// Entries are kept in insertion order, which is store-time order, so expiry
// pops from the front: O(1) amortised per lookup. The window is not persisted
// on its own: rebuild() recovers it from the stored messages' Nats-Msg-Id
// headers within the window, so de-duplication survives a restart.

import { findHeader, NATS_MSG_ID } from '../../protocol/headers.js';
import type { StreamStore } from './store.js';
import { nowNs } from './time.js';

interface Seen {
  seq: number;
  ts: bigint;
}

export class DedupWindow {
  private readonly ids = new Map<string, Seen>();
  private window: bigint;

  /** windowNs: the stream's duplicate_window in ns (0 disables de-duplication). */
  constructor(windowNs: number) {
    this.window = BigInt(Math.max(0, Math.trunc(windowNs)));
  }

  get size(): number {
    return this.ids.size;
  }

  setWindow(windowNs: number): void {
    this.window = BigInt(Math.max(0, Math.trunc(windowNs)));
    this.expire();
  }

  /** The seq stored under id within the window, or undefined. */
  lookup(id: string, now: bigint = nowNs()): number | undefined {
    this.expire(now);
    return this.ids.get(id)?.seq;
  }

  /** Remember that id was stored as seq at ts (the message's store time). */
  record(id: string, seq: number, ts: bigint): void {
    if (this.window === 0n || id === '') return;
    this.ids.delete(id); // keep Map order = time order
    this.ids.set(id, { seq, ts });
  }

  /** Forget ids older than the window. */
  expire(now: bigint = nowNs()): void {
    if (this.ids.size === 0) return;
    const cutoff = now - this.window;
    for (const [id, seen] of this.ids) {
      if (seen.ts > cutoff) break;
      this.ids.delete(id);
    }
  }

  clear(): void {
    this.ids.clear();
  }

  /** Rebuild from the messages a store holds within the window ending now. */
  static rebuild(store: StreamStore, windowNs: number, now: bigint = nowNs()): DedupWindow {
    const w = new DedupWindow(windowNs);
    if (windowNs <= 0) return w;
    const cutoff = now - BigInt(Math.trunc(windowNs));
    for (let m = store.loadNextMatching('>', store.seqFromTime(cutoff + 1n)); m !== undefined; m = store.loadNextMatching('>', m.seq + 1)) {
      const id = findHeader(m.hdr, NATS_MSG_ID);
      if (id !== undefined && m.time > cutoff) w.record(id, m.seq, m.time);
    }
    return w;
  }
}
