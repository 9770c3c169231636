// IdTable: string -> seq, the dedup window's index of Nats-Msg-Ids.
//
// A duplicate window holds every id of the last two minutes: hundreds of thousands to
// millions of keys, and every published message looks one up (a miss, normally) and
// inserts one. In a V8 Map each probe of such a table dereferences chained entries and
// their key strings, a cache miss each. Here the table is open addressing with linear
// probing over typed arrays: the 32-bit hash of each key sits next to its neighbours, so
// a miss usually costs one cache line, and a key string is only compared when its hash
// matches. Deletion shifts the following run back (no tombstones), so the table never
// degrades under the window's constant insert/expire churn.

const MIN_CAPACITY = 1024;

/** FNV-1a over UTF-16 code units, never 0 (0 marks an empty slot). */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h === 0 ? 1 : h;
}

export class IdTable {
  private hashes: Int32Array;
  private seqs: Float64Array;
  private keys: Array<string | undefined>;
  private mask: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity) cap *= 2;
    this.hashes = new Int32Array(cap);
    this.seqs = new Float64Array(cap);
    this.keys = new Array<string | undefined>(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  get(key: string): number | undefined {
    const i = this.find(key, hashOf(key) | 0);
    return i < 0 ? undefined : this.seqs[i];
  }

  set(key: string, seq: number): void {
    const h = hashOf(key) | 0;
    const found = this.find(key, h);
    if (found >= 0) {
      this.seqs[found] = seq;
      return;
    }
    if ((this.count + 1) * 4 > this.hashes.length * 3) this.resize(this.hashes.length * 2);
    this.insert(key, h, seq);
  }

  /** Remove key if it maps to seq (an id re-recorded later keeps its newer entry). */
  deleteIf(key: string, seq: number): boolean {
    const i = this.find(key, hashOf(key) | 0);
    if (i < 0 || this.seqs[i] !== seq) return false;
    this.removeAt(i);
    if (this.hashes.length > MIN_CAPACITY && this.count * 8 < this.hashes.length) this.resize(this.hashes.length / 2);
    return true;
  }

  clear(): void {
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.seqs = new Float64Array(MIN_CAPACITY);
    this.keys = new Array<string | undefined>(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  private find(key: string, h: number): number {
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i]!;
      if (x === 0) return -1;
      if (x === h && this.keys[i] === key) return i;
    }
  }

  private insert(key: string, h: number, seq: number): void {
    const mask = this.mask;
    let i = h & mask;
    while (this.hashes[i] !== 0) i = (i + 1) & mask;
    this.hashes[i] = h;
    this.keys[i] = key;
    this.seqs[i] = seq;
    this.count++;
  }

  /** Backward-shift deletion: pull later members of the probe run into the hole. */
  private removeAt(hole: number): void {
    const { hashes, keys, seqs, mask } = this;
    let i = hole;
    for (let j = (i + 1) & mask; hashes[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      // j's entry may move to i only if its home slot is not cyclically within (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      hashes[i] = hashes[j]!;
      keys[i] = keys[j];
      seqs[i] = seqs[j]!;
      i = j;
    }
    hashes[i] = 0;
    keys[i] = undefined;
    this.count--;
  }

  private resize(capacity: number): void {
    const { hashes, keys, seqs } = this;
    this.hashes = new Int32Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.keys = new Array<string | undefined>(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== 0) this.insert(keys[i]!, hashes[i]!, seqs[i]!);
  }
}
