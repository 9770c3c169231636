// Oversized RabbitMQ messages lose nothing: before the ack (which deletes the only copy)
// the bridge parks the original, byte for byte, in a durable queue on RabbitMQ, and the
// headers-only dead letter on NATS says where it is. A parking failure keeps the message
// unacked and is visible. Target: each kind (nats-server, Tern) with JetStream and
// max_payload 4KB on a free port; source: the RabbitMQ service.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  bridgeConfig, captureLogs, createStream, metricValue, natsConnect, publishMany, queueTotals, rabbit, readStream, serverKinds,
  startTarget, startTestBridge, streamCount, uid, waitFor, writeMappings, type BridgeTarget,
} from './helpers.js';

const BIG = 8000;

/** Everything a publisher can set: the parked copy must carry all of it unchanged. */
function richOptions(id: string): amqp.Options.Publish {
  return {
    persistent: true,
    messageId: id,
    correlationId: `corr-${id}`,
    replyTo: 'reply.q',
    contentType: 'application/octet-stream',
    contentEncoding: 'identity',
    type: 'big.thing',
    appId: 'parking-test',
    priority: 3,
    timestamp: 1_700_000_000,
    headers: { tenant: 'acme', n: 42, flag: true, nested: { a: [1, 'x'] }, bin: Buffer.from([0, 1, 2, 255]), multi: 'line1\nline2' },
  };
}

