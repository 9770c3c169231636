// Sublist: the subject index that routes every published message to the
// subscriptions interested in it (the design of nats-server's sublist.go).
//
// Structure
//   A trie of subject tokens. Each Level holds literal children in a Map plus
//   at most one '*' child (pwc) and one '>' child (fwc). A Node holds the
//   plain subscriptions whose subject ends there (psubs) and the queue
//   subscriptions grouped by queue name (qsubs), and the Level below it.
//
// Matching
//   match() takes a literal subject. '*' matches exactly one token, '>' one or
//   more trailing tokens; a '*' or '>' inside a published subject is just a
//   token (it only meets wildcard subscriptions). Queue subscriptions are
//   grouped by queue name across all matching subscriptions: "a.*" in group
//   q and "a.b" in group q form one group for "a.b". Order inside a result is
//   unspecified.
//
// Cache
//   A Map from literal subject to its immutable, frozen result. A hit is one
//   Map lookup and allocates nothing. Results with no interest are the shared
//   EMPTY_RESULT constant and are cached too (publishes without subscribers
//   are common and must stay cheap). Wide results (> 64 entries) are marked
//   stale on a change instead of copied, and rebuilt on their next match.
//   The cache holds at most `cacheSize`
//   entries (default 1024); when it grows past that, the oldest entries are
//   dropped down to a quarter of the limit, so publishing to endless distinct
//   subjects cannot grow memory (nats-server issue #1794).
//   JetStream ack subjects ($JS.ACK.<stream>.<consumer>.<dc>.<sseq>...) are
//   unique per message and never match again: they bypass the cache (no
//   lookup, no insert), so they neither miss into it nor evict the subjects
//   that do repeat. So does matchOnce(), for a caller that knows its subject
//   is one-shot (a PubAck's reply). An inbox as such cannot be told apart: a
//   pull request's `_INBOX.<id>.<n>` receives a whole batch.
//
// Invariants (checked by the tests)
//   1. Every cache entry equals (as a set) what a fresh trie walk would return
//      for its key. insert() and remove() keep this by replacing, with new
//      frozen results (or dropping, when wide), exactly the entries whose key
//      the changed subscription's subject matches; others are untouched.
//   2. A subscription object is in the trie at most once; insert of an object
//      already present is a no-op, remove() is by object identity.
//   3. No empty Node or Level stays in the trie: removing the last
//      subscription of a branch prunes it, so subscribe/unsubscribe churn does
//      not grow memory.
//   4. `genid` increases on every insert or remove that changes the trie, so
//      callers may keep their own per-connection caches keyed on it.
//   5. `count` is the number of subscriptions in the trie.
//
// Errors
//   insert() throws SublistError for an invalid subject or queue name (see
//   subject.ts for the rules); match() of an invalid subject (empty, or with
//   an empty token) returns EMPTY_RESULT and caches nothing.
import { isValidQueueName, isValidSubject, subjectHasWildcard, subjectMatchesFilter } from './subject.js';

export interface SublistEntry {
  readonly subject: string;
  readonly queue: string | null;
}

/** Immutable, shared through the cache: never mutate. */
export interface SublistResult<T> {
  readonly psubs: readonly T[];
  /** Queue subscriptions, one array per queue name. */
  readonly qsubs: readonly (readonly T[])[];
}

/** What match() actually returns: queues[i] is the name of group qsubs[i] (routes need it). */
export interface SublistMatch<T> extends SublistResult<T> {
  readonly queues: readonly string[];
}

export type SublistErrorKind = 'invalid subject' | 'invalid queue';

