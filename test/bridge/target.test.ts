// The bridge's pipelined JetStream publisher (NatsTarget) and its two hot-path helpers: the
// PubAck byte scanner and the header encoder. Real servers of each kind (the nats-server
// service on 4222 with JetStream or a spawned one for restarts, a spawned Tern); out-of-order and missing PubAcks come from a
// plain subscriber answering the publishes, which is the only way to make them happen at will.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { startServer } from '../helpers/servers.js';
import { NatsTarget, type PubAckInfo, type PublishError } from '../../src/bridge/target.js';
import { encodeHeaders, HeaderNameError } from '../../src/bridge/nats-headers.js';
import { parsePubAck } from '../../src/bridge/puback.js';
import type { HeaderEntry } from '../../src/bridge/connector.js';
import {
  createStream, deleteStream, natsConnect, serverKinds, startTarget, tmpDir, uid, waitFor, type BridgeTarget,
} from './helpers.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function target(url: string, publishTimeoutMs = 2000): NatsTarget {
  return new NatsTarget({ servers: [url], user: null, pass: null, token: null, name: 'target-test', publishTimeoutMs });
}

type Outcome = { err: PublishError | null; ack: PubAckInfo | null };

/** Publish and collect every callback; resolves when all have called back. */
function publishAll(t: NatsTarget, items: Array<{ subject: string; body: Uint8Array; msgId?: string; headers?: HeaderEntry[] }>): Promise<Outcome[]> {
  return new Promise((resolve) => {
    const out: Outcome[] = new Array(items.length);
    let left = items.length;
    items.forEach((it, i) => {
      let called = false;
      t.publishJs(it.subject, it.body, it.headers ?? [], it.msgId, (err, ack) => {
        assert.equal(called, false, `callback ${i} called twice`);
        called = true;
        out[i] = { err, ack };
        if (--left === 0) resolve(out);
      });
    });
  });
}

test('parsePubAck: happy path by byte scan, duplicates, errors and garbage through JSON', () => {
  assert.deepEqual(parsePubAck(bytes('{"stream":"ORDERS","seq":42}')), { ok: true, stream: 'ORDERS', seq: 42, duplicate: false });
  // nats-server 2.9 writes exactly these two shapes
  assert.deepEqual(parsePubAck(bytes('{"stream":"ORDERS", "seq":1}')), { ok: true, stream: 'ORDERS', seq: 1, duplicate: false });
  assert.deepEqual(parsePubAck(bytes('{"stream":"ORDERS", "seq":1,"duplicate": true}')), { ok: true, stream: 'ORDERS', seq: 1, duplicate: true });
  assert.deepEqual(parsePubAck(bytes('{"stream":"ORDERS","domain":"hub","seq":7,"duplicate":true}')), { ok: true, stream: 'ORDERS', seq: 7, duplicate: true });
  assert.deepEqual(parsePubAck(bytes('{"stream":"ORDERS","seq":7,"duplicate":false}')), { ok: true, stream: 'ORDERS', seq: 7, duplicate: false });
  assert.deepEqual(parsePubAck(bytes('{"stream": "S", "seq": 9}')), { ok: true, stream: 'S', seq: 9, duplicate: false }, 'spacing falls back to JSON');
  assert.deepEqual(parsePubAck(bytes('{"stream":"A\\"B","seq":3}')), { ok: true, stream: 'A"B', seq: 3, duplicate: false }, 'escapes fall back to JSON');
  assert.deepEqual(parsePubAck(bytes('{"stream":"OTHER","seq":12345678901}')), { ok: true, stream: 'OTHER', seq: 12345678901, duplicate: false });
  const err = parsePubAck(bytes('{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"},"stream":"X","seq":0}'));
  assert.deepEqual(err, { ok: false, code: 400, errCode: 10054, description: 'message size exceeds maximum allowed', unparseable: false });
  const garbage = parsePubAck(bytes('not json'));
  assert.equal(garbage.ok, false);
  assert.equal(!garbage.ok && garbage.unparseable, true);
  const noSeq = parsePubAck(bytes('{"stream":"X"}'));
  assert.equal(noSeq.ok, false, 'a reply without seq is not a PubAck');
});

