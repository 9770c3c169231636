// Request replies (_INBOX.<id>.<token>: every nats.js request, every PubAck) are unique per
// message: they must not fill the server's subject cache and evict the subjects that repeat.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startMonitored, getJson, type MonitoredServer } from '../ops/helpers.js';

let srv: MonitoredServer;
let nc: NatsConnection;

before(async () => {
  srv = await startMonitored('tern', 'jetstream { store_dir: "' + (await import('node:os')).tmpdir() + '/tern-reply-cache-' + process.pid + '" }\n');
  nc = await connect({ servers: srv.url });
});

after(async () => {
  await nc?.close();
  await srv?.stop();
});

it('request replies and PubAcks bypass the subject cache; repeating subjects stay cached', async () => {
  nc.subscribe('svc.echo', {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await nc.flush();
  for (let i = 0; i < 1500; i++) {
    const r = await nc.request('svc.echo', `q${i}`, { timeout: 5000 });
    assert.equal(r.string(), `q${i}`);
  }
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RC', subjects: ['rc.>'] });
  const js = jetstream(nc);
  const acks = [];
  for (let i = 0; i < 1500; i++) acks.push(js.publish('rc.x', `m${i}`));
  assert.equal((await Promise.all(acks)).at(-1)!.seq, 1500);

  const subsz = (await getJson(srv.http, '/subsz')).body;
  // svc.echo, rc.x and a few $JS.API subjects; 3000 distinct reply subjects would show as >= 256.
  assert.ok(Number(subsz.num_cache) < 32, `num_cache ${String(subsz.num_cache)}`);
  // Each reply was still routed through the sublist (clients cache svc.echo and rc.x themselves).
  assert.ok(Number(subsz.num_matches) >= 3000, `num_matches ${String(subsz.num_matches)}`);
});
