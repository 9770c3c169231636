// NATS header helpers and the Nats-Msg-Id duplicate window, including its
// rebuild from a reopened FileStore.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  DedupWindow,
  FileStore,
  HeaderError,
  MemoryStore,
  NATS_MSG_ID,
  buildHeaders,
  findHeader,
  nowNs,
  parseHeaders,
} from '../../src/jetstream/store/mod.js';
import { IdTable } from '../../src/jetstream/store/id-table.js';
import { prng } from '../helpers/prng.js';
import { scanPublishHeaders, type PublishHeaders } from '../../src/protocol/headers.js';
import { tempDir } from './store-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

describe('header blocks', () => {
  it('finds a header in a block encoded by the official client', () => {
    const h = natsHeaders();
    h.set('Nats-Msg-Id', 'order-42');
    h.set('X-Other', 'v');
    h.append('X-Other', 'w');
    // encode() is what the client puts on the wire for HPUB; it is not on the public MsgHdrs type.
    const raw = Buffer.from((h as unknown as { encode(): Uint8Array }).encode());
    assert.equal(findHeader(raw, NATS_MSG_ID), 'order-42');
    assert.equal(findHeader(raw, 'X-Other'), 'v');
    assert.equal(findHeader(raw, 'Nats-Msg'), undefined, 'a key prefix is not a key');
    assert.equal(findHeader(raw, 'nats-msg-id'), undefined, 'keys are case-sensitive like nats-server');
    assert.equal(findHeader(null, NATS_MSG_ID), undefined);
    const parsed = parseHeaders(raw);
    assert.equal(parsed.status, undefined);
    assert.deepEqual(parsed.headers.get('X-Other'), ['v', 'w']);
  });

  it('finds a value that is not followed by another header or has no spaces', () => {
    assert.equal(findHeader(Buffer.from('NATS/1.0\r\nNats-Msg-Id:abc\r\n\r\n'), NATS_MSG_ID), 'abc');
    assert.equal(findHeader(Buffer.from('NATS/1.0\r\nA: 1\r\nNats-Msg-Id:   spaced value\r\n\r\n'), NATS_MSG_ID), 'spaced value');
    assert.equal(findHeader(Buffer.from('NATS/1.0\r\nX-Nats-Msg-Id: no\r\n\r\n'), NATS_MSG_ID), undefined);
  });

  it('scanPublishHeaders finds what findHeader finds, in random blocks built from tricky pieces', () => {
    const pieces = [
      'Nats-Msg-Id: a1', 'Nats-Msg-Id:b2', 'Nats-Msg-Id:   c 3', 'Nats-Msg-Id:', 'nats-msg-id: low', 'X-Nats-Msg-Id: x', 'Nats-Msg-Idx: y',
      'Nats-Expected-Stream: S', 'Nats-Expected-Last-Sequence: 4', 'Nats-Expected', 'X-Nats-Expected-Stream: no', 'Nats-', 'Nats-Msg-Id: ü€',
      'A: 1', 'B:', 'Long: ' + 'z'.repeat(300), 'Nats-Msg-Id: lone\r inside', 'Nats-Msg-Id: lf\n inside',
    ];
    const scan: PublishHeaders = { msgId: 'stale', expected: true };
    const rand = prng(20261126);
    for (let round = 0; round < 3000; round++) {
      const lines = Array.from({ length: Math.floor(rand() * 6) }, () => pieces[Math.floor(rand() * pieces.length)]!);
      const first = rand() < 0.1 ? 'NATS/1.0 503' : 'NATS/1.0';
      let text = `${first}\r\n${lines.map((l) => l + '\r\n').join('')}`;
      const end = rand();
      if (end < 0.8) text += '\r\n';
      else if (end < 0.9) text = text.slice(0, -2); // no terminator: the last value runs to the end
      const raw = Buffer.from(text, 'utf8');
      scanPublishHeaders(raw, scan);
      assert.equal(scan.msgId, findHeader(raw, NATS_MSG_ID), JSON.stringify(text));
      assert.equal(scan.expected, raw.includes('\r\nNats-Expected-'), JSON.stringify(text));
    }
    scanPublishHeaders(Buffer.alloc(0), scan);
    assert.deepEqual(scan, { msgId: undefined, expected: false });
  });

  it('builds blocks, status lines included, that round-trip', () => {
    const raw = buildHeaders({ 'Nats-Pending-Messages': '5', 'Nats-Pending-Bytes': '100' }, { code: 408, description: 'Request Timeout' });
    assert.equal(raw.toString(), 'NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 100\r\n\r\n');
    const p = parseHeaders(raw);
    assert.equal(p.status, 408);
    assert.equal(p.description, 'Request Timeout');
    assert.deepEqual(p.headers.get('Nats-Pending-Bytes'), ['100']);
    assert.equal(buildHeaders(new Map([['K', ['a', 'b']]])).toString(), 'NATS/1.0\r\nK: a\r\nK: b\r\n\r\n');
  });

  it('rejects bad input with clear errors', () => {
    assert.throws(() => parseHeaders(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), HeaderError);
    assert.throws(() => parseHeaders(Buffer.from('NATS/1.0\r\nno colon here\r\n\r\n')), /bad header line/);
    assert.throws(() => buildHeaders({ 'Bad Key': 'x' }), /bad header key/);
    assert.throws(() => buildHeaders({ K: 'a\r\nInjected: 1' }), /CR or LF/);
  });
});

