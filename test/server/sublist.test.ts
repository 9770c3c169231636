import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_RESULT, isUncachedSubject, Sublist, SublistError, type SublistEntry, type SublistMatch } from '../../src/server/sublist.js';
import { prng as rng } from '../helpers/prng.js';

interface Sub extends SublistEntry {
  readonly id: number;
}

let nextId = 1;
function sub(subject: string, queue: string | null = null): Sub {
  return { id: nextId++, subject, queue };
}

/** Canonical form of a result: plain ids sorted, queue groups by name with sorted ids. */
interface Shape {
  psubs: number[];
  qsubs: Record<string, number[]>;
}

function shape(r: SublistMatch<Sub>): Shape {
  assert.equal(r.qsubs.length, r.queues.length, 'one name per queue group');
  assert.equal(new Set(r.queues).size, r.queues.length, 'queue names are distinct');
  const qsubs: Record<string, number[]> = {};
  r.queues.forEach((name, i) => {
    const g = r.qsubs[i]!;
    assert.ok(g.length > 0, 'no empty queue group');
    for (const s of g) assert.equal(s.queue, name, 'member belongs to its group');
    qsubs[name] = g.map((s) => s.id).sort((a, b) => a - b);
  });
  return { psubs: r.psubs.map((s) => s.id).sort((a, b) => a - b), qsubs };
}

function ids(...subs: Sub[]): number[] {
  return subs.map((s) => s.id).sort((a, b) => a - b);
}

test('literal, * and > matching', () => {
  const sl = new Sublist<Sub>();
  const lit = sub('foo.bar');
  const star = sub('foo.*');
  const fwc = sub('foo.>');
  const all = sub('>');
  const mid = sub('foo.*.baz');
  const lead = sub('*.bar');
  const starFwc = sub('*.>');
  for (const s of [lit, star, fwc, all, mid, lead, starFwc]) sl.insert(s);
  assert.equal(sl.count, 7);

  assert.deepEqual(shape(sl.match('foo.bar')), { psubs: ids(lit, star, fwc, all, lead, starFwc), qsubs: {} });
  assert.deepEqual(shape(sl.match('foo.x.baz')), { psubs: ids(fwc, all, mid, starFwc), qsubs: {} });
  assert.deepEqual(shape(sl.match('foo.x.y')), { psubs: ids(fwc, all, starFwc), qsubs: {} });
  // '>' needs at least one token after its prefix.
  assert.deepEqual(shape(sl.match('foo')), { psubs: ids(all), qsubs: {} });
  assert.deepEqual(shape(sl.match('x.bar')), { psubs: ids(all, lead, starFwc), qsubs: {} });
  assert.deepEqual(shape(sl.match('bar')), { psubs: ids(all), qsubs: {} });

  const sl2 = new Sublist<Sub>();
  sl2.insert(sub('a.b'));
  assert.equal(sl2.match('a'), EMPTY_RESULT);
  assert.equal(sl2.match('a.b.c'), EMPTY_RESULT);
  assert.equal(sl2.match('a.c'), EMPTY_RESULT);
  assert.equal(sl2.match('ab'), EMPTY_RESULT);
});

test('a wildcard token in a published subject only meets wildcard subscriptions', () => {
  const sl = new Sublist<Sub>();
  const lit = sub('foo.bar');
  const star = sub('foo.*');
  const fwc = sub('foo.>');
  for (const s of [lit, star, fwc]) sl.insert(s);
  assert.deepEqual(shape(sl.match('foo.*')), { psubs: ids(star, fwc), qsubs: {} });
  assert.deepEqual(shape(sl.match('foo.>')), { psubs: ids(star, fwc), qsubs: {} });
});

test('queue subscriptions are grouped per queue name across matching subjects', () => {
  const sl = new Sublist<Sub>();
  const p = sub('orders.new');
  const q1 = sub('orders.new', 'workers');
  const q2 = sub('orders.*', 'workers');
  const q3 = sub('orders.>', 'auditors');
  const q4 = sub('orders.new', 'auditors');
  const q5 = sub('other', 'workers');
  for (const s of [p, q1, q2, q3, q4, q5]) sl.insert(s);
  assert.deepEqual(shape(sl.match('orders.new')), {
    psubs: ids(p),
    qsubs: { workers: ids(q1, q2), auditors: ids(q3, q4) },
  });
  assert.deepEqual(shape(sl.match('orders.old')), { psubs: [], qsubs: { workers: ids(q2), auditors: ids(q3) } });
  assert.deepEqual(shape(sl.match('orders.old.x')), { psubs: [], qsubs: { auditors: ids(q3) } });
  // Same subject and queue, but a plain sub is not a queue member.
  assert.ok(sl.remove(q1));
  assert.deepEqual(shape(sl.match('orders.new')).qsubs.workers, ids(q2));
});

