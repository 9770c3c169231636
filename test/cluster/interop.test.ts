// A mixed cluster: Tern nodes and a reference nats-server 2.9 node in one
// mesh (pool_size -1 semantics: one route per peer, account in every op).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { sleep, startNode, stopAll, subj, until, waitInterest, waitMesh, type ClusterNode } from './helpers.js';

describe('mixed cluster with a nats-server node', { timeout: 60_000 }, () => {
  let g: ClusterNode, t1: ClusterNode, t2: ClusterNode;
  let ng: NatsConnection, n1: NatsConnection, n2: NatsConnection;
  before(async () => {
    // The nats-server node is the seed; the second Tern node finds the first by gossip from nats-server.
    g = await startNode({ name: 'G', kind: 'nats-server' });
    t1 = await startNode({ name: 'T1', routes: [g.routeUrl] });
    t2 = await startNode({ name: 'T2', routes: [g.routeUrl] });
    await waitMesh([g, t1, t2], 8000);
    [ng, n1, n2] = await Promise.all([g, t1, t2].map((n) => connect({ servers: n.url })));
  });
  after(async () => {
    await Promise.all([ng, n1, n2].map((x) => x?.close()));
    await stopAll([g, t1, t2]);
  });

  it('forms a full mesh (gossip from nats-server makes the Tern nodes meet)', async () => {
    assert.match(t1.output(), /Route connection created to G /);
    assert.match(t2.output(), /Route connection created to T1 /);
  });

  it('routes messages both ways, headers and wildcards included', async () => {
    const s = subj('mix');
    const onG: string[] = [];
    const onT: string[] = [];
    ng.subscribe(`${s}.>`, { callback: (_e, m) => void onG.push(`${m.subject}:${m.string()}:${m.headers?.get('X-K') ?? ''}`) });
    n1.subscribe(`${s}.*`, { callback: (_e, m) => void onT.push(`${m.subject}:${m.string()}:${m.headers?.get('X-K') ?? ''}`) });
    await waitInterest([ng, n1], [n2, ng]);
    const h = headers();
    h.set('X-K', 'v');
    n2.publish(`${s}.a`, 'from-tern', { headers: h });
    ng.publish(`${s}.b`, 'from-go');
    await until(() => onG.length === 2 && onT.length === 2, 3000, 'cross delivery').catch((e: Error) => {
      throw new Error(`${e.message}: G got ${JSON.stringify(onG)}, T1 got ${JSON.stringify(onT)}`);
    });
    assert.deepEqual(onG.sort(), [`${s}.a:from-tern:v`, `${s}.b:from-go:`]);
    assert.deepEqual(onT.sort(), [`${s}.a:from-tern:v`, `${s}.b:from-go:`]);
  });

  it('request/reply and queue groups across Tern and nats-server', async () => {
    const s = subj('mixsvc');
    ng.subscribe(s, { queue: 'svc', callback: (_e, m) => void m.respond('go') });
    await waitInterest([ng], [n1]);
    const r = await n1.request(s, 'q', { timeout: 2000 });
    assert.equal(r.string(), 'go');

    const q = subj('mixq');
    const counts = [0, 0];
    const seen = new Set<string>();
    ng.subscribe(q, { queue: 'w', callback: (_e, m) => void (counts[0]!++, seen.add(m.string())) });
    n2.subscribe(q, { queue: 'w', callback: (_e, m) => void (counts[1]!++, seen.add(m.string())) });
    await waitInterest([ng, n2], [n1]);
    for (let i = 0; i < 1000; i++) n1.publish(q, String(i));
    await n1.flush();
    await until(() => seen.size === 1000, 5000, '1,000 queue messages');
    await sleep(200);
    assert.equal(counts[0]! + counts[1]!, 1000, 'each exactly once');
    assert.ok(counts[0]! > 0 && counts[1]! > 0, `both members get some: ${counts.join('/')}`);
  });
});
