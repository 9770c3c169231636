// A real RabbitMQ restart mid-stream (issue 6). The shared RabbitMQ on 5672 must not be
// restarted, so this file starts a private node on free ports (test/helpers/rabbitmq-node.ts)
// and, while a publisher and the bridge keep messages flowing through it, (1) restarts it
// gracefully (`rabbitmqctl stop`, start again) and (2) kills it with SIGKILL and starts
// it again, on the same ports and data dir. The bridge must reconnect, re-check the queue
// and re-consume; the stream must end with each message id exactly once and the queue
// empty. The private node boots in ~3-4 s, so the test runs against each target kind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import { startRabbitNode, type RabbitNode } from '../helpers/rabbitmq-node.js';
import {
  bridgeConfig, captureLogs, createStream, deleteStream, exactlyOnce, idRange, metricValue, natsConnect, serverKinds, startTarget,
  startTestBridge, streamCount, uid, waitFor, writeMappings, type BridgeTarget,
} from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Publisher {
  /** Messages 0..confirmed-1 are confirmed by RabbitMQ (persisted in the durable queue). */
  readonly confirmed: number;
  /** Lost connections and failed connection attempts (the publisher lives through the outages too). */
  readonly retries: number;
  readonly done: Promise<void>;
  abort(): void;
}

/**
 * Publish messages 0..n-1 (persistent, message id `m-<i>`) in confirmed batches, paced so
 * that the flow outlasts both restarts: the publisher is still running when the node goes
 * down, so what it publishes afterwards can only reach the stream through a re-established
 * bridge consumer. On a lost connection it reconnects and republishes the unconfirmed
 * batch: RabbitMQ may then hold a message twice, which the stream's dedup (Nats-Msg-Id)
 * must absorb, as in production.
 */
function startPublisher(url: string, queue: string, n: number, batch: number, pauseMs: number): Publisher {
  let confirmed = 0;
  let retries = 0;
  let aborted = false;
  const run = async (): Promise<void> => {
    while (confirmed < n) {
      if (aborted) throw new Error('publisher aborted');
      let model: amqp.ChannelModel | undefined;
      try {
        model = await amqp.connect(url);
        // A broker-side close also emits 'error': the loop below handles it, not the process.
        model.on('error', () => undefined);
        const ch = await model.createConfirmChannel();
        ch.on('error', () => undefined);
        while (confirmed < n && !aborted) {
          const end = Math.min(n, confirmed + batch);
          for (let i = confirmed; i < end; i++) ch.publish('', queue, Buffer.from(`payload ${i}`), { persistent: true, messageId: `m-${i}` });
          await ch.waitForConfirms();
          confirmed = end;
          await sleep(pauseMs);
        }
        await model.close();
      } catch {
        retries++;
        await model?.close().catch(() => undefined);
        await sleep(100);
      }
    }
  };
  const done = run();
  done.catch(() => undefined); // awaited by the test; this only avoids an unhandled rejection after abort
  return {
    get confirmed() {
      return confirmed;
    },
    get retries() {
      return retries;
    },
    done,
    abort: () => (aborted = true),
  };
}