function bigBody(): Buffer {
  const b = Buffer.alloc(BIG);
  for (let i = 0; i < BIG; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** The parked copy is the original plus x-tern-bridge-* headers, nothing else changed. */
function assertParkedCopy(got: amqp.GetMessage, id: string, mapping: string, queue: string, subject: string): void {
  assert.ok(got.content.equals(bigBody()), 'body byte-identical');
  const want = richOptions(id);
  const p = got.properties;
  assert.equal(p.messageId, want.messageId);
  assert.equal(p.correlationId, want.correlationId);
  assert.equal(p.replyTo, want.replyTo);
  assert.equal(p.contentType, want.contentType);
  assert.equal(p.contentEncoding, want.contentEncoding);
  assert.equal(p.type, want.type);
  assert.equal(p.appId, want.appId);
  assert.equal(p.priority, want.priority);
  assert.equal(p.timestamp, want.timestamp);
  assert.equal(p.deliveryMode, 2);
  assert.equal(p.expiration, undefined);
  const h = { ...(p.headers as Record<string, unknown>) };
  assert.match(String(h['x-tern-bridge-error']), /exceeds the target's max_payload 4096/);
  assert.deepEqual(
    {
      mapping: h['x-tern-bridge-mapping'],
      subject: h['x-tern-bridge-target-subject'],
      queue: h['x-tern-bridge-source-queue'],
      exchange: h['x-tern-bridge-source-exchange'],
      routingKey: h['x-tern-bridge-source-routing-key'],
    },
    { mapping, subject, queue, exchange: '', routingKey: queue },
  );
  for (const k of Object.keys(h)) if (k.startsWith('x-tern-bridge-')) delete h[k];
  assert.deepEqual(h, want.headers, 'original headers unchanged, no other header added');
}

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let nats: BridgeTarget;
  let nc: NatsConnection;
  let model: amqp.ChannelModel;

  before(async () => {
    nats = await startTarget(kind, { maxPayload: '4KB' });
    nc = await natsConnect(nats.url);
    model = await rabbit();
  });
  after(async () => {
    await model?.close().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await nats?.stop();
  });

  test('an oversized message is parked byte-identical on RabbitMQ, the dead letter points to it, the rest flows once in order', { timeout: 60_000 }, async () => {
    const mapping = uid('park');
    const queue = uid('park.q');
    const subj = uid('park');
    const stream = uid('PARK');
    const dlq = uid('PARK_DLQ');
    const parkingQueue = `tern-bridge.parked.${mapping}`;
    await createStream(nc, stream, [`${subj}.>`]);
    await createStream(nc, dlq, [`${subj}-dlq`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: ${mapping}
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.x", stream: ${stream} }
    dedup: { missing: hash }
    deadLetter: { subject: ${subj}-dlq, stream: ${dlq} }
`);
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(dir, {}, nats.url), logs);
    const N = 41;
    const OVER = 20;
    try {
      await publishMany(ch, '', N, (i) =>
        i === OVER ? { routingKey: queue, body: bigBody(), options: richOptions(`m-${i}`) } : { routingKey: queue, body: Buffer.from(`ok${i}`), options: { messageId: `m-${i}` } },
      );
      await waitFor(`all ${N} acked`, async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) >= N);
      // Every other message once, in order.
      const good = await readStream(nc, stream, N - 1);
      const ids = Array.from({ length: N }, (_, i) => `m-${i}`).filter((_, i) => i !== OVER);
      assert.deepEqual(good.map((m) => m.headers!.get('Nats-Msg-Id')), ids);
      assert.equal(await streamCount(nc, stream), N - 1);
      // The dead letter: headers only, pointing at the parked copy.
      const dead = await readStream(nc, dlq, 1);
      assert.equal(dead.length, 1);
      const d = dead[0]!;
      assert.equal(d.data.length, 0);
      assert.equal(d.headers!.get('Bridge-Error-Reason'), 'oversize');
      assert.equal(d.headers!.get('Bridge-Body-Omitted'), String(BIG));
      assert.equal(d.headers!.get('Bridge-Parked-Queue'), parkingQueue);
      assert.equal(d.headers!.get('Bridge-Source-queue'), queue);
      assert.equal(d.headers!.get('Amqp-Message-Id'), `m-${OVER}`);
      assert.equal(d.headers!.get('Bridge-Target-Subject'), `${subj}.x`);
      // The parked copy, and only one.
      const got = await ch.get(parkingQueue, { noAck: true });
      assert.ok(got, 'a message is parked');
      assertParkedCopy(got, `m-${OVER}`, mapping, queue, `${subj}.x`);
      assert.equal(await ch.get(parkingQueue, { noAck: true }), false, 'parked once');
      // The source queue is fully acked.
      await waitFor('source queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0;
      });
      assert.equal(await metricValue(bridge, 'tern_bridge_parked_total', { mapping }), 1);
      assert.equal(await metricValue(bridge, 'tern_bridge_park_failures_total', { mapping }), 0);
      assert.equal(await metricValue(bridge, 'tern_bridge_dead_lettered_total', { mapping, reason: 'oversize' }), 1);
      assert.ok(logs.lines.some((l) => l.includes('"message dead-lettered"') && l.includes(parkingQueue)), 'the log names the parking queue');
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteQueue(parkingQueue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  });

  test('a parking failure leaves the message unacked and visible; once parking works again nothing is lost', { timeout: 60_000 }, async () => {
    const mapping = uid('parkfail');
    const queue = uid('parkfail.q');
    const parkingQueue = uid('parkfail.parked');
    const subj = uid('parkfail');
    const stream = uid('PARKFAIL');
    const dlq = uid('PARKFAIL_DLQ');
    await createStream(nc, stream, [`${subj}.>`]);
    await createStream(nc, dlq, [`${subj}-dlq`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    // A parking queue that refuses every publish (the broker nacks it): the bridge uses an
    // existing queue as it is.
    await ch.assertQueue(parkingQueue, { durable: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    const dir = writeMappings(`
mappings:
  - name: ${mapping}
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.x", stream: ${stream} }
    dedup: { missing: hash }
    deadLetter: { subject: ${subj}-dlq, stream: ${dlq} }
    parking: { queue: ${parkingQueue} }
    retry: { maxAttempts: 3, backoffMs: 50, maxBackoffMs: 200 }
`);
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(dir, {}, nats.url), logs);
    const N = 6;
    const OVER = 2;
    try {
      await publishMany(ch, '', N, (i) =>
        i === OVER ? { routingKey: queue, body: bigBody(), options: richOptions(`m-${i}`) } : { routingKey: queue, body: Buffer.from(`ok${i}`), options: { messageId: `m-${i}` } },
      );
      await waitFor('repeated parking failures', async () => (await metricValue(bridge, 'tern_bridge_park_failures_total', { mapping })) >= 3);
      // Only the prefix before the oversized message is acked; it and everything after it
      // stay with the bridge, unacked.
      assert.equal(await metricValue(bridge, 'tern_bridge_messages_acked_total', { mapping }), OVER);
      await waitFor('the rest unacked at the source', async () => {
        const t = await queueTotals(queue);
        return t.messages === N - OVER && t.unacked === N - OVER;
      });
      assert.equal(await metricValue(bridge, 'tern_bridge_parked_total', { mapping }), 0);
      assert.equal(await streamCount(nc, dlq), 0, 'no dead letter before the body is parked');
      const failure = logs.lines.find((l) => l.includes('cannot park oversized message'));
      assert.ok(failure, 'the failure is logged');
      assert.match(failure, new RegExp(`cannot park the message in queue \\\\"${parkingQueue}\\\\" \\(mapping \\\\"${mapping}\\\\"\\): the broker nacked it`));
      const text = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
      assert.match(text, new RegExp(`tern_bridge_park_failures_total\\{mapping="${mapping}"\\} [1-9]`));
      assert.ok((await bridge.engine.health()).ok, 'a parking failure alone does not make /healthz fail before stallAfterMs');

      // Repair: the operator removes the blocking queue; the bridge declares a normal one.
      await ch.deleteQueue(parkingQueue);
      await waitFor(`all ${N} acked`, async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total', { mapping })) >= N);
      await waitFor('source queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0;
      });
      const good = await readStream(nc, stream, N - 1);
      assert.deepEqual(good.map((m) => m.headers!.get('Nats-Msg-Id')), ['m-0', 'm-1', 'm-3', 'm-4', 'm-5'], 'once each, in order (retries deduplicated)');
      const dead = await readStream(nc, dlq, 1);
      assert.equal(dead.length, 1);
      assert.equal(dead[0]!.headers!.get('Bridge-Parked-Queue'), parkingQueue);
      const got = await ch.get(parkingQueue, { noAck: true });
      assert.ok(got, 'the message is parked after the repair');
      assertParkedCopy(got, `m-${OVER}`, mapping, queue, `${subj}.x`);
      assert.equal(await ch.get(parkingQueue, { noAck: true }), false, 'parked once');
      assert.equal(await metricValue(bridge, 'tern_bridge_parked_total', { mapping }), 1);
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteQueue(parkingQueue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  });

  test('a parking queue deleted mid-run: the returned copy counts as a failure, the queue is declared again, nothing is lost', { timeout: 60_000 }, async () => {
    const mapping = uid('parkdel');
    const queue = uid('parkdel.q');
    const subj = uid('parkdel');
    const stream = uid('PARKDEL');
    const parkingQueue = `tern-bridge.parked.${mapping}`;
    await createStream(nc, stream, [`${subj}.>`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: ${mapping}
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.x", stream: ${stream} }
    dedup: { missing: hash }
    retry: { maxAttempts: 3, backoffMs: 50, maxBackoffMs: 200 }
`);
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(dir, {}, nats.url), logs);
    try {
      const send = (from: number): Promise<void> =>
        publishMany(ch, '', 3, (i) =>
          i === 1 ? { routingKey: queue, body: bigBody(), options: richOptions(`m-${from + i}`) } : { routingKey: queue, body: Buffer.from(`ok${from + i}`), options: { messageId: `m-${from + i}` } },
        );
      await send(0);
      await waitFor('first batch acked', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total', { mapping })) >= 3);
      assert.equal(await metricValue(bridge, 'tern_bridge_parked_total', { mapping }), 1);
      // The bridge's parking channel is open; the queue disappears under it.
      await ch.deleteQueue(parkingQueue);
      await send(3);
      await waitFor('second batch acked', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total', { mapping })) >= 6);
      assert.equal(await metricValue(bridge, 'tern_bridge_park_failures_total', { mapping }), 1, 'the returned publish failed once');
      assert.ok(logs.lines.some((l) => l.includes('cannot park oversized message') && l.includes('returned it as unroutable')), 'the failure is logged');
      assert.equal(await metricValue(bridge, 'tern_bridge_parked_total', { mapping }), 2);
      const got = await ch.get(parkingQueue, { noAck: true });
      assert.ok(got, 'the second oversized message is in the re-declared parking queue');
      assertParkedCopy(got, 'm-4', mapping, queue, `${subj}.x`);
      assert.equal(await ch.get(parkingQueue, { noAck: true }), false);
      await waitFor('source queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0;
      });
      const good = await readStream(nc, stream, 4);
      assert.deepEqual(good.map((m) => m.string()), ['ok0', 'ok2', 'ok3', 'ok5']);
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteQueue(parkingQueue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  });
});
