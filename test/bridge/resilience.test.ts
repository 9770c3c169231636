// Mid-stream failures on both sides: RabbitMQ drops the bridge's connection (the gentle,
// neighbour-safe variant of a RabbitMQ restart: only the bridge's own connection is closed
// (rabbit_networking:close_connection, 320 CONNECTION_FORCED), since other engineers share this RabbitMQ), and the
// target server is stopped and restarted on the same port and store. Each test runs
// against each target kind (the reference nats-server, Tern).
// A real RabbitMQ restart (graceful, then kill -9) on a private node: rabbitmq-restart.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/servers.js';
import {
  bridgeConfig, captureLogs, createStream, deleteStream, exactlyOnce, forceCloseRabbitConnection, idRange, metricValue, natsConnect, publishMany, queueTotals, rabbit, rabbitConnectionsNamed,
  serverKinds, startTarget, startTestBridge, streamCount, tmpDir, uid, waitFor, writeMappings, RABBIT_URL, type BridgeTarget,
} from './helpers.js';

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let target: BridgeTarget;
  before(async () => {
    target = await startTarget(kind);
  });
  after(async () => {
    await target?.stop();
  });

  test('RabbitMQ closes the bridge connection three times mid-stream: reconnect, re-consume, nothing lost or doubled', { timeout: 120_000 }, async () => {
    const nc = await natsConnect(target.url);
    const model = await rabbit();
    const stream = uid('BRIDGE_RMQ');
    const queue = uid('rmq.q');
    const subj = uid('rmq');
    const connName = uid('tern-bridge-resilience');
    const N = 20_000;
    await createStream(nc, stream, [`${subj}.>`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: rmq
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.x", stream: ${stream} }
    dedup: { missing: none }
`);
    const cfg = bridgeConfig(dir, { connections: { rabbit: { kind: 'rabbitmq', url: RABBIT_URL, connectionName: connName } }, window: 500 }, target.url);
    const bridge = await startTestBridge(cfg);
    try {
      const publishing = publishMany(ch, '', N, (i) => ({ routingKey: queue, body: Buffer.from(`r${i}`), options: { messageId: `r-${i}` } }));
      // Awaited below; if the test fails first, its own error must be the one reported.
      publishing.catch(() => undefined);
      const closed: string[] = [];
      for (let k = 0; k < 3; k++) {
        // Up to a window of messages published before a close still land after it, so
        // progress alone does not mean the bridge is back: wait for its new connection first.
        let pids: string[] = [];
        await waitFor(`bridge connection ${k === 0 ? 'opened' : 're-opened'}`, () => {
          pids = rabbitConnectionsNamed(connName).filter((p) => !closed.includes(p));
          return pids.length === 1;
        }, 30_000, 50);
        const before = await streamCount(nc, stream);
        await waitFor('progress', async () => (await streamCount(nc, stream)) > before + 200, 30_000, 20);
        assert.deepEqual(rabbitConnectionsNamed(connName), pids, 'one bridge connection, the new one');
        forceCloseRabbitConnection(pids[0]!, 'bridge resilience test');
        closed.push(pids[0]!);
      }
      await publishing;
      await waitFor('queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0 && (await streamCount(nc, stream)) >= N;
      }, 60_000, 250);
      await exactlyOnce(nc, stream, idRange('r', 0, N));
      assert.equal(await metricValue(bridge, 'tern_bridge_connection_up', { connection: 'rabbit' }), 1);
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await model.close();
      await deleteStream(nc, stream);
      await nc.close();
    }
  });

  test('the target server restarts mid-stream: sources pause, resume after it is back, nothing lost or doubled', { timeout: 120_000 }, async () => {
    const storeDir = tmpDir('tern-bridge-js-');
    let server = await startServer(kind, { args: ['-js', '-sd', storeDir] });
    const port = server.port;
    const nc = await natsConnect(server.url);
    const model = await rabbit();
    const stream = uid('BRIDGE_TGT');
    const queue = uid('tgt.q');
    const N = 20_000;
    await createStream(nc, stream, ['tgt.>']);
    await nc.close();
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: tgt
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "tgt.x", stream: ${stream} }
    dedup: { missing: none }
`);
    const logs = captureLogs();
    const bridge = await startTestBridge(bridgeConfig(dir, { window: 500, logLevel: 'info', health: { stallAfterMs: 700, statsIntervalMs: 200 } }, server.url), logs);
    let nc2: Awaited<ReturnType<typeof natsConnect>> | undefined;
    try {
      const publishing = publishMany(ch, '', N, (i) => ({ routingKey: queue, body: Buffer.from(`t${i}`), options: { messageId: `t-${i}` } }));
      await waitFor('progress', async () => (await metricValue(bridge, 'tern_bridge_messages_acked_total')) > 2000, 30_000, 20);
      await server.stop();
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(bridge.engine.paused, 'sources are paused while the target is down');
      const down = await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`);
      assert.equal(down.status, 503, '/healthz fails: work is pending and nothing was confirmed');
      assert.equal(((await down.json()) as { status: string }).status, 'unhealthy');
      server = await startServer(kind, { args: ['-js', '-sd', storeDir, '-p', String(port)] });
      await publishing;
      nc2 = await natsConnect(server.url);
      await waitFor('queue fully acked', async () => {
        const t = await queueTotals(queue);
        return t.messages === 0 && t.unacked === 0;
      }, 90_000, 250);
      await exactlyOnce(nc2, stream, idRange('t', 0, N));
      assert.ok(logs.lines.some((l) => l.includes('pausing sources')), 'pause is logged');
      assert.ok(logs.lines.some((l) => l.includes('resuming sources')), 'resume is logged:\n' + logs.lines.join('\n'));
      assert.equal(bridge.engine.paused, false);
      assert.equal((await fetch(`http://127.0.0.1:${bridge.httpPort}/healthz`)).status, 200, 'healthy again');
    } finally {
      await bridge.stop();
      await ch.deleteQueue(queue).catch(() => undefined);
      await model.close();
      await nc2?.close();
      await server.stop();
    }
  });
});
