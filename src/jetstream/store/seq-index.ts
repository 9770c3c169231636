// SeqIndex: sequence -> what the store knows about that message, kept in
// columns of typed arrays indexed by slot (= seq - base), so a stored message
// costs ~28 bytes of memory and no JS object (streams hold millions).
//
// Columns per slot: subject id (interned per stream by SubjectIndex), size
// counted against max_bytes, store time (ns, int64), and two location columns
// whose meaning is the medium's (file: block id and record offset; memory:
// header length), plus an optional object column for media that keep the
// bytes themselves (memory store).
//
// Invariants: a slot is live iff its size is > 0 (every stored message counts
// at least its record overhead); slots [head, len) may be live, everything
// outside is not; sequences are appended in increasing order; removals at the
// head advance `head`, and the columns are compacted once the dead prefix is
// large and more than half of them, so head removals are amortised O(1).
// Trailing holes are trimmed so lastSeq() is O(1).
//
// Slot numbers are only valid until the next append/delete/clear (they move
// on compaction): read what you need, then change the index.

const MIN_CAPACITY = 1024;

export class SeqIndex {
  private subj: Uint32Array;
  private sizes: Float64Array;
  private times: BigInt64Array;
  private locA: Uint32Array;
  private locB: Float64Array;
  private refs: (Buffer | undefined)[] | null;
  /** Sequence of slot 0. */
  private base: number;
  /** First slot that may be live. */
  private head = 0;
  /** Slots in use (live or hole). */
  private len = 0;
  private live = 0;

  /** withRefs: keep an object column (one Buffer per message) for stores that hold the bytes. */
  constructor(firstSeq: number, withRefs = false) {
    this.base = firstSeq;
    this.subj = new Uint32Array(MIN_CAPACITY);
    this.sizes = new Float64Array(MIN_CAPACITY);
    this.times = new BigInt64Array(MIN_CAPACITY);
    this.locA = new Uint32Array(MIN_CAPACITY);
    this.locB = new Float64Array(MIN_CAPACITY);
    this.refs = withRefs ? [] : null;
  }

  get size(): number {
    return this.live;
  }

  /** The slot of a live seq, or -1. */
  slot(seq: number): number {
    const i = seq - this.base;
    return i >= this.head && i < this.len && this.sizes[i]! > 0 ? i : -1;
  }

  has(seq: number): boolean {
    return this.slot(seq) >= 0;
  }

  subjectIdAt(slot: number): number {
    return this.subj[slot]!;
  }
  sizeAt(slot: number): number {
    return this.sizes[slot]!;
  }
  timeAt(slot: number): bigint {
    return this.times[slot]!;
  }
  locAAt(slot: number): number {
    return this.locA[slot]!;
  }
  locBAt(slot: number): number {
    return this.locB[slot]!;
  }
  refAt(slot: number): Buffer | undefined {
    return this.refs === null ? undefined : this.refs[slot];
  }

  /** Append seq (must be above every seq seen so far; gaps become holes). size must be > 0. */
  append(seq: number, subjectId: number, size: number, ts: bigint, a: number, b: number, ref?: Buffer): void {
    if (!(size > 0)) throw new Error(`SeqIndex: size of seq ${seq} must be positive`);
    let i = seq - this.base;
    if (this.live === 0 && (i < 0 || i >= this.len)) {
      // Empty index: restart at seq so a jump does not allocate a huge gap.
      this.reset(seq);
      i = 0;
    }
    if (i < this.len) throw new Error(`SeqIndex: seq ${seq} is not above the last seq`);
    if (i >= this.subj.length) this.grow(i + 1);
    // Slots between len and i are holes: sizes there are 0 (never written, or zeroed on delete/trim).
    this.subj[i] = subjectId;
    this.sizes[i] = size;
    this.times[i] = ts;
    this.locA[i] = a;
    this.locB[i] = b;
    if (this.refs !== null) {
      while (this.refs.length < i) this.refs.push(undefined);
      this.refs[i] = ref;
    }
    this.len = i + 1;
    this.live++;
  }

  /** Remove seq; false if it was not live. */
  delete(seq: number): boolean {
    const i = this.slot(seq);
    if (i < 0) return false;
    this.sizes[i] = 0;
    if (this.refs !== null) this.refs[i] = undefined;
    this.live--;
    if (i === this.head) this.advanceHead();
    else if (i === this.len - 1) {
      let n = this.len;
      while (n > this.head && this.sizes[n - 1] === 0) n--;
      this.len = n;
      if (this.refs !== null) this.refs.length = n;
    }
    return true;
  }

