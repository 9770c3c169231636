// Smoke test of the test Kafka itself with the client the bridge uses (kafkajs
// 2.2.4 against Kafka 4.x): produce, consume in a group with manual commits,
// restart the consumer and check it resumes after the committed offset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { createTopics, kafkaClient, uniqueTopic, useKafka, type KafkaLease } from '../helpers/kafka.js';

let lease: KafkaLease;
before(async () => {
  lease = await useKafka();
});
after(async () => {
  await lease?.release();
});

/** Consumes until `count` messages arrived, committing each one's next offset. */
async function consume(consumer: Consumer, topic: string, count: number): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length}/${count} messages in 30 s`)), 30_000);
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        got.push(message);
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        if (got.length === count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  return got;
}

test('kafkajs produces, consumes in a group, commits, and resumes after the commit', async () => {
  const kafka = kafkaClient(lease.brokers);
  const topic = uniqueTopic('harness');
  const groupId = `${topic}-g`;
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await createTopics(admin, [{ topic, partitions: 1 }]);
    const ts = String(Date.now() - 60_000);
    await producer.send({
      topic,
      messages: [1, 2, 3].map((i) => ({ key: `k${i}`, value: `v${i}`, headers: { h: `x${i}` }, timestamp: ts })),
    });

    const c1 = kafka.consumer({ groupId });
    await c1.connect();
    const first = await consume(c1, topic, 3);
    await c1.disconnect();
    assert.deepEqual(
      first.map((m) => [m.offset, m.key?.toString(), m.value?.toString(), m.headers?.h?.toString(), m.timestamp]),
      [
        ['0', 'k1', 'v1', 'x1', ts],
        ['1', 'k2', 'v2', 'x2', ts],
        ['2', 'k3', 'v3', 'x3', ts],
      ],
    );
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(
      committed[0]!.partitions.map((p) => [p.partition, p.offset]),
      [[0, '3']],
    );

    // A new member of the same group starts after the committed offset: only the new message.
    await producer.send({ topic, messages: [{ key: 'k4', value: 'v4' }] });
    const c2 = kafka.consumer({ groupId });
    await c2.connect();
    const second = await consume(c2, topic, 1);
    // Give a wrongly replayed message time to show up before counting.
    await new Promise((r) => setTimeout(r, 500));
    await c2.disconnect();
    assert.deepEqual(
      second.map((m) => [m.offset, m.value?.toString()]),
      [['3', 'v4']],
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});
