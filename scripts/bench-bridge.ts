// npm run bench:bridge — RabbitMQ -> JetStream stream through `tern bridge` (at-least-once:
// ack after PubAck, Nats-Msg-Id set), side by side with RabbitMQ's own Shovel moving the same
// messages queue -> queue with ack-mode on-confirm. For each size (128 B, 4 KiB):
//   throughput: N messages pre-filled, round-robin, in BENCH_QUEUES source queues (one bridge
//               mapping = one lane = one channel per queue, all into one stream; one shovel
//               per queue, all into one destination queue); time from the first delivered
//               message until all are delivered (stream / destination queue holds N), i.e.
//               the drain rate, with the publishing load generator idle. CPU seconds of the
//               bridge, RabbitMQ and nats-server over that interval are reported per message
//               (the machine is shared: CPU per message is the stable number, msg/s is not);
//   latency:    a paced load (RATE msg/s for SECONDS s), each body starts with the publish
//               time; a reader on the far side (stream ordered consumer / destination queue
//               consumer) records arrival - publish; p50 / p99 reported.
// Every system drains queues that were left idle for BENCH_SETTLE_MS (default 2000) after the
// fill, see fill().
// BENCH_N, BENCH_RATE, BENCH_SECONDS, BENCH_QUEUES, BENCH_WINDOW, BENCH_SIZES (e.g. "128") override the defaults;
// BENCH_SYSCALLS=1 also prints read/write syscalls per 1000 messages of each process;
// BENCH_TRACE=1 prints each drain's rate per 250 ms (ramp-up, stalls); for the paced phase the
// worst latency per 250 ms of sending, in full and up to the stream's own timestamp (which
// tells a late delivery from a late store), and the reader's consumer notifications; and
// saves the bridge's and a Tern target's output (add e.g. --trace-gc through the NODE_ARGS below).
// The bridge runs once per target server (BENCH_TARGETS, default "tern,nats-server"): a Tern
// started here with JetStream on a temporary store (the product's own target; warmed up with
// N/5 JetStream publishes first, see warmUp), and the reference nats-server service at NATS_URL.
// The third system is the ceiling: an amqplib consumer that only acks (see benchAckOnly).
// For A/B work: BENCH_SYSTEMS=bridge skips Shovel and the ceiling; BENCH_BRIDGE_MAIN runs another build's
// main.js; BENCH_BRIDGE_NODE_ARGS (space separated, e.g. "--cpu-prof") go to the bridge's node;
// BENCH_TERN_NODE_ARGS likewise to the Tern target's.
// The bridge runs as its own process (`node dist/src/cli/main.js bridge`), like in production.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import {
  createStream, deleteStream, natsConnect, publishMany, rabbit, spawnBridge, streamCount, tmpDir, uid, waitFor, writeMappings,
  NATS_URL, RABBIT_URL,
} from '../test/bridge/helpers.js';
import { startTern, type ServerKind } from '../test/helpers/servers.js';
import { ensureNatsBench, parseRates, runTool } from './bench-lib/loadgen.js';
import { PATTERNS } from './bench-lib/patterns.js';

