// Assembly: config -> connections -> mappings -> target -> preflight -> metrics/http ->
// sources. `startBridge` is what `tern bridge` runs and what tests start in-process.
import type { Server } from 'node:http';
import { loadBridgeConfig, resolveConnections, type BridgeConfig, type LoadOptions } from './config.js';
import { BridgeEngine, MappingRunner } from './engine.js';
import { Logger } from './log.js';
import { loadMappings, type ConnectionEntry, type Mapping } from './mapping.js';
import { BridgeMetrics, boundPort, startHttp } from './metrics.js';
import { preflight } from './preflight.js';
import { NatsTarget } from './target.js';

export interface RunningBridge {
  readonly config: BridgeConfig;
  readonly mappings: readonly Mapping[];
  readonly engine: BridgeEngine;
  readonly metrics: BridgeMetrics;
  /** Port of /metrics and /healthz, or undefined when disabled. */
  readonly httpPort: number | undefined;
  /** Graceful stop (what SIGTERM does). */
  stop(): Promise<void>;
}

export interface StartOptions extends LoadOptions {
  /** Use this config instead of loading one. */
  config?: BridgeConfig;
  /** Log sink (tests capture logs); default stderr. */
  logWrite?: (line: string) => void;
  /** Fail at start if a source cannot connect (default true). */
  failFast?: boolean;
}

export async function loadAll(opts: StartOptions): Promise<{ config: BridgeConfig; mappings: Mapping[]; connections: Map<string, ConnectionEntry> }> {
  const config = opts.config ?? loadBridgeConfig(opts);
  const connections = await resolveConnections(config, opts.env ?? process.env);
  const mappings = loadMappings(config.mappings, connections, { retry: config.retry });
  if (mappings.length === 0) throw new Error(`no mappings found in ${config.mappings}`);
  return { config, mappings, connections };
}

export async function startBridge(opts: StartOptions = {}): Promise<RunningBridge> {
  const { config, mappings, connections } = await loadAll(opts);
  const log = new Logger(config.logLevel, { component: 'bridge' }, opts.logWrite);
  const target = new NatsTarget({ ...config.target });
  await target.connect();
  let http: Server | undefined;
  try {
    await preflight(target.connection, mappings, config.preflight.redeliveryHorizonMs, log);
  } catch (e) {
    await target.close();
    throw e;
  }
  const metrics = new BridgeMetrics();
  const engine = new BridgeEngine(target, metrics, { shutdownTimeoutMs: config.shutdownTimeoutMs, stallAfterMs: config.health.stallAfterMs }, log);
  for (const m of mappings) {
    const conn = connections.get(m.connectionName)!;
    const source = m.connector.createSource({
      connectionName: m.connectionName,
      connection: conn.value,
      source: m.source,
      mappingName: m.name,
      parking: m.parking,
      options: { window: config.window, reconnect: config.reconnect, failFast: opts.failFast ?? true },
    });
    engine.add(new MappingRunner(m, source, engine, log.child({ mapping: m.name, connection: m.connectionName })));
  }
  if (config.metrics.port >= 0) http = await startHttp(metrics, () => engine.health(), config.metrics.host, config.metrics.port);
  // Queue depth / lag for metrics and health, polled off the hot path.
  const pollStats = async (): Promise<void> => {
    for (const r of engine.runners) {
      try {
        const s = await r.source.stats();
        let backlog = 0;
        for (const q of s.queueDepth ?? []) {
          metrics.queueDepth.set({ mapping: r.mapping.name, queue: q.queue }, q.messages);
          backlog += q.messages;
        }
        for (const l of s.lag ?? []) {
          metrics.kafkaLag.set({ mapping: r.mapping.name, topic: l.topic, partition: String(l.partition) }, l.lag);
          backlog += l.lag;
        }
        r.backlog = backlog;
      } catch {
        // disconnected: keep the last value; the connection gauge tells the story
      }
    }
  };
  const statsTimer = setInterval(() => void pollStats(), config.health.statsIntervalMs);
  statsTimer.unref();
  try {
    for (const r of engine.runners) await r.source.start(r);
  } catch (e) {
    clearInterval(statsTimer);
    await engine.stop();
    http?.close();
    throw e;
  }
  log.info('bridge started', { mappings: mappings.map((m) => m.name), target: config.target.servers, httpPort: http ? boundPort(http) : undefined });
  let stopping: Promise<void> | undefined;
  return {
    config,
    mappings,
    engine,
    metrics,
    httpPort: http ? boundPort(http) : undefined,
    stop: () =>
      (stopping ??= (async () => {
        log.info('bridge stopping: draining in-flight messages');
        clearInterval(statsTimer);
        await engine.stop();
        await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
        log.info('bridge stopped');
      })()),
  };
}
