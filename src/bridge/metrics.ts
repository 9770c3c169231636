// The bridge's Prometheus metrics (one Registry per bridge instance, so tests can run
// several) and the HTTP endpoints /metrics and /healthz.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';

export class BridgeMetrics {
  readonly registry = new client.Registry();
  readonly received: client.Counter<'mapping'>;
  readonly published: client.Counter<'mapping' | 'guarantee'>;
  readonly acked: client.Counter<'mapping'>;
  readonly duplicates: client.Counter<'mapping'>;
  readonly retries: client.Counter<'mapping' | 'reason'>;
  readonly deadLettered: client.Counter<'mapping' | 'reason'>;
  readonly parked: client.Counter<'mapping'>;
  readonly parkFailures: client.Counter<'mapping'>;
  readonly inflight: client.Gauge<'mapping'>;
  readonly latency: LatencyHistogram;
  readonly connectionUp: client.Gauge<'connection'>;
  readonly reconnects: client.Counter<'connection'>;
  readonly queueDepth: client.Gauge<'mapping' | 'queue'>;
  readonly kafkaLag: client.Gauge<'mapping' | 'topic' | 'partition'>;

  constructor() {
    const r = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'tern_bridge_process_' });
    this.received = new client.Counter({ name: 'tern_bridge_messages_received_total', help: 'messages received from sources', labelNames: ['mapping'], registers: r });
    this.published = new client.Counter({
      name: 'tern_bridge_messages_published_total',
      help: 'messages confirmed by the target; guarantee="at-most-once" for core subjects (flush only)',
      labelNames: ['mapping', 'guarantee'],
      registers: r,
    });
    this.acked = new client.Counter({ name: 'tern_bridge_messages_acked_total', help: 'messages acked/committed at the source', labelNames: ['mapping'], registers: r });
    this.duplicates = new client.Counter({ name: 'tern_bridge_duplicates_dropped_total', help: 'publishes the stream dropped as duplicates (PubAck.duplicate)', labelNames: ['mapping'], registers: r });
    this.retries = new client.Counter({ name: 'tern_bridge_retries_total', help: 'publish retries', labelNames: ['mapping', 'reason'], registers: r });
    this.deadLettered = new client.Counter({ name: 'tern_bridge_dead_lettered_total', help: 'messages sent to the dead-letter subject', labelNames: ['mapping', 'reason'], registers: r });
    this.parked = new client.Counter({
      name: 'tern_bridge_parked_total',
      help: 'oversized messages copied to the source-side parking place (confirmed) before their ack',
      labelNames: ['mapping'],
      registers: r,
    });
    this.parkFailures = new client.Counter({
      name: 'tern_bridge_park_failures_total',
      help: 'failed parking attempts; the message stays unacked at the source and is retried',
      labelNames: ['mapping'],
      registers: r,
    });
    this.inflight = new client.Gauge({ name: 'tern_bridge_inflight', help: 'messages received and not yet acked at the source', labelNames: ['mapping'], registers: r });
    this.latency = new LatencyHistogram(
      'tern_bridge_end_to_end_latency_seconds',
      'from receipt at the bridge to target confirmation',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      r,
    );
    this.connectionUp = new client.Gauge({ name: 'tern_bridge_connection_up', help: '1 when the connection is up', labelNames: ['connection'], registers: r });
    this.reconnects = new client.Counter({ name: 'tern_bridge_reconnects_total', help: 'reconnect attempts', labelNames: ['connection'], registers: r });
    this.queueDepth = new client.Gauge({
      name: 'tern_bridge_rabbitmq_queue_depth',
      help: 'ready messages in the consumed RabbitMQ queue',
      labelNames: ['mapping', 'queue'],
      registers: r,
    });
    this.kafkaLag = new client.Gauge({ name: 'tern_bridge_kafka_lag', help: 'high watermark minus committed offset', labelNames: ['mapping', 'topic', 'partition'], registers: r });
  }
}

/** One label set's observations: bucket counts (not cumulative), sum and count. */
export class LatencySeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += seconds;
    this.count++;
  }
}

/**
 * The end-to-end latency histogram with the exposition of prom-client's Histogram (same
 * name, type, buckets, _sum and _count lines). prom-client's observe() hashes the label
 * object on every call, once per message on the bridge's hot path; here a runner holds its
 * series and observe is a bucket scan and three additions.
 */
export class LatencyHistogram {
  /** As prom-client reports it at run time (its MetricType enum exists in the typings only). */
  readonly type = 'histogram';
  readonly aggregator: client.Aggregator = 'sum';
  private readonly series = new Map<string, LatencySeries>();
  private readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registers: readonly client.Registry[],
  ) {
    this.bounds = [...buckets];
    // The Registry needs only name, get() and reset(); its typings list prom-client's classes.
    for (const r of registers) r.registerMetric(this as unknown as client.Metric);
  }

  /** The series of one mapping (created on first use, reported after its first observation). */
  for(labels: { mapping: string }): LatencySeries {
    let s = this.series.get(labels.mapping);
    if (!s) this.series.set(labels.mapping, (s = new LatencySeries(this.bounds)));
    return s;
  }

  observe(labels: { mapping: string }, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    this.for(labels).observe(seconds);
  }

  reset(): void {
    this.series.clear();
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: client.Aggregator; values: Array<client.MetricValueWithName<'mapping' | 'le'>> }> {
    const values: Array<client.MetricValueWithName<'mapping' | 'le'>> = [];
    const bucketName = `${this.name}_bucket`;
    for (const [mapping, s] of this.series) {
      if (s.count === 0) continue; // as prom-client: no lines before the first observation
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ value: acc, metricName: bucketName, labels: { le: this.bounds[i]!, mapping } });
      }
      values.push({ value: s.count, metricName: bucketName, labels: { le: '+Inf', mapping } });
      values.push({ value: s.sum, metricName: `${this.name}_sum`, labels: { mapping } });
      values.push({ value: s.count, metricName: `${this.name}_count`, labels: { mapping } });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export interface HealthReport {
  readonly ok: boolean;
  readonly detail: Record<string, unknown>;
}

/** Serve /metrics and /healthz on host:port (port 0 = any free port). */
export async function startHttp(metrics: BridgeMetrics, health: () => HealthReport, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.setHeader('Content-Type', metrics.registry.contentType);
          res.end(text);
        },
        (e: Error) => {
          res.statusCode = 500;
          res.end(e.message);
        },
      );
    } else if (path === '/healthz') {
      const h = health();
      res.statusCode = h.ok ? 200 : 503;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail }));
    } else {
      res.statusCode = 404;
      res.end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
