// RabbitMQ -> JetStream stream through the bridge, against the RabbitMQ service and each
// target kind (the reference nats-server, Tern): every message once, in order, properties
// and headers intact.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeHeaderValue } from '../../src/bridge/connectors/rabbitmq-headers.js';
import {
  bridgeConfig, createStream, deleteStream, metricValue, natsConnect, publishMany, queueTotals, rabbit, readStream,
  serverKinds, startTarget, startTestBridge, uid, waitFor, writeMappings, type BridgeTarget,
} from './helpers.js';

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let target: BridgeTarget;
  let nc: NatsConnection;
  let model: amqp.ChannelModel;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    target = await startTarget(kind);
    nc = await natsConnect(target.url);
    model = await rabbit();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await model?.close();
    await nc?.close();
    await target?.stop();
  });

  test('10,000 messages from a queue arrive once, in order, with properties and typed headers intact', async () => {
    const stream = uid('BRIDGE_Q');
    const queue = uid('bridge.q');
    const subj = uid('legacy');
    await createStream(nc, stream, [`${subj}.>`]);
    cleanups.push(() => deleteStream(nc, stream));
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    cleanups.push(() => ch.deleteQueue(queue).then(() => ch.close()));
    const N = 10_000;
    await publishMany(ch, '', N, (i) => ({
      routingKey: queue,
      body: Buffer.from(`payload-${i}-` + 'x'.repeat(i % 50)),
      options: {
        messageId: `m-${i}`,
        correlationId: `c-${i}`,
        contentType: 'text/plain',
        contentEncoding: 'identity',
        type: 'order.created',
        appId: 'legacy-app',
        timestamp: 1_700_000_000 + i,
        priority: 3,
        replyTo: 'replies',
        headers: { 'x-seq': i, 'x-tenant': 'acme', 'x-flag': true, 'x-nested': { a: [1, 'two'] }, 'x-multi\nline': 'a\nb' },
      },
    }));
    const dir = writeMappings(`
mappings:
  - name: q
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.{queue}", stream: ${stream} }
    dedup: { missing: hash }
    headers: { add: { Tok-Exchange: "{exchange}", Tok-Routing-Key: "{routingKey}", Tok-Correlation-Id: "{correlationId}", Tok-Delivery-Tag: "{deliveryTag}" } }
`);
    const bridge = await startTestBridge(bridgeConfig(dir, {}, target.url));
    try {
      await waitFor('all messages in the stream', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) >= N, 60_000);
      const msgs = await readStream(nc, stream, N);
      assert.equal(msgs.length, N, 'stream holds exactly N messages');
      for (let i = 0; i < N; i++) {
        const m = msgs[i]!;
        assert.equal(m.string(), `payload-${i}-` + 'x'.repeat(i % 50), `message ${i} in order`);
        const h = m.headers!;
        assert.equal(h.get('Nats-Msg-Id'), `m-${i}`);
        assert.equal(h.get('Amqp-Message-Id'), `m-${i}`);
        assert.equal(h.get('Amqp-Correlation-Id'), `c-${i}`);
        assert.equal(h.get('Amqp-Content-Type'), 'text/plain');
        assert.equal(h.get('Amqp-Content-Encoding'), 'identity');
        assert.equal(h.get('Amqp-Type'), 'order.created');
        assert.equal(h.get('Amqp-App-Id'), 'legacy-app');
        assert.equal(h.get('Amqp-Timestamp'), String(1_700_000_000 + i));
        assert.equal(h.get('Amqp-Priority'), '3');
        assert.equal(h.get('Amqp-Reply-To'), 'replies');
        assert.equal(h.get('Amqp-Delivery-Mode'), '2');
        assert.equal(h.get('Amqp-Routing-Key'), queue);
        assert.equal(h.get('Amqp-Exchange'), '');
        assert.equal(decodeHeaderValue(h.get('Amqp-Header-x-seq')), i);
        assert.equal(h.get('Amqp-Header-x-tenant'), 'acme');
        assert.equal(decodeHeaderValue(h.get('Amqp-Header-x-flag')), true);
        assert.deepEqual(decodeHeaderValue(h.get('Amqp-Header-x-nested')), { a: [1, 'two'] });
        assert.equal(decodeHeaderValue(h.get('Amqp-Header-x-multi%0Aline')), 'a\nb');
        assert.equal(m.subject, `${subj}.${queue.replace('.', '%2E')}`);
        assert.deepEqual(
          [h.get('Tok-Exchange'), h.get('Tok-Routing-Key'), h.get('Tok-Correlation-Id'), h.get('Tok-Delivery-Tag')],
          ['', queue, `c-${i}`, String(i + 1)],
          `message ${i}: template tokens`,
        );
      }
      assert.equal(await metricValue(bridge, 'tern_bridge_duplicates_dropped_total'), 0);
      await waitFor('queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0;
      });
    } finally {
      await bridge.stop();
    }
  });

  test('tap mode: the legacy consumer keeps every message and the bridge gets a copy; routing keys become subjects', async () => {
    const stream = uid('BRIDGE_TAP');
    const exchange = uid('orders.ex');
    const legacyQ = uid('legacy.q');
    const tapQ = uid('tap.q');
    const subj = uid('tap');
    await createStream(nc, stream, [`${subj}.>`]);
    cleanups.push(() => deleteStream(nc, stream));
    const ch = await model.createConfirmChannel();
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(legacyQ, { durable: false });
    await ch.bindQueue(legacyQ, exchange, 'order.#');
    cleanups.push(async () => {
      await ch.deleteQueue(legacyQ);
      await ch.deleteQueue(tapQ);
      await ch.deleteExchange(exchange);
      await ch.close();
    });
    const dir = writeMappings(`
mappings:
  - name: tap
    source: { connection: rabbit, exchange: ${exchange}, bindingKeys: ["order.*.created", "order.eu.#"], queue: ${tapQ}, queueType: classic }
    target: { subject: "${subj}.{rk.1}.{routingKey}", stream: ${stream} }
    dedup: { key: "{messageId}", missing: hash }
`);
    const bridge = await startTestBridge(bridgeConfig(dir, {}, target.url));
    try {
      const keys = ['order.eu.created', 'order.us.created', 'order.eu.x.y', 'order.us.deleted', 'order.a b.created'];
      await publishMany(ch, exchange, keys.length, (i) => ({ routingKey: keys[i]!, body: Buffer.from(`k${i}`), options: { messageId: `t-${i}` } }));
      await waitFor('4 routed messages acked', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) >= 4);
      const msgs = await readStream(nc, stream, 4);
      assert.deepEqual(
        msgs.map((m) => m.subject),
        [`${subj}.eu.order.eu.created`, `${subj}.us.order.us.created`, `${subj}.eu.order.eu.x.y`, `${subj}.a%20b.order.a%20b.created`],
      );
      const legacy = await queueTotals(legacyQ);
      assert.equal(legacy.messages, 5, 'the legacy queue still has all 5 messages');
    } finally {
      await bridge.stop();
    }
  });
});
