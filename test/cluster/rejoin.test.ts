// Gossiped (implicit) routes: a restarted non-seed node gets back into the
// full mesh, also when the seed itself was down meanwhile (configured routes
// retry forever; the seed's gossip then rebuilds the implicit ones).
import { after, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sleep, startNode, stopAll, subj, until, waitMesh, type ClusterNode } from './helpers.js';

async function routesBetween(from: ClusterNode, to: ClusterNode): Promise<void> {
  const nf = await connect({ servers: from.url });
  const nt = await connect({ servers: to.url });
  try {
    const s = subj('rejoin');
    const got: string[] = [];
    nt.subscribe(s, { callback: (_e, m) => void got.push(m.string()) });
    await nt.flush();
    await until(
      async () => {
        nf.publish(s, 'hi');
        await nf.flush();
        await sleep(50);
        return got.length > 0;
      },
      5000,
      `${from.name} -> ${to.name}`,
    );
  } finally {
    await Promise.all([nf.close(), nt.close()]);
  }
}

describe('restarted non-seed node rejoins the full mesh', { timeout: 90_000 }, () => {
  const nodes: (ClusterNode | undefined)[] = [];
  const conns: NatsConnection[] = [];
  after(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await stopAll(nodes);
  });

  it('after kill -9, on a new route port, through the running seed', async () => {
    const a = await startNode({ name: 'RA' });
    const b = await startNode({ name: 'RB', routes: [a.routeUrl] });
    let c = await startNode({ name: 'RC', routes: [a.routeUrl] });
    nodes.push(a, b, c);
    await waitMesh([a, b, c]);
    await c.kill();
    c = await startNode({ name: 'RC', routes: [a.routeUrl] });
    nodes[2] = c;
    await waitMesh([a, b, c], 10_000);
    await routesBetween(b, c);
    await routesBetween(c, b);
  });

  it('when the seed was down too: both come back, the seed gossips, the mesh is full again', async () => {
    let a = await startNode({ name: 'SA' });
    const b = await startNode({ name: 'SB', routes: [a.routeUrl] });
    let c = await startNode({ name: 'SC', routes: [a.routeUrl] });
    nodes.push(a, b, c);
    const [ia, ic] = [nodes.length - 3, nodes.length - 1];
    await waitMesh([a, b, c]);
    const [aPort, cPort] = [a.clusterPort, c.clusterPort];
    await Promise.all([a.kill(), c.kill()]);
    c = await startNode({ name: 'SC', clusterPort: cPort, routes: [a.routeUrl] });
    nodes[ic] = c;
    await sleep(1500); // C and B both retry the seed meanwhile
    a = await startNode({ name: 'SA', clusterPort: aPort });
    nodes[ia] = a;
    await waitMesh([a, b, c], 15_000);
    await routesBetween(b, c);
    await routesBetween(c, b);
  });
});