export class SublistError extends Error {
  readonly kind: SublistErrorKind;
  constructor(kind: SublistErrorKind, detail?: string) {
    super(kind === 'invalid subject' ? 'invalid subject' : `invalid queue name${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
    this.name = 'SublistError';
    this.kind = kind;
  }
}

export interface SublistStats {
  numSubscriptions: number;
  numCache: number;
  numInserts: number;
  numRemoves: number;
  numMatches: number;
  /** Cache hits / matches, 0..1. */
  cacheHitRate: number;
  /** Largest (plain subs + queue groups) over cached results. */
  maxFanout: number;
  /** Mean (plain subs + queue groups) over cached results. */
  avgFanout: number;
}

export interface SublistOptions {
  /** Maximum cached subjects; 0 disables the cache. Default 1024. */
  cacheSize?: number;
}

export const DEFAULT_CACHE_SIZE = 1024;

/** Cached results wider than this are dropped, not patched, on a change (see patchCache). */
const PATCH_MAX_FANOUT = 64;

const EMPTY_ARRAY: readonly never[] = Object.freeze([]);

/** The one result for "no interest"; compare by identity if convenient. */
export const EMPTY_RESULT: SublistMatch<never> = Object.freeze({
  psubs: EMPTY_ARRAY,
  qsubs: EMPTY_ARRAY,
  queues: EMPTY_ARRAY,
});

// Literal children are in a Map: with fresh token strings it is ~6x faster to
// add/delete than a null-prototype object (which must internalize each key).
// Known V8 cost: a Map keeps deleted entries in their hash chain until it
// rehashes, so unsubscribing and resubscribing the *same* token next to
// thousands of siblings slows that token's lookups (about 1 us at 1k
// siblings, 28 us at 10k) until the next rehash.
/** Cache value for a subject whose result must be rebuilt on its next match. */
const STALE: SublistMatch<never> = Object.freeze({ psubs: EMPTY_ARRAY, qsubs: EMPTY_ARRAY, queues: EMPTY_ARRAY });

interface Level<T> {
  nodes: Map<string, Node<T>>;
  pwc: Node<T> | null;
  fwc: Node<T> | null;
}

interface Node<T> {
  next: Level<T> | null;
  psubs: Set<T> | null;
  qsubs: Map<string, Set<T>> | null;
}

function newLevel<T>(): Level<T> {
  return { nodes: new Map(), pwc: null, fwc: null };
}

function newNode<T>(): Node<T> {
  return { next: null, psubs: null, qsubs: null };
}

function levelIsEmpty<T>(l: Level<T>): boolean {
  return l.nodes.size === 0 && l.pwc === null && l.fwc === null;
}

function nodeIsEmpty<T>(n: Node<T>): boolean {
  return (n.psubs === null || n.psubs.size === 0) && (n.qsubs === null || n.qsubs.size === 0) && n.next === null;
}

function tokenEnd(s: string, start: number): number {
  const i = s.indexOf('.', start);
  return i === -1 ? s.length : i;
}

function isSingle(s: string, start: number, end: number, ch: string): boolean {
  return end - start === 1 && s[start] === ch;
}

/** Empty subject or an empty token: nothing can match it. */
function hasEmptyToken(s: string): boolean {
  return s.length === 0 || s.charCodeAt(0) === 0x2e || s.charCodeAt(s.length - 1) === 0x2e || s.includes('..');
}

function makeResult<T>(psubs: readonly T[], qsubs: readonly (readonly T[])[], queues: readonly string[]): SublistMatch<T> {
  if (psubs.length === 0 && qsubs.length === 0) return EMPTY_RESULT;
  return Object.freeze({ psubs: Object.freeze(psubs), qsubs: Object.freeze(qsubs), queues: Object.freeze(queues) });
}

/**
 * Accumulates one trie walk; allocated once per cache miss. Arrays are made only when
 * something matched (most walks find one plain subscription and no queue group).
 */
class Collector<T> {
  psubs: T[] | null = null;
  qsubs: T[][] | null = null;
  queues: string[] | null = null;
  private index: Map<string, T[]> | null = null;

  addNode(n: Node<T>): void {
    if (n.psubs !== null && n.psubs.size > 0) {
      const out = (this.psubs ??= []);
      for (const s of n.psubs) out.push(s);
    }
    if (n.qsubs !== null) {
      for (const [name, members] of n.qsubs) {
        this.index ??= new Map();
        let group = this.index.get(name);
        if (group === undefined) {
          group = [];
          this.index.set(name, group);
          (this.qsubs ??= []).push(group);
          (this.queues ??= []).push(name);
        }
        for (const s of members) group.push(s);
      }
    }
  }

  /**
   * The match. A result that goes into the cache is shared and frozen; one for an uncached
   * subject (unique per message) is used once and dropped, so freezing it is pure cost.
   */
  result(shared: boolean): SublistMatch<T> {
    const psubs: readonly T[] = this.psubs ?? EMPTY_ARRAY;
    const qsubs: readonly (readonly T[])[] = this.qsubs ?? EMPTY_ARRAY;
    const queues: readonly string[] = this.queues ?? EMPTY_ARRAY;
    if (!shared) return psubs.length === 0 && qsubs.length === 0 ? EMPTY_RESULT : { psubs, qsubs, queues };
    for (const g of qsubs) Object.freeze(g);
    return makeResult(psubs, qsubs, queues);
  }
}

export class Sublist<T extends SublistEntry> {
  private readonly root: Level<T> = newLevel();
  private readonly cache: Map<string, SublistMatch<T>> | null;
  private readonly cacheMax: number;
  private readonly cacheSweepTo: number;
  private _count = 0;
  private _genid = 0;
  private inserts = 0;
  private removes = 0;
  private matches = 0;
  private cacheHits = 0;

  constructor(opts: SublistOptions = {}) {
    const size = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`cacheSize must be a non-negative integer, got ${size}`);
    this.cacheMax = size;
    this.cacheSweepTo = Math.floor(size / 4);
    this.cache = size > 0 ? new Map() : null;
  }

  get count(): number {
    return this._count;
  }

  get genid(): number {
    return this._genid;
  }

  insert(sub: T): void {
    const subject = sub.subject;
    if (typeof subject !== 'string' || !isValidSubject(subject)) throw new SublistError('invalid subject');
    const queue = sub.queue;
    if (queue !== null && (typeof queue !== 'string' || !isValidQueueName(queue))) {
      throw new SublistError('invalid queue', String(queue));
    }

    let level = this.root;
    let node: Node<T> | null = null;
    let start = 0;
    for (;;) {
      const end = tokenEnd(subject, start);
      if (isSingle(subject, start, end, '*')) {
        node = level.pwc ??= newNode();
      } else if (isSingle(subject, start, end, '>')) {
        node = level.fwc ??= newNode();
      } else {
        const token = subject.slice(start, end);
        node = level.nodes.get(token) ?? null;
        if (node === null) {
          node = newNode();
          level.nodes.set(token, node);
        }
      }
      if (end === subject.length) break;
      level = node.next ??= newLevel();
      start = end + 1;
    }

    if (queue === null) {
      node.psubs ??= new Set();
      if (node.psubs.has(sub)) return;
      node.psubs.add(sub);
    } else {
      node.qsubs ??= new Map();
      let group = node.qsubs.get(queue);
      if (group === undefined) {
        group = new Set();
        node.qsubs.set(queue, group);
      }
      if (group.has(sub)) return;
      group.add(sub);
    }
    this._count++;
    this.inserts++;
    this._genid++;
    this.patchCache(sub, true);
  }

  remove(sub: T): boolean {
    const subject = sub.subject;
    if (typeof subject !== 'string' || !isValidSubject(subject)) return false;
    if (!this.removeFrom(this.root, sub, 0)) return false;
    this._count--;
    this.removes++;
    this._genid++;
    this.patchCache(sub, false);
    return true;
  }

  /** Removes `sub` below `level` and prunes nodes it leaves empty. */
  private removeFrom(level: Level<T>, sub: T, start: number): boolean {
    const subject = sub.subject;
    const end = tokenEnd(subject, start);
    let node: Node<T> | null;
    let token: string | null = null;
    if (isSingle(subject, start, end, '*')) node = level.pwc;
    else if (isSingle(subject, start, end, '>')) node = level.fwc;
    else {
      token = subject.slice(start, end);
      node = level.nodes.get(token) ?? null;
    }
    if (node === null) return false;

    if (end === subject.length) {
      if (sub.queue === null) {
        if (node.psubs === null || !node.psubs.delete(sub)) return false;
      } else {
        const group = node.qsubs?.get(sub.queue);
        if (group === undefined || !group.delete(sub)) return false;
        if (group.size === 0) node.qsubs!.delete(sub.queue);
      }
    } else {
      if (node.next === null || !this.removeFrom(node.next, sub, end + 1)) return false;
      if (levelIsEmpty(node.next)) node.next = null;
    }

    if (nodeIsEmpty(node)) {
      if (token !== null) level.nodes.delete(token);
      else if (node === level.pwc) level.pwc = null;
      else level.fwc = null;
    }
    return true;
  }

  /**
   * Keeps invariant 1: rewrite the cached results that `sub` belongs to.
   * Small results are patched (copy + freeze). Large ones are dropped and
   * rebuilt on their next match instead, so a burst of subscriptions to one
   * busy subject costs O(n) rather than O(n^2) copying.
   */
  private patchCache(sub: T, added: boolean): void {
    const cache = this.cache;
    if (cache === null || cache.size === 0) return;
    if (!subjectHasWildcard(sub.subject)) {
      // A literal subscription belongs to one cache key at most.
      const r = cache.get(sub.subject);
      if (r !== undefined) this.patchEntry(cache, sub.subject, r, sub, added);
      return;
    }
    // Keys must start with the literal part before the first wildcard: a cheap
    // filter before the token-by-token match.
    const prefix = literalPrefix(sub.subject);
    for (const key of cache.keys()) {
      if (key.startsWith(prefix) && subjectMatchesFilter(key, sub.subject)) this.patchEntry(cache, key, cache.get(key)!, sub, added);
    }
  }

  private patchEntry(cache: Map<string, SublistMatch<T>>, key: string, r: SublistMatch<T>, sub: T, added: boolean): void {
    if (r === STALE) return;
    // Marked rather than deleted: deleting and re-adding the same key leaves
    // tombstones in a V8 Map's hash chain (see Level).
    if (r.psubs.length + r.qsubs.length > PATCH_MAX_FANOUT) cache.set(key, STALE);
    else cache.set(key, added ? withAdded(r, sub) : withRemoved(r, sub));
  }

  /** match() for a subject the caller knows will not be matched again: no cache lookup or insert. */
  matchOnce(subject: string): SublistMatch<T> {
    return this.matchWith(subject, null);
  }

  match(subject: string): SublistMatch<T> {
    return this.matchWith(subject, isUncachedSubject(subject) ? null : this.cache);
  }

  private matchWith(subject: string, cache: Map<string, SublistMatch<T>> | null): SublistMatch<T> {
    this.matches++;
    if (cache !== null) {
      const hit = cache.get(subject);
      if (hit !== undefined && hit !== STALE) {
        this.cacheHits++;
        return hit;
      }
    }
    if (hasEmptyToken(subject)) return EMPTY_RESULT;
    const acc = new Collector<T>();
    this.collect(this.root, subject, 0, acc);
    const result = acc.result(cache !== null);
    if (cache !== null) {
      cache.set(subject, result);
      if (cache.size > this.cacheMax) this.sweepCache(cache);
    }
    return result;
  }

  /** Drops the oldest entries (Map order is insertion order). */
  private sweepCache(cache: Map<string, SublistMatch<T>>): void {
    let excess = cache.size - this.cacheSweepTo;
    for (const key of cache.keys()) {
      if (excess-- <= 0) break;
      cache.delete(key);
    }
  }

  private collect(level: Level<T>, subject: string, start: number, acc: Collector<T>): void {
    const end = tokenEnd(subject, start);
    const last = end === subject.length;
    // '>' matches here: there is at least this token left.
    if (level.fwc !== null) acc.addNode(level.fwc);
    const pwc = level.pwc;
    if (pwc !== null) {
      if (last) acc.addNode(pwc);
      else if (pwc.next !== null) this.collect(pwc.next, subject, end + 1, acc);
    }
    if (level.nodes.size === 0) return;
    const n = level.nodes.get(subject.slice(start, end));
    if (n === undefined) return;
    if (last) acc.addNode(n);
    else if (n.next !== null) this.collect(n.next, subject, end + 1, acc);
  }

  hasInterest(subject: string): boolean {
    if (this.cache !== null) {
      const hit = this.cache.get(subject);
      if (hit !== undefined && hit !== STALE) return hit.psubs.length > 0 || hit.qsubs.length > 0;
    }
    if (hasEmptyToken(subject)) return false;
    return this.anyInterest(this.root, subject, 0);
  }

  private anyInterest(level: Level<T>, subject: string, start: number): boolean {
    const end = tokenEnd(subject, start);
    const last = end === subject.length;
    // Nodes in the trie are never empty (invariant 3), but a node may only hold a
    // deeper level, so "has subs" is checked rather than mere presence.
    if (level.fwc !== null && nodeHasSubs(level.fwc)) return true;
    const pwc = level.pwc;
    if (pwc !== null) {
      if (last ? nodeHasSubs(pwc) : pwc.next !== null && this.anyInterest(pwc.next, subject, end + 1)) return true;
    }
    if (level.nodes.size === 0) return false;
    const n = level.nodes.get(subject.slice(start, end));
    if (n === undefined) return false;
    return last ? nodeHasSubs(n) : n.next !== null && this.anyInterest(n.next, subject, end + 1);
  }

  stats(): SublistStats {
    let max = 0;
    let total = 0;
    let numCache = 0; // live entries; stale ones are about to be rebuilt or swept
    if (this.cache !== null) {
      for (const r of this.cache.values()) {
        if (r === STALE) continue;
        numCache++;
        const f = r.psubs.length + r.qsubs.length;
        total += f;
        if (f > max) max = f;
      }
    }
    return {
      numSubscriptions: this._count,
      numCache,
      numInserts: this.inserts,
      numRemoves: this.removes,
      numMatches: this.matches,
      cacheHitRate: this.matches === 0 ? 0 : this.cacheHits / this.matches,
      maxFanout: max,
      avgFanout: numCache === 0 ? 0 : total / numCache,
    };
  }

  /** Every subscription in the trie (order unspecified). */
  all(): T[] {
    const out: T[] = [];
    collectAll(this.root, out);
    return out;
  }

  /** Trie nodes currently allocated (O(n) walk; for tests and /subsz). 0 when empty. */
  get numNodes(): number {
    return countNodes(this.root);
  }

  /** Drops every cached result (e.g. to free memory); matching stays correct. */
  clearCache(): void {
    this.cache?.clear();
  }
}

/** "a.b.*.c" -> "a.b.", "*.x" -> "", "a.>" -> "a." */
function literalPrefix(subject: string): string {
  let start = 0;
  for (;;) {
    const end = tokenEnd(subject, start);
    if (isSingle(subject, start, end, '*') || isSingle(subject, start, end, '>')) return subject.slice(0, start);
    if (end === subject.length) return subject;
    start = end + 1;
  }
}

function nodeHasSubs<T>(n: Node<T>): boolean {
  return (n.psubs !== null && n.psubs.size > 0) || (n.qsubs !== null && n.qsubs.size > 0);
}

function countNodes<T>(level: Level<T>): number {
  let n = 0;
  const visit = (node: Node<T>): void => {
    n++;
    if (node.next !== null) n += countNodes(node.next);
  };
  for (const n of level.nodes.values()) visit(n);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
  return n;
}

function collectAll<T>(level: Level<T>, out: T[]): void {
  const visit = (n: Node<T>): void => {
    if (n.psubs !== null) for (const s of n.psubs) out.push(s);
    if (n.qsubs !== null) for (const g of n.qsubs.values()) for (const s of g) out.push(s);
    if (n.next !== null) collectAll(n.next, out);
  };
  for (const n of level.nodes.values()) visit(n);
  if (level.pwc !== null) visit(level.pwc);
  if (level.fwc !== null) visit(level.fwc);
}

function withAdded<T extends SublistEntry>(r: SublistMatch<T>, sub: T): SublistMatch<T> {
  if (sub.queue === null) return makeResult([...r.psubs, sub], r.qsubs, r.queues);
  const i = r.queues.indexOf(sub.queue);
  if (i === -1) {
    return makeResult(r.psubs, [...r.qsubs, Object.freeze([sub])], [...r.queues, sub.queue]);
  }
  const qsubs = r.qsubs.slice();
  qsubs[i] = Object.freeze([...r.qsubs[i]!, sub]);
  return makeResult(r.psubs, qsubs, r.queues);
}

function withRemoved<T extends SublistEntry>(r: SublistMatch<T>, sub: T): SublistMatch<T> {
  if (sub.queue === null) {
    const i = r.psubs.indexOf(sub);
    if (i === -1) return r;
    const psubs = r.psubs.slice();
    psubs.splice(i, 1);
    return makeResult(psubs, r.qsubs, r.queues);
  }
  const g = r.queues.indexOf(sub.queue);
  if (g === -1) return r;
  const group = r.qsubs[g]!;
  const i = group.indexOf(sub);
  if (i === -1) return r;
  const qsubs = r.qsubs.slice();
  const queues = r.queues.slice();
  if (group.length === 1) {
    qsubs.splice(g, 1);
    queues.splice(g, 1);
  } else {
    const members = group.slice();
    members.splice(i, 1);
    qsubs[g] = Object.freeze(members);
  }
  return makeResult(r.psubs, qsubs, queues);
}

const ACK_PREFIX = '$JS.ACK.';

/** Subjects that are unique per message (JetStream acks) and not worth caching. */
export function isUncachedSubject(subject: string): boolean {
  // One char test keeps the common case (no '$') at a single comparison.
  return subject.charCodeAt(0) === 36 && subject.startsWith(ACK_PREFIX);
}
