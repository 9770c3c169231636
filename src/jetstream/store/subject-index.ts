// SubjectIndex: for each stored subject, its live sequences in increasing order.
// Gives per-subject counts (max_msgs_per_subject, subjects state), the oldest
// and newest seq of a subject, and counts at or after a seq by binary search.
// Removals at either end are O(1) (head pointer / pop); interior removals splice.
// Each stored subject is interned with a small integer id (reused once the
// subject has no messages left), which is what SeqIndex keeps per message.

import { isAll, isLiteral, subjectMatches } from './subject.js';

export class SubjectSeqs {
  /** The canonical string for this subject, shared by every index entry. */
  readonly subject: string;
  /** The interned id (SeqIndex's subject column). */
  readonly id: number;
  private seqs: number[] = [];
  private head = 0;

  constructor(subject: string, id: number) {
    this.subject = subject;
    this.id = id;
  }

  get count(): number {
    return this.seqs.length - this.head;
  }
  get first(): number {
    return this.seqs[this.head]!;
  }
  get last(): number {
    return this.seqs[this.seqs.length - 1]!;
  }

  push(seq: number): void {
    this.seqs.push(seq);
  }

  remove(seq: number): boolean {
    if (this.count === 0) return false;
    if (seq === this.first) {
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.seqs.length) {
        this.seqs = this.seqs.slice(this.head);
        this.head = 0;
      }
      return true;
    }
    if (seq === this.last) {
      this.seqs.pop();
      return true;
    }
    const i = this.lowerBound(seq);
    if (i >= this.seqs.length || this.seqs[i] !== seq) return false;
    this.seqs.splice(i, 1);
    return true;
  }

  /** How many seqs are >= seq. */
  countFrom(seq: number): number {
    return this.seqs.length - this.lowerBound(seq);
  }

  /** The first seq >= seq, or undefined. */
  nextFrom(seq: number): number | undefined {
    const i = this.lowerBound(seq);
    return i < this.seqs.length ? this.seqs[i] : undefined;
  }

  /** The first index in [head, len) whose seq is >= seq. */
  private lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class SubjectIndex {
  private readonly subjects = new Map<string, SubjectSeqs>();
  /** id -> subject state; undefined for free ids. */
  private byId: (SubjectSeqs | undefined)[] = [];
  private freeIds: number[] = [];

  get size(): number {
    return this.subjects.size;
  }

  get(subject: string): SubjectSeqs | undefined {
    return this.subjects.get(subject);
  }

  /** The subject with this id (an id taken from SeqIndex, so it is live). */
  byIdOf(id: number): SubjectSeqs {
    return this.byId[id]!;
  }

  /** Record seq under subject; returns the subject's state (with its canonical string and id). */
  add(subject: string, seq: number): SubjectSeqs {
    let s = this.subjects.get(subject);
    if (s === undefined) {
      const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length;
      s = new SubjectSeqs(subject, id);
      this.subjects.set(subject, s);
      this.byId[id] = s;
    }
    s.push(seq);
    return s;
  }

  /** Remove seq from the subject with this id; the id is freed with the subject's last message. */
  removeById(id: number, seq: number): void {
    const s = this.byId[id];
    if (s === undefined) return;
    s.remove(seq);
    if (s.count === 0) {
      this.subjects.delete(s.subject);
      this.byId[id] = undefined;
      this.freeIds.push(id);
    }
  }

  clear(): void {
    this.subjects.clear();
    this.byId = [];
    this.freeIds = [];
  }

  /** Every subject state matching filter. */
  *matching(filter: string): Iterable<SubjectSeqs> {
    if (isLiteral(filter)) {
      const s = this.subjects.get(filter);
      if (s !== undefined) yield s;
      return;
    }
    const all = isAll(filter);
    for (const s of this.subjects.values()) if (all || subjectMatches(s.subject, filter)) yield s;
  }
}
