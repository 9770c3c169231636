// Consumer state files and stream/consumer metadata on disk.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConsumerStateError,
  ConsumerStateFile,
  StoreNameError,
  consumerDir,
  emptyConsumerState,
  listConsumers,
  listStreams,
  readMeta,
  streamDir,
  writeMeta,
  type ConsumerState,
} from '../../src/jetstream/store/mod.js';
import { tempDir } from './store-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
function newDir(): string {
  const t = tempDir('tern-cs-');
  cleanups.push(t.cleanup);
  return t.dir;
}

function sampleState(n: number): ConsumerState {
  const s = emptyConsumerState();
  s.delivered = { consumer_seq: n + 2, stream_seq: n + 10 };
  s.ack_floor = { consumer_seq: n, stream_seq: n + 5 };
  s.pending.set(n + 7, { consumer_seq: n + 1, timestamp: 1_700_000_000_123, deliveries: 3 });
  s.pending.set(n + 10, { consumer_seq: n + 2, timestamp: 1_700_000_000_456, deliveries: 1 });
  s.redelivered.set(n + 7, 2);
  return s;
}

describe('consumer state file', () => {
  it('saves and loads the full state', async () => {
    const f = new ConsumerStateFile(join(newDir(), 'obs', 'C1'));
    assert.equal(f.load(), undefined, 'no state before the first save');
    await f.save(sampleState(1));
    assert.deepEqual(f.load(), sampleState(1));
    f.saveSync(sampleState(2));
    assert.deepEqual(new ConsumerStateFile(f.dir).load(), sampleState(2));
  });

  it('a crash between the temp write and the rename keeps the old state', async () => {
    const dir = join(newDir(), 'C');
    const f = new ConsumerStateFile(dir);
    await f.save(sampleState(1));
    // What a crash leaves behind: a complete or half-written temp file, never renamed.
    writeFileSync(`${f.path}.tmp`, JSON.stringify({ version: 1, delivered: { consumer_seq: 99 } }).slice(0, 30));
    assert.deepEqual(new ConsumerStateFile(dir).load(), sampleState(1));
    // The next save replaces the leftover temp file and wins.
    await f.save(sampleState(3));
    assert.deepEqual(f.load(), sampleState(3));
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  it('coalesces saves: every caller resolves and the last state wins', async () => {
    const f = new ConsumerStateFile(join(newDir(), 'C'), { durable: false });
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) saves.push(f.save(sampleState(i)));
    await Promise.all(saves);
    assert.deepEqual(f.load(), sampleState(49));
  });

  it('snapshots the state when save() is called', async () => {
    const f = new ConsumerStateFile(join(newDir(), 'C'));
    const s = sampleState(1);
    const p = f.save(s);
    s.pending.clear();
    s.delivered.stream_seq = 12345;
    await p;
    assert.deepEqual(f.load(), sampleState(1));
  });

  it('reports a damaged file clearly', () => {
    const dir = join(newDir(), 'C');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'state.json'), '{"version":1,');
    assert.throws(() => new ConsumerStateFile(dir).load(), (e: unknown) => e instanceof ConsumerStateError && /state\.json: invalid JSON/.test(e.message));
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 1, delivered: { consumer_seq: -1, stream_seq: 0 }, ack_floor: { consumer_seq: 0, stream_seq: 0 }, pending: [], redelivered: [] }));
    assert.throws(() => new ConsumerStateFile(dir).load(), /bad delivered/);
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ version: 7 }));
    assert.throws(() => new ConsumerStateFile(dir).load(), /unsupported format/);
  });

  it('delete() removes the consumer directory', async () => {
    const root = newDir();
    const f = new ConsumerStateFile(join(root, 'C'));
    await f.save(sampleState(1));
    await f.delete();
    assert.deepEqual(readdirSync(root), []);
  });
});

describe('stream and consumer metadata', () => {
  interface Cfg {
    name: string;
    subjects: string[];
  }

  it('lists streams and consumers written with writeMeta', () => {
    const store = newDir();
    const created = '2024-01-02T03:04:05.123456789Z';
    for (const name of ['ORDERS', 'AUDIT']) writeMeta<Cfg>(streamDir(store, name), { config: { name, subjects: [`${name}.>`] }, created });
    writeMeta(consumerDir(streamDir(store, 'ORDERS'), 'proc'), { config: { durable_name: 'proc' }, created });
    mkdirSync(join(store, 'EMPTY'));
    mkdirSync(join(store, 'BROKEN'));
    writeFileSync(join(store, 'BROKEN', 'meta.json'), '{not json');
    writeFileSync(join(store, 'stray-file'), 'x');

    const l = listStreams<Cfg>(store);
    assert.deepEqual(
      l.entries.map((e) => [e.name, e.meta.config.subjects, e.meta.created]),
      [
        ['AUDIT', ['AUDIT.>'], created],
        ['ORDERS', ['ORDERS.>'], created],
      ],
    );
    assert.equal(l.problems.length, 2);
    assert.match(l.problems.join('\n'), /BROKEN.*meta\.json: invalid JSON/);
    assert.match(l.problems.join('\n'), /EMPTY: no meta\.json/);
    const c = listConsumers<{ durable_name: string }>(streamDir(store, 'ORDERS'));
    assert.deepEqual(c.entries.map((e) => e.meta.config.durable_name), ['proc']);
    assert.deepEqual(listConsumers(streamDir(store, 'AUDIT')).entries, []);
    assert.deepEqual(listStreams(join(store, 'does-not-exist')).entries, []);
  });

  it('replaces meta atomically and validates names used as directories', () => {
    const store = newDir();
    const dir = streamDir(store, 'S');
    writeMeta(dir, { config: { v: 1 }, created: 'x' });
    writeMeta(dir, { config: { v: 2 }, created: 'x' });
    assert.deepEqual(readMeta(dir), { config: { v: 2 }, created: 'x' });
    assert.deepEqual(readdirSync(dir), ['meta.json']);
    for (const bad of ['', '..', 'a/b', 'a.b', 'a b', 'a*', 'a>']) assert.throws(() => streamDir(store, bad), StoreNameError, bad);
    assert.throws(() => consumerDir(dir, '../x'), /invalid consumer name/);
  });
});