test('encodeHeaders: the same wire bytes as MsgHdrs, Nats-Msg-Id replaced, CR/LF neutralised, bad names refused', () => {
  const cases: Array<{ entries: HeaderEntry[]; msgId?: string }> = [
    { entries: [['Amqp-Exchange', ''], ['Amqp-Routing-Key', 'orders.eu'], ['Amqp-Message-Id', 'm-1']], msgId: 'm-1' },
    { entries: [['A', '1'], ['B', '2'], ['A', '3'], ['Nats-Msg-Id', 'old']], msgId: 'new' },
    { entries: [['X-Tenant', '  spaced  ']] },
    { entries: [['Kafka-Key', 'k'], ['h', 'ünïcödé']] },
  ];
  for (const c of cases) {
    const ref = natsHeaders();
    for (const [k, v] of c.entries) if (!(c.msgId !== undefined && k === 'Nats-Msg-Id')) ref.append(k, v);
    if (c.msgId !== undefined) ref.set('Nats-Msg-Id', c.msgId);
    const enc = encodeHeaders(c.entries, c.msgId);
    assert.equal(Buffer.from(enc.encode()).toString('utf8'), Buffer.from((ref as unknown as { encode(): Uint8Array }).encode()).toString('utf8'));
    if (c.msgId !== undefined) assert.equal(enc.get('Nats-Msg-Id'), c.msgId);
  }
  const clean = encodeHeaders([['Bridge-Error', 'line1\r\nline2']], undefined);
  assert.equal(Buffer.from(clean.encode()).toString(), 'NATS/1.0\r\nBridge-Error: line1  line2\r\n\r\n');
  assert.throws(() => encodeHeaders([['bad name', 'v']], undefined), HeaderNameError);
  assert.throws(() => encodeHeaders([['a:b', 'v']], undefined), /invalid character/);
});

