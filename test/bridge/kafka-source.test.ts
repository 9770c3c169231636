// The Kafka source connector against a real Kafka, driven through its SourceConnector
// contract by a sink that confirms messages only when the test says so. That makes the
// commit rule observable: the committed offset is always the contiguous confirmed prefix.
// Also: config validation errors, the message encoding, pause/resume, lag, and a
// rebalance between two bridge members that drains and commits before handing over.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { SourceMessage, SourceSink } from '../../src/bridge/connector.js';
import { ConnectorConfigError } from '../../src/bridge/connector.js';
import { kafkaConnector, KafkaSourceConnector } from '../../src/bridge/connectors/kafka.js';
import type { KafkaConnection } from '../../src/bridge/connectors/kafka-config.js';
import { encodeKafkaMessage } from '../../src/bridge/connectors/kafka-encoding.js';
import { createTopics, kafkaClient, uniqueTopic, useKafka, type KafkaLease } from '../helpers/kafka.js';

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A sink that records pushes and confirms (acks) in lane order on request, like the engine. */
class ManualSink implements SourceSink {
  readonly pushed = new Map<string, SourceMessage[]>();
  readonly acked = new Map<string, number>();
  readonly logs: string[] = [];
  private waiters: Array<() => void> = [];
  autoAckDelayMs: number | undefined;
  source!: KafkaSourceConnector;

  push(msg: SourceMessage): void {
    const l = this.pushed.get(msg.lane) ?? [];
    l.push(msg);
    this.pushed.set(msg.lane, l);
    if (this.autoAckDelayMs !== undefined) setTimeout(() => this.ackUpTo(msg.lane, l.length), this.autoAckDelayMs);
  }
  /** Confirm the first n messages pushed on the lane. */
  ackUpTo(lane: string, n: number): void {
    const l = this.pushed.get(lane) ?? [];
    const done = this.acked.get(lane) ?? 0;
    if (n <= done) return;
    this.acked.set(lane, n);
    this.source.ack(lane, l[n - 1]!);
    this.wake();
  }
  private pending(lanes?: readonly string[]): number {
    let n = 0;
    for (const [lane, l] of this.pushed) if (!lanes || lanes.includes(lane)) n += l.length - (this.acked.get(lane) ?? 0);
    return n;
  }
  drain(lanes?: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.pending(lanes) === 0) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  connection(): void {}
  reconnecting(): void {}
  log(_level: string, msg: string): void {
    this.logs.push(msg);
  }
  offsets(lane: string): string[] {
    return (this.pushed.get(lane) ?? []).map((m) => m.coordinates.offset!);
  }
}

function makeSource(topic: string, group: string, window: number, extra: Record<string, unknown> = {}): KafkaSourceConnector {
  const connection: KafkaConnection = kafkaConnector.parseConnection({ brokers: lease.brokers.join(',') });
  const source = kafkaConnector.parseSource({
    topic,
    group,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    commitIntervalMs: 100,
    ...extra,
  });
  return new KafkaSourceConnector({
    connectionName: 'kafka',
    connection,
    source,
    mappingName: 'test',
    options: { window, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, failFast: true },
  });
}

async function committed(group: string, topic: string): Promise<Record<number, string>> {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Object.fromEntries(t!.partitions.map((p) => [p.partition, p.offset]));
}

async function produceTo(topic: string, partition: number, from: number, n: number): Promise<void> {
  const p = kafka.producer();
  await p.connect();
  await p.send({
    topic,
    messages: Array.from({ length: n }, (_, i) => ({ partition, key: `k${from + i}`, value: `v${from + i}` })),
  });
  await p.disconnect();
}

