// IndexedStore: everything a stream store decides that does not depend on the
// medium — sequence assignment, the seq and subject indexes, byte accounting,
// limits and discard policies, purge/compact, age expiry, queries. MemoryStore
// and FileStore supply only how a message's bytes are kept (append/read) and how
// a removal is made durable (removed/cleared).
//
// Invariants: lastSeq only grows; when the store is empty first_seq is
// lastSeq+1; `bytes` is the sum of entry sizes in the index.
//
// Memory: per message the index holds only columns of typed arrays (see
// SeqIndex) and the seq in its subject's list; no per-message JS object.

import {
  StoreError,
  UNLIMITED,
  type PurgeOptions,
  type StorageUpdateListener,
  type StoredMessage,
  type StoreLimits,
  type StoreResult,
  type StoreState,
  type StreamStore,
} from './store.js';
import { SeqIndex } from './seq-index.js';
import { SubjectIndex } from './subject-index.js';
import { isAll, isLiteral, isValidLiteralSubject, subjectMatches } from './subject.js';
import { nowNs } from './time.js';

/** Where append() says a message's bytes are: SeqIndex's location columns (meaning is the medium's). */
export interface MsgLocation {
  a: number;
  b: number;
  ref: Buffer | undefined;
}

export abstract class IndexedStore implements StreamStore {
  abstract readonly kind: 'memory' | 'file';
  protected readonly index: SeqIndex;
  protected readonly subjects = new SubjectIndex();
  protected cfg: StoreLimits;
  protected lastSeq: number;
  protected lastTs = 0n;
  protected bytes = 0;
  protected closed = false;
  private ageTimer: NodeJS.Timeout | undefined;
  private listener: StorageUpdateListener | undefined;

  /** Filled by append(); one object reused for every message. */
  protected readonly loc: MsgLocation = { a: 0, b: 0, ref: undefined };

