// JetStream over a 3-node Tern cluster (R1): a stream lives on the node that
// created it and the API works from every node, answered exactly once.
// Real processes, official clients; each node has its own store dir.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, StorageType, jetstream, jetstreamManager, JetStreamApiError, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { startNode, stopAll, until, waitInterest, waitMesh, type ClusterNode } from '../cluster/helpers.js';
import { b2s, rejectsWithCode, s2b, sleep, uniq } from './helpers.js';

/**
 * Replies to one raw request (to prove "exactly once"): waits until `expected`
 * replies came (or `timeoutMs` passed), then `extraMs` more so that a second,
 * late reply would be counted too.
 */
async function allReplies(nc: NatsConnection, subject: string, body: string, expected = 1, timeoutMs = 5000, extraMs = 300): Promise<Record<string, unknown>[]> {
  const inbox = `_INBOX.once.${uniq('r')}`;
  const got: Record<string, unknown>[] = [];
  const sub = nc.subscribe(inbox, { callback: (_e, m) => void got.push(JSON.parse(b2s(m.data)) as Record<string, unknown>) });
  try {
    await nc.flush();
    nc.publish(subject, s2b(body), { reply: inbox });
    await nc.flush();
    const deadline = Date.now() + timeoutMs;
    while (got.length < expected && Date.now() < deadline) await sleep(10);
    await sleep(extraMs);
    await nc.flush();
  } finally {
    sub.unsubscribe();
  }
  return got;
}

async function fetchN(nc: NatsConnection, stream: string, consumer: string, max: number, expires = 1500): Promise<JsMsg[]> {
  const c = await jetstream(nc).consumers.get(stream, consumer);
  const out: JsMsg[] = [];
  for await (const m of await c.fetch({ max_messages: max, expires })) out.push(m);
  return out;
}

