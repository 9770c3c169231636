// One AMQP connection per named connection, one channel per mapping (issue 6), against the
// RabbitMQ service and each target kind. Three mappings name one connection:
//   - RabbitMQ shows one connection (found by its unique connection_name) with three
//     consuming channels, all mappings move their messages, a graceful stop closes it;
//   - deleting one mapping's queue (consumer cancelled) re-opens only that channel: the
//     others keep flowing, the connection stays the same (same pid);
//   - RabbitMQ closing the connection makes all mappings come back on one new connection;
//   - sources paused too long (target down) close their channels, not the connection.
// Every stream must end with each message id exactly once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type * as amqp from 'amqplib';
import type { NatsConnection } from '@nats-io/transport-node';
import { startServer, type ServerKind } from '../helpers/servers.js';
import {
  bridgeConfig, captureLogs, createStream, deleteStream, exactlyOnce, forceCloseRabbitConnection, idRange, metricValue, natsConnect, publishMany, queueTotals, rabbit, readStream,
  rabbitConnectionsNamed, serverKinds, startTarget, startTestBridge, streamCount, tmpDir, uid, waitFor, writeMappings, RABBIT_URL, type BridgeTarget, type LogCapture,
} from './helpers.js';
import type { RunningBridge } from '../../src/bridge/bridge.js';

function rabbitmqctl(args: string[]): unknown {
  return JSON.parse(execFileSync('rabbitmqctl', ['-q', ...args, '--formatter', 'json'], { encoding: 'utf8' }));
}

/** Consumer count of each channel of connection `pid`. */
function channelConsumers(pid: string): number[] {
  const rows = rabbitmqctl(['list_channels', 'connection', 'consumer_count']) as Array<{ connection: string; consumer_count: number }>;
  return rows.filter((r) => r.connection === pid).map((r) => r.consumer_count);
}

function logged(logs: LogCapture, msg: string, mapping?: string): number {
  return logs.lines.filter((l) => {
    const o = JSON.parse(l) as { msg: string; mapping?: string };
    return o.msg === msg && (mapping === undefined || o.mapping === mapping);
  }).length;
}

/** Three mappings (a, b, c), each from its own queue to its own stream, on connection "rabbit". */
interface Three {
  readonly names: readonly string[];
  readonly queues: readonly string[];
  readonly streams: readonly string[];
  readonly connName: string;
  readonly dir: string;
}

async function threeMappings(nc: NatsConnection, ch: amqp.Channel): Promise<Three> {
  const names = ['a', 'b', 'c'];
  const tag = uid('conn');
  const queues = names.map((n) => `${tag}.${n}`);
  const streams = names.map((n) => `${tag.toUpperCase()}_${n.toUpperCase()}`);
  for (let i = 0; i < 3; i++) {
    await createStream(nc, streams[i]!, [`${tag}.${names[i]}.>`]);
    await ch.assertQueue(queues[i]!, { durable: true });
  }
  const dir = writeMappings(
    'mappings:\n' +
      names
        .map((n, i) => `  - { name: ${n}, source: { connection: rabbit, queue: ${queues[i]} }, target: { subject: "${tag}.${n}.x", stream: ${streams[i]} }, dedup: { missing: none } }\n`)
        .join(''),
  );
  return { names, queues, streams, connName: uid('tern-bridge-conn'), dir };
}

async function cleanup(nc: NatsConnection, ch: amqp.Channel, three: Three): Promise<void> {
  for (const q of three.queues) await ch.deleteQueue(q).catch(() => undefined);
  for (const s of three.streams) await deleteStream(nc, s);
}

/** Publish `ids` (persistent, as message ids) to `queue` with confirms. */
function publishIds(ch: amqp.ConfirmChannel, queue: string, ids: readonly string[]): Promise<void> {
  return publishMany(ch, '', ids.length, (i) => ({ routingKey: queue, body: Buffer.from(ids[i]!), options: { messageId: ids[i]! } }));
}

/** What a stalled drain looks like: per mapping the queue (and unacked) and stream counts, channels, last logs. */
async function state(nc: NatsConnection, three: Three, pid: string, logs: LogCapture): Promise<string> {
  const rows: string[] = [];
  for (let i = 0; i < three.queues.length; i++) {
    const t = await queueTotals(three.queues[i]!);
    rows.push(`${three.names[i]}: queue ${t.messages} (unacked ${t.unacked}), stream ${await streamCount(nc, three.streams[i]!)}`);
  }
  rows.push(`channel consumers ${JSON.stringify(channelConsumers(pid))}`, ...logs.lines.slice(-20));
  return rows.join('\n');
}