const SIZES = (process.env.BENCH_SIZES ?? '128,4096').split(',').map(Number);
// 300k: the bridge's first second runs unoptimized code at 15-45k msg/s before its steady
// 55-70k (BENCH_TRACE); a 100k drain lasted ~2 s and so measured half ramp-up. A backlog that
// a migration drains is far larger.
const N = Number(process.env.BENCH_N ?? 300_000);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
// One classic queue is one Erlang process: on this machine it delivers ~25-50k msg/s to any
// single consumer, so the drain is spread over several queues (lanes).
const QUEUES = Number(process.env.BENCH_QUEUES ?? 4);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 4000);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 2000);
const TRACE = process.env.BENCH_TRACE !== undefined && process.env.BENCH_TRACE !== '';
const SYSTEMS = (process.env.BENCH_SYSTEMS ?? 'bridge,shovel,ackonly').split(',');
const TARGETS = (process.env.BENCH_TARGETS ?? 'tern,nats-server').split(',') as ServerKind[];
/** Extra x-arguments for the source queues of both systems, e.g. '{"x-queue-version":2}'. */
const QUEUE_ARGS = JSON.parse(process.env.BENCH_QUEUE_ARGS ?? '{}') as Record<string, unknown>;
const BRIDGE_MAIN = process.env.BENCH_BRIDGE_MAIN || undefined;
const BRIDGE_NODE_ARGS = (process.env.BENCH_BRIDGE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const TERN_NODE_ARGS = (process.env.BENCH_TERN_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

interface Result {
  system: string;
  size: number;
  n: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  /** CPU microseconds per message during the throughput run, by process. */
  cpu: Record<string, number>;
  load: string;
}

/** utime+stime of a process in seconds (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function pidsOf(name: string, argMatch = ''): number[] {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').map(Number)
      .filter((p) => p > 0 && (argMatch === '' || readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(argMatch)));
  } catch {
    return [];
  }
}

/** read() + write() syscalls of a process so far (/proc/<pid>/io syscr, syscw). */
function syscalls(pid: number): [number, number] {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return [field('syscr'), field('syscw')];
}

/**
 * CPU meter over named processes: start() then perMessage(n). With BENCH_SYSCALLS=1 it also
 * prints read/write syscalls per 1000 messages per process (batching shows there first).
 */
function cpuMeter(procs: Record<string, number | undefined>): { start(): void; perMessage(n: number): Record<string, number> } {
  const t0: Record<string, number> = {};
  const s0: Record<string, [number, number]> = {};
  const alive = Object.entries(procs).filter((e): e is [string, number] => e[1] !== undefined);
  return {
    start: () => alive.forEach(([k, p]) => {
      t0[k] = cpuSeconds(p);
      s0[k] = syscalls(p);
    }),
    perMessage: (n) => {
      if (process.env.BENCH_SYSCALLS) {
        for (const [k, p] of alive) {
          const [r, w] = syscalls(p);
          console.error(`${k}: ${((r - s0[k]![0]) / n * 1000).toFixed(0)} reads, ${((w - s0[k]![1]) / n * 1000).toFixed(0)} writes per 1000 messages`);
        }
      }
      return Object.fromEntries(alive.map(([k, p]) => [k, ((cpuSeconds(p) - t0[k]!) / n) * 1e6]));
    },
  };
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const RABBIT_PID = pidsOf('beam.smp')[0];
const NATS_PID = pidsOf('nats-server', new URL(NATS_URL).port)[0];

/** The target server of a bridge run: its URL and the pid whose CPU is metered. */
interface Target {
  kind: ServerKind;
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
  /** What a server started for the run printed (BENCH_TRACE saves it). */
  output?: () => string;
}

/**
 * A Tern started for the run is warmed up first, like the long-running nats-server service it
 * is compared with (and like bench:compare's servers): N/5 JetStream publishes of the run's
 * size with the bridge's header shape and a Nats-Msg-Id each, into a stream deleted after,
 * read back once by a consumer.
 */
async function warmUp(target: Target, size: number): Promise<void> {
  if (target.kind !== 'tern') return;
  const nc = await natsConnect(target.url);
  const stream = uid('BENCH_WARMUP');
  const subj = uid('warmup');
  await createStream(nc, stream, [`${subj}.>`]);
  const js = jetstream(nc);
  const data = body(size);
  const n = Math.ceil(N / 5);
  for (let i = 0; i < n; i += 500) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const h = headers();
      h.set('Amqp-Exchange', '');
      h.set('Amqp-Routing-Key', 'warmup');
      h.set('Amqp-Delivery-Mode', '2');
      h.set('Amqp-Message-Id', `w-${j}`);
      batch.push(js.publish(`${subj}.m`, data, { msgID: `w-${j}`, headers: h }));
    }
    await Promise.all(batch);
  }
  // And read them back the way the latency phase reads its stream: a cold consumer path
  // (interpreted code for the first second or so) otherwise shows as a p99 of 80-300 ms.
  const consumer = await js.consumers.get(stream, { opt_start_seq: 1 });
  const iter = await consumer.consume({ max_messages: 2000 });
  let read = 0;
  for await (const _m of iter) if (++read >= n) break;
  await iter.close().catch(() => undefined);
  await deleteStream(nc, stream);
  await nc.close();
}

async function startTarget(kind: ServerKind): Promise<Target> {
  if (kind === 'nats-server') return { kind, url: NATS_URL, pid: NATS_PID, stop: async () => undefined };
  const s = await startTern({ args: ['-js', '-sd', tmpDir('bench-bridge-tern-')], nodeArgs: TERN_NODE_ARGS });
  return { kind, url: s.url, pid: s.pid, stop: () => s.stop(), output: () => s.output() };
}

/** Poll until cond holds; a failed poll (e.g. a JetStream API timeout under load) is retried. */
async function pollUntil(what: string, cond: () => Promise<boolean>): Promise<void> {
  await waitFor(what, () => cond().catch(() => false), 600_000, 20);
}

/**
 * Drain timing shared by both systems: the clock (and the CPU meter) starts at the first
 * message counted on the far side, so process start-up is not measured; ends at N.
 */
async function timeDrain(what: string, count: () => Promise<number>, meter: { start(): void; perMessage(n: number): Record<string, number> }): Promise<{ seconds: number; cpu: Record<string, number>; load: string }> {
  let t0 = 0;
  let load = '';
  const trace: Array<[number, number]> = [];
  await pollUntil(what, async () => {
    const c = await count();
    if (c > 0 && t0 === 0) {
      t0 = Date.now();
      meter.start();
      load = loadavg();
    }
    if (TRACE && c > 0) trace.push([Date.now() - t0, c]);
    return c >= N;
  });
  if (TRACE) {
    let last: [number, number] = [0, 0];
    const line: string[] = [];
    for (const p of trace) if (p[0] - last[0] >= 250 || p === trace[trace.length - 1]) {
      line.push(`${p[0]}ms:${Math.round(((p[1] - last[1]) / (p[0] - last[0])) * 1000)}`);
      last = p;
    }
    console.error(`${what} rate by 250 ms: ${line.join(' ')}`);
  }
  return { seconds: (Date.now() - t0) / 1000, cpu: meter.perMessage(N), load };
}

/**
 * BENCH_TRACE: the worst latency of each 250 ms of the paced phase, by send time. The start
 * is printed in epoch ms to line it up with the processes' own logs.
 */
function traceLatency(what: string, sent: readonly number[], lat: readonly number[]): void {
  let t0 = Infinity;
  for (const t of sent) t0 = Math.min(t0, t);
  const worst = new Map<number, number>();
  for (let i = 0; i < sent.length; i++) {
    const slot = Math.floor((sent[i]! - t0) / 250);
    worst.set(slot, Math.max(worst.get(slot) ?? 0, lat[i]!));
  }
  const line = [...worst].sort((a, b) => a[0] - b[0]).map(([slot, ms]) => `${slot * 250}ms:${ms.toFixed(0)}`);
  console.error(`${what} worst latency by 250 ms of sending from ${t0.toFixed(0)}: ${line.join(' ')}`);
}

/** BENCH_TRACE: the latency reader's consumer notifications (pulls, resets...), with ms since it began. */
function consumerEvents(iter: ConsumerMessages): { summary(): string } {
  const t0 = Date.now();
  const seen: string[] = [];
  let pulls = 0;
  void (async () => {
    for await (const e of iter.status()) {
      if (e.type === 'next') pulls++;
      else seen.push(`${Date.now() - t0}ms:${e.type}`);
    }
  })().catch(() => undefined);
  return { summary: () => [`pulls=${pulls}`, ...seen].join(' ') };
}

/** BENCH_TRACE: keep a process's output (e.g. --trace-gc lines) for after the run. */
function saveLog(name: string, text: string): void {
  const file = join(tmpDir('bench-bridge-log-'), `${name}.log`);
  writeFileSync(file, text);
  console.error(`${name} output: ${file}`);
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

async function paced(ch: amqp.ConfirmChannel, queues: string[], size: number, idPrefix: string): Promise<number> {
  const total = RATE * SECONDS;
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (!ch.publish('', queues[i % queues.length]!, body(size), { persistent: true, messageId: `${idPrefix}-${i}` })) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  return total;
}

/**
 * Pre-fill the source queues round-robin, then leave them idle for SETTLE_MS. A classic
 * queue process hibernates after ~1 s without traffic, which compacts the heap the fill grew
 * (25k queued messages: 48 MB -> 16 MB here); drained before that, every garbage collection
 * of the queue process walks the big young heap and RabbitMQ spends ~3x the CPU per
 * delivered message (60 vs 20 us measured with the ack-only consumer). Without the pause
 * the result depended on how fast each system's consumer started: the ack-only consumer
 * right away, the bridge after its process start (~0.7 s), Shovel after four rabbitmqctl
 * calls (seconds). A backlog that a migration drains has waited far longer than that.
 */
async function fill(ch: amqp.ConfirmChannel, queues: readonly string[], size: number): Promise<void> {
  await publishMany(ch, '', N, (i) => ({ routingKey: queues[i % queues.length]!, body: body(size), options: { messageId: `t-${i}` } }));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
}

async function benchBridge(size: number, target: Target): Promise<Result> {
  await warmUp(target, size);
  const nc = await natsConnect(target.url);
  const model = await rabbit();
  const ch = await model.createConfirmChannel();
  const stream = uid('BENCH_BRIDGE');
  const base = uid('bench.bridge');
  const queues = Array.from({ length: QUEUES }, (_, i) => `${base}.${i}`);
  const subj = uid('bench');
  await createStream(nc, stream, [`${subj}.>`]);
  for (const q of queues) await ch.assertQueue(q, { durable: true, arguments: QUEUE_ARGS });
  await fill(ch, queues, size);
  const mappings = queues.map((q, i) => `  - { name: bench${i}, source: { connection: rabbit, queue: ${q} }, target: { subject: "${subj}.m", stream: ${stream} }, dedup: { missing: none } }`);
  const dir = writeMappings(`mappings:\n${mappings.join('\n')}\n`);
  const cfgFile = join(tmpDir('bench-bridge-'), 'bridge.yaml');
  writeFileSync(cfgFile, `target: { servers: ["${target.url}"] }\nconnections: { rabbit: { kind: rabbitmq, url: "${RABBIT_URL}" } }\nmappings: ${dir}\nwindow: ${WINDOW}\nmetrics: { port: -1 }\nlogLevel: warn\n`);
  const b = spawnBridge(cfgFile, {}, { ...(BRIDGE_MAIN ? { main: BRIDGE_MAIN } : {}), nodeArgs: BRIDGE_NODE_ARGS });
  const meter = cpuMeter({ bridge: b.proc.pid, rabbitmq: RABBIT_PID, [target.kind]: target.pid });
  const { seconds, cpu, load } = await timeDrain('bridge throughput run', () => streamCount(nc, stream), meter);
  // latency: read the stream as messages land
  const lat: number[] = [];
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, { opt_start_seq: N + 1 });
  const iter = await consumer.consume({ max_messages: 2000 });
  const sent: number[] = [];
  const stored: number[] = [];
  const events = TRACE ? consumerEvents(iter) : undefined;
  const reading = (async () => {
    for await (const m of iter) {
      const t = sentAt(m.data);
      lat.push(now() - t);
      if (TRACE) {
        sent.push(t);
        stored.push(m.info.timestampNanos / 1e6);
      }
      if (lat.length >= RATE * SECONDS) break;
    }
  })();
  await paced(ch, queues, size, 'l');
  await Promise.race([reading, new Promise((r) => setTimeout(r, 30_000))]);
  await iter.close().catch(() => undefined);
  b.proc.kill('SIGTERM');
  await b.exited;
  if (TRACE) {
    traceLatency(`bridge -> ${target.kind} ${size} B`, sent, lat);
    traceLatency(`bridge -> ${target.kind} ${size} B (to the stream's timestamp)`, sent, stored.map((t, i) => t - sent[i]!));
    console.error(`bridge -> ${target.kind} ${size} B consumer events: ${events!.summary()}`);
    saveLog(`bridge-${target.kind}-${size}`, b.output());
    if (target.output) saveLog(`${target.kind}-${size}`, target.output());
  }
  for (const q of queues) await ch.deleteQueue(q);
  await model.close();
  await deleteStream(nc, stream);
  await nc.close();
  return { system: `tern bridge -> ${target.kind} JetStream (PubAck, Nats-Msg-Id)`, size, n: N, seconds, rate: N / seconds, p50: pct(lat, 50), p99: pct(lat, 99), cpu, load };
}

function rabbitmqctl(args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8' });
}

async function benchShovel(size: number): Promise<Result> {
  execFileSync('rabbitmq-plugins', ['enable', 'rabbitmq_shovel'], { stdio: 'ignore' });
  const model = await rabbit();
  const ch = await model.createConfirmChannel();
  const base = uid('bench.shovel.src');
  const srcs = Array.from({ length: QUEUES }, (_, i) => `${base}.${i}`);
  const dst = uid('bench.shovel.dst');
  const names = srcs.map((_, i) => `${base}-shovel-${i}`);
  for (const q of srcs) await ch.assertQueue(q, { durable: true, arguments: QUEUE_ARGS });
  await ch.assertQueue(dst, { durable: true });
  await fill(ch, srcs, size);
  const meter = cpuMeter({ rabbitmq: RABBIT_PID });
  srcs.forEach((src, i) => {
    const def = { 'src-protocol': 'amqp091', 'src-uri': 'amqp://', 'src-queue': src, 'dest-protocol': 'amqp091', 'dest-uri': 'amqp://', 'dest-queue': dst, 'ack-mode': 'on-confirm', 'src-prefetch-count': WINDOW };
    rabbitmqctl(['set_parameter', 'shovel', names[i]!, JSON.stringify(def)]);
  });
  const probe = await model.createChannel();
  const { seconds, cpu, load } = await timeDrain('shovel throughput run', async () => (await probe.checkQueue(dst)).messageCount, meter);
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
  await paced(ch, srcs, size, 'l');
  await Promise.race([finished, new Promise((r) => setTimeout(r, 30_000))]);
  for (const name of names) rabbitmqctl(['clear_parameter', 'shovel', name]);
  for (const q of srcs) await ch.deleteQueue(q);
  await ch.deleteQueue(dst);
  await model.close();
  return { system: 'RabbitMQ Shovel queue -> queue (on-confirm)', size, n: N, seconds, rate: N / seconds, p50: pct(lat, 50), p99: pct(lat, 99), cpu, load };
}

/**
 * The ceiling RabbitMQ itself sets: the same pre-filled queues drained by a consumer that
 * does nothing but ack (one ack(multiple) per channel per event-loop turn, one connection,
 * a channel per queue, the same prefetch). What RabbitMQ spends per message here it spends
 * for any consumer, the bridge included; on 2 shared cores that bounds everyone's msg/s.
 */
async function benchAckOnly(size: number): Promise<Result> {
  const model = await rabbit();
  const ch = await model.createConfirmChannel();
  const base = uid('bench.ackonly');
  const queues = Array.from({ length: QUEUES }, (_, i) => `${base}.${i}`);
  for (const q of queues) await ch.assertQueue(q, { durable: true, arguments: QUEUE_ARGS });
  await fill(ch, queues, size);
  const meter = cpuMeter({ rabbitmq: RABBIT_PID });
  let got = 0;
  let t0 = 0;
  let c0 = process.cpuUsage();
  let load = '';
  let finish: (v: { seconds: number; cpu: Record<string, number> }) => void = () => undefined;
  const finished = new Promise<{ seconds: number; cpu: Record<string, number> }>((r) => (finish = r));
  const last = new Map<amqp.Channel, amqp.Message>();
  let scheduled = false;
  const ackAll = (): void => {
    scheduled = false;
    for (const [c, m] of last) c.ack(m, true);
    last.clear();
  };
  for (const q of queues) {
    const c = await model.createChannel();
    await c.prefetch(WINDOW);
    await c.consume(q, (m) => {
      if (!m) return;
      if (got++ === 0) {
        t0 = Date.now();
        c0 = process.cpuUsage();
        meter.start();
        load = loadavg();
      }
      last.set(c, m);
      if (!scheduled) {
        scheduled = true;
        setImmediate(ackAll);
      }
      if (got === N) {
        setImmediate(() => {
          const u = process.cpuUsage(c0);
          finish({ seconds: (Date.now() - t0) / 1000, cpu: { ...meter.perMessage(N), consumer: (u.user + u.system) / N } });
        });
      }
    });
  }
  const { seconds, cpu } = await finished;
  for (const q of queues) await ch.deleteQueue(q);
  await model.close();
  return { system: 'amqplib consumer that only acks (RabbitMQ ceiling)', size, n: N, seconds, rate: N / seconds, p50: NaN, p99: NaN, cpu, load };
}

/**
 * How fast this VM runs today, printed with the results: the same work costs ~2x more CPU on
 * some days (a PVM guest; see BENCHMARKS.md). The yardstick is the reference nats-server's CPU
 * per message of a 1:1 128 B pub/sub through nats-bench (bench:compare's pubsub128 pattern:
 * 0.405 us and 1.78 M msg/s in BENCHMARKS.md's main table, a full-speed day).
 */
async function calibrate(): Promise<string> {
  if (NATS_PID === undefined) return 'machine speed: not measured (no nats-server service found)';
  const n = 1_000_000;
  const before = cpuSeconds(NATS_PID);
  const pubsub128 = PATTERNS.find((p) => p.id === 'pubsub128')!;
  const r = await runTool('nats-bench', ensureNatsBench(), pubsub128.args(NATS_URL, uid('calibrate'), n), { pin: false, timeoutMs: 120_000 });
  if (!r.ok) return `machine speed: not measured (nats-bench failed: ${r.stderr.trim().slice(0, 200)})`;
  const us = ((cpuSeconds(NATS_PID) - before) / n) * 1e6;
  return `machine speed: nats-server 1:1 128 B pub/sub ${Math.round(parseRates(r.stdout).sub ?? NaN)} msg/s, ${us.toFixed(2)} us CPU/msg (full speed: 0.41 us, 1.78 M msg/s)`;
}

async function main(): Promise<void> {
  const speed = await calibrate();
  const results: Result[] = [];
  for (const size of SIZES) {
    if (SYSTEMS.includes('bridge')) {
      for (const kind of TARGETS) {
        const target = await startTarget(kind);
        try {
          results.push(await benchBridge(size, target));
        } finally {
          await target.stop();
        }
      }
    }
    if (SYSTEMS.includes('shovel')) results.push(await benchShovel(size));
    if (SYSTEMS.includes('ackonly')) results.push(await benchAckOnly(size));
  }
  const cpu = (r: Result): string => Object.entries(r.cpu).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  console.log(speed);
  console.log(`${QUEUES} source queue(s), window ${WINDOW}, drain of ${N} pre-filled messages; latency paced ${RATE}/s for ${SECONDS} s`);
  const lines = [
    `| system | size | messages | seconds | msg/s | p50 ms | p99 ms (paced ${RATE}/s) | CPU us/msg | load avg at start |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.system} | ${r.size} B | ${r.n} | ${r.seconds.toFixed(2)} | ${Math.round(r.rate)} | ${Number.isNaN(r.p50) ? '-' : r.p50.toFixed(2)} | ${Number.isNaN(r.p99) ? '-' : r.p99.toFixed(2)} | ${cpu(r)} | ${r.load} |`),
  ];
  console.log(lines.join('\n'));
  for (const size of SIZES) {
    const s = results.find((r) => r.size === size && r.system.startsWith('RabbitMQ'));
    if (!s) continue;
    for (const b of results.filter((r) => r.size === size && r.system.startsWith('tern'))) {
      console.log(`${size} B: ${b.system.split(' JetStream')[0]} / shovel throughput ratio ${(b.rate / s.rate).toFixed(2)}`);
    }
  }
}

await main();