test('duplicates: distinct subs on one subject all match; the same object is stored once', () => {
  const sl = new Sublist<Sub>();
  const a = sub('dup.x');
  const b = sub('dup.x');
  const qa = sub('dup.x', 'g');
  sl.insert(a);
  sl.insert(b);
  sl.insert(qa);
  const gen = sl.genid;
  sl.insert(a); // no-op
  sl.insert(qa); // no-op
  assert.equal(sl.count, 3);
  assert.equal(sl.genid, gen, 'a no-op insert does not change genid');
  assert.deepEqual(shape(sl.match('dup.x')), { psubs: ids(a, b), qsubs: { g: ids(qa) } });
  assert.equal(sl.remove(a), true);
  assert.equal(sl.remove(a), false);
  assert.deepEqual(shape(sl.match('dup.x')), { psubs: ids(b), qsubs: { g: ids(qa) } });
});

test('remove is by identity and reports whether anything was removed', () => {
  const sl = new Sublist<Sub>();
  const a = sub('r.a');
  const q = sub('r.a', 'g');
  sl.insert(a);
  sl.insert(q);
  assert.equal(sl.remove(sub('r.a')), false, 'an equal but different object is not removed');
  assert.equal(sl.remove({ id: q.id, subject: 'r.a', queue: 'other' }), false);
  assert.equal(sl.remove(sub('never.inserted')), false);
  assert.equal(sl.remove(sub('r.a.deeper')), false);
  assert.equal(sl.remove(sub('r.*')), false);
  assert.equal(sl.remove(sub('bad..subject')), false);
  assert.equal(sl.count, 2);
  assert.equal(sl.remove(q), true);
  assert.equal(sl.remove(a), true);
  assert.equal(sl.count, 0);
  assert.equal(sl.match('r.a'), EMPTY_RESULT);
});

test('insert rejects invalid subjects and queue names with SublistError', () => {
  const sl = new Sublist<Sub>();
  for (const s of ['', 'foo..bar', '.foo', 'foo.', 'foo.>.bar', '>.>', 'foo bar', 'a\tb']) {
    assert.throws(
      () => sl.insert(sub(s)),
      (e: unknown) => e instanceof SublistError && e.kind === 'invalid subject' && e.message === 'invalid subject',
      JSON.stringify(s),
    );
  }
  for (const q of ['', 'a b']) {
    assert.throws(
      () => sl.insert(sub('ok', q)),
      (e: unknown) => e instanceof SublistError && e.kind === 'invalid queue' && /invalid queue name/.test(e.message),
    );
  }
  assert.equal(sl.count, 0);
  assert.equal(sl.genid, 0);
  assert.equal(sl.numNodes, 0, 'a rejected insert leaves no nodes behind');
});

test('match of an invalid subject is empty and not cached', () => {
  const sl = new Sublist<Sub>();
  sl.insert(sub('>'));
  sl.insert(sub('*.*'));
  for (const s of ['', 'a..b', '.a', 'a.']) {
    assert.equal(sl.match(s), EMPTY_RESULT, JSON.stringify(s));
    assert.equal(sl.hasInterest(s), false);
  }
  assert.equal(sl.stats().numCache, 0);
});

test('cache hits return the same frozen object; no interest is the shared EMPTY_RESULT', () => {
  const sl = new Sublist<Sub>();
  sl.insert(sub('c.a'));
  sl.insert(sub('c.*', 'q'));
  const r1 = sl.match('c.a');
  const r2 = sl.match('c.a');
  assert.equal(r1, r2);
  assert.ok(Object.isFrozen(r1) && Object.isFrozen(r1.psubs) && Object.isFrozen(r1.qsubs) && Object.isFrozen(r1.qsubs[0]));
  assert.equal(sl.match('nothing.here'), EMPTY_RESULT);
  assert.ok(Object.isFrozen(EMPTY_RESULT) && Object.isFrozen(EMPTY_RESULT.psubs));
  const st = sl.stats();
  assert.equal(st.numMatches, 3);
  assert.equal(st.numCache, 2);
  assert.equal(st.cacheHitRate, 1 / 3);
});

