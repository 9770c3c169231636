// /metrics: a prom-client Registry per Server. Every value is read from the
// server's plain counters at scrape time (collect callbacks); nothing here
// runs per message. Names follow Prometheus conventions: tern_ prefix,
// _total for counters, base units (bytes, seconds).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';
import type { Server } from '../server.js';
import type { SizeHistogram } from '../size-histogram.js';
import { routeSource } from './routes.js';
import { scrapedCounter, scrapedGauge } from './scrape-metrics.js';

/** A prom-client Histogram whose buckets come from a SizeHistogram filled on the hot path. */
class ExternalHistogram extends Histogram<string> {
  constructor(
    private readonly source: SizeHistogram,
    private readonly metricName: string,
    private readonly metricHelp: string,
    registry: Registry,
  ) {
    super({ name: metricName, help: metricHelp, buckets: [...source.bounds], registers: [registry] });
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const s = this.source;
    const values: MetricValueWithName<string>[] = [];
    let acc = 0;
    for (let i = 0; i < s.bounds.length; i++) {
      acc += s.counts[i]!;
      values.push({ metricName: `${this.metricName}_bucket`, labels: { le: s.bounds[i]! }, value: acc });
    }
    values.push({ metricName: `${this.metricName}_bucket`, labels: { le: '+Inf' }, value: s.count });
    values.push({ metricName: `${this.metricName}_sum`, labels: {}, value: s.sum });
    values.push({ metricName: `${this.metricName}_count`, labels: {}, value: s.count });
    // 'histogram' is MetricType.Histogram; the enum exists only in prom-client's typings.
    return { name: this.metricName, help: this.metricHelp, type: 'histogram' as unknown as MetricType, values, aggregator: 'sum', collect: () => undefined };
  }

  /** The registry's text exposition uses this when present (prom-client 15). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.get();
  }
}

export interface MetricsOptions {
  /** Include process_* and nodejs_* default metrics (one registry per process should do this). */
  processMetrics: boolean;
}

/** Build the registry for one server. */
export function createMetricsRegistry(server: Server, opts: MetricsOptions): Registry {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  const st = server.stats;
  const counter = (name: string, help: string, read: () => number): void => scrapedCounter(registry, name, help, read);
  const gauge = (name: string, help: string, read: () => number): void => scrapedGauge(registry, name, help, read);

  new Gauge({
    name: 'tern_info',
    help: 'Server identity (value is always 1)',
    labelNames: ['server_id', 'server_name', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      this.labels({ server_id: server.serverId, server_name: server.serverName, version: server.info().version }).set(1);
    },
  });
  gauge('tern_start_time_seconds', 'Start time of the server since the Unix epoch', () => server.startTime.getTime() / 1000);
  gauge('tern_connections', 'Client connections currently open', () => server.clients.size);
  counter('tern_connections_total', 'Client connections accepted since start', () => st.totalConnections);
  gauge('tern_subscriptions', 'Subscriptions in the subject index (clients, routes and internal)', () => server.sublist.count);
  counter('tern_in_msgs_total', 'Messages received from clients and routes', () => st.inMsgs);
  counter('tern_in_bytes_total', 'Payload bytes received from clients and routes', () => st.inBytes);
  counter('tern_out_msgs_total', 'Messages delivered to subscribers', () => st.outMsgs);
  counter('tern_out_bytes_total', 'Payload bytes delivered to subscribers', () => st.outBytes);
  counter('tern_out_written_bytes_total', 'Bytes handed to client sockets, protocol included', () => st.outBytesWritten);
  counter('tern_stale_connections_total', 'Connections closed for missing PONGs', () => st.staleConnections);

  new Counter({
    name: 'tern_slow_consumers_total',
    help: 'Connections closed as slow consumers, by connection kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      this.labels({ kind: 'client' }).inc(st.slowConsumers);
      this.labels({ kind: 'route' }).inc(routeSource(server)?.slowConsumers() ?? 0);
    },
  });

  gauge('tern_routes', 'Route connections currently open', () => routeSource(server)?.routes().length ?? 0);
  const routeCounter = (name: string, help: string, read: (r: { inMsgs: number; outMsgs: number; inBytes: number; outBytes: number }) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['remote_id', 'remote_name'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of routeSource(server)?.routes() ?? []) this.labels({ remote_id: r.remoteId, remote_name: r.remoteName }).inc(read(r));
      },
    });
  };
  routeCounter('tern_route_in_msgs_total', 'Messages received from a route', (r) => r.inMsgs);
  routeCounter('tern_route_out_msgs_total', 'Messages sent to a route', (r) => r.outMsgs);
  routeCounter('tern_route_in_bytes_total', 'Payload bytes received from a route', (r) => r.inBytes);
  routeCounter('tern_route_out_bytes_total', 'Payload bytes sent to a route', (r) => r.outBytes);

  new ExternalHistogram(server.flushSizes, 'tern_outbound_flush_bytes', 'Bytes per outbound socket flush (one write per connection per batch)', registry);
  return registry;
}
