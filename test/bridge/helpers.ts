// Shared helpers for bridge tests: the target server of each kind (the reference
// nats-server service at 127.0.0.1:4222 or a spawned one, a spawned Tern), unique names,
// a JetStream stream per test, RabbitMQ publishing with confirms, reading a stream back,
// and running the bridge in-process or as a process.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { startBridge, type RunningBridge } from '../../src/bridge/bridge.js';
import type { BridgeConfig } from '../../src/bridge/config.js';
export { serverKinds } from '../helpers/servers.js';
import { TERN_MAIN, startServer, type RunningServer, type ServerKind } from '../helpers/servers.js';

export const RABBIT_URL = process.env.RABBIT_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** The NATS server a bridge test targets: the same test body runs against each kind. */
export interface BridgeTarget {
  kind: ServerKind;
  url: string;
  /** The spawned process; undefined for the shared nats-server service. */
  server: RunningServer | undefined;
  /** Stops a spawned server and removes its store; the service is left alone. */
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** A max_payload for the server (nats-server config syntax, e.g. '4KB'): needs a spawned server. */
  maxPayload?: string;
  /** Spawn a nats-server even without a config (a test that stops or restarts it). */
  spawn?: boolean;
}

/**
 * Start the target of one kind with JetStream on a fresh store. nats-server without
 * options is the shared service at NATS_URL; otherwise a process on a free port (Tern
 * always): with a nats-server config file when a max_payload is asked for (Tern reads
 * the same format).
 */
export async function startTarget(kind: ServerKind, opts: TargetOptions = {}): Promise<BridgeTarget> {
  if (kind === 'nats-server' && opts.maxPayload === undefined && opts.spawn !== true) {
    return { kind, url: NATS_URL, server: undefined, stop: async () => undefined };
  }
  const dir = tmpDir(`bridge-target-${kind}-`);
  let args: string[];
  if (opts.maxPayload !== undefined) {
    const conf = join(dir, 'server.conf');
    writeFileSync(conf, `listen: "127.0.0.1:-1"\nmax_payload: ${opts.maxPayload}\njetstream { store_dir: "${join(dir, 'js')}" }\n`);
    args = ['-c', conf];
  } else {
    args = ['-js', '-sd', join(dir, 'js')];
  }
  const server = await startServer(kind, { args });
  return {
    kind,
    url: server.url,
    server,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function uid(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export async function natsConnect(url = NATS_URL): Promise<NatsConnection> {
  return connect({ servers: url });
}

export async function createStream(nc: NatsConnection, name: string, subjects: string[], opts: { duplicateWindowMs?: number; maxMsgSize?: number } = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name,
    subjects,
    duplicate_window: (opts.duplicateWindowMs ?? 300_000) * 1_000_000,
    ...(opts.maxMsgSize !== undefined ? { max_msg_size: opts.maxMsgSize } : {}),
  });
}

export async function deleteStream(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(name).catch(() => undefined);
}

export async function streamCount(nc: NatsConnection, name: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(name)).state.messages;
}

/** Read every message of a stream in order (an ordered consumer). */
export async function readStream(nc: NatsConnection, name: string, expected: number, timeoutMs = 30_000): Promise<JsMsg[]> {
  const js = jetstream(nc);
  const c = await js.consumers.get(name);
  const out: JsMsg[] = [];
  const total = await streamCount(nc, name);
  const want = Math.max(expected, total);
  if (want === 0) return out;
  const iter = await c.consume({ max_messages: 1000 });
  const timer = setTimeout(() => iter.stop(), timeoutMs);
  for await (const m of iter) {
    out.push(m);
    if (out.length >= want) break;
  }
  clearTimeout(timer);
  await iter.close().catch(() => undefined);
  return out;
}

export async function rabbit(): Promise<amqp.ChannelModel> {
  return amqp.connect(RABBIT_URL);
}