test('source config: clear errors naming the field', () => {
  const bad = (block: Record<string, unknown>, field: string, text: RegExp): void => {
    assert.throws(
      () => kafkaConnector.parseSource(block),
      (e: unknown) => e instanceof ConnectorConfigError && e.field === field && text.test(e.message),
    );
  };
  bad({ group: 'g' }, 'topics', /exactly one of topic, topics, topicPattern/);
  bad({ topic: 'a', topicPattern: 'a.*', group: 'g' }, 'topics', /exactly one/);
  bad({ topics: ['ok', 'bad topic'], group: 'g' }, 'topics[1]', /not a Kafka topic name/);
  bad({ topic: 'a' }, 'group', /required/);
  bad({ topic: 'a', group: 'g', startOffset: 'middle' }, 'startOffset', /earliest.*latest/);
  bad({ topicPattern: '(', group: 'g' }, 'topicPattern', /bad regular expression/);
  bad({ topic: 'a', group: 'g', sessionTimeoutMs: 'soon' }, 'sessionTimeoutMs', /integer/);
  bad({ topic: 'a', group: 'g', sessionTimeoutMs: 6000, heartbeatIntervalMs: 6000 }, 'heartbeatIntervalMs', /below sessionTimeoutMs/);
  bad({ topic: 'a', group: 'g', partition: 1 }, 'partition', /unknown field/);
  const ok = kafkaConnector.parseSource({ topicPattern: '^orders\\.', group: 'g' });
  assert.equal(ok.topicPattern?.source, '^orders\\.');
  assert.equal(ok.startOffset, 'earliest');
  assert.throws(() => kafkaConnector.parseConnection({ brokers: 'localhost' }), /brokers: "localhost" is not host:port/);
  assert.throws(() => kafkaConnector.parseConnection({ brokers: 'h:1', saslMechanism: 'plain' }), /username: is required/);
});

test('message encoding: key, headers (text, binary, multi-value, odd names), timestamp, tombstone', () => {
  const m = {
    key: Buffer.from([0xc3, 0x28]), // not UTF-8
    value: null,
    timestamp: '1700000000123',
    offset: '42',
    attributes: 0,
    size: 0,
    headers: { trace: 'abc', multi: [Buffer.from('1'), Buffer.from('2')], 'a b:c': 'x', raw: Buffer.from([0, 1, 2]) },
  } as unknown as KafkaMessage;
  const e = encodeKafkaMessage('orders', 3, m);
  assert.deepEqual(e.tokens, { topic: 'orders', partition: '3', offset: '42', timestamp: '1700000000123', key: 'wyg=' });
  assert.deepEqual(e.headers, [
    ['Kafka-Topic', 'orders'],
    ['Kafka-Partition', '3'],
    ['Kafka-Offset', '42'],
    ['Kafka-Timestamp', '1700000000123'],
    ['Kafka-Key', 'wyg='],
    ['Kafka-Key-Encoding', 'base64'],
    ['Kafka-Tombstone', 'true'],
    ['trace', 'abc'],
    ['multi', '1'],
    ['multi', '2'],
    ['a%20b%3Ac', 'x'],
    ['raw', 'AAEC'],
    ['Kafka-Base64-Headers', 'raw'],
  ]);
  assert.equal(e.body.byteLength, 0);
  const plain = encodeKafkaMessage('t', 0, { ...m, key: Buffer.from('clé'), value: Buffer.from('v'), headers: {} } as KafkaMessage);
  assert.equal(plain.tokens.key, 'clé');
  assert.ok(!plain.headers.some(([n]) => n === 'Kafka-Key-Encoding' || n === 'Kafka-Tombstone'));
  const nokey = encodeKafkaMessage('t', 0, { ...m, key: null, headers: {} } as KafkaMessage);
  assert.equal(nokey.tokens.key, undefined);
});

