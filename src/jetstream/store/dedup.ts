// DedupWindow: Nats-Msg-Id -> stream seq for the stream's duplicate_window.
// The index is an IdTable (a typed-array hash table, see id-table.ts) and the expiry
// order lives in a queue of parallel arrays (id, seq, time as a double), so a remembered
// id costs no object of its own: with a two-minute window at tens of thousands of
// messages per second, per-entry objects would all be promoted and re-marked by the GC. Ids are recorded in store-time order,
// so expiry pops from the front of the queue. The window is not persisted on its own:
// rebuild() recovers it from the stored messages' Nats-Msg-Id headers within the
// window, so de-duplication survives a restart.

import { findHeader, NATS_MSG_ID } from '../../protocol/headers.js';
import type { StreamStore } from './store.js';
import { IdTable } from './id-table.js';
import { nowNs } from './time.js';

export class DedupWindow {
  private readonly ids = new IdTable();
  // Expiry queue: entries head..tail-1, oldest first. Times are ns as doubles: 256 ns
  // resolution at today's epoch, plenty for a window of seconds.
  private qIds: Array<string | undefined> = [];
  private qSeq = new Float64Array(1024);
  private qTs = new Float64Array(1024);
  private head = 0;
  private tail = 0;
  private windowNs: number;

  /** windowNs: the stream's duplicate_window in ns (0 disables de-duplication). */
  constructor(windowNs: number) {
    this.windowNs = Math.max(0, Math.trunc(windowNs));
  }

  get size(): number {
    return this.ids.size;
  }

  setWindow(windowNs: number): void {
    this.windowNs = Math.max(0, Math.trunc(windowNs));
    this.expire();
  }

  /** The seq stored under id within the window, or undefined. */
  lookup(id: string, now: bigint = nowNs()): number | undefined {
    this.expire(now);
    return this.ids.get(id);
  }

  /** Remember that id was stored as seq at ts (the message's store time). */
  record(id: string, seq: number, ts: bigint): void {
    if (this.windowNs === 0 || id === '') return;
    this.ids.set(id, seq);
    if (this.tail === this.qTs.length) this.makeRoom();
    const t = this.tail++;
    this.qIds[t] = id;
    this.qSeq[t] = seq;
    this.qTs[t] = Number(ts);
  }

  /** Forget ids older than the window. */
  expire(now: bigint = nowNs()): void {
    if (this.head === this.tail) return;
    const cutoff = Number(now) - this.windowNs;
    let h = this.head;
    while (h < this.tail && this.qTs[h]! <= cutoff) {
      const id = this.qIds[h]!;
      this.qIds[h] = undefined;
      // A re-recorded id (rebuild, or a store outside an earlier window) has a newer entry.
      this.ids.deleteIf(id, this.qSeq[h]!);
      h++;
    }
    this.head = h;
    if (h === this.tail) this.head = this.tail = 0;
  }

  clear(): void {
    this.ids.clear();
    this.qIds = [];
    this.head = this.tail = 0;
  }

  /** The queue is full: slide the live part to the front, or double it when mostly live. */
  private makeRoom(): void {
    const live = this.tail - this.head;
    if (this.head >= this.qTs.length / 2) {
      this.qIds.copyWithin(0, this.head, this.tail);
      this.qIds.length = live;
      this.qSeq.copyWithin(0, this.head, this.tail);
      this.qTs.copyWithin(0, this.head, this.tail);
    } else {
      const seq = new Float64Array(this.qTs.length * 2);
      const ts = new Float64Array(this.qTs.length * 2);
      seq.set(this.qSeq.subarray(this.head, this.tail));
      ts.set(this.qTs.subarray(this.head, this.tail));
      this.qIds = this.qIds.slice(this.head, this.tail);
      this.qSeq = seq;
      this.qTs = ts;
    }
    this.head = 0;
    this.tail = live;
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