/** Publish with confirms, honouring back-pressure. */
export async function publishMany(
  ch: amqp.ConfirmChannel,
  exchange: string,
  count: number,
  make: (i: number) => { routingKey: string; body: Buffer; options?: amqp.Options.Publish },
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { routingKey, body, options } = make(i);
    if (!ch.publish(exchange, routingKey, body, { persistent: true, ...options })) await new Promise((r) => ch.once('drain', r));
    if (i % 5000 === 4999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
}

export async function queueDepth(model: amqp.ChannelModel, queue: string): Promise<{ ready: number; consumers: number }> {
  const ch = await model.createChannel();
  try {
    const q = await ch.checkQueue(queue);
    return { ready: q.messageCount, consumers: q.consumerCount };
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Ready + unacked, exact, from rabbitmqctl (checkQueue counts ready only). */
export async function queueTotals(queue: string): Promise<{ messages: number; unacked: number }> {
  const out = execFileSync('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages', 'messages_unacknowledged', '--formatter', 'json'], { encoding: 'utf8' });
  const rows = JSON.parse(out) as Array<{ name: string; messages: number; messages_unacknowledged: number }>;
  const row = rows.find((r) => r.name === queue);
  if (!row) throw new Error(`queue ${queue} not found`);
  return { messages: row.messages, unacked: row.messages_unacknowledged };
}

/** Poll cond until it holds; on timeout the error carries `detail()` (the state to debug from). */
export async function waitFor(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  stepMs = 100,
  detail?: () => Promise<string> | string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  let state = '';
  if (detail) state = '\n' + (await Promise.resolve().then(detail).catch((e: Error) => `(detail failed: ${e.message})`));
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}`);
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write a mappings file into a fresh directory; returns the directory. */
export function writeMappings(yaml: string): string {
  const dir = tmpDir('tern-bridge-mappings-');
  writeFileSync(join(dir, 'test.yaml'), yaml);
  return dir;
}

export function bridgeConfig(mappingsDir: string, over: Partial<BridgeConfig> = {}, natsUrl = NATS_URL): BridgeConfig {
  return {
    target: { servers: [natsUrl], user: null, pass: null, token: null, name: 'tern-bridge-test', publishTimeoutMs: 2000, noRandomize: false },
    connections: { rabbit: { kind: 'rabbitmq', url: RABBIT_URL } },
    mappings: mappingsDir,
    window: 1000,
    retry: { maxAttempts: 3, backoffMs: 50, maxBackoffMs: 500 },
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    preflight: { redeliveryHorizonMs: 120_000 },
    metrics: { host: '127.0.0.1', port: 0 },
    health: { stallAfterMs: 30_000, statsIntervalMs: 500 },
    shutdownTimeoutMs: 10_000,
    logLevel: 'warn',
    ...over,
  };
}

export interface LogCapture {
  lines: string[];
  write: (l: string) => void;
}
export function captureLogs(): LogCapture {
  const lines: string[] = [];
  return { lines, write: (l) => lines.push(l) };
}

export async function startTestBridge(config: BridgeConfig, logs = captureLogs()): Promise<RunningBridge> {
  return startBridge({ config, logWrite: logs.write, env: {} });
}

/** Run `tern bridge --config file` as a child process (for kill -9 tests). */
export function spawnBridge(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  opts: { main?: string; nodeArgs?: readonly string[] } = {},
): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.main ?? TERN_MAIN, 'bridge', '--config', configFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  return { proc, output: () => out, exited };
}

/** Current value of a counter/gauge summed over label sets matching `labels`. */
export async function metricValue(b: RunningBridge, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = b.metrics.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const v = await m.get();
  return v.values.filter((x) => Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val)).reduce((a, x) => a + x.value, 0);
}

/** Pids (as `rabbitmqctl list_connections` prints them) of the connections whose connection_name is `name`. */
export function rabbitConnectionsNamed(name: string): string[] {
  const out = execFileSync('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties', '--formatter', 'json'], { encoding: 'utf8' });
  const rows = JSON.parse(out) as Array<{ pid: string; client_properties: unknown }>;
  return rows
    .filter((r) => Array.isArray(r.client_properties) && r.client_properties.some((p: unknown) => Array.isArray(p) && p[0] === 'connection_name' && p[2] === name))
    .map((r) => r.pid);
}

/** Force-close one connection (320 CONNECTION_FORCED) by the pid list_connections printed. */
export function forceCloseRabbitConnection(pid: string, reason: string): void {
  // `rabbitmqctl close_connection` rejects the pid form list_connections prints here;
  // the connection process is local to the node, so close it by its local pid.
  const m = /<\d+\.(\d+)\.(\d+)>/.exec(pid);
  if (!m) throw new Error(`unexpected pid ${pid}`);
  execFileSync('rabbitmqctl', ['-q', 'eval', `rabbit_networking:close_connection(list_to_pid("<0.${m[1]}.${m[2]}>"), ${JSON.stringify(reason)}).`]);
}

/** Force-close every connection whose connection_name is `name`; returns how many. */
export function forceCloseRabbitConnectionsNamed(name: string, reason: string): number {
  const pids = rabbitConnectionsNamed(name);
  for (const pid of pids) forceCloseRabbitConnection(pid, reason);
  return pids.length;
}

/** `${prefix}-${from}` .. `${prefix}-${from + n - 1}`: the message ids a test published. */
export function idRange(prefix: string, from: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${from + i}`);
}

/** The stream holds exactly `ids` (as Nats-Msg-Id), each once. */
export async function exactlyOnce(nc: NatsConnection, stream: string, ids: readonly string[]): Promise<void> {
  assert.equal(await streamCount(nc, stream), ids.length, `stream ${stream} holds exactly ${ids.length} messages`);
  const got = (await readStream(nc, stream, ids.length, 60_000)).map((m) => m.headers!.get('Nats-Msg-Id'));
  assert.deepEqual([...new Set(got)].sort(), [...ids].sort(), `stream ${stream}: each message id once`);
}