async function drained(nc: NatsConnection, queues: readonly string[], streams: readonly string[], counts: readonly number[]): Promise<boolean> {
  for (let i = 0; i < queues.length; i++) {
    const t = await queueTotals(queues[i]!);
    if (t.messages !== 0 || t.unacked !== 0 || (await streamCount(nc, streams[i]!)) < counts[i]!) return false;
  }
  return true;
}

/**
 * A bridge on three mappings whose target is a server of its own (JetStream on a temporary
 * store), so a test can stop it and restart it on the same port and store.
 */
interface OwnTarget {
  readonly three: Three;
  readonly logs: LogCapture;
  readonly bridge: RunningBridge;
  stopServer(): Promise<void>;
  /** Start the server again and connect to it; close() closes that connection too. */
  restartServer(): Promise<NatsConnection>;
  close(): Promise<void>;
}

async function bridgeWithOwnTarget(kind: ServerKind, ch: amqp.ConfirmChannel, maxPauseMs: number): Promise<OwnTarget> {
  const storeDir = tmpDir('tern-bridge-js-');
  let server = await startServer(kind, { args: ['-js', '-sd', storeDir] });
  const port = server.port;
  const setup = await natsConnect(server.url);
  const three = await threeMappings(setup, ch);
  await setup.close();
  const logs = captureLogs();
  const cfg = bridgeConfig(three.dir, { connections: { rabbit: { kind: 'rabbitmq', url: RABBIT_URL, connectionName: three.connName, maxPauseMs } }, window: 200, logLevel: 'info' }, server.url);
  const bridge = await startTestBridge(cfg, logs);
  let nc: NatsConnection | undefined;
  return {
    three,
    logs,
    bridge,
    stopServer: () => server.stop(),
    restartServer: async () => {
      server = await startServer(kind, { args: ['-js', '-sd', storeDir, '-p', String(port)] });
      nc = await natsConnect(server.url);
      return nc;
    },
    close: async () => {
      await bridge.stop();
      for (const q of three.queues) await ch.deleteQueue(q).catch(() => undefined);
      await nc?.close();
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let target: BridgeTarget;
  let nc: NatsConnection;
  let model: amqp.ChannelModel;
  let ch: amqp.ConfirmChannel;
  before(async () => {
    target = await startTarget(kind);
    nc = await natsConnect(target.url);
    model = await rabbit();
    ch = await model.createConfirmChannel();
  });
  after(async () => {
    await model?.close().catch(() => undefined);
    await nc?.close();
    await target?.stop();
  });

  test('three mappings on one named connection: one AMQP connection with three consuming channels; all messages move once; stop closes it', { timeout: 60_000 }, async () => {
    const three = await threeMappings(nc, ch);
    const N = 2000;
    const ids = three.names.map((n) => idRange(n, 0, N));
    for (let i = 0; i < 3; i++) await publishIds(ch, three.queues[i]!, ids[i]!);
    const bridge = await startTestBridge(bridgeConfig(three.dir, { connections: { rabbit: { kind: 'rabbitmq', url: RABBIT_URL, connectionName: three.connName } } }, target.url));
    let stopped = false;
    try {
      await waitFor('all three queues drained', () => drained(nc, three.queues, three.streams, [N, N, N]), 60_000, 250);
      const pids = rabbitConnectionsNamed(three.connName);
      assert.equal(pids.length, 1, 'one AMQP connection for the three mappings');
      assert.deepEqual(channelConsumers(pids[0]!), [1, 1, 1], 'three channels on it, one consumer each');
      for (let i = 0; i < 3; i++) await exactlyOnce(nc, three.streams[i]!, ids[i]!);
      assert.equal(await metricValue(bridge, 'tern_bridge_connection_up', { connection: 'rabbit' }), 1);
      await bridge.stop();
      stopped = true;
      await waitFor('the last mapping released the connection', () => rabbitConnectionsNamed(three.connName).length === 0, 10_000, 200);
    } finally {
      if (!stopped) await bridge.stop();
      await cleanup(nc, ch, three);
    }
  });

  test('one mapping\'s queue is deleted mid-stream: only its channel is re-opened, the others keep flowing on the same connection', { timeout: 90_000 }, async () => {
    const three = await threeMappings(nc, ch);
    const [qa, qb, qc] = three.queues as [string, string, string];
    const [sa, sb, sc] = three.streams as [string, string, string];
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(three.dir, { connections: { rabbit: { kind: 'rabbitmq', url: RABBIT_URL, connectionName: three.connName } }, window: 200, logLevel: 'info' }, target.url), logs);
    try {
      const [pid] = rabbitConnectionsNamed(three.connName);
      assert.ok(pid, 'the bridge connection is listed');
      const N1 = 3000;
      const N2 = 2000;
      const publishing = Promise.all(three.queues.map((q, i) => publishIds(ch, q, idRange(three.names[i]!, 0, N1))));
      await waitFor('mapping b is moving messages', async () => (await streamCount(nc, sb)) >= 300, 30_000, 10);
      const del = await model.createChannel();
      await del.deleteQueue(qb);
      await del.close();
      await publishing.catch(() => undefined); // publishes to the deleted queue are dropped by RabbitMQ, not refused
      // a and c keep flowing after the deletion: a second batch for each.
      await Promise.all([publishIds(ch, qa, idRange('a', N1, N2)), publishIds(ch, qc, idRange('c', N1, N2))]);
      await waitFor('a and c drained', () => drained(nc, [qa, qc], [sa, sc], [N1 + N2, N1 + N2]), 60_000, 250);
      await exactlyOnce(nc, sa, idRange('a', 0, N1 + N2));
      await exactlyOnce(nc, sc, idRange('c', 0, N1 + N2));
      assert.deepEqual(rabbitConnectionsNamed(three.connName), [pid], 'still the same single connection');
      assert.ok(logged(logs, 'rabbitmq channel lost: re-opening it (the shared connection stays)', 'b') >= 1, 'b lost its channel:\n' + logs.lines.join('\n'));
      assert.equal(logged(logs, 'rabbitmq channel lost: re-opening it (the shared connection stays)', 'a'), 0);
      assert.equal(logged(logs, 'rabbitmq channel lost: re-opening it (the shared connection stays)', 'c'), 0);

      // The queue comes back: b re-opens its channel on the same connection and moves again.
      const bBefore = await streamCount(nc, sb);
      await ch.assertQueue(qb, { durable: true });
      await publishIds(ch, qb, idRange('b2', 0, N2));
      await waitFor('b drained again', () => drained(nc, [qb], [sb], [bBefore + N2]), 30_000, 250);
      const bIds = (await readStream(nc, sb, bBefore + N2, 60_000)).map((m) => m.headers!.get('Nats-Msg-Id'));
      assert.equal(bIds.length, bBefore + N2);
      assert.equal(new Set(bIds).size, bIds.length, 'b: no message twice');
      assert.deepEqual(bIds.filter((id) => id.startsWith('b2-')).sort(), idRange('b2', 0, N2).sort(), 'b: every message published after the queue came back');
      assert.deepEqual(rabbitConnectionsNamed(three.connName), [pid], 'the connection was never re-opened');
      await waitFor('three consuming channels again', () => channelConsumers(pid).join() === '1,1,1', 10_000, 200);
      assert.equal(logged(logs, 'source connection down'), 0, 'no mapping saw its connection go down');
      assert.equal(logged(logs, 'source connection up'), 3, 'one "up" per mapping, at start');
      assert.equal(await metricValue(bridge, 'tern_bridge_connection_up', { connection: 'rabbit' }), 1);
    } finally {
      await bridge.stop();
      await cleanup(nc, ch, three);
    }
  });

  test('RabbitMQ closes the shared connection mid-stream: all mappings come back on one new connection, nothing lost or doubled', { timeout: 90_000 }, async () => {
    const three = await threeMappings(nc, ch);
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(three.dir, { connections: { rabbit: { kind: 'rabbitmq', url: RABBIT_URL, connectionName: three.connName } }, window: 200, logLevel: 'info' }, target.url), logs);
    try {
      const [pid] = rabbitConnectionsNamed(three.connName);
      assert.ok(pid, 'the bridge connection is listed');
      const N = 5000;
      const publishing = Promise.all(three.queues.map((q, i) => publishIds(ch, q, idRange(three.names[i]!, 0, N))));
      await waitFor('all mappings moving', async () => {
        for (const s of three.streams) if ((await streamCount(nc, s)) < 300) return false;
        return true;
      }, 30_000, 10);
      forceCloseRabbitConnection(pid, 'bridge connection test');
      await publishing;
      await waitFor('all queues drained', () => drained(nc, three.queues, three.streams, [N, N, N]), 60_000, 250);
      for (let i = 0; i < 3; i++) await exactlyOnce(nc, three.streams[i]!, idRange(three.names[i]!, 0, N));
      const now = rabbitConnectionsNamed(three.connName);
      assert.equal(now.length, 1, 'one connection again');
      assert.notEqual(now[0], pid, 'a new one');
      assert.deepEqual(channelConsumers(now[0]!), [1, 1, 1], 'three consuming channels on it');
      for (const m of three.names) {
        assert.equal(logged(logs, 'source connection down', m), 1, `${m} saw the connection go down once`);
        assert.equal(logged(logs, 'source connection up', m), 2, `${m}: initial connect + one reconnect`);
      }
      assert.equal(await metricValue(bridge, 'tern_bridge_connection_up', { connection: 'rabbit' }), 1);
    } finally {
      await bridge.stop();
      await cleanup(nc, ch, three);
    }
  });

  test('an idle bridge whose target goes away longer than maxPauseMs resumes when it is back (no pending publish to prove it)', { timeout: 60_000 }, async () => {
    const own = await bridgeWithOwnTarget(kind, ch, 300);
    const { three, logs } = own;
    try {
      const [pid] = rabbitConnectionsNamed(three.connName);
      assert.ok(pid, 'the bridge connection is listed');
      await own.stopServer();
      await waitFor('all three channels closed', () => channelConsumers(pid).length === 0, 20_000, 200);
      const nc3 = await own.restartServer();
      await waitFor('three consuming channels again', () => channelConsumers(pid).length === 3, 20_000, 200, () => state(nc3, three, pid, logs));
      const N = 100;
      await Promise.all(three.queues.map((q, i) => publishIds(ch, q, idRange(three.names[i]!, 0, N))));
      await waitFor('all queues drained', () => drained(nc3, three.queues, three.streams, [N, N, N]), 30_000, 250, () => state(nc3, three, pid, logs));
      for (let i = 0; i < 3; i++) await exactlyOnce(nc3, three.streams[i]!, idRange(three.names[i]!, 0, N));
    } finally {
      await own.close();
    }
  });

  test('sources paused longer than maxPauseMs close their channels, not the connection; unacked messages are requeued and arrive once', { timeout: 90_000 }, async () => {
    const own = await bridgeWithOwnTarget(kind, ch, 500);
    const { three, logs, bridge } = own;
    try {
      const [pid] = rabbitConnectionsNamed(three.connName);
      assert.ok(pid, 'the bridge connection is listed');
      const N = 3000;
      const publishing = Promise.all(three.queues.map((q, i) => publishIds(ch, q, idRange(three.names[i]!, 0, N))));
      await waitFor('progress', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) > 600, 30_000, 10);
      await own.stopServer();
      await waitFor('all three channels closed', () => channelConsumers(pid).length === 0, 20_000, 200);
      assert.deepEqual(rabbitConnectionsNamed(three.connName), [pid], 'the connection stays open');
      await publishing;
      for (const q of three.queues) assert.equal((await queueTotals(q)).unacked, 0, `${q}: unacked messages were requeued`);
      for (const m of three.names) assert.ok(logged(logs, 'paused too long: closing the channel so RabbitMQ requeues unacked messages', m) >= 1, `${m} closed its channel`);
      const nc3 = await own.restartServer();
      await waitFor('all queues drained', () => drained(nc3, three.queues, three.streams, [N, N, N]), 60_000, 250, () => state(nc3, three, pid, logs));
      for (let i = 0; i < 3; i++) await exactlyOnce(nc3, three.streams[i]!, idRange(three.names[i]!, 0, N));
      assert.deepEqual(rabbitConnectionsNamed(three.connName), [pid], 'still the same connection');
      assert.deepEqual(channelConsumers(pid), [1, 1, 1], 'three consuming channels again');
      assert.equal(logged(logs, 'source connection down'), 0);
    } finally {
      await own.close();
    }
  });
});