test('cache stays coherent when wildcard subs matching cached subjects come and go', () => {
  const sl = new Sublist<Sub>();
  const base = sub('x.y.z');
  sl.insert(base);
  const other = sl.match('unrelated.subject'); // cached, must not be touched
  assert.deepEqual(shape(sl.match('x.y.z')), { psubs: ids(base), qsubs: {} });
  assert.equal(sl.match('x.q.z'), EMPTY_RESULT);

  const star = sub('x.*.z');
  sl.insert(star);
  assert.deepEqual(shape(sl.match('x.y.z')), { psubs: ids(base, star), qsubs: {} });
  assert.deepEqual(shape(sl.match('x.q.z')), { psubs: ids(star), qsubs: {} });

  const fq = sub('x.>', 'grp');
  const fq2 = sub('x.y.>', 'grp');
  sl.insert(fq);
  sl.insert(fq2);
  assert.deepEqual(shape(sl.match('x.y.z')), { psubs: ids(base, star), qsubs: { grp: ids(fq, fq2) } });
  assert.deepEqual(shape(sl.match('x.q.z')), { psubs: ids(star), qsubs: { grp: ids(fq) } });

  assert.ok(sl.remove(star));
  assert.deepEqual(shape(sl.match('x.y.z')), { psubs: ids(base), qsubs: { grp: ids(fq, fq2) } });
  assert.ok(sl.remove(fq));
  assert.deepEqual(shape(sl.match('x.q.z')), { psubs: [], qsubs: {} });
  assert.equal(sl.match('x.q.z'), EMPTY_RESULT, 'a result patched down to nothing is the shared empty');
  assert.ok(sl.remove(fq2));
  assert.ok(sl.remove(base));
  assert.equal(sl.match('x.y.z'), EMPTY_RESULT);
  assert.equal(sl.match('unrelated.subject'), other);

  // A literal insert patches its own cached subject.
  const lit = sub('unrelated.subject');
  sl.insert(lit);
  assert.deepEqual(shape(sl.match('unrelated.subject')), { psubs: ids(lit), qsubs: {} });
});

test('wide cached results stay correct while many subs join and leave one subject', () => {
  const sl = new Sublist<Sub>();
  const subs: Sub[] = [];
  for (let i = 0; i < 300; i++) {
    const s = i % 3 === 0 ? sub('wide.*', `g${i % 4}`) : sub('wide.x');
    sl.insert(s);
    subs.push(s);
    assert.equal(sl.match('wide.x').psubs.length + sl.match('wide.x').qsubs.reduce((n, g) => n + g.length, 0), i + 1);
  }
  for (let i = 0; i < 300; i += 2) assert.ok(sl.remove(subs[i]!));
  const left = subs.filter((_, i) => i % 2 === 1);
  const before = sl.match('wide.x');
  assert.equal(sl.match('wide.x'), before, 'rebuilt once, then served from the cache');
  assert.ok(sl.stats().maxFanout > 64);
  const r = shape(sl.match('wide.x'));
  assert.deepEqual(r.psubs, ids(...left.filter((s) => s.queue === null)));
  assert.equal(Object.values(r.qsubs).flat().length, left.filter((s) => s.queue !== null).length);
});

test('patching leaves results that were handed out unchanged (immutability)', () => {
  const sl = new Sublist<Sub>();
  const a = sub('imm.a');
  sl.insert(a);
  const before = sl.match('imm.a');
  sl.insert(sub('imm.*'));
  assert.deepEqual(before.psubs.map((s) => s.id), [a.id]);
  assert.notEqual(sl.match('imm.a'), before);
});

test('genid changes on every effective insert/remove and only then', () => {
  const sl = new Sublist<Sub>();
  const a = sub('g.a');
  const g0 = sl.genid;
  sl.insert(a);
  const g1 = sl.genid;
  assert.ok(g1 > g0);
  sl.match('g.a');
  sl.hasInterest('g.a');
  assert.equal(sl.genid, g1);
  sl.remove(sub('g.a'));
  assert.equal(sl.genid, g1, 'a failed remove does not bump genid');
  sl.remove(a);
  assert.ok(sl.genid > g1);
});

