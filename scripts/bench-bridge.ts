// npm run bench:bridge — RabbitMQ -> JetStream stream through `tern bridge` (at-least-once:
// ack after PubAck, Nats-Msg-Id set), side by side with RabbitMQ's own Shovel moving the same
// messages queue -> queue with ack-mode on-confirm. For each size (128 B, 4 KiB):
//   throughput: N messages pre-filled in the source queue; time from the first delivered
//               message until all are delivered (stream / destination queue holds N);
//   latency:    a paced load (RATE msg/s for SECONDS s), each body starts with the publish
//               time; a reader on the far side (stream ordered consumer / destination queue
//               consumer) records arrival - publish; p50 / p99 reported.
// The bridge runs as its own process (`node dist/src/cli/main.js bridge`), like in production.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { jetstream } from '@nats-io/jetstream';
import {
  createStream, deleteStream, natsConnect, publishMany, rabbit, spawnBridge, streamCount, tmpDir, uid, waitFor, writeMappings,
  NATS_URL, RABBIT_URL,
} from '../test/bridge/helpers.js';

const SIZES = [128, 4096];
const N = Number(process.env.BENCH_N ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

interface Result {
  system: string;
  size: number;
  n: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function body(size: number): Buffer {
  const b = Buffer.alloc(size, 0x61);
  b.writeDoubleBE(performance.timeOrigin + performance.now(), 0);
  return b;
}
const sentAt = (b: Uint8Array): number => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readDoubleBE(0);
const now = (): number => performance.timeOrigin + performance.now();

async function paced(ch: amqp.ConfirmChannel, queue: string, size: number, idPrefix: string): Promise<number> {
  const total = RATE * SECONDS;
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (!ch.publish('', queue, body(size), { persistent: true, messageId: `${idPrefix}-${i}` })) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  return total;
}

async function benchBridge(size: number): Promise<Result> {
  const nc = await natsConnect();
  const model = await rabbit();
  const ch = await model.createConfirmChannel();
  const stream = uid('BENCH_BRIDGE');
  const queue = uid('bench.bridge');
  const subj = uid('bench');
  await createStream(nc, stream, [`${subj}.>`]);
  await ch.assertQueue(queue, { durable: true });
  await publishMany(ch, '', N, (i) => ({ routingKey: queue, body: body(size), options: { messageId: `t-${i}` } }));
  const dir = writeMappings(`mappings:\n  - { name: bench, source: { connection: rabbit, queue: ${queue} }, target: { subject: "${subj}.m", stream: ${stream} }, dedup: { missing: none } }\n`);
  const cfgFile = join(tmpDir('bench-bridge-'), 'bridge.yaml');
  writeFileSync(cfgFile, `target: { servers: ["${NATS_URL}"] }\nconnections: { rabbit: { kind: rabbitmq, url: "${RABBIT_URL}" } }\nmappings: ${dir}\nwindow: 4000\nmetrics: { port: -1 }\nlogLevel: warn\n`);
  const b = spawnBridge(cfgFile);
  // Clock starts at the first delivered message, so process start-up is not counted.
  let t0 = 0;
  await waitFor('bridge throughput run', async () => {
    const c = await streamCount(nc, stream);
    if (c > 0 && t0 === 0) t0 = Date.now();
    return c >= N;
  }, 600_000, 20);
  const seconds = (Date.now() - t0) / 1000;
  // latency: read the stream as messages land
  const lat: number[] = [];
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, { opt_start_seq: N + 1 });
  const iter = await consumer.consume({ max_messages: 2000 });
  const reading = (async () => {
    for await (const m of iter) {
      lat.push(now() - sentAt(m.data));
      if (lat.length >= RATE * SECONDS) break;
    }
  })();
  await paced(ch, queue, size, 'l');
  await Promise.race([reading, new Promise((r) => setTimeout(r, 30_000))]);
  await iter.close().catch(() => undefined);
  b.proc.kill('SIGTERM');
  await b.exited;
  await ch.deleteQueue(queue);
  await model.close();
  await deleteStream(nc, stream);
  await nc.close();
  return { system: 'tern bridge -> JetStream (PubAck, Nats-Msg-Id)', size, n: N, seconds, rate: N / seconds, p50: pct(lat, 50), p99: pct(lat, 99) };
}

function rabbitmqctl(args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8' });
}

async function benchShovel(size: number): Promise<Result> {
  execFileSync('rabbitmq-plugins', ['enable', 'rabbitmq_shovel'], { stdio: 'ignore' });
  const model = await rabbit();
  const ch = await model.createConfirmChannel();
  const src = uid('bench.shovel.src');
  const dst = uid('bench.shovel.dst');
  const name = uid('bench-shovel');
  await ch.assertQueue(src, { durable: true });
  await ch.assertQueue(dst, { durable: true });
  await publishMany(ch, '', N, (i) => ({ routingKey: src, body: body(size), options: { messageId: `t-${i}` } }));
  const def = { 'src-protocol': 'amqp091', 'src-uri': 'amqp://', 'src-queue': src, 'dest-protocol': 'amqp091', 'dest-uri': 'amqp://', 'dest-queue': dst, 'ack-mode': 'on-confirm', 'src-prefetch-count': 4000 };
  rabbitmqctl(['set_parameter', 'shovel', name, JSON.stringify(def)]);
  const probe = await model.createChannel();
  let t0 = 0;
  await waitFor('shovel throughput run', async () => {
    const c = (await probe.checkQueue(dst)).messageCount;
    if (c > 0 && t0 === 0) t0 = Date.now();
    return c >= N;
  }, 600_000, 20);
  const seconds = (Date.now() - t0) / 1000;
  await probe.purgeQueue(dst);
  const lat: number[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  await probe.prefetch(2000);
  await probe.consume(dst, (m) => {
    if (!m) return;
    lat.push(now() - sentAt(m.content));
    probe.ack(m);
    if (lat.length >= RATE * SECONDS) done();
  });
  await paced(ch, src, size, 'l');
  await Promise.race([finished, new Promise((r) => setTimeout(r, 30_000))]);
  rabbitmqctl(['clear_parameter', 'shovel', name]);
  await ch.deleteQueue(src);
  await ch.deleteQueue(dst);
  await model.close();
  return { system: 'RabbitMQ Shovel queue -> queue (on-confirm)', size, n: N, seconds, rate: N / seconds, p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const size of SIZES) {
    results.push(await benchBridge(size));
    results.push(await benchShovel(size));
  }
  const lines = [
    `| system | size | messages | seconds | msg/s | p50 ms | p99 ms (paced ${RATE}/s) |`,
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.system} | ${r.size} B | ${r.n} | ${r.seconds.toFixed(2)} | ${Math.round(r.rate)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`),
  ];
  console.log(lines.join('\n'));
  for (const size of SIZES) {
    const b = results.find((r) => r.size === size && r.system.startsWith('tern'))!;
    const s = results.find((r) => r.size === size && r.system.startsWith('RabbitMQ'))!;
    console.log(`${size} B: bridge/shovel throughput ratio ${(b.rate / s.rate).toFixed(2)}`);
  }
}

await main();
