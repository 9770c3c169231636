// The bridge against a 3-node Tern cluster: the target config lists all three nodes, the
// stream lives on node A (created through it), the bridge is connected to another node
// and its PubAcks come back over the routes. Then that node is killed with -9 while
// messages flow: the bridge reconnects to a surviving node and nothing is lost or doubled.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type * as amqp from 'amqplib';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNode, stopAll, waitMesh, type ClusterNode } from '../cluster/helpers.js';
import {
  bridgeConfig, createStream, metricValue, natsConnect, publishMany, queueTotals, rabbit, readStream, startTestBridge, streamCount, tmpDir,
  uid, waitFor, writeMappings,
} from './helpers.js';
import type { RunningBridge } from '../../src/bridge/bridge.js';

/** host:port of the node the bridge's target connection is on. */
const bridgeNode = (b: RunningBridge): string => b.engine.target.connection.getServer();

describe('bridge -> 3-node Tern cluster', { timeout: 240_000 }, () => {
  const dirs = ['A', 'B', 'C'].map((n) => tmpDir(`bridge-cluster-${n}-`));
  let nodes: ClusterNode[] = [];
  let na: NatsConnection;
  let model: amqp.ChannelModel;

  before(async () => {
    const a = await startNode({ name: 'BA', args: ['-js', '-sd', dirs[0]!] });
    const [b, c] = await Promise.all([
      startNode({ name: 'BB', routes: [a.routeUrl], args: ['-js', '-sd', dirs[1]!] }),
      startNode({ name: 'BC', routes: [a.routeUrl], args: ['-js', '-sd', dirs[2]!] }),
    ]);
    nodes = [a, b, c];
    await waitMesh(nodes, 10_000);
    na = await natsConnect(a.url);
    model = await rabbit();
  });
  after(async () => {
    await model?.close().catch(() => undefined);
    await na?.close().catch(() => undefined);
    await stopAll(nodes);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('10,000 messages once and in order through a non-owner node; kill -9 of that node mid-stream loses and doubles nothing', async (t) => {
    const [a] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const stream = uid('BRIDGE_CLUSTER');
    const queue = uid('cluster.q');
    const subj = uid('cluster');
    await createStream(na, stream, [`${subj}.>`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: cluster
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.x", stream: ${stream} }
    dedup: { missing: none }
`);
    const cfg = bridgeConfig(dir, { window: 1000 });
    // The bridge must sit on a node the test may kill without killing the stream's owner (A):
    // list C first and keep the order.
    const [, , c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    cfg.target.servers = [c.url, ...nodes.filter((n) => n !== c).map((n) => n.url)];
    cfg.target.noRandomize = true;
    const bridge = await startTestBridge(cfg);
    assert.equal(bridgeNode(bridge), `127.0.0.1:${c.port}`, 'noRandomize puts the bridge on the first listed node');
    const on = c;
    t.diagnostic(`stream on ${a.name}, bridge on ${on.name}`);
    try {
      // Phase 1: 10,000 messages, every one once, in order.
      const N1 = 10_000;
      await publishMany(ch, '', N1, (i) => ({ routingKey: queue, body: Buffer.from(`c${i}`), options: { messageId: `c-${i}` } }));
      await waitFor('first 10,000 acked', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) >= N1, 60_000);
      assert.equal(await streamCount(na, stream), N1);
      const first = await readStream(na, stream, N1);
      assert.equal(first.length, N1);
      for (let i = 0; i < N1; i++) assert.equal(first[i]!.headers!.get('Nats-Msg-Id'), `c-${i}`, `message ${i} in order`);
      assert.equal(bridgeNode(bridge), `127.0.0.1:${on.port}`, 'still on the same node');

      // Phase 2: kill -9 the bridge's node while the next 20,000 flow.
      const N2 = 20_000;
      const publishing = publishMany(ch, '', N2, (i) => ({ routingKey: queue, body: Buffer.from(`c${N1 + i}`), options: { messageId: `c-${N1 + i}` } }));
      await waitFor('phase 2 under way', async () => (await streamCount(na, stream)) > N1 + 2000, 60_000, 20);
      await on.kill();
      const atKill = await streamCount(na, stream);
      t.diagnostic(`killed ${on.name} with ${atKill} messages in the stream`);
      await publishing;
      await waitFor('queue fully acked', async () => {
        const q = await queueTotals(queue);
        return q.messages === 0 && q.unacked === 0;
      }, 120_000, 250);
      assert.ok(atKill < N1 + N2, 'the node died before the bridge was done');
      const now = bridgeNode(bridge);
      assert.notEqual(now, `127.0.0.1:${on.port}`, 'the bridge moved to a surviving node');
      assert.ok(nodes.some((n) => n !== on && now === `127.0.0.1:${n.port}`), `reconnected to a cluster node, not ${now}`);
      assert.equal(await metricValue(bridge, 'tern_bridge_connection_up', { connection: 'target' }), 1, 'target connection up');
      assert.equal(await streamCount(na, stream), N1 + N2, 'the stream holds every message once');
      const all = await readStream(na, stream, N1 + N2, 60_000);
      const ids = new Set(all.map((m) => m.headers!.get('Nats-Msg-Id')));
      assert.equal(ids.size, N1 + N2, 'each message id once');
      for (let i = 0; i < N1 + N2; i++) assert.ok(ids.has(`c-${i}`), `c-${i} present`);
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  });
});