test('hasInterest', () => {
  const sl = new Sublist<Sub>();
  sl.insert(sub('h.*.c'));
  sl.insert(sub('q.>', 'g'));
  sl.insert(sub('deep.a.b.c'));
  assert.equal(sl.hasInterest('h.b.c'), true);
  assert.equal(sl.hasInterest('h.b'), false);
  assert.equal(sl.hasInterest('h.b.c.d'), false);
  assert.equal(sl.hasInterest('q.x.y'), true);
  assert.equal(sl.hasInterest('q'), false);
  assert.equal(sl.hasInterest('deep.a.b'), false, 'an inner node without subs is not interest');
  assert.equal(sl.hasInterest('deep.a.b.c'), true);
  sl.match('h.b.c'); // from cache too
  assert.equal(sl.hasInterest('h.b.c'), true);
  sl.match('nope');
  assert.equal(sl.hasInterest('nope'), false);
});

test('removing the last subscriptions prunes the trie (no growth from churn)', () => {
  const sl = new Sublist<Sub>();
  const keep = sub('keep.this');
  sl.insert(keep);
  const baseNodes = sl.numNodes;
  assert.equal(baseNodes, 2);
  for (let round = 0; round < 3; round++) {
    const subs: Sub[] = [];
    for (let i = 0; i < 500; i++) {
      subs.push(sub(`_INBOX.${round}.${i}.*`), sub(`keep.this.${i}.>`, 'q'), sub(`a.${i % 7}.b.${i}`), sub('*.*.>'));
    }
    for (const s of subs) sl.insert(s);
    assert.ok(sl.numNodes > baseNodes);
    for (const s of subs) assert.ok(sl.remove(s));
    assert.equal(sl.numNodes, baseNodes, `round ${round}`);
    assert.equal(sl.count, 1);
  }
  assert.deepEqual(sl.all(), [keep]);
  assert.ok(sl.remove(keep));
  assert.equal(sl.numNodes, 0);
});

test('the cache is bounded under publishes to many distinct subjects without interest', () => {
  const sl = new Sublist<Sub>();
  const w = sub('load.*.x');
  sl.insert(w);
  for (let i = 0; i < 20_000; i++) {
    sl.match(`noise.${i}`);
    assert.ok(sl.stats().numCache <= 1024 || i % 1000 !== 0);
  }
  assert.ok(sl.stats().numCache <= 1024, `cache size ${sl.stats().numCache}`);
  // Still correct after sweeps, and a sweep also bounds non-empty results.
  for (let i = 0; i < 3000; i++) assert.deepEqual(sl.match(`load.${i}.x`).psubs, [w]);
  assert.ok(sl.stats().numCache <= 1024);

  const small = new Sublist<Sub>({ cacheSize: 8 });
  for (let i = 0; i < 100; i++) small.match(`s.${i}`);
  assert.ok(small.stats().numCache <= 8);
  const none = new Sublist<Sub>({ cacheSize: 0 });
  none.insert(sub('n'));
  assert.equal(none.match('n').psubs.length, 1);
  assert.equal(none.stats().numCache, 0);
  assert.throws(() => new Sublist<Sub>({ cacheSize: -1 }), RangeError);
});

test('stats and all()', () => {
  const sl = new Sublist<Sub>();
  const subs = [sub('s.a'), sub('s.*'), sub('s.>', 'q'), sub('s.>', 'r'), sub('t')];
  for (const s of subs) sl.insert(s);
  sl.remove(subs[4]!);
  sl.match('s.a'); // fanout 2 plain + 2 groups = 4
  sl.match('s.b'); // 1 + 2 = 3
  sl.match('s.a');
  const st = sl.stats();
  assert.deepEqual(st, {
    numSubscriptions: 4,
    numCache: 2,
    numInserts: 5,
    numRemoves: 1,
    numMatches: 3,
    cacheHitRate: 1 / 3,
    maxFanout: 4,
    avgFanout: 3.5,
  });
  assert.deepEqual(sl.all().map((s) => s.id).sort((a, b) => a - b), ids(...subs.slice(0, 4)));
});

// --- randomized comparison against a brute-force matcher ---------------------


function bruteMatch(subject: string[], filter: string[]): boolean {
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (filter[i] !== '*' && filter[i] !== subject[i]) return false;
  }
  return subject.length === filter.length;
}

