// Micro-benchmark of the Sublist: cache hits, cache misses (trie walks),
// hasInterest, and subscribe/unsubscribe churn. Bounded to a few seconds.
// Run: npx tsc -p . && node dist/scripts/bench-sublist.js
import { Sublist, type SublistEntry } from '../src/server/sublist.js';

interface Sub extends SublistEntry {
  readonly id: number;
}

function bench(name: string, ops: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(ops, 10_000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name.padEnd(44)} ${(ops / (ns / 1e9) / 1e6).toFixed(2).padStart(8)} M ops/s  ${(ns / ops).toFixed(1).padStart(8)} ns/op`);
}

function populate(sl: Sublist<Sub>): void {
  let id = 0;
  // A realistic mix: literal service subjects, per-client inboxes, wildcards, queue workers.
  for (let i = 0; i < 1000; i++) sl.insert({ id: id++, subject: `svc.${i % 50}.req.${i}`, queue: null });
  for (let i = 0; i < 1000; i++) sl.insert({ id: id++, subject: `_INBOX.${i.toString(36)}.*`, queue: null });
  for (let i = 0; i < 100; i++) sl.insert({ id: id++, subject: `svc.${i % 50}.*.${i}`, queue: 'workers' });
  sl.insert({ id: id++, subject: 'svc.>', queue: null });
  sl.insert({ id: id++, subject: 'metrics.*.cpu', queue: null });
}

const subjects = Array.from({ length: 512 }, (_, i) => `svc.${i % 50}.req.${i}`);
const misses = Array.from({ length: 4096 }, (_, i) => `_INBOX.${(i % 1000).toString(36)}.${i}`);

const cached = new Sublist<Sub>();
populate(cached);
let sink = 0;
bench('match, cache hit (512 hot subjects)', 5_000_000, (i) => {
  sink += cached.match(subjects[i & 511]!).psubs.length;
});

const uncached = new Sublist<Sub>({ cacheSize: 0 });
populate(uncached);
bench('match, cache disabled (4-token trie walk)', 1_000_000, (i) => {
  sink += uncached.match(misses[i & 4095]!).psubs.length;
});
bench('hasInterest, cache disabled', 1_000_000, (i) => {
  sink += uncached.hasInterest(misses[i & 4095]!) ? 1 : 0;
});

const noise = new Sublist<Sub>();
populate(noise);
bench('match, distinct subjects (miss + sweep)', 500_000, (i) => {
  sink += noise.match(`noise.${i}`).psubs.length;
});

const churn = new Sublist<Sub>();
populate(churn);
for (const s of subjects) churn.match(s); // a warm cache that wildcard changes must patch
bench('insert+remove literal, distinct tokens', 500_000, (i) => {
  const s: Sub = { id: -1, subject: `_INBOX.r${i & 4095}.reply`, queue: null };
  churn.insert(s);
  churn.remove(s);
});
// The known V8 Map cost (see Level in sublist.ts): one token re-added next to 1000 siblings.
bench('insert+remove literal, same token (1k sibs)', 100_000, () => {
  const s: Sub = { id: -1, subject: '_INBOX.same.reply', queue: null };
  churn.insert(s);
  churn.remove(s);
});
bench('insert+remove wildcard (patches 512 entries)', 20_000, (i) => {
  const s: Sub = { id: -1, subject: `svc.${i % 50}.*.>`, queue: null };
  churn.insert(s);
  churn.remove(s);
});
console.log(`stats: ${JSON.stringify(cached.stats())} (sink ${sink})`);