test('commits only the contiguous confirmed prefix; window bounds unconfirmed messages; pause/resume; lag', async () => {
  const topic = uniqueTopic('ksrc');
  const group = `${topic}-g`;
  await createTopics(admin, [{ topic, partitions: 2 }]);
  await produceTo(topic, 0, 0, 30);
  await produceTo(topic, 1, 100, 30);
  const sink = new ManualSink();
  const src = makeSource(topic, group, 10);
  sink.source = src;
  await src.start(sink);
  const [l0, l1] = [`${topic}/0`, `${topic}/1`];
  try {
    await until('a full window on both lanes', 30_000, () => sink.offsets(l0).length === 10 && sink.offsets(l1).length === 10);
    await sleep(500);
    assert.equal(sink.offsets(l0).length, 10, 'no more than `window` unconfirmed messages per partition');
    assert.deepEqual(sink.offsets(l0), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(sink.pushed.get(l0)![0]!.headers.find(([n]) => n === 'Kafka-Key')?.[1], 'k0');
    assert.deepEqual(await committed(group, topic), { 0: '-1', 1: '-1' }, 'nothing committed before a confirmation');

    sink.ackUpTo(l0, 4); // offsets 0..3 confirmed
    await until('commit of p0 = 4', 10_000, async () => (await committed(group, topic))[0] === '4');
    await sleep(300);
    assert.deepEqual(await committed(group, topic), { 0: '4', 1: '-1' });
    await until('the window refills after acks', 10_000, () => sink.offsets(l0).length === 14);

    // Confirm everything as it arrives: both partitions reach their end offsets.
    sink.autoAckDelayMs = 1;
    sink.ackUpTo(l0, sink.offsets(l0).length);
    sink.ackUpTo(l1, sink.offsets(l1).length);
    await until('all 60 pushed', 20_000, () => sink.offsets(l0).length === 30 && sink.offsets(l1).length === 30);
    await until('commits at the end', 10_000, async () => {
      const c = await committed(group, topic);
      return c[0] === '30' && c[1] === '30';
    });
    assert.deepEqual(sink.offsets(l1), Array.from({ length: 30 }, (_, i) => String(i)));

    // Paused lanes take nothing; the other lane keeps flowing; resume catches up.
    src.pause([l0]);
    await produceTo(topic, 0, 30, 5);
    await produceTo(topic, 1, 130, 5);
    await until('p1 flows while p0 is paused', 20_000, () => sink.offsets(l1).length === 35);
    await sleep(1000);
    assert.equal(sink.offsets(l0).length, 30, 'paused partition pushed nothing');
    const lag = (await src.stats()).lag!;
    assert.deepEqual(
      lag.map((l) => [l.partition, l.lag]).sort(),
      [
        [0, 5],
        [1, 0],
      ],
    );
    src.resume([l0]);
    await until('p0 resumes', 20_000, () => sink.offsets(l0).length === 35);
    await until('commits at the end again', 10_000, async () => {
      const c = await committed(group, topic);
      return c[0] === '35' && c[1] === '35';
    });
  } finally {
    await src.stopConsuming();
    await src.close();
  }
});

test('rebalance: the leaving owner drains and commits before a new member takes over, so nothing is pushed twice', async () => {
  const topic = uniqueTopic('kreb');
  const group = `${topic}-g`;
  await createTopics(admin, [{ topic, partitions: 4 }]);
  const sinkA = new ManualSink();
  const sinkB = new ManualSink();
  sinkA.autoAckDelayMs = 20; // confirmations lag behind pushes: there is always something in flight
  sinkB.autoAckDelayMs = 20;
  const a = makeSource(topic, group, 50);
  const b = makeSource(topic, group, 50);
  sinkA.source = a;
  sinkB.source = b;
  let stopProducing = false;
  const producer = kafka.producer();
  await producer.connect();
  let sent = 0;
  const producing = (async () => {
    while (!stopProducing) {
      await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${sent + i}`, value: `v${sent + i}` })) });
      sent += 40;
      await sleep(50);
    }
  })();
  try {
    await a.start(sinkA);
    const total = (s: ManualSink): number => [...s.pushed.values()].reduce((n, l) => n + l.length, 0);
    await until('A consumes', 30_000, () => total(sinkA) > 200);
    await b.start(sinkB);
    await until('B gets partitions', 30_000, () => total(sinkB) > 100);
    stopProducing = true;
    await producing;
    await until('every produced message pushed', 30_000, () => total(sinkA) + total(sinkB) >= sent);
    await until('commits at the end offsets', 20_000, async () => {
      const ends = await admin.fetchTopicOffsets(topic);
      const c = await committed(group, topic);
      return ends.every((e) => c[e.partition] === e.high);
    });
    // Each offset reached exactly one member: A handed over exactly at its confirmed prefix.
    for (let p = 0; p < 4; p++) {
      const lane = `${topic}/${p}`;
      const all = [...sinkA.offsets(lane), ...sinkB.offsets(lane)].map(Number).sort((x, y) => x - y);
      assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i), `partition ${p}: every offset once`);
    }
    assert.equal(total(sinkA) + total(sinkB), sent);
  } finally {
    stopProducing = true;
    await producing.catch(() => undefined);
    await producer.disconnect();
    for (const s of [a, b]) {
      await s.stopConsuming();
      await s.close();
    }
  }
});
