// Cluster test helpers: Tern (or nats-server) nodes on free ports joined by
// routes, the first INFO a client sees, and waiting for a full mesh.
import { connect as tcpConnect } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { startServer, type RunningServer, type ServerKind } from '../helpers/servers.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let uniq = 0;
export const subj = (p: string): string => `${p}.${process.pid}.${++uniq}`;

export async function until(pred: () => boolean | Promise<boolean>, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeout} ms`);
    await sleep(20);
  }
}

export interface NodeOptions {
  name: string;
  kind?: ServerKind;
  /** Route listen port; -1 = any free port. */
  clusterPort?: number;
  /** Route URLs to solicit. */
  routes?: string[];
  /** Userinfo for --cluster (route authorization), e.g. 'ruser:rpass@'. */
  clusterAuth?: string;
  args?: string[];
}

export interface ClusterNode extends RunningServer {
  name: string;
  /** nats-route://127.0.0.1:PORT of its route listener. */
  routeUrl: string;
  clusterPort: number;
}

export async function startNode(o: NodeOptions): Promise<ClusterNode> {
  const args = ['-n', o.name, '--cluster', `nats://${o.clusterAuth ?? ''}127.0.0.1:${o.clusterPort ?? -1}`, '--cluster_name', 'tern-test'];
  if (o.routes !== undefined && o.routes.length > 0) args.push('--routes', o.routes.join(','));
  args.push(...(o.args ?? []));
  const s = await startServer(o.kind ?? 'tern', { args });
  const c = s.ports.cluster?.[0];
  if (c === undefined) throw new Error(`${o.name}: no cluster listener in ports file:\n${s.output()}`);
  const port = Number(new URL(c).port);
  return { ...s, name: o.name, routeUrl: `nats-route://127.0.0.1:${port}`, clusterPort: port };
}

/** The INFO a client gets on connect (raw socket). */
export function firstInfo(port: number): Promise<{ connect_urls?: string[]; server_id: string; cluster?: string }> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        s.destroy();
        try {
          resolve(JSON.parse(buf.slice(5, nl)) as { connect_urls?: string[]; server_id: string });
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    s.on('error', reject);
  });
}

/** Every node advertises every node's client URL: each has a route to each other (connect_urls come from routes). */
export async function meshFormed(nodes: ClusterNode[]): Promise<boolean> {
  const want = nodes.map((n) => `127.0.0.1:${n.port}`).sort();
  for (const n of nodes) {
    const info = await firstInfo(n.port);
    const got = [...new Set(info.connect_urls ?? [])].sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) return false;
  }
  return true;
}

export async function waitMesh(nodes: ClusterNode[], timeout = 5000): Promise<void> {
  await until(() => meshFormed(nodes), timeout, `full mesh of ${nodes.length}`);
}

export async function stopAll(nodes: (ClusterNode | undefined)[]): Promise<void> {
  await Promise.all(nodes.map((n) => (n ? n.kill() : Promise.resolve())));
}

/**
 * Wait until the subscriptions (and unsubscriptions) each connection in
 * `subscribers` has made so far are known on the nodes of `publishers`.
 * A route is one ordered stream: a probe published by a subscriber after its
 * SUB/UNSUB reaches the publisher's node after the RS+/RS- it caused, so once
 * the publisher receives the probe the interest is there. Unlike a fixed
 * sleep this holds however loaded the machine is.
 */
export async function waitInterest(subscribers: NatsConnection[], publishers: NatsConnection[], timeout = 5000): Promise<void> {
  for (const pub of publishers) {
    const probe = subj('probe');
    const seen = new Set<number>();
    const ps = pub.subscribe(probe, { callback: (_e, m) => void seen.add(Number(m.string())) });
    try {
      await pub.flush();
      for (const [i, sub] of subscribers.entries()) {
        if (sub === pub) continue; // same connection: the server already processed the SUBs in order
        await until(
          async () => {
            sub.publish(probe, String(i));
            await sub.flush();
            await pub.flush();
            return seen.has(i);
          },
          timeout,
          `interest of subscriber ${i} at the publisher's node`,
        );
      }
    } finally {
      ps.unsubscribe();
    }
  }
}
