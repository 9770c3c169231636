// Bad inputs against the real services: unreachable brokers, preflight failures, oversized
// and poison messages. Every failure is a clear error, nothing is lost, the rest flows.
// Runs against each target kind (the reference nats-server service, a spawned Tern).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  bridgeConfig, captureLogs, createStream, deleteStream, metricValue, natsConnect, publishMany, queueTotals, rabbit, readStream,
  serverKinds, startTarget, startTestBridge, uid, waitFor, writeMappings, type BridgeTarget,
} from './helpers.js';

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let target: BridgeTarget;
  let nc: NatsConnection;
  let model: amqp.ChannelModel;
  before(async () => {
    target = await startTarget(kind);
    nc = await natsConnect(target.url);
    model = await rabbit();
  });
  after(async () => {
    await model?.close();
    await nc?.close();
    await target?.stop();
  });

  test('unreachable RabbitMQ and NATS fail the start with clear errors', async () => {
    const dir = writeMappings(`mappings:\n  - { name: u, source: { connection: rabbit, queue: q }, target: { subject: u.x }, dedup: { missing: none } }\n`);
    await assert.rejects(
      startTestBridge(bridgeConfig(dir, { connections: { rabbit: { kind: 'rabbitmq', url: 'amqp://127.0.0.1:1' } } }, target.url)),
      /cannot connect to RabbitMQ at amqp:\/\/127\.0\.0\.1:1 .*connection "rabbit".*ECONNREFUSED/,
    );
    await assert.rejects(startTestBridge(bridgeConfig(dir, {}, 'nats://127.0.0.1:1')), /cannot connect to the NATS target nats:\/\/127\.0\.0\.1:1/);
    const missingQ = uid('missing.q');
    const dir2 = writeMappings(`mappings:\n  - { name: u, source: { connection: rabbit, queue: ${missingQ} }, target: { subject: u.x }, dedup: { missing: none } }\n`);
    await assert.rejects(startTestBridge(bridgeConfig(dir2, {}, target.url)), new RegExp(`queue "${missingQ}" does not exist \\(mapping "u"`));
  });

  test('preflight: missing stream, stream not capturing the subjects, short duplicate window', async () => {
    const stream = uid('BRIDGE_PF');
    await createStream(nc, stream, ['pf.a.*'], { duplicateWindowMs: 10_000 });
    try {
      const dir = writeMappings(`
mappings:
  - { name: p1, source: { connection: rabbit, exchange: amq.topic, bindingKeys: ["x.#"] }, target: { subject: "pf.a.{routingKey}", stream: ${stream} }, dedup: { missing: none } }
  - { name: p2, source: { connection: rabbit, queue: q }, target: { subject: "pf.b", stream: NO_SUCH_${stream} }, dedup: { missing: none } }
`);
      await assert.rejects(startTestBridge(bridgeConfig(dir, {}, target.url)), (e: Error) => {
        assert.match(e.message, /preflight failed/);
        assert.match(e.message, new RegExp(`mapping "p1": target.stream: stream "${stream}" \\(subjects \\["pf.a.\\*"\\]\\) does not capture "pf.a.x.>"`));
        assert.match(e.message, /duplicate_window is 10000 ms, shorter than the redelivery horizon 120000 ms/);
        assert.match(e.message, new RegExp(`mapping "p2": target.stream: stream "NO_SUCH_${stream}" is not available`));
        return true;
      });
    } finally {
      await deleteStream(nc, stream);
    }
  });

  test('poison, unroutable and oversized messages are dead-lettered with their coordinates; the rest flows', { timeout: 60_000 }, async () => {
    const stream = uid('BRIDGE_POISON');
    const dlq = uid('BRIDGE_DLQ');
    const queue = uid('poison.q');
    const subj = uid('poison');
    // The stream refuses bodies over 2 KiB (a per-message rejection = poison); the server's
    // max_payload (1 MiB) bounds what can be published at all (oversize).
    await createStream(nc, stream, [`${subj}.>`], { maxMsgSize: 2048 + 1024 });
    await createStream(nc, dlq, [`${subj}-dlq`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: poison
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.{header.Amqp-Header-tenant}", stream: ${stream} }
    dedup: { missing: none }
    retry: { maxAttempts: 3, backoffMs: 20, maxBackoffMs: 100 }
    deadLetter: { subject: ${subj}-dlq, stream: ${dlq} }
`);
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(dir, {}, target.url), logs);
    try {
      const bodies = (i: number): Buffer => (i === 3 ? Buffer.alloc(5000, 1) : i === 6 ? Buffer.alloc(1200 * 1024, 2) : Buffer.from(`ok${i}`));
      await publishMany(ch, '', 10, (i) => ({
        routingKey: queue,
        body: bodies(i),
        options: { messageId: `p-${i}`, headers: i === 8 ? {} : { tenant: 'acme' } },
      }));
      await waitFor('all 10 acked', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) >= 10, 30_000);
      const good = await readStream(nc, stream, 7);
      assert.deepEqual(good.map((m) => m.headers!.get('Nats-Msg-Id')), ['p-0', 'p-1', 'p-2', 'p-4', 'p-5', 'p-7', 'p-9'], 'the rest flowed, in order');
      const dead = await readStream(nc, dlq, 3);
      const byId = new Map(dead.map((m) => [m.headers!.get('Amqp-Message-Id'), m]));
      const poison = byId.get('p-3')!;
      assert.equal(poison.headers!.get('Bridge-Error-Reason'), 'rejected');
      assert.equal(poison.headers!.get('Bridge-Attempts'), '3');
      assert.match(poison.headers!.get('Bridge-Error'), /JetStream rejected the message: .*(size|maximum)/i);
      assert.equal(poison.headers!.get('Bridge-Source-queue'), queue);
      assert.equal(poison.headers!.get('Bridge-Source-routingKey'), queue);
      assert.equal(poison.headers!.get('Bridge-Source-deliveryTag'), '4', 'the 4th delivery on the channel');
      assert.equal(poison.headers!.get('Bridge-Source-messageId'), 'p-3');
      assert.equal(poison.data.length, 5000, 'the poison body is kept');
      const big = byId.get('p-6')!;
      assert.equal(big.headers!.get('Bridge-Error-Reason'), 'oversize');
      assert.match(big.headers!.get('Bridge-Error'), /exceeds the target's max_payload 1048576/);
      assert.equal(big.headers!.get('Bridge-Body-Omitted'), String(1200 * 1024));
      assert.equal(big.headers!.get('Bridge-Parked-Queue'), 'tern-bridge.parked.poison', 'the body is parked on RabbitMQ (parking.test.ts checks the copy)');
      assert.equal(big.data.length, 0);
      const unroutable = byId.get('p-8')!;
      assert.equal(unroutable.headers!.get('Bridge-Error-Reason'), 'unroutable');
      assert.match(unroutable.headers!.get('Bridge-Error'), /no value for \{header\.amqp-header-tenant\}/);
      assert.equal(unroutable.string(), 'ok8');
      assert.equal(await metricValue(bridge, 'tern_bridge_dead_lettered_total'), 3);
      assert.equal(await metricValue(bridge, 'tern_bridge_retries_total', { reason: 'rejected' }), 3);
      await waitFor('queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0;
      });
      assert.ok(logs.lines.some((l) => l.includes('"message dead-lettered"') && l.includes('oversize')), 'dead letters are logged');
      // /metrics and /healthz over HTTP
      const metrics = await (await fetch(`http://127.0.0.1:${bridge.httpPort}/metrics`)).text();
      assert.match(metrics, /tern_bridge_dead_lettered_total\{mapping="poison",reason="oversize"\} 1/);
      assert.match(metrics, /tern_bridge_end_to_end_latency_seconds_bucket/);
      const health = await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteQueue('tern-bridge.parked.poison').catch(() => undefined);
      await ch.close();
      await deleteStream(nc, stream);
      await deleteStream(nc, dlq);
    }
  });
});
