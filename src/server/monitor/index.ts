// Monitoring subsystem: attached by runServer (src/server/run.ts) when the
// module exists. Starts the HTTP listener only with -m/--http/http_port.
import type { ServerExtension } from '../run.js';
import { listenUrls, type Server } from '../server.js';
import { isLameDuck } from '../lame-duck.js';
import { onReload } from '../reload.js';
import { MonitorServer } from './http.js';
import { JetStreamMonitor, type JetStreamGetter } from './jetstream.js';
import { createMetricsRegistry } from './prometheus.js';

export { MonitorServer } from './http.js';
export { createMetricsRegistry } from './prometheus.js';
export { registerRouteSource, type RouteSnapshot, type RouteSource } from './routes.js';
export type * from './types.js';

const monitors = new WeakMap<Server, MonitorServer>();

/** The monitor of a server, if monitoring is on (reload uses it for config_load_time). */
export function monitorOf(server: Server): MonitorServer | undefined {
  return monitors.get(server);
}

/** Health for /healthz: null = ok, else the reason for a 503. */
export function healthProblem(server: Server): string | null {
  if (isLameDuck(server)) return 'lame duck mode';
  if (server.isShuttingDown) return 'server is shutting down';
  return null;
}

export async function attach(server: Server): Promise<ServerExtension> {
  if (server.options.httpPort === 0) return { close: async () => undefined };
  // Default process metrics once per process: tests may run several servers in one.
  const registry = createMetricsRegistry(server, { processMetrics: true });
  // Load the JetStream module only when it is configured (start-up time of plain servers).
  let jsGetter: JetStreamGetter = () => undefined;
  if (server.options.jetstream.enabled) {
    const { jetStreamOf } = await import('../../jetstream/index.js');
    jsGetter = () => jetStreamOf(server);
  }
  const jsMon = new JetStreamMonitor(server, jsGetter);
  if (jsMon.configured) jsMon.register(registry);
  const m = new MonitorServer(server, registry, () => healthProblem(server), jsMon);
  await m.start();
  monitors.set(server, m);
  onReload(server, () => (m.configLoadTime = new Date()));
  return {
    ports: { monitoring: listenUrls('http', server.options.httpHost, m.port) },
    close: () => m.close(),
  };
}
