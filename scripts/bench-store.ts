// Micro-benchmark of the JetStream store: appends/s of 128-byte messages for
// the memory store and the file store with a sync interval vs sync 'always'.
//
//   npx tsc -p . && node dist/scripts/bench-store.js [--msgs N] [--size B] [--dir D]
//
// Two publishing patterns per store:
//   pipelined  store 1000 messages per event-loop turn, await whenDurable() per turn
//              (what a stream does with many concurrent publishers: group commit);
//   one-by-one store one message, await whenDurable(), repeat
//              (a single synchronous publisher; latency-bound under 'always').
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore, type StreamStore } from '../src/jetstream/store/mod.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const msgs = Number(arg('msgs', '200000'));
const size = Number(arg('size', '128'));
const base = arg('dir', tmpdir());
const payload = Buffer.alloc(size, 0x61);

interface Result {
  store: string;
  pattern: string;
  msgs: number;
  seconds: number;
}

async function pipelined(s: StreamStore, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; ) {
    for (let j = 0; j < 1000 && i < n; j++, i++) s.store('bench.store', null, payload);
    await s.whenDurable();
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function oneByOne(s: StreamStore, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    s.store('bench.store', null, payload);
    await s.whenDurable();
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function run(): Promise<void> {
  const results: Result[] = [];
  const configs: { name: string; open: (dir: string) => StreamStore; oneByOneMsgs: number }[] = [
    { name: 'memory', open: () => new MemoryStore(), oneByOneMsgs: Math.min(msgs, 50_000) },
    { name: 'file sync=2m', open: (dir) => FileStore.open({ dir }), oneByOneMsgs: Math.min(msgs, 20_000) },
    { name: 'file sync=always', open: (dir) => FileStore.open({ dir, sync: 'always' }), oneByOneMsgs: Math.min(msgs, 2_000) },
  ];
  for (const c of configs) {
    for (const [pattern, fn, n] of [
      ['pipelined', pipelined, msgs],
      ['one-by-one', oneByOne, c.oneByOneMsgs],
    ] as const) {
      const dir = mkdtempSync(join(base, 'tern-bench-store-'));
      const s = c.open(dir);
      try {
        const seconds = await fn(s, n);
        results.push({ store: c.name, pattern, msgs: n, seconds });
      } finally {
        await s.delete();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  console.log(`message size ${size} B, node ${process.version}`);
  console.log('store              pattern       msgs      seconds   appends/s     MB/s');
  for (const r of results) {
    const rate = r.msgs / r.seconds;
    console.log(
      `${r.store.padEnd(18)} ${r.pattern.padEnd(12)} ${String(r.msgs).padStart(8)} ${r.seconds.toFixed(3).padStart(10)} ${Math.round(rate)
        .toLocaleString('en-US')
        .padStart(11)} ${((rate * size) / 1e6).toFixed(1).padStart(8)}`,
    );
  }
}

await run();
