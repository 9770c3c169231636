// The cluster subsystem's entry point (loaded by src/server/run.ts): starts
// the route listener and the configured routes when the server has a
// cluster block, and registers the routes with monitoring.
import { registerRouteSource } from '../server/monitor/routes.js';
import type { ServerExtension } from '../server/run.js';
import type { Server } from '../server/server.js';
import { Cluster } from './cluster.js';

export { Cluster } from './cluster.js';
export { RouteConnection } from './route.js';

const clusters = new WeakMap<Server, Cluster>();

/** The running cluster of a server, if it has one. */
export function clusterOf(server: Server): Cluster | undefined {
  return clusters.get(server);
}

export async function attach(server: Server): Promise<ServerExtension> {
  if (server.options.cluster === undefined) return { close: async () => {} };
  const cluster = new Cluster(server);
  await cluster.start();
  clusters.set(server, cluster);
  registerRouteSource(server, cluster);
  return { ports: { cluster: cluster.listenUrls() }, close: () => cluster.close() };
}