/** Log lines (JSON) whose msg is `msg`. */
function logged(lines: readonly string[], msg: string): number {
  return lines.filter((l) => (JSON.parse(l) as { msg?: string }).msg === msg).length;
}

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let target: BridgeTarget;
  let node: RabbitNode;
  before(async () => {
    target = await startTarget(kind);
    node = await startRabbitNode();
  });
  after(async () => {
    // Kill, never leave a node running, whatever the test did.
    await node?.dispose();
    await target?.stop();
  });

  test('a private RabbitMQ restarts gracefully, then is killed -9 and started again, mid-stream: the bridge reconnects and re-consumes, nothing lost or doubled', { timeout: 150_000 }, async (t) => {
    const N = 20_000;
    const nc = await natsConnect(target.url);
    const stream = uid('BRIDGE_RESTART');
    const queue = uid('restart.q');
    const subj = uid('restart');
    await createStream(nc, stream, [`${subj}.>`]);
    const setup = await amqp.connect(node.url);
    await (await setup.createChannel()).assertQueue(queue, { durable: true });
    await setup.close();

    const dir = writeMappings(`
mappings:
  - name: restart
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.x", stream: ${stream} }
    dedup: { missing: none }
`);
    const logs = captureLogs();
    const cfg = bridgeConfig(dir, { connections: { rabbit: { kind: 'rabbitmq', url: node.url, connectionName: uid('tern-bridge-restart') } }, window: 500, logLevel: 'info' }, target.url);
    const bridge = await startTestBridge(cfg, logs);
    // ~4,000 msg/s at most: 20,000 take >= 5 s of publishing plus the two outages.
    const pub = startPublisher(node.url, queue, N, 200, 50);
    const state = (): string => `publisher confirmed ${pub.confirmed}, retries ${pub.retries}; bridge log:\n${logs.lines.slice(-30).join('\n')}`;
    try {
      // (1) Graceful restart once the bridge is moving messages.
      await waitFor('bridge progress before the graceful restart', async () => (await streamCount(nc, stream)) >= 1_000, 60_000, 20);
      await node.stop();
      assert.ok(pub.confirmed < N, `the node went down mid-stream (${state()})`);
      await waitFor('bridge sees the connection down', () => logged(logs.lines, 'source connection down') >= 1, 10_000, 20);
      const atStop = await streamCount(nc, stream);
      await node.start();
      await waitFor('bridge reconnected and moving again', async () => (await streamCount(nc, stream)) >= atStop + 1_000, 60_000, 20);
      assert.equal(logged(logs.lines, 'source connection up'), 2, `initial connect + one reconnect (${state()})`);
      assert.ok(await metricValue(bridge, 'tern_bridge_reconnects_total', { connection: 'rabbit' }) >= 1, 'failed attempts while the node was down are counted');

      // (2) kill -9 and start again, while messages flow.
      await node.kill();
      assert.ok(pub.confirmed < N, `the node was killed mid-stream (${state()})`);
      await waitFor('bridge sees the connection down again', () => logged(logs.lines, 'source connection down') >= 2, 10_000, 20);
      const reconnectsBefore = await metricValue(bridge, 'tern_bridge_reconnects_total', { connection: 'rabbit' });
      await node.start();

      await pub.done;
      assert.ok(pub.retries >= 2, `the publisher lived through both outages (${state()})`);
      await waitFor('queue fully acked and stream complete', async () => {
        const q = await node.queueTotals(queue);
        return q.ready === 0 && q.unacked === 0 && (await streamCount(nc, stream)) >= N;
      }, 60_000, 250).catch((e: Error) => {
        throw new Error(`${e.message} (${state()})`);
      });

      const totals = await node.queueTotals(queue);
      // What the outages cost (varies run to run, so reported, not asserted).
      const dups = await metricValue(bridge, 'tern_bridge_duplicates_dropped_total');
      t.diagnostic(`publisher retries ${pub.retries}, bridge reconnect attempts ${await metricValue(bridge, 'tern_bridge_reconnects_total')}, duplicates dropped by the stream ${dups}`);
      assert.deepEqual({ ready: totals.ready, unacked: totals.unacked, consumers: totals.consumers }, { ready: 0, unacked: 0, consumers: 1 }, 'queue drained; the bridge consumes again after the kill');
      await exactlyOnce(nc, stream, idRange('m', 0, N));
      assert.equal(logged(logs.lines, 'source connection down'), 2, 'one connection loss per outage');
      assert.equal(logged(logs.lines, 'source connection up'), 3, 'initial connect + two reconnects');
      assert.ok(await metricValue(bridge, 'tern_bridge_reconnects_total', { connection: 'rabbit' }) > reconnectsBefore, 'failed attempts while the killed node was down are counted');
      assert.equal(await metricValue(bridge, 'tern_bridge_connection_up', { connection: 'rabbit' }), 1);
    } finally {
      pub.abort();
      await bridge.stop();
      await deleteStream(nc, stream);
      await nc.close();
    }
  });
});