  /** The lowest live seq, or undefined when empty. */
  firstSeq(): number | undefined {
    return this.live === 0 ? undefined : this.base + this.head;
  }

  /** The highest live seq, or undefined when empty. */
  lastSeq(): number | undefined {
    return this.live === 0 ? undefined : this.base + this.len - 1;
  }

  /** The lowest live seq >= seq, or undefined. */
  nextLive(seq: number): number | undefined {
    const sizes = this.sizes;
    for (let i = Math.max(seq - this.base, this.head); i < this.len; i++) if (sizes[i]! > 0) return this.base + i;
    return undefined;
  }

  /** Visit live seqs from <= seq <= to in order with their slot; stop when fn returns false. fn must not change the index. */
  forEach(from: number, to: number, fn: (seq: number, slot: number) => boolean | void): void {
    const start = Math.max(from - this.base, this.head);
    const end = Math.min(to - this.base, this.len - 1);
    const sizes = this.sizes;
    for (let i = start; i <= end; i++) if (sizes[i]! > 0 && fn(this.base + i, i) === false) return;
  }

  /** Count live entries with seq >= from. */
  countFrom(from: number): number {
    const start = from - this.base;
    if (start <= this.head) return this.live;
    let n = 0;
    const sizes = this.sizes;
    for (let i = start; i < this.len; i++) if (sizes[i]! > 0) n++;
    return n;
  }

  /** Drop everything; the next append may start anywhere >= nextSeq. */
  clear(nextSeq: number): void {
    this.reset(nextSeq);
  }

  /** Bytes held by the columns (for tests and monitoring). */
  memoryBytes(): number {
    return this.subj.byteLength + this.sizes.byteLength + this.times.byteLength + this.locA.byteLength + this.locB.byteLength;
  }

  private reset(base: number): void {
    this.base = base;
    this.head = 0;
    this.len = 0;
    this.live = 0;
    // Keep big columns only while they are useful; an emptied index returns to the minimum.
    if (this.subj.length > MIN_CAPACITY) this.realloc(MIN_CAPACITY, 0, 0);
    else this.sizes.fill(0);
    if (this.refs !== null) this.refs = [];
  }

  private grow(need: number): void {
    let cap = this.subj.length;
    while (cap < need) cap *= 2;
    this.realloc(cap, 0, this.len);
  }

  /** New columns of capacity cap holding slots [from, to) of the old ones at 0. */
  private realloc(cap: number, from: number, to: number): void {
    const subj = new Uint32Array(cap);
    const sizes = new Float64Array(cap);
    const times = new BigInt64Array(cap);
    const a = new Uint32Array(cap);
    const b = new Float64Array(cap);
    if (to > from) {
      subj.set(this.subj.subarray(from, to));
      sizes.set(this.sizes.subarray(from, to));
      times.set(this.times.subarray(from, to));
      a.set(this.locA.subarray(from, to));
      b.set(this.locB.subarray(from, to));
    }
    this.subj = subj;
    this.sizes = sizes;
    this.times = times;
    this.locA = a;
    this.locB = b;
  }

  private advanceHead(): void {
    const sizes = this.sizes;
    while (this.head < this.len && sizes[this.head] === 0) this.head++;
    if (this.live === 0) {
      this.reset(this.base + this.len);
    } else if (this.head > 4096 && this.head * 2 > this.len) {
      // Move live slots to the front; shrink when the columns are mostly empty.
      const n = this.len - this.head;
      let cap = this.subj.length;
      while (cap > MIN_CAPACITY && cap / 4 >= n) cap /= 2;
      if (cap !== this.subj.length) this.realloc(cap, this.head, this.len);
      else {
        this.subj.copyWithin(0, this.head, this.len);
        this.sizes.copyWithin(0, this.head, this.len);
        this.times.copyWithin(0, this.head, this.len);
        this.locA.copyWithin(0, this.head, this.len);
        this.locB.copyWithin(0, this.head, this.len);
        this.sizes.fill(0, n, this.len);
      }
      if (this.refs !== null) this.refs = this.refs.slice(this.head);
      this.base += this.head;
      this.head = 0;
      this.len = n;
    }
  }
}
