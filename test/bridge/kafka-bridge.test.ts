// End to end: Kafka -> `tern bridge` (a real process) -> JetStream stream on each target
// kind (a reference nats-server, a Tern; spawned on a free port). Checks what the Kafka source promises: every
// message once, in order per partition, key/headers/timestamp carried, and the group's
// committed offsets at the end offsets afterwards; then the same under kill -9 of the
// bridge while messages flow (Nats-Msg-Id de-duplication absorbs the redeliveries).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { createTopics, kafkaClient, uniqueTopic, useKafka, type KafkaLease } from '../helpers/kafka.js';
import { serverKinds, startServer, TERN_MAIN, REPO_ROOT, type RunningServer } from '../helpers/servers.js';

let lease: KafkaLease;
// The current kind's target and its connection: set by that kind's describe (they run
// one after the other) and used by the helpers below.
let nats: RunningServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
const work = mkdtempSync(join(tmpdir(), 'tern-kafka-bridge-'));

before(async () => {
  lease = await useKafka();
  kafka = kafkaClient(lease.brokers);
  admin = kafka.admin();
  producer = kafka.producer();
  await admin.connect();
  await producer.connect();
});

after(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await lease?.release();
  rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, cond: () => Promise<boolean>, detail?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await sleep(200);
  }
}

