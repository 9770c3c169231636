// Kafka: an oversized record needs no parking. The offset commit does not delete it, so
// the headers-only dead letter's Bridge-Source-topic/partition/offset locate the original
// in the topic; the rest flows and the group's offset moves past it. Target: each kind
// (nats-server, Tern) with JetStream and max_payload 4KB on a free port.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka } from 'kafkajs';
import type { NatsConnection } from '@nats-io/transport-node';
import { createTopics, kafkaClient, uniqueTopic, useKafka, type KafkaLease } from '../helpers/kafka.js';
import {
  bridgeConfig, captureLogs, createStream, metricValue, natsConnect, readStream, serverKinds, startTarget, startTestBridge, streamCount, uid,
  waitFor, writeMappings, type BridgeTarget,
} from './helpers.js';

let lease: KafkaLease;
let kafka: Kafka;
let admin: Admin;

before(async () => {
  lease = await useKafka();
  kafka = kafkaClient(lease.brokers);
  admin = kafka.admin();
  await admin.connect();
});
after(async () => {
  await admin?.disconnect();
  await lease?.release();
});

/** Read one record of a topic by its coordinates, with a throw-away consumer group. */
async function recordAt(topic: string, partition: number, offset: string): Promise<{ value: Buffer; key: string | undefined }> {
  const consumer = kafka.consumer({ groupId: uid('oversize-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`record ${topic}/${partition}/${offset} not read within 20 s`)), 20_000);
      void consumer.run({
        eachMessage: async ({ partition: p, message }) => {
          if (p === partition && message.offset === offset) {
            clearTimeout(timer);
            resolve({ value: message.value ?? Buffer.alloc(0), key: message.key?.toString() });
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let nats: BridgeTarget;
  let nc: NatsConnection;
  before(async () => {
    nats = await startTarget(kind, { maxPayload: '4KB' });
    nc = await natsConnect(nats.url);
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await nats?.stop();
  });

  test('an oversized Kafka record is dead-lettered headers-only with the coordinates that locate it in the topic', { timeout: 90_000 }, async () => {
    const topic = uniqueTopic('oversize');
    const group = uid('oversize-group');
    const mapping = uid('kover');
    const subj = uid('kover');
    const stream = uid('KOVER');
    const dlq = uid('KOVER_DLQ');
    await createTopics(admin, [{ topic, partitions: 1 }]);
    await createStream(nc, stream, [`${subj}.>`]);
    await createStream(nc, dlq, [`${subj}-dlq`]);
    const big = Buffer.alloc(8000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13 + 5) & 0xff;
    const N = 7;
    const OVER = 3;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: N }, (_, i) => ({ partition: 0, key: `k${i}`, value: i === OVER ? big : Buffer.from(`v${i}`), headers: { n: String(i) } })),
    });
    await producer.disconnect();
    const dir = writeMappings(`
mappings:
  - name: ${mapping}
    source: { connection: kafka, topic: ${topic}, group: ${group}, commitIntervalMs: 100 }
    target: { subject: "${subj}.{partition}", stream: ${stream} }
    deadLetter: { subject: ${subj}-dlq, stream: ${dlq} }
`);
    const bridge = await startTestBridge(
      bridgeConfig(dir, { connections: { kafka: { kind: 'kafka', brokers: lease.brokers.join(',') } } }, nats.url),
      captureLogs(),
    );
    try {
      await waitFor(`all ${N} acked`, async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total', { mapping })) >= N, 60_000);
      const good = await readStream(nc, stream, N - 1);
      assert.deepEqual(good.map((m) => m.string()), ['v0', 'v1', 'v2', 'v4', 'v5', 'v6'], 'the rest once, in order');
      assert.equal(await streamCount(nc, stream), N - 1);
      const dead = await readStream(nc, dlq, 1);
      assert.equal(dead.length, 1);
      const h = dead[0]!.headers!;
      assert.equal(dead[0]!.data.length, 0, 'headers only');
      assert.equal(h.get('Bridge-Error-Reason'), 'oversize');
      assert.match(h.get('Bridge-Error'), /exceeds the target's max_payload 4096/);
      assert.equal(h.get('Bridge-Body-Omitted'), String(big.length));
      assert.equal(h.has('Bridge-Parked-Queue'), false, 'nothing is parked for Kafka');
      assert.equal(h.get('Bridge-Source-topic'), topic);
      assert.equal(h.get('Bridge-Source-partition'), '0');
      assert.equal(h.get('Bridge-Source-offset'), String(OVER));
      assert.equal(await metricValue(bridge, 'tern_bridge_parked_total', { mapping }), 0);
      // The group's offset is past the record...
      await waitFor('offsets committed to the end', async () => {
        const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return t!.partitions[0]!.offset === String(N);
      });
      // ...and the record is still where the dead letter says.
      const rec = await recordAt(h.get('Bridge-Source-topic'), Number(h.get('Bridge-Source-partition')), h.get('Bridge-Source-offset'));
      assert.equal(rec.key, `k${OVER}`);
      assert.ok(rec.value.equals(big), 'the original body, byte for byte');
    } finally {
      await bridge.stop();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    }
  });
});