describe('JetStream across a 3-node Tern cluster (R1)', { timeout: 90_000 }, () => {
  const dirs = ['A', 'B', 'C'].map((n) => mkdtempSync(join(tmpdir(), `jsc-${n}-`)));
  const jsArgs = (i: number): string[] => ['-js', '-sd', dirs[i]!];
  let a: ClusterNode, b: ClusterNode, c: ClusterNode;
  let na: NatsConnection, nb: NatsConnection, nc: NatsConnection;
  let jsmA: JetStreamManager, jsmB: JetStreamManager, jsmC: JetStreamManager;
  const S = uniq('CLS');
  const N = 10;

  before(async () => {
    a = await startNode({ name: 'JA', args: jsArgs(0) });
    [b, c] = await Promise.all([
      startNode({ name: 'JB', routes: [a.routeUrl], args: jsArgs(1) }),
      startNode({ name: 'JC', routes: [a.routeUrl], args: jsArgs(2) }),
    ]);
    await waitMesh([a, b, c], 8000);
    [na, nb, nc] = await Promise.all([a, b, c].map((n) => connect({ servers: n.url, reconnect: false })));
    [jsmA, jsmB, jsmC] = await Promise.all([na, nb, nc].map((x) => jetstreamManager(x)));
  });
  after(async () => {
    await Promise.all([na, nb, nc].map((x) => x?.close().catch(() => undefined)));
    await stopAll([a, b, c]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('creates a stream via A and gets PubAcks for publishes via C', async () => {
    const si = await jsmA.streams.add({ name: S, subjects: [`${S}.>`], allow_direct: true });
    assert.equal(si.config.name, S);
    const js = jetstream(nc);
    for (let i = 1; i <= N; i++) {
      const ack = await js.publish(`${S}.m`, s2b(`msg ${i}`));
      assert.equal(ack.stream, S);
      assert.equal(ack.seq, i);
    }
    const info = await jsmA.streams.info(S);
    assert.equal(info.state.messages, N, 'messages are stored on the owner');
  });

  it('answers info, names, list and account info from B, the stream exactly once', async () => {
    const info = await jsmB.streams.info(S);
    assert.equal(info.state.messages, N);
    assert.equal(info.config.name, S);
    const names: string[] = [];
    for await (const n of jsmB.streams.names()) names.push(n);
    assert.equal(names.filter((n) => n === S).length, 1, `names: ${names.join(',')}`);
    const listed: string[] = [];
    for await (const s of jsmB.streams.list()) listed.push(s.config.name);
    assert.equal(listed.filter((n) => n === S).length, 1, `list: ${listed.join(',')}`);
    const ai = await jsmB.getAccountInfo();
    assert.equal(ai.streams, 1, 'account info counts the stream held by A');

    // Raw requests: one reply each, however many nodes have JetStream.
    const infoReplies = await allReplies(nb, `$JS.API.STREAM.INFO.${S}`, '');
    assert.equal(infoReplies.length, 1);
    assert.equal((infoReplies[0]!.state as { messages: number }).messages, N);
    const nameReplies = await allReplies(nc, '$JS.API.STREAM.NAMES', '{}');
    assert.equal(nameReplies.length, 1);
    assert.deepEqual(nameReplies[0]!.streams, [S]);

    // Direct get is served by the owner's own subscription, from any node.
    const m = await jsmC.direct.getMessage(S, { seq: 3 });
    assert.equal(m?.string(), 'msg 3');
  });

  it('consumes via C with explicit acks from a durable created via B, with redelivery', async () => {
    await jsmB.consumers.add(S, { durable_name: 'work', ack_policy: AckPolicy.Explicit, ack_wait: 1_000_000_000 });
    const first = await fetchN(nc, S, 'work', N);
    assert.deepEqual(first.map((m) => m.seq), Array.from({ length: N }, (_, i) => i + 1));
    // Over the route the delivery still shows the stream subject and the $JS.ACK reply.
    assert.equal(first[0]!.subject, `${S}.m`);
    assert.equal(first[0]!.info.stream, S);
    // Ack all but seq 4; wait for the ack to be processed (double ack) so state is exact.
    for (const m of first) if (m.seq !== 4) await m.ackAck();
    const again = await (async () => {
      const deadline = Date.now() + 6000;
      while (Date.now() < deadline) {
        const got = await fetchN(nc, S, 'work', 1, 1000);
        if (got.length > 0) return got;
      }
      return [];
    })();
    assert.equal(again.length, 1, 'seq 4 is redelivered after ack_wait');
    assert.equal(again[0]!.seq, 4);
    assert.equal(again[0]!.info.deliveryCount, 2);
    assert.equal(again[0]!.info.redelivered, true);
    assert.ok(await again[0]!.ackAck());
    const ci = await jsmA.consumers.info(S, 'work');
    assert.equal(ci.num_ack_pending, 0);
    assert.equal(ci.ack_floor.stream_seq, N);
    assert.equal(ci.num_redelivered, 0);
    const cnames: string[] = [];
    for await (const n of jsmC.consumers.list(S)) cnames.push(n.name);
    assert.deepEqual(cnames, ['work']);
  });

  it('push consumer across nodes: deliveries, acks, flow control and heartbeats over routes', async () => {
    // The stream lives on C, the consumer is created via A, the subscriber sits on B.
    const P = uniq('PUSH');
    await jsmC.streams.add({ name: P, subjects: [`${P}.>`] });
    const big = new Uint8Array(100 * 1024).fill(120);
    const M = 30; // 3 MB: more than the consumer may have in flight without a flow-control answer
    const jsC = jetstream(nc);
    for (let i = 0; i < M; i++) await jsC.publish(`${P}.data`, big);
    const deliver = `_INBOX.push.${uniq('d')}`;
    let data = 0;
    let fc = 0;
    let hb = 0;
    const wrong: string[] = [];
    const acked: Promise<boolean>[] = [];
    const sub = nb.subscribe(deliver, {
      callback: (_e, m) => {
        const h = m.headers;
        if (h?.code === 100) {
          if (h.description === 'FlowControl Request') {
            fc++;
            m.respond();
          } else if (h.description === 'Idle Heartbeat') hb++;
          return;
        }
        if (m.subject !== `${P}.data` || !(m.reply ?? '').startsWith(`$JS.ACK.${P}.pc.`)) wrong.push(`${m.subject} ${m.reply ?? ''}`);
        data++;
        acked.push(nb.request(m.reply!, new Uint8Array(), { timeout: 3000 }).then(() => true));
      },
    });
    await nb.flush();
    await jsmA.consumers.add(P, {
      durable_name: 'pc',
      deliver_subject: deliver,
      ack_policy: AckPolicy.Explicit,
      flow_control: true,
      idle_heartbeat: 500_000_000,
    });
    await until(() => data === M, 10_000, `all ${M} pushed messages (got ${data}, fc ${fc})`);
    assert.deepEqual(wrong, [], 'deliveries show the stream subject and the ack reply');
    assert.ok(fc >= 1, 'flow control requests crossed the route and were answered');
    assert.equal((await Promise.all(acked)).length, M);
    await until(() => hb >= 1, 3000, 'an idle heartbeat');
    sub.unsubscribe();
    const ci = await jsmB.consumers.info(P, 'pc');
    assert.equal(ci.num_ack_pending, 0);
    assert.equal(ci.delivered.stream_seq, M);
    await jsmB.streams.delete(P);
  });

  it('a stream subject with subscribers on other nodes: they get every message and the publisher every PubAck', async () => {
    // The PubAck is sent while the message is still being routed to B: both must go out.
    const W = uniq('WATCH');
    // Memory storage: its PubAck goes out synchronously, inside the routing of the message.
    await jsmA.streams.add({ name: W, subjects: [`${W}.>`], storage: StorageType.Memory });
    const seen: string[] = [];
    // `*.x` sits before the stream's `W.>` in A's match results, so the route
    // gets the message first and the PubAck is published in the middle.
    const early = nb.subscribe('*.x', { callback: (_e, m) => void (m.subject.startsWith(W) && seen.push(`pwc ${m.string()}`)) });
    const late = nb.subscribe(`${W}.x`, { callback: (_e, m) => void seen.push(`lit ${m.string()}`) });
    await nb.flush();
    // Both subscriptions must be known on A (across the route) before publishing.
    await waitInterest([nb], [na]);
    const js = jetstream(na);
    for (let i = 1; i <= 20; i++) assert.equal((await js.publish(`${W}.x`, s2b(String(i)))).seq, i);
    await until(() => seen.length === 40, 3000, `40 copies on B (got ${seen.length})`);
    early.unsubscribe();
    late.unsubscribe();
    await jsmA.streams.delete(W);
  });

  it('keeps names unique and subjects disjoint cluster-wide; replicas > 1 is refused', async () => {
    // Same name, different config, via C: the owner says 10058.
    await rejectsWithCode(jsmC.streams.add({ name: S, subjects: [`${S}-other.>`] }), 10058);
    // Same name and config via C: the existing stream, as on a single server.
    const same = await jsmC.streams.add({ name: S, subjects: [`${S}.>`], allow_direct: true });
    assert.equal(same.state.messages, N);
    // Another name whose subjects overlap A's stream: 10065, from B and C.
    await rejectsWithCode(jsmB.streams.add({ name: uniq('OVL'), subjects: [`${S}.m`] }), 10065);
    // Replicated streams are out of scope: a clear error.
    await rejectsWithCode(jsmC.streams.add({ name: uniq('R3'), subjects: [uniq('r3')], num_replicas: 3 }), 10074, /replicated streams are not supported/);
    // A stream created via C lives on C, and A sees it.
    const onC = uniq('ONC');
    await jsmC.streams.add({ name: onC, subjects: [`${onC}.>`] });
    const ack = await jetstream(na).publish(`${onC}.x`, s2b('to C'));
    assert.deepEqual([ack.stream, ack.seq], [onC, 1]);
    assert.equal((await jsmA.streams.info(onC)).state.messages, 1);
    await jsmA.streams.delete(onC);
    await rejectsWithCode(jsmC.streams.info(onC), 10059);
  });

  it('an owner restart keeps the stream and the other nodes find it again', async () => {
    await na.close();
    const port = a.clusterPort;
    await a.kill();
    // While A is down its stream is offline, not gone.
    await until(
      async () => {
        try {
          await jsmB.streams.info(S);
          return false;
        } catch (e) {
          return e instanceof JetStreamApiError && e.code === 10118;
        }
      },
      5000,
      'stream offline while its owner is down',
    );
    // Its name stays taken.
    await assert.rejects(jsmC.streams.add({ name: S, subjects: [`${S}.>`], allow_direct: true }));

    a = await startNode({ name: 'JA', clusterPort: port, args: jsArgs(0) });
    await waitMesh([a, b, c], 10_000);
    await until(
      async () => {
        try {
          return (await jsmB.streams.info(S)).state.messages === N;
        } catch {
          return false;
        }
      },
      8000,
      'B finds the stream on the restarted A',
    );
    const ack = await jetstream(nc).publish(`${S}.m`, s2b('after restart'));
    assert.deepEqual([ack.stream, ack.seq], [S, N + 1]);
    const next = await fetchN(nc, S, 'work', 1);
    assert.equal(next.length, 1);
    assert.equal(next[0]!.seq, N + 1, 'the durable resumes after its acked floor');
    await next[0]!.ackAck();
    const names: string[] = [];
    for await (const n of jsmC.streams.names()) names.push(n);
    assert.deepEqual(names, [S]);
  });
});
