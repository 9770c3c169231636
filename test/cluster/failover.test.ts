// Membership over time: 5 nodes from one seed, kill -9 and restart of the
// seed, client failover through discovered URLs, route authorization,
// --no_advertise.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { firstInfo, meshFormed, sleep, startNode, stopAll, subj, until, waitInterest, waitMesh, type ClusterNode } from './helpers.js';

describe('5 nodes from one seed', { timeout: 60_000 }, () => {
  const nodes: ClusterNode[] = [];
  after(() => stopAll(nodes));

  it('form a full mesh and route between every pair', async () => {
    nodes.push(await startNode({ name: 'S' }));
    const rest = await Promise.all([1, 2, 3, 4].map((i) => startNode({ name: `N${i}`, routes: [nodes[0]!.routeUrl] })));
    nodes.push(...rest);
    await waitMesh(nodes, 8000);
    const conns = await Promise.all(nodes.map((n) => connect({ servers: n.url })));
    try {
      const s = subj('five');
      const got = conns.map(() => 0);
      conns.forEach((c, i) => c.subscribe(s, { callback: () => void got[i]!++ }));
      await waitInterest(conns, [conns[4]!]);
      conns[4]!.publish(s, 'x');
      await conns[4]!.flush();
      await until(() => got.every((n) => n === 1), 3000, 'one copy on each of 5 nodes');
      await sleep(150);
      assert.deepEqual(got, [1, 1, 1, 1, 1]);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});

describe('kill -9 of a node', { timeout: 60_000 }, () => {
  const nodes: (ClusterNode | undefined)[] = [];
  const conns: NatsConnection[] = [];
  after(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await stopAll(nodes);
  });

  it('survivors keep routing, clients fail over, the node rejoins', async () => {
    let a = await startNode({ name: 'A' });
    const b = await startNode({ name: 'B', routes: [a.routeUrl] });
    const c = await startNode({ name: 'C', routes: [a.routeUrl] });
    nodes.push(a, b, c);
    await waitMesh([a, b, c]);

    // A client that only knows A, with a subscription.
    const onA = await connect({ servers: a.url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    const nb = await connect({ servers: b.url });
    const nc = await connect({ servers: c.url });
    conns.push(onA, nb, nc);
    const s = subj('failover');
    const gotA: string[] = [];
    const gotB: string[] = [];
    onA.subscribe(s, { callback: (_e, m) => void gotA.push(m.string()) });
    nb.subscribe(s, { callback: (_e, m) => void gotB.push(m.string()) });
    await waitInterest([onA, nb], [nc]);
    nc.publish(s, 'before');
    await until(() => gotA.length === 1 && gotB.length === 1, 3000, 'delivery before the kill');

    await a.kill();
    nodes[0] = undefined;
    // Traffic between the survivors continues.
    nc.publish(s, 'during');
    await until(() => gotB.includes('during'), 3000, 'B still receives from C');

    // The client reconnects to B or C (learned from connect_urls) and resubscribes.
    await until(
      async () => {
        nc.publish(s, 'after-failover');
        await nc.flush();
        await sleep(100);
        return gotA.includes('after-failover');
      },
      10_000,
      'client of the dead node receives again',
    );
    const now = onA.getServer();
    assert.ok(now === `127.0.0.1:${b.port}` || now === `127.0.0.1:${c.port}`, `reconnected to a survivor: ${now}`);

    // A comes back on its route port: B and C reconnect (configured routes retry forever).
    a = await startNode({ name: 'A', clusterPort: a.clusterPort });
    nodes[0] = a;
    await waitMesh([a, b, c], 10_000);
    const na = await connect({ servers: a.url });
    conns.push(na);
    const s2 = subj('rejoined');
    const gotC: string[] = [];
    nc.subscribe(s2, { callback: (_e, m) => void gotC.push(m.string()) });
    await waitInterest([nc], [na]);
    na.publish(s2, 'from restarted A');
    await until(() => gotC.length === 1, 3000, 'restarted A routes to C');
  });
});

describe('route authorization', { timeout: 30_000 }, () => {
  const nodes: ClusterNode[] = [];
  after(() => stopAll(nodes));

  it('accepts routes with the right credentials and refuses others', async () => {
    const a = await startNode({ name: 'RA', clusterAuth: 'ruser:rpass@' });
    nodes.push(a);
    const good = await startNode({ name: 'RB', clusterAuth: 'ruser:rpass@', routes: [`nats-route://ruser:rpass@127.0.0.1:${a.clusterPort}`] });
    nodes.push(good);
    await waitMesh([a, good]);
    const bad = await startNode({ name: 'RC', routes: [`nats-route://ruser:wrong@127.0.0.1:${a.clusterPort}`] });
    nodes.push(bad);
    await until(() => /Authorization Violation/.test(a.output()), 5000, 'violation logged by the seed');
    assert.equal(await meshFormed([a, bad]), false);
    const info = await firstInfo(bad.port);
    assert.deepEqual(info.connect_urls, [`127.0.0.1:${bad.port}`]);
  });
});

describe('--no_advertise', { timeout: 30_000 }, () => {
  const nodes: ClusterNode[] = [];
  after(() => stopAll(nodes));

  it('keeps connect_urls out of client INFO while routing still works', async () => {
    const a = await startNode({ name: 'NA1', args: ['--no_advertise'] });
    nodes.push(a);
    const b = await startNode({ name: 'NA2', routes: [a.routeUrl], args: ['--no_advertise'] });
    nodes.push(b);
    await until(() => /Route connection created to NA1 /.test(b.output()), 5000, 'route');
    const info = await firstInfo(a.port);
    assert.equal(info.connect_urls, undefined);
    const [na, nb] = await Promise.all([connect({ servers: a.url }), connect({ servers: b.url })]);
    try {
      const s = subj('noadv');
      const got: string[] = [];
      nb.subscribe(s, { callback: (_e, m) => void got.push(m.string()) });
      await waitInterest([nb], [na]);
      na.publish(s, 'routed');
      await until(() => got.length === 1, 3000, 'routed without advertising');
    } finally {
      await Promise.all([na.close(), nb.close()]);
    }
  });
});