function bruteShape(live: Iterable<Sub>, subject: string): Shape {
  const st = subject.split('.');
  const psubs: number[] = [];
  const qsubs: Record<string, number[]> = {};
  for (const s of live) {
    if (!bruteMatch(st, s.subject.split('.'))) continue;
    if (s.queue === null) psubs.push(s.id);
    else (qsubs[s.queue] ??= []).push(s.id);
  }
  psubs.sort((a, b) => a - b);
  for (const k of Object.keys(qsubs)) qsubs[k]!.sort((a, b) => a - b);
  return { psubs, qsubs };
}

test('randomized: trie + cache agree with brute force through inserts and removes', () => {
  const seed = Number(process.env.SUBLIST_SEED ?? Date.now() % 1_000_000);
  const rand = rng(seed);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)]!;
  const TOK = ['a', 'b', 'c', 'd', 'e'];
  const QUEUES = ['q1', 'q2', 'q3'];
  const randomLiteral = (): string => {
    const n = 1 + Math.floor(rand() * 4);
    return Array.from({ length: n }, () => pick(TOK)).join('.');
  };
  const randomPattern = (): string => {
    const n = 1 + Math.floor(rand() * 4);
    const t: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = rand();
      if (i === n - 1 && r < 0.15) t.push('>');
      else if (r < 0.35) t.push('*');
      else t.push(pick(TOK));
    }
    return t.join('.');
  };
  const subjects = Array.from({ length: 2000 }, randomLiteral);
  const sl = new Sublist<Sub>({ cacheSize: 256 }); // small, so sweeps happen too
  const plain = new Sublist<Sub>({ cacheSize: 0 });
  const live = new Set<Sub>();
  const msg = (s: string): string => `seed=${seed} subject=${s}`;

  const check = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const s = pick(subjects);
      const expected = bruteShape(live, s);
      assert.deepEqual(shape(sl.match(s)), expected, msg(s));
      assert.deepEqual(shape(plain.match(s)), expected, msg(s));
      assert.equal(sl.hasInterest(s), expected.psubs.length + Object.keys(expected.qsubs).length > 0, msg(s));
    }
  };

  // Interleave changes with matches so cached entries are patched, not just rebuilt.
  for (let i = 0; i < 3000; i++) {
    const r = rand();
    if (r < 0.6 || live.size === 0) {
      const s = sub(randomPattern(), rand() < 0.3 ? pick(QUEUES) : null);
      sl.insert(s);
      plain.insert(s);
      live.add(s);
    } else if (r < 0.85) {
      const victim = pick([...live]);
      assert.ok(sl.remove(victim));
      assert.ok(plain.remove(victim));
      live.delete(victim);
    }
    check(2);
  }
  assert.equal(sl.count, live.size);
  check(1000);

  // Every cached entry must equal a fresh walk (invariant 1).
  for (const s of new Set(subjects)) assert.deepEqual(shape(sl.match(s)), shape(plain.match(s)), msg(s));

  for (const s of live) assert.ok(sl.remove(s));
  assert.equal(sl.count, 0);
  assert.equal(sl.numNodes, 0, `seed=${seed}: trie fully pruned`);
  for (const s of subjects.slice(0, 200)) assert.equal(sl.match(s), EMPTY_RESULT, msg(s));
});

test('matchOnce() routes like match() without touching the cache; inbox subjects are cached like any other', () => {
  const sl = new Sublist<Sub>();
  const mux = sub('_INBOX.abc.*');
  const q = sub('_INBOX.abc.*', 'g');
  sl.insert(mux);
  sl.insert(q);
  for (let i = 0; i < 2000; i++) {
    const r = sl.matchOnce(`_INBOX.abc.${i}`);
    assert.deepEqual(r.psubs, [mux]);
    assert.deepEqual(r.qsubs, [[q]]);
    assert.deepEqual(r.queues, ['g']);
  }
  assert.equal(sl.matchOnce('_INBOX.none.1'), EMPTY_RESULT);
  assert.equal(sl.stats().numCache, 0);
  // A pull request's reply inbox receives a whole batch: a plain match caches it.
  for (let i = 0; i < 500; i++) assert.deepEqual(sl.match('_INBOX.abc.7').psubs, [mux]);
  const st = sl.stats();
  assert.equal(st.numCache, 1);
  assert.equal(Math.round(st.cacheHitRate * st.numMatches), 499, 'all but the first of the batch hit');
  assert.ok(!isUncachedSubject('_INBOX.abc.1'));
});