describe('dedup window', () => {
  it('IdTable agrees with a Map through random sets, conditional deletes, growth and shrinking', () => {
    const seed = 20261126;
    const rnd = prng(seed);
    const t = new IdTable();
    const model = new Map<string, number>();
    // Few distinct keys at first (many updates and collisions of probe runs), then many (growth), then deletes (shrink).
    for (let step = 0; step < 60_000; step++) {
      const phase = step < 20_000 ? 500 : 50_000;
      const key = `id-${Math.floor(rnd() * phase)}`;
      const op = step < 45_000 ? rnd() : 0.9 + rnd() * 0.1;
      if (op < 0.6) {
        const seq = step + 1;
        t.set(key, seq);
        model.set(key, seq);
      } else if (op < 0.8) {
        assert.equal(t.get(key), model.get(key), `seed ${seed} step ${step}: get ${key}`);
      } else {
        const seq = rnd() < 0.5 ? model.get(key) ?? -1 : -2;
        const expect = model.get(key) === seq;
        assert.equal(t.deleteIf(key, seq), expect, `seed ${seed} step ${step}: deleteIf ${key}`);
        if (expect) model.delete(key);
      }
      assert.equal(t.size, model.size, `seed ${seed} step ${step}: size`);
    }
    for (const [k, v] of model) assert.equal(t.get(k), v);
    for (let i = 0; i < 1000; i++) assert.equal(t.get(`absent-${i}`), undefined);
  });

  it('expires exactly the ids older than the window while the expiry queue wraps and grows', () => {
    const w = new DedupWindow(1_000); // 1 µs of "ns" time: each step below advances 1 ns
    const t0 = 1_000_000n;
    for (let i = 0; i < 10_000; i++) {
      w.record(`m-${i}`, i + 1, t0 + BigInt(i));
      if (i % 7 === 0) {
        // Everything recorded at or before now - window is gone, the rest is there.
        const now = t0 + BigInt(i);
        assert.equal(w.lookup(`m-${i}`, now), i + 1);
        if (i >= 1_000) assert.equal(w.lookup(`m-${i - 1_000}`, now), undefined, `step ${i}: expired`);
        if (i >= 999) assert.equal(w.lookup(`m-${i - 999}`, now), i - 998, `step ${i}: still inside`);
        assert.ok(w.size <= 1_000, `step ${i}: size ${w.size}`);
      }
    }
    w.record('m-5', 99_999, t0 + 20_000n); // an old id recorded again keeps its new seq
    assert.equal(w.lookup('m-5', t0 + 20_000n), 99_999);
    assert.equal(w.size, 1);
  });

  it('remembers ids within the window and forgets them after', () => {
    const w = new DedupWindow(1_000_000_000); // 1s
    const t0 = 5_000_000_000_000n;
    w.record('a', 1, t0);
    w.record('b', 2, t0 + 500_000_000n);
    assert.equal(w.lookup('a', t0 + 900_000_000n), 1);
    assert.equal(w.lookup('c', t0 + 900_000_000n), undefined);
    assert.equal(w.lookup('a', t0 + 1_000_000_001n), undefined);
    assert.equal(w.lookup('b', t0 + 1_000_000_001n), 2);
    assert.equal(w.size, 1);
    w.setWindow(0);
    w.record('z', 9, t0);
    assert.equal(w.lookup('z', t0), undefined, 'a zero window disables de-duplication');
  });

  it('survives a restart: rebuilt from the stored Nats-Msg-Id headers within the window', async () => {
    const t = tempDir('tern-dedup-');
    cleanups.push(t.cleanup);
    const window = 2_000_000_000; // 2s
    let fs = FileStore.open({ dir: t.dir, sync: 'always', log: () => {} });
    const now = nowNs();
    fs.store('o', buildHeaders({ [NATS_MSG_ID]: 'too-old' }), Buffer.from('1'), now - 5_000_000_000n);
    fs.store('o', buildHeaders({ [NATS_MSG_ID]: 'recent-1' }), Buffer.from('2'), now - 1_000_000_000n);
    fs.store('o', null, Buffer.from('3'), now - 900_000_000n);
    fs.store('o', buildHeaders({ 'X-A': 'b', [NATS_MSG_ID]: 'recent-2' }), Buffer.from('4'), now - 100_000_000n);
    await fs.stop();

    fs = FileStore.open({ dir: t.dir, sync: 'always', log: () => {} });
    const w = DedupWindow.rebuild(fs, window, now);
    assert.equal(w.size, 2);
    assert.equal(w.lookup('recent-1', now), 2);
    assert.equal(w.lookup('recent-2', now), 4);
    assert.equal(w.lookup('too-old', now), undefined);
    await fs.stop();
  });

  it('rebuilds from a memory store too and from an empty one', () => {
    const m = new MemoryStore();
    assert.equal(DedupWindow.rebuild(m, 1e9).size, 0);
    m.store('s', buildHeaders({ [NATS_MSG_ID]: 'x' }), Buffer.from('1'));
    assert.equal(DedupWindow.rebuild(m, 1e9).lookup('x'), 1);
  });
});
