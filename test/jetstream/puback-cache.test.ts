// The subject cache and JetStream's one-shot subjects. A PubAck goes to its request's unique
// reply inbox: routing it must not fill the server's subject cache (and evict the subjects
// that repeat). A pull request's reply inbox, though, receives a whole batch: those
// deliveries must hit the cache after the first, whatever the inbox looks like.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startMonitored, getJson, type MonitoredServer } from '../ops/helpers.js';
import { RawClient } from '../server/raw.js';

let srv: MonitoredServer;
let nc: NatsConnection;

before(async () => {
  const store = mkdtempSync(join(tmpdir(), 'tern-puback-cache-'));
  srv = await startMonitored('tern', `jetstream { store_dir: "${store}" }\n`);
  nc = await connect({ servers: srv.url });
});

after(async () => {
  await nc?.close();
  await srv?.stop();
});

async function subsz(): Promise<{ cache: number; matches: number; hits: number }> {
  const b = (await getJson(srv.http, '/subsz')).body;
  const matches = Number(b.num_matches);
  return { cache: Number(b.num_cache), matches, hits: Math.round(Number(b.cache_hit_rate) * matches) };
}

it('PubAcks bypass the subject cache; a pull batch to one reply inbox hits it', async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RC', subjects: ['rc.>'] });
  await jsm.consumers.add('RC', { durable_name: 'C', ack_policy: AckPolicy.None });
  const js = jetstream(nc);
  const acks = [];
  for (let i = 0; i < 1500; i++) acks.push(js.publish('rc.x', `m${i}`));
  assert.equal((await Promise.all(acks)).at(-1)!.seq, 1500);
  const afterPub = await subsz();
  // rc.x and a few $JS.API subjects; 1500 cached reply inboxes would show as >= 256.
  assert.ok(afterPub.cache < 32, `num_cache ${afterPub.cache} after 1500 PubAcks`);

  const c = await RawClient.ready(srv.port);
  c.write('SUB _INBOX.pull.* 1\r\nPUB $JS.API.CONSUMER.MSG.NEXT.RC.C _INBOX.pull.1 13\r\n{"batch":500}\r\n');
  await c.waitFor((d) => (d.match(/^MSG rc\.x /gm) ?? []).length >= 500, 10_000);
  c.close();
  const afterPull = await subsz();
  assert.ok(afterPull.matches - afterPub.matches >= 500, `${afterPull.matches - afterPub.matches} matches for 500 deliveries`);
  assert.ok(afterPull.hits - afterPub.hits >= 499, `${afterPull.hits - afterPub.hits} cache hits for 500 deliveries to one inbox`);
});