  /** withRefs: the medium keeps one Buffer per message in the index (memory store). */
  protected constructor(limits: StoreLimits | undefined, firstSeq: number, withRefs = false) {
    this.cfg = { ...(limits ?? UNLIMITED) };
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) throw new StoreError('io', `invalid first sequence ${firstSeq}`);
    this.lastSeq = firstSeq - 1;
    this.index = new SeqIndex(firstSeq, withRefs);
  }

  // ---- medium-specific hooks ----

  /** Bytes a message counts for (file and memory stores count differently, like nats-server). */
  protected abstract msgSize(subjectLen: number, hdrLen: number, dataLen: number): number;
  /** Keep the message's bytes and set this.loc to where they are. */
  protected abstract append(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint, size: number): void;
  /** The message in index slot `slot` (live). */
  protected abstract read(seq: number, slot: number, subject: string): StoredMessage;
  /** seq, whose location column a was `locA`, was removed from the index (already reflected in first/last). */
  protected abstract removed(seq: number, locA: number): void;
  /** Everything was removed; the next stored seq will be nextSeq. */
  protected abstract cleared(nextSeq: number): void;

  // ---- writes ----

  store(subject: string, hdr: Buffer | null, data: Buffer, timestampNs?: bigint): StoreResult {
    this.checkOpen();
    if (!isValidLiteralSubject(subject)) throw new StoreError('bad_subject', JSON.stringify(subject));
    const hdrLen = hdr === null ? 0 : hdr.length;
    const cfg = this.cfg;
    if (cfg.max_msg_size >= 0 && hdrLen + data.length > cfg.max_msg_size) throw new StoreError('max_msg_size');
    const size = this.msgSize(Buffer.byteLength(subject), hdrLen, data.length);

    const ss = this.subjects.get(subject);
    const atSubjectLimit = cfg.max_msgs_per_subject > 0 && ss !== undefined && ss.count >= cfg.max_msgs_per_subject;
    if (cfg.discard === 'new') {
      // At a per-subject limit the oldest of that subject is replaced, so the totals do not grow.
      if (atSubjectLimit && cfg.discard_new_per_subject) throw new StoreError('max_msgs_per_subject');
      if (cfg.max_msgs > 0 && this.index.size >= cfg.max_msgs && !atSubjectLimit) throw new StoreError('max_msgs');
      if (cfg.max_bytes > 0 && this.bytes + size > cfg.max_bytes) {
        if (!atSubjectLimit) throw new StoreError('max_bytes');
        const replaced = this.index.slot(ss!.first);
        if (replaced < 0 || this.index.sizeAt(replaced) < size) throw new StoreError('max_bytes');
      }
    }

    const seq = this.lastSeq + 1;
    const ts = timestampNs ?? nowNs();
    // append() may throw (e.g. an i/o limit); nothing in the indexes changes before it returns.
    const loc = this.loc;
    loc.ref = undefined;
    this.append(seq, ss?.subject ?? subject, hdr, data, ts, size);
    const subj = this.subjects.add(subject, seq);
    this.index.append(seq, subj.id, size, ts, loc.a, loc.b, loc.ref);
    loc.ref = undefined;
    this.lastSeq = seq;
    this.lastTs = ts;
    this.bytes += size;
    this.listener?.(1, size, seq, subj.subject);

    if (cfg.max_msgs_per_subject > 0) {
      while (subj.count > cfg.max_msgs_per_subject) this.removeSeq(subj.first);
    }
    this.enforceTotals();
    if (cfg.max_age > 0 && this.ageTimer === undefined) this.scheduleAgeCheck();
    return { seq, ts };
  }

  remove(seq: number): boolean {
    this.checkOpen();
    return this.removeSeq(seq);
  }

  purge(opts: PurgeOptions = {}): number {
    this.checkOpen();
    const filter = opts.filter ?? '';
    const upTo = opts.seq ?? 0;
    const keep = opts.keep ?? 0;
    if (upTo === 1) return 0; // "below seq 1" is nothing
    if (isAll(filter)) {
      if (keep === 0 && upTo === 0) return this.purgeAll();
      if (upTo > 1) return this.compact(upTo);
    }
    let total = 0;
    for (const s of this.subjects.matching(filter)) total += s.count;
    if (total === 0) return 0;
    let max = Infinity;
    if (keep > 0) {
      if (keep >= total) return 0;
      max = total - keep;
    }
    const last = upTo >= 1 ? upTo - 1 : this.lastSeq;
    const victims: number[] = [];
    if (isLiteral(filter)) {
      const s = this.subjects.get(filter)!;
      for (let seq = s.nextFrom(0); seq !== undefined && seq <= last && victims.length < max; seq = s.nextFrom(seq + 1)) {
        victims.push(seq);
      }
    } else {
      const all = isAll(filter);
      this.index.forEach(0, last, (seq, slot) => {
        if (all || subjectMatches(this.subjectAt(slot), filter)) victims.push(seq);
        return victims.length < max;
      });
    }
    let purged = 0;
    for (const seq of victims) if (this.removeSeq(seq)) purged++;
    return purged;
  }

  compact(seq: number): number {
    this.checkOpen();
    const first = this.index.firstSeq();
    if (seq > this.lastSeq) {
      // Compacting past the end: empty the store and move the next seq to `seq`.
      const purged = this.index.size;
      const bytes = this.bytes;
      this.clearAll(seq);
      if (purged > 0) this.listener?.(-purged, -bytes, 0, '');
      return purged;
    }
    if (first === undefined || seq <= first) return 0;
    const victims: number[] = [];
    this.index.forEach(first, seq - 1, (s) => {
      victims.push(s);
    });
    let purged = 0;
    for (const s of victims) if (this.removeSeq(s)) purged++;
    return purged;
  }

  expire(): number {
    if (this.closed || this.cfg.max_age <= 0) return 0;
    const cutoff = nowNs() - BigInt(this.cfg.max_age);
    let n = 0;
    for (;;) {
      const first = this.index.firstSeq();
      if (first === undefined) break;
      if (this.index.timeAt(this.index.slot(first)) > cutoff) break;
      this.removeSeq(first);
      n++;
    }
    return n;
  }

  updateConfig(limits: StoreLimits): void {
    this.checkOpen();
    this.cfg = { ...limits };
    if (this.cfg.max_msgs_per_subject > 0) {
      const max = this.cfg.max_msgs_per_subject;
      for (const s of [...this.subjects.matching('>')]) while (s.count > max) this.removeSeq(s.first);
    }
    this.enforceTotals();
    this.clearAgeTimer();
    if (this.cfg.max_age > 0) {
      this.expire();
      this.scheduleAgeCheck();
    }
  }

  limits(): StoreLimits {
    return { ...this.cfg };
  }

  onStorageUpdate(listener: StorageUpdateListener | undefined): void {
    this.listener = listener;
  }

  // ---- reads ----

  load(seq: number): StoredMessage | undefined {
    this.checkOpen();
    const slot = this.index.slot(seq);
    return slot < 0 ? undefined : this.read(seq, slot, this.subjectAt(slot));
  }

  loadLastBySubject(filter: string): StoredMessage | undefined {
    this.checkOpen();
    let best = 0;
    if (isAll(filter)) best = this.index.lastSeq() ?? 0;
    else for (const s of this.subjects.matching(filter)) if (s.last > best) best = s.last;
    return best === 0 ? undefined : this.load(best);
  }

  loadNextMatching(filter: string, fromSeq: number): StoredMessage | undefined {
    this.checkOpen();
    const seq = this.nextMatchingSeq(filter, fromSeq);
    if (seq === undefined) return undefined;
    const slot = this.index.slot(seq);
    return this.read(seq, slot, this.subjectAt(slot));
  }

  state(): StoreState {
    this.checkOpen();
    const first = this.index.firstSeq();
    const messages = this.index.size;
    return {
      messages,
      bytes: this.bytes,
      first_seq: first ?? this.lastSeq + 1,
      first_ts: first === undefined ? 0n : this.index.timeAt(this.index.slot(first)),
      last_seq: this.lastSeq,
      last_ts: this.lastTs,
      num_subjects: this.subjects.size,
      num_deleted: first === undefined ? 0 : this.lastSeq - first + 1 - messages,
    };
  }

  deletedSeqs(): number[] {
    this.checkOpen();
    const out: number[] = [];
    const first = this.index.firstSeq();
    if (first === undefined) return out;
    let expect = first;
    this.index.forEach(first, this.lastSeq, (seq) => {
      for (; expect < seq; expect++) out.push(expect);
      expect = seq + 1;
    });
    return out;
  }

  subjectsState(filter: string): Map<string, number> {
    this.checkOpen();
    const out = new Map<string, number>();
    for (const s of this.subjects.matching(filter)) out.set(s.subject, s.count);
    return out;
  }

  numPending(filter: string, fromSeq: number): number {
    this.checkOpen();
    const first = this.index.firstSeq();
    if (first === undefined || fromSeq > this.lastSeq) return 0;
    const from = Math.max(fromSeq, first);
    if (isAll(filter)) {
      const dense = this.lastSeq - first + 1 === this.index.size;
      return dense ? this.lastSeq - from + 1 : this.index.countFrom(from);
    }
    let n = 0;
    for (const s of this.subjects.matching(filter)) n += s.countFrom(from);
    return n;
  }

  seqFromTime(tsNs: bigint): number {
    this.checkOpen();
    // Store times are non-decreasing in seq order unless callers pass their own; binary search over live seqs.
    let lo = this.index.firstSeq();
    if (lo === undefined) return this.lastSeq + 1;
    let hi = this.lastSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const live = this.index.nextLive(mid);
      if (live === undefined || live >= hi) {
        hi = mid;
        continue;
      }
      if (this.index.timeAt(this.index.slot(live)) >= tsNs) hi = mid;
      else lo = live + 1;
    }
    return this.index.nextLive(lo) ?? this.lastSeq + 1;
  }

  // ---- lifecycle ----

  abstract whenDurable(): Promise<void>;
  abstract sync(): Promise<void>;

  async stop(): Promise<void> {
    if (this.closed) return;
    this.clearAgeTimer();
    try {
      await this.close();
    } finally {
      this.closed = true;
    }
  }

  abstract delete(): Promise<void>;

  /** Release the medium (called once by stop()). */
  protected abstract close(): Promise<void>;

  // ---- internals shared with subclasses ----

  protected checkOpen(): void {
    if (this.closed) throw new StoreError('closed');
  }

  /** The subject of a live index slot. */
  protected subjectAt(slot: number): string {
    return this.subjects.byIdOf(this.index.subjectIdAt(slot)).subject;
  }

  /** Put a recovered message into the indexes without limit checks or persistence. */
  protected recoverEntry(seq: number, subject: string, ts: bigint, size: number, a: number, b: number): void {
    const subj = this.subjects.add(subject, seq);
    this.index.append(seq, subj.id, size, ts, a, b);
    this.bytes += size;
    if (seq > this.lastSeq) this.lastSeq = seq;
    if (ts > this.lastTs) this.lastTs = ts;
  }

  /** Drop a recovered message (a tombstone or floor on disk said so), without persisting anything; returns its location column a, or -1. */
  protected unrecoverEntry(seq: number): number {
    const slot = this.index.slot(seq);
    if (slot < 0) return -1;
    const id = this.index.subjectIdAt(slot);
    const size = this.index.sizeAt(slot);
    const a = this.index.locAAt(slot);
    this.index.delete(seq);
    this.subjects.removeById(id, seq);
    this.bytes -= size;
    return a;
  }

  /** After recovery: apply limits that may have been exceeded by an unsynced tail or a config change. */
  protected enforceAllLimits(): void {
    this.updateConfig(this.cfg);
  }

  protected removeSeq(seq: number): boolean {
    const index = this.index;
    const slot = index.slot(seq);
    if (slot < 0) return false;
    const id = index.subjectIdAt(slot);
    const size = index.sizeAt(slot);
    const a = index.locAAt(slot);
    // Read before the subject index may free the id with its last message.
    const subject = this.subjects.byIdOf(id).subject;
    index.delete(seq);
    this.subjects.removeById(id, seq);
    this.bytes -= size;
    this.removed(seq, a);
    this.listener?.(-1, -size, seq, subject);
    return true;
  }

  private purgeAll(): number {
    const purged = this.index.size;
    const bytes = this.bytes;
    this.clearAll(this.lastSeq + 1);
    if (purged > 0) this.listener?.(-purged, -bytes, 0, '');
    return purged;
  }

  private clearAll(nextSeq: number): void {
    this.index.clear(nextSeq);
    this.subjects.clear();
    this.bytes = 0;
    if (nextSeq - 1 > this.lastSeq) this.lastSeq = nextSeq - 1;
    this.cleared(nextSeq);
  }

  private enforceTotals(): void {
    const cfg = this.cfg;
    if (cfg.discard !== 'old') return;
    if (cfg.max_msgs > 0) while (this.index.size > cfg.max_msgs) this.removeSeq(this.index.firstSeq()!);
    if (cfg.max_bytes > 0) while (this.bytes > cfg.max_bytes && this.index.size > 0) this.removeSeq(this.index.firstSeq()!);
  }

  private nextMatchingSeq(filter: string, fromSeq: number): number | undefined {
    const first = this.index.firstSeq();
    if (first === undefined) return undefined;
    const from = Math.max(fromSeq, first);
    if (isAll(filter)) return this.index.nextLive(from);
    if (isLiteral(filter)) return this.subjects.get(filter)?.nextFrom(from);
    // Wildcard: ask each matching subject when there are fewer subjects than seqs to scan.
    if (this.subjects.size < this.lastSeq - from + 1) {
      let best: number | undefined;
      for (const s of this.subjects.matching(filter)) {
        const n = s.nextFrom(from);
        if (n !== undefined && (best === undefined || n < best)) best = n;
      }
      return best;
    }
    let found: number | undefined;
    this.index.forEach(from, this.lastSeq, (seq, slot) => {
      if (subjectMatches(this.subjectAt(slot), filter)) {
        found = seq;
        return false;
      }
      return true;
    });
    return found;
  }

  private scheduleAgeCheck(): void {
    const maxAge = this.cfg.max_age;
    if (maxAge <= 0 || this.closed) return;
    const first = this.index.firstSeq();
    // Nothing stored: the next store() arms the timer.
    if (first === undefined) return;
    const dueNs = this.index.timeAt(this.index.slot(first)) + BigInt(maxAge) - nowNs();
    const delayMs = dueNs <= 0n ? 0 : Number(dueNs / 1_000_000n) + 1;
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      this.expire();
      this.scheduleAgeCheck();
    }, delayMs);
    this.ageTimer.unref();
  }

  private clearAgeTimer(): void {
    if (this.ageTimer !== undefined) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
  }
}
