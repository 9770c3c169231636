// SeqIndex: sequence -> entry for a stream, as a dense array with a moving base.
//
// Invariants: slot i holds the entry of seq base+i or undefined (deleted);
// sequences are appended in increasing order; removals at the head advance a
// head pointer, and the array is compacted once the dead prefix is both large
// and more than half of it, so head removals are amortised O(1). A JS Map would
// cap out at ~16.7M entries; an array does not.

export class SeqIndex<E> {
  private slots: (E | undefined)[] = [];
  /** Sequence of slots[0]. */
  private base: number;
  /** Index of the first slot that may be live. */
  private head = 0;
  private live = 0;

  constructor(firstSeq: number) {
    this.base = firstSeq;
  }

  get size(): number {
    return this.live;
  }

  get(seq: number): E | undefined {
    const i = seq - this.base;
    return i >= this.head && i < this.slots.length ? this.slots[i] : undefined;
  }

  /** Append seq (must be above every seq seen so far; gaps become holes). */
  append(seq: number, entry: E): void {
    let i = seq - this.base;
    if (this.live === 0 && (i < 0 || i >= this.slots.length)) {
      // Empty index: restart at seq so a jump does not allocate a huge gap.
      this.slots = [];
      this.base = seq;
      this.head = 0;
      i = 0;
    }
    if (i < this.slots.length) throw new Error(`SeqIndex: seq ${seq} is not above the last seq`);
    while (this.slots.length < i) this.slots.push(undefined);
    this.slots.push(entry);
    this.live++;
  }

  /** Remove seq; returns the entry that was there. */
  delete(seq: number): E | undefined {
    const i = seq - this.base;
    if (i < this.head || i >= this.slots.length) return undefined;
    const e = this.slots[i];
    if (e === undefined) return undefined;
    this.slots[i] = undefined;
    this.live--;
    if (i === this.head) this.advanceHead();
    if (i === this.slots.length - 1) {
      // Trim trailing holes so lastLive stays O(1) after removals at the tail.
      let n = this.slots.length;
      while (n > this.head && this.slots[n - 1] === undefined) n--;
      this.slots.length = n;
    }
    return e;
  }

  /** The lowest live seq, or undefined when empty. */
  firstSeq(): number | undefined {
    return this.live === 0 ? undefined : this.base + this.head;
  }

  /** The highest live seq, or undefined when empty. */
  lastSeq(): number | undefined {
    return this.live === 0 ? undefined : this.base + this.slots.length - 1;
  }

  /** The lowest live seq >= seq, or undefined. */
  nextLive(seq: number): number | undefined {
    let i = Math.max(seq - this.base, this.head);
    for (; i < this.slots.length; i++) if (this.slots[i] !== undefined) return this.base + i;
    return undefined;
  }

  /** Visit live entries with from <= seq <= to in order; stop when fn returns false. */
  forEach(from: number, to: number, fn: (seq: number, e: E) => boolean | void): void {
    const start = Math.max(from - this.base, this.head);
    const end = Math.min(to - this.base, this.slots.length - 1);
    for (let i = start; i <= end; i++) {
      const e = this.slots[i];
      if (e !== undefined && fn(this.base + i, e) === false) return;
    }
  }

  /** Count live entries with seq >= from. */
  countFrom(from: number): number {
    const start = from - this.base;
    if (start <= this.head) return this.live;
    let n = 0;
    for (let i = start; i < this.slots.length; i++) if (this.slots[i] !== undefined) n++;
    return n;
  }

  /** Drop everything. */
  clear(nextSeq: number): void {
    this.slots = [];
    this.base = nextSeq;
    this.head = 0;
    this.live = 0;
  }

  private advanceHead(): void {
    while (this.head < this.slots.length && this.slots[this.head] === undefined) this.head++;
    if (this.live === 0) {
      this.base += this.slots.length;
      this.slots = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}
