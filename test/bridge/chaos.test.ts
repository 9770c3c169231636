// Chaos: kill -9 the bridge process at random points while 50,000 messages flow, restart
// it, three times. The stream must hold each message exactly once (Nats-Msg-Id dedup
// drops the redeliveries) and the queue must end fully acked. Runs against each target
// kind (the reference nats-server service, a spawned Tern).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  RABBIT_URL, createStream, deleteStream, natsConnect, publishMany, queueTotals, rabbit, readStream, serverKinds, spawnBridge,
  startTarget, streamCount, tmpDir, uid, waitFor, writeMappings, type BridgeTarget,
} from './helpers.js';

for (const kind of serverKinds()) describe(`target: ${kind}`, () => {
  let target: BridgeTarget;
  before(async () => {
    target = await startTarget(kind);
  });
  after(async () => {
    await target?.stop();
  });

  test('kill -9 the bridge three times mid-stream: every message exactly once in the stream, queue fully acked', { timeout: 240_000 }, async () => {
    const nc = await natsConnect(target.url);
    const model = await rabbit();
    const stream = uid('BRIDGE_CHAOS');
    const queue = uid('chaos.q');
    const subj = uid('chaos');
    const N = 50_000;
    await createStream(nc, stream, [`${subj}.>`]);
    const ch = await model.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    const dir = writeMappings(`
mappings:
  - name: chaos
    source: { connection: rabbit, queue: ${queue} }
    target: { subject: "${subj}.msgs", stream: ${stream} }
    dedup: { key: "{messageId}", missing: none }
`);
    const cfgDir = tmpDir('tern-bridge-cfg-');
    const cfgFile = join(cfgDir, 'bridge.yaml');
    writeFileSync(cfgFile, `
target:
  servers: ["${target.url}"]
connections:
  rabbit: { kind: rabbitmq, url: "${RABBIT_URL}" }
mappings: ${dir}
window: 2000
metrics: { port: -1 }
logLevel: warn
`);
    const outputs: string[] = [];
    try {
      // Messages keep flowing in while the bridge is killed and restarted.
      const publishing = publishMany(ch, '', N, (i) => ({ routingKey: queue, body: Buffer.from(`m${i}`), options: { messageId: `id-${i}` } }));
      let kills = 0;
      for (let round = 0; round < 3; round++) {
        const b = spawnBridge(cfgFile);
        const before = await streamCount(nc, stream);
        // Let it move some messages, then kill it at a random point.
        await waitFor('bridge makes progress', async () => (await streamCount(nc, stream)) > before + 500, 30_000, 20);
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 400));
        b.proc.kill('SIGKILL');
        await b.exited;
        outputs.push(b.output());
        kills++;
      }
      assert.equal(kills, 3);
      await publishing;
      // A final run finishes the job and stops gracefully.
      const last = spawnBridge(cfgFile);
      try {
        await waitFor('queue fully acked', async () => {
          const t = await queueTotals(queue);
          return t.messages === 0 && t.unacked === 0;
        }, 120_000, 250);
      } finally {
        last.proc.kill('SIGTERM');
        const code = await last.exited;
        outputs.push(last.output());
        assert.equal(code, 0, `graceful stop exits 0:\n${last.output()}`);
      }
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(stream);
      assert.equal(info.state.messages, N, 'the stream holds exactly N messages');
      const msgs = await readStream(nc, stream, N, 60_000);
      const seen = new Set(msgs.map((m) => m.headers!.get('Nats-Msg-Id')));
      assert.equal(seen.size, N, 'every message id exactly once');
      for (let i = 0; i < N; i += 997) assert.ok(seen.has(`id-${i}`), `id-${i} present`);
    } catch (e) {
      console.error(outputs.join('\n----\n').slice(-5000));
      throw e;
    } finally {
      await ch.deleteQueue(queue).catch(() => undefined);
      await model.close();
      await deleteStream(nc, stream);
      await nc.close();
    }
  });
});