interface Bridge {
  proc: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startBridge(configFile: string): Bridge {
  const proc = spawn(process.execPath, [TERN_MAIN, 'bridge', '--config', configFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('exit', (code, signal) => res({ code, signal })),
  );
  return { proc, output: () => out, exited };
}

/** A bridge config + mapping for one topic into one stream; returns the config path. */
function writeConfig(name: string, topic: string, group: string, stream: string, subjectPrefix: string): string {
  const dir = join(work, name);
  const mappings = join(dir, 'mappings.yaml');
  const config = join(dir, 'bridge.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    mappings,
    [
      'mappings:',
      `  - name: ${name}`,
      '    source:',
      '      connection: kafka',
      `      topic: ${topic}`,
      `      group: ${group}`,
      // A killed member stays in the group until its session times out: keep that short.
      '      sessionTimeoutMs: 6000',
      '      heartbeatIntervalMs: 1000',
      '    target:',
      `      subject: "${subjectPrefix}.{partition}"`,
      `      stream: ${stream}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    config,
    [
      'target:',
      `  servers: ["${nats.url}"]`,
      'connections:',
      '  kafka:',
      '    kind: kafka',
      `    brokers: "${lease.brokers.join(',')}"`,
      `mappings: ${mappings}`,
      'metrics:',
      '  port: -1',
      'window: 500',
      'shutdownTimeoutMs: 5000',
      'logLevel: warn',
      '',
    ].join('\n'),
  );
  return config;
}

async function addStream(name: string, subjects: string[]): Promise<void> {
  await jsm.streams.add({ name, subjects, duplicate_window: 10 * 60 * 1_000_000_000 });
}

async function streamCount(stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

async function committedEqualsEnd(group: string, topic: string): Promise<{ ok: boolean; text: string }> {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  const endBy = new Map(ends.map((e) => [e.partition, e.high]));
  const pairs = committed!.partitions.map((p) => [p.partition, p.offset, endBy.get(p.partition)] as const);
  return { ok: pairs.every(([, c, e]) => c === e), text: JSON.stringify(pairs) };
}

interface Produced {
  key: string;
  value: string;
  seq: string;
  bin: Buffer;
  timestamp: string;
}

function makeMessages(n: number, base: number): Produced[] {
  const out: Produced[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: `key-${i % 97}`, // same key -> same partition, so order per key is checked too
      value: `value ${i} ${'x'.repeat(i % 50)}`,
      seq: String(i),
      bin: Buffer.from([0xff, 0x00, i & 0xff, 0x0d, 0x0a]),
      timestamp: String(base + i),
    });
  }
  return out;
}

async function produce(topic: string, msgs: Produced[], chunk = 1000, pauseMs = 0): Promise<void> {
  for (let i = 0; i < msgs.length; i += chunk) {
    const messages: Message[] = msgs.slice(i, i + chunk).map((m) => ({
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      headers: { seq: m.seq, bin: m.bin },
    }));
    await producer.send({ topic, messages });
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

interface Stored {
  partition: number;
  offset: bigint;
  key: string | undefined;
  seq: string | undefined;
  bin: string | undefined;
  binaryList: string | undefined;
  timestamp: string | undefined;
  msgId: string | undefined;
  value: string;
  subject: string;
}

/** Every message of the stream in stream order. */
async function readStream(stream: string, expected: number): Promise<Stored[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream);
  const out: Stored[] = [];
  const iter = await consumer.consume({ max_messages: 1000 });
  const timer = setTimeout(() => iter.stop(), 60_000);
  for await (const m of iter) {
    const h = m.headers;
    out.push({
      partition: Number(h?.get('Kafka-Partition')),
      offset: BigInt(h?.get('Kafka-Offset') ?? '-1'),
      key: h?.get('Kafka-Key') || undefined,
      seq: h?.get('seq') || undefined,
      bin: h?.get('bin') || undefined,
      binaryList: h?.get('Kafka-Base64-Headers') || undefined,
      timestamp: h?.get('Kafka-Timestamp') || undefined,
      msgId: h?.get('Nats-Msg-Id') || undefined,
      value: m.string(),
      subject: m.subject,
    });
    if (m.info.pending === 0 && out.length >= expected) break;
  }
  clearTimeout(timer);
  iter.stop();
  return out;
}

/** Every produced message exactly once, in offset order per partition, metadata intact. */
function checkStream(stored: Stored[], produced: Produced[], topic: string, prefix: string): void {
  const bySeq = new Map(produced.map((p) => [p.seq, p]));
  const seen = new Set<string>();
  const lastOffset = new Map<number, bigint>();
  const keyPartition = new Map<string, number>();
  for (const s of stored) {
    const id = `${topic}/${s.partition}/${s.offset}`;
    assert.equal(s.msgId, id, 'Nats-Msg-Id is {topic}/{partition}/{offset}');
    assert.ok(!seen.has(id), `duplicate in stream: ${id}`);
    seen.add(id);
    const prev = lastOffset.get(s.partition);
    assert.ok(prev === undefined || s.offset > prev, `partition ${s.partition}: offset ${s.offset} after ${prev}`);
    lastOffset.set(s.partition, s.offset);
    assert.equal(s.subject, `${prefix}.${s.partition}`);
    const p = bySeq.get(s.seq ?? '');
    assert.ok(p, `unknown message seq=${s.seq}`);
    bySeq.delete(p.seq);
    assert.equal(s.value, p.value);
    assert.equal(s.key, p.key);
    assert.equal(s.timestamp, p.timestamp);
    assert.equal(s.bin, p.bin.toString('base64'), 'binary header carried as base64');
    assert.equal(s.binaryList, 'bin');
    const kp = keyPartition.get(p.key);
    assert.ok(kp === undefined || kp === s.partition, 'one key, one partition');
    keyPartition.set(p.key, s.partition);
  }
  assert.equal(bySeq.size, 0, `${bySeq.size} produced messages missing from the stream`);
  assert.equal(stored.length, produced.length);
}

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  before(async () => {
    nats = await startServer(kind, { args: ['-js', '-sd', join(work, kind, 'js')] });
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  test('Kafka -> JetStream: 10,000 messages over 4 partitions, once each, ordered, metadata intact, offsets committed', async () => {
    const topic = uniqueTopic('kb');
    const group = `${topic}-g`;
    const stream = `KB_${topic.replace(/[^A-Za-z0-9]/g, '_')}`;
    const prefix = `kb.${topic}`;
    await createTopics(admin, [{ topic, partitions: 4 }]);
    await addStream(stream, [`${prefix}.>`]);
    const produced = makeMessages(10_000, Date.now() - 3_600_000);
    await produce(topic, produced);

    const bridge = startBridge(writeConfig('kb', topic, group, stream, prefix));
    try {
      await until('10,000 messages in the stream', 90_000, async () => (await streamCount(stream)) >= 10_000, bridge.output);
      let last = { ok: false, text: '' };
      await until('committed offsets = end offsets', 30_000, async () => (last = await committedEqualsEnd(group, topic)).ok, () => last.text + '\n' + bridge.output());
    } finally {
      bridge.proc.kill('SIGTERM');
      const { code } = await bridge.exited;
      assert.equal(code, 0, `bridge exit code on SIGTERM\n${bridge.output()}`);
    }
    const stored = await readStream(stream, 10_000);
    checkStream(stored, produced, topic, prefix);
    assert.equal(await streamCount(stream), 10_000);
  });

  test('Kafka -> JetStream under kill -9 of the bridge (3 times while messages flow): each message exactly once, offsets reach the end', async (t) => {
    const topic = uniqueTopic('kbchaos');
    const group = `${topic}-g`;
    const stream = `KBC_${topic.replace(/[^A-Za-z0-9]/g, '_')}`;
    const prefix = `kbc.${topic}`;
    await createTopics(admin, [{ topic, partitions: 4 }]);
    await addStream(stream, [`${prefix}.>`]);
    const produced = makeMessages(10_000, Date.now() - 3_600_000);
    const config = writeConfig('kbc', topic, group, stream, prefix);

    // Four phases of 2,500 messages (10 chunks of 250, 150 ms apart); the bridge is killed
    // during each of the first three, once it made a random amount of progress in it.
    const phase = (k: number): Promise<void> => produce(topic, produced.slice(k * 2500, (k + 1) * 2500), 250, 150);
    let bridge = startBridge(config);
    let producing: Promise<void> = Promise.resolve();
    try {
      for (let kill = 1; kill <= 3; kill++) {
        const before = await streamCount(stream);
        producing = phase(kill - 1);
        const step = 200 + Math.floor(Math.random() * 1800);
        await until(`progress before kill ${kill}`, 60_000, async () => (await streamCount(stream)) >= before + step, bridge.output);
        bridge.proc.kill('SIGKILL');
        const { signal } = await bridge.exited;
        assert.equal(signal, 'SIGKILL');
        const at = await streamCount(stream);
        t.diagnostic(`kill ${kill} with ${at} messages in the stream`);
        await producing;
        bridge = startBridge(config);
      }
      producing = phase(3);
      await producing;
      await until('10,000 messages in the stream', 120_000, async () => (await streamCount(stream)) >= 10_000, bridge.output);
      let last = { ok: false, text: '' };
      await until('committed offsets = end offsets', 60_000, async () => (last = await committedEqualsEnd(group, topic)).ok, () => last.text + '\n' + bridge.output());
    } finally {
      bridge.proc.kill('SIGTERM');
      await bridge.exited;
      await producing.catch(() => undefined);
    }
    const stored = await readStream(stream, 10_000);
    checkStream(stored, produced, topic, prefix);
    // Nothing beyond the 10,000 arrived later (duplicates would have been dropped, not stored).
    assert.equal(await streamCount(stream), 10_000);
  });
});