test('encodeHeaders: blocks written into shared slabs stay intact across slab turnover and for values larger than a slab', () => {
  const expect = (i: number): string => `NATS/1.0\r\nSeq: ${i}\r\nPad: ${'é'.repeat(i % 97)}\r\nNats-Msg-Id: id-${i}\r\n\r\n`;
  const kept = [];
  for (let i = 0; i < 3000; i++) kept.push(encodeHeaders([['Seq', String(i)], ['Pad', 'é'.repeat(i % 97)]], `id-${i}`));
  const big = encodeHeaders([['Big', 'x'.repeat(200_000)]], 'big');
  kept.forEach((h, i) => assert.equal(Buffer.from(h.encode()).toString('utf8'), expect(i), `block ${i}`));
  assert.equal(Buffer.from(big.encode()).toString('utf8'), `NATS/1.0\r\nBig: ${'x'.repeat(200_000)}\r\nNats-Msg-Id: big\r\n\r\n`);
});

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let server: BridgeTarget;
  before(async () => {
    server = await startTarget(kind);
  });
  after(async () => {
    await server?.stop();
  });

  test('JetStream stream: every PubAck matched to its publish (seq), duplicates flagged, a size rejection and a subject without stream reported', { timeout: 60_000 }, async () => {
    const nc = await natsConnect(server.url);
    const stream = uid('TARGET');
    const subj = uid('target');
    await createStream(nc, stream, [`${subj}.>`], { maxMsgSize: 1024 });
    const t = target(server.url);
    await t.connect();
    try {
      const n = 3000;
      const items = Array.from({ length: n }, (_, i) => ({ subject: `${subj}.m`, body: bytes(`body-${i}`), msgId: `id-${i}`, headers: [['Amqp-Message-Id', `id-${i}`]] as HeaderEntry[] }));
      const first = await publishAll(t, items);
      first.forEach((o, i) => {
        assert.equal(o.err, null, `publish ${i}: ${o.err?.message}`);
        assert.deepEqual(o.ack, { ok: true, stream, seq: i + 1, duplicate: false });
      });
      const again = await publishAll(t, items.slice(0, 10));
      again.forEach((o, i) => assert.deepEqual(o.ack, { ok: true, stream, seq: i + 1, duplicate: true }, 'the duplicate window drops the copy and names the original seq'));

      const [big] = await publishAll(t, [{ subject: `${subj}.big`, body: new Uint8Array(4096), msgId: 'big' }]);
      assert.equal(big!.err?.kind, 'rejected');
      assert.equal(big!.err?.code, 10054);
      assert.match(big!.err!.message, /JetStream rejected the message: .*size/);

      const [lost] = await publishAll(t, [{ subject: uid('nostream'), body: bytes('x') }]);
      assert.equal(lost!.err?.kind, 'transient');
      assert.equal(lost!.err?.code, 503);
      assert.equal(t.inflight, 0);
    } finally {
      await t.close();
      await deleteStream(nc, stream);
      await nc.close();
    }
  });

  test('PubAcks answered in reverse order are matched by reply token; an unanswered publish times out as transient', { timeout: 30_000 }, async () => {
    const nc = await natsConnect(server.url);
    const subj = uid('ooo');
    const held: Array<{ reply: string; i: number }> = [];
    const n = 500;
    // A stand-in for a stream that answers late and backwards: seq = the index in the body.
    nc.subscribe(`${subj}.acked`, {
      callback: (_e, m) => {
        held.push({ reply: m.reply!, i: Number(new TextDecoder().decode(m.data)) });
        if (held.length === n) for (const h of held.reverse()) nc.publish(h.reply, bytes(`{"stream":"FAKE","seq":${h.i + 1}${h.i % 7 === 0 ? ',"duplicate":true' : ''}}`));
      },
    });
    nc.subscribe(`${subj}.silent`, { callback: () => undefined }); // interest, but never an answer
    await nc.flush();
    const t = target(server.url, 300);
    await t.connect();
    try {
      const outcomes = await publishAll(t, Array.from({ length: n }, (_, i) => ({ subject: `${subj}.acked`, body: bytes(String(i)), msgId: `o-${i}` })));
      outcomes.forEach((o, i) => {
        assert.equal(o.err, null);
        assert.deepEqual(o.ack, { ok: true, stream: 'FAKE', seq: i + 1, duplicate: i % 7 === 0 });
      });
      const started = Date.now();
      const [silent] = await publishAll(t, [{ subject: `${subj}.silent`, body: bytes('x'), msgId: 's' }]);
      assert.equal(silent!.err?.kind, 'transient');
      assert.match(silent!.err!.message, /no PubAck within 300 ms/);
      assert.ok(Date.now() - started >= 290, 'not before the timeout');
      assert.equal(t.inflight, 0);
    } finally {
      await t.close();
      await nc.close();
    }
  });

  test('target restart: outstanding publishes fail as transient, status goes down and up, publishing resumes on the same connection', { timeout: 60_000 }, async () => {
    const store = tmpDir('tern-target-js-');
    let restarted = await startServer(kind, { args: ['-js', '-sd', store] });
    const port = restarted.port;
    const admin = await natsConnect(restarted.url);
    const stream = uid('RESTART');
    await createStream(admin, stream, ['restart.>']);
    await admin.close();
    const t = target(restarted.url, 500);
    const status: boolean[] = [];
    t.onStatus((up) => status.push(up));
    await t.connect();
    try {
      const [ok] = await publishAll(t, [{ subject: 'restart.a', body: bytes('1'), msgId: 'r-1' }]);
      assert.deepEqual(ok!.ack, { ok: true, stream, seq: 1, duplicate: false });
      await restarted.kill();
      await waitFor('target down', () => status.includes(false), 10_000, 20);
      assert.equal(t.connected, false);
      const down = await publishAll(t, [{ subject: 'restart.a', body: bytes('2'), msgId: 'r-2' }]);
      assert.equal(down[0]!.err?.kind, 'transient');
      restarted = await startServer(kind, { args: ['-js', '-sd', store, '-p', String(port)] });
      await waitFor('target up', () => status.at(-1) === true, 20_000, 50);
      // The retry carries the same Nats-Msg-Id: a copy buffered during the outage and flushed on
      // reconnect is dropped by the duplicate window.
      let after: Outcome[] = [];
      await waitFor('publish after restart', async () => {
        after = await publishAll(t, [{ subject: 'restart.a', body: bytes('2'), msgId: 'r-2' }]);
        return after[0]!.err === null;
      }, 20_000, 200);
      assert.equal(after[0]!.ack?.stream, stream);
      assert.equal(after[0]!.ack?.seq, 2);
    } finally {
      await t.close();
      await restarted.stop();
    }
  });
});
