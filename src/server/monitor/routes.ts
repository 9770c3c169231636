// How the monitoring side learns about cluster routes without depending on
// the cluster module: the route subsystem registers a source per Server, and
// /routez, /varz and /metrics read it on demand (never per message).
import type { ConnectionActivity } from '../connection.js';
import type { Server } from '../server.js';

/** One route connection as /routez and /metrics describe it. */
export interface RouteSnapshot extends ConnectionActivity {
  rid: number;
  remoteId: string;
  remoteName: string;
  didSolicit: boolean;
  isConfigured: boolean;
  /** Subjects of the remote interest held for this route. */
  subscriptions: string[];
}

export interface RouteSource {
  routes(): RouteSnapshot[];
  /** Route connections closed as slow consumers so far. */
  slowConsumers(): number;
}

const sources = new WeakMap<Server, RouteSource>();

/** Called by the cluster subsystem once per server. */
export function registerRouteSource(server: Server, source: RouteSource): void {
  sources.set(server, source);
}

export function routeSource(server: Server): RouteSource | undefined {
  return sources.get(server);
}
