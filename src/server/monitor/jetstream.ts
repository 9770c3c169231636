// JetStream as monitoring sees it: /jsz, the /varz `jetstream` object, the
// JetStream part of /healthz and the tern_jetstream_* gauges. Everything is
// read from JetStream.jsz() on demand (never per message). The jetstream
// module is reached through a getter so that monitoring never loads it on a
// server without -js.
import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import type { Jsz } from '../../jetstream/manager.js';
import type { Server } from '../server.js';
import { rfc3339 } from './format.js';
import { scrapedCounter, scrapedGauge } from './scrape-metrics.js';
import { MonitorQueryError, boolParam, intParam, DEFAULT_LIMIT } from './params.js';
import type { JetStreamStats, JetStreamVarz, JsAccountDetail, JsConfigInfo, JsInfo, JsStreamDetail, HealthStatus } from './types.js';

/** What monitoring needs of a running JetStream (JetStream satisfies it). */
export interface JetStreamSource {
  jsz(): Jsz;
}

/** Returns the running JetStream of the server, or undefined (off, or stopped). */
export type JetStreamGetter = () => JetStreamSource | undefined;

const GLOBAL_ACCOUNT = '$G';
/** nats-server prints an unset (-1) account reservation as uint64: 2^64-1. */
export const U64_MAX = 2 ** 64;
const TB = 1024 ** 4;

/**
 * nats-server resolves unlimited (-1/0) JetStream limits at start: 75% of
 * the machine's memory, and 75% of the disk available under store_dir
 * (at most 1 TB). /jsz and /varz show the resolved numbers, so we do too.
 */
function resolvedConfig(j: Jsz, cache: Map<string, JsConfigInfo>): JsConfigInfo {
  const key = `${j.config.max_memory}|${j.config.max_storage}|${j.config.store_dir}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const storeDir = join(j.config.store_dir, 'jetstream');
  let maxMemory = j.config.max_memory;
  if (maxMemory <= 0) maxMemory = Math.floor(totalmem() * 0.75);
  let maxStorage = j.config.max_storage;
  if (maxStorage <= 0) {
    let avail = TB;
    try {
      const fs = statfsSync(j.config.store_dir);
      avail = Math.min(TB, fs.bavail * fs.bsize);
    } catch {
      // store_dir unreadable: nats-server falls back to its 1 TB default too.
    }
    maxStorage = Math.floor(avail * 0.75);
  }
  const out: JsConfigInfo = { max_memory: maxMemory, max_storage: maxStorage, store_dir: storeDir };
  cache.set(key, out);
  return out;
}

function stats(j: Pick<Jsz, 'memory' | 'storage' | 'api'>, accounts: number): JetStreamStats {
  return {
    memory: j.memory,
    storage: j.storage,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts,
    ha_assets: 0,
    api: { total: j.api.total, errors: j.api.errors },
  };
}

export class JetStreamMonitor {
  private readonly configCache = new Map<string, JsConfigInfo>();

  constructor(
    private readonly server: Server,
    private readonly js: JetStreamGetter,
  ) {}

  /** Whether JetStream is configured on (it may still be starting or stopped). */
  get configured(): boolean {
    return this.server.options.jetstream.enabled;
  }

  /** /varz `jetstream`: {} when off, {config, stats} when on (as nats-server 2.9). */
  varz(): JetStreamVarz {
    const j = this.js()?.jsz();
    if (!j) return {};
    return { config: resolvedConfig(j, this.configCache), stats: stats(j, 1) };
  }

  /** /jsz with nats-server's parameters and JSON shape (monitor.go Jsz). */
  jsz(q: URLSearchParams): JsInfo {
    const accountsOpt = boolParam(q, 'accounts');
    const streamsOpt = boolParam(q, 'streams');
    const consumersOpt = boolParam(q, 'consumers');
    const configOpt = boolParam(q, 'config');
    const offset = intParam(q, 'offset', 0);
    let limit = intParam(q, 'limit', 0);
    const leaderOnly = boolParam(q, 'leader-only');
    boolParam(q, 'raft'); // accepted: there is no Raft in a single Tern node
    const acc = q.get('acc') ?? '';
    if (limit === 0) limit = DEFAULT_LIMIT;
    // consumers implies streams implies accounts, as nats-server.
    const streams = streamsOpt || consumersOpt;
    const accounts = accountsOpt || streams;

    const now = new Date();
    const j = this.js()?.jsz();
    if (!j) {
      // A non-clustered server is its own leader; with JetStream off there is nothing to lead.
      if (leaderOnly) throw new MonitorQueryError('not leader');
      return {
        server_id: this.server.serverId,
        now: rfc3339(now),
        disabled: true,
        config: { max_memory: 0, max_storage: 0 },
        ...stats({ memory: 0, storage: 0, api: { total: 0, errors: 0 } }, 0),
        streams: 0,
        consumers: 0,
        messages: 0,
        bytes: 0,
      };
    }
    const out: JsInfo = {
      server_id: this.server.serverId,
      now: rfc3339(now),
      config: resolvedConfig(j, this.configCache),
      ...stats(j, 1),
      streams: j.streams,
      consumers: j.consumers,
      messages: j.messages,
      bytes: j.bytes,
    };
    // One account ($G); acc=$G selects it even without accounts=true, any other name selects nothing.
    let selected = acc === GLOBAL_ACCOUNT || (acc === '' && accounts) ? [GLOBAL_ACCOUNT] : [];
    if (acc !== GLOBAL_ACCOUNT && accounts) {
      selected = offset > 0 ? [GLOBAL_ACCOUNT].slice(offset) : [GLOBAL_ACCOUNT];
      selected = selected.slice(0, limit);
    }
    if (selected.length > 0) out.account_details = selected.map((name) => this.accountDetail(name, j, streams, consumersOpt, configOpt));
    return out;
  }

  private accountDetail(name: string, j: Jsz, streams: boolean, consumers: boolean, config: boolean): JsAccountDetail {
    const d: JsAccountDetail = {
      name,
      id: name,
      memory: j.memory,
      storage: j.storage,
      reserved_memory: U64_MAX,
      reserved_storage: U64_MAX,
      accounts: 0,
      ha_assets: 0,
      api: { total: j.api.total, errors: j.api.errors },
    };
    if (!streams || j.stream_details.length === 0) return d;
    d.stream_detail = j.stream_details.map((s): JsStreamDetail => {
      const sd: JsStreamDetail = { name: s.name, created: s.created, cluster: { leader: this.server.serverId } };
      if (config) sd.config = s.config;
      sd.state = s.state;
      if (consumers && s.consumers.length > 0) {
        sd.consumer_detail = s.consumers.map((c) => {
          if (config) return c;
          const { config: _omit, ...rest } = c;
          return rest;
        });
      }
      return sd;
    });
    return d;
  }

  /**
   * The JetStream part of /healthz (nats-server healthz): with JetStream on
   * it must be running; account/stream/consumer name an asset that must exist.
   */
  health(q: URLSearchParams): { code: number; body: HealthStatus } | null {
    const jsEnabled = boolParam(q, 'js-enabled');
    if (jsEnabled) this.server.logger.warn('Healthcheck: js-enabled deprecated, use js-enabled-only instead');
    const enabledOnly = boolParam(q, 'js-enabled-only') || jsEnabled;
    boolParam(q, 'js-server-only');
    boolParam(q, 'js-meta-only');
    const account = q.get('account') ?? '';
    const stream = q.get('stream') ?? '';
    const consumer = q.get('consumer') ?? '';
    if (account === '' && stream !== '') return unhealthy(400, 'error', '"account" must not be empty when checking stream health');
    if (stream === '' && consumer !== '') return unhealthy(400, 'error', '"stream" must not be empty when checking consumer health');
    if (!this.configured) return null;
    const js = this.js();
    if (!js) return unhealthy(503, 'unavailable', 'JetStream not enabled');
    if (enabledOnly || account === '') return null;
    if (account !== GLOBAL_ACCOUNT) return unhealthy(404, 'unavailable', `JetStream account ${JSON.stringify(account)} not found`);
    if (stream === '') return null;
    const s = js.jsz().stream_details.find((x) => x.name === stream);
    if (!s) return unhealthy(404, 'unavailable', `JetStream stream ${JSON.stringify(stream)} not found on account ${JSON.stringify(account)}`);
    if (consumer !== '' && !s.consumers.some((c) => c.name === consumer)) {
      return unhealthy(404, 'unavailable', `JetStream consumer ${JSON.stringify(consumer)} not found for stream ${JSON.stringify(stream)} on account ${JSON.stringify(account)}`);
    }
    return null;
  }

  /** tern_jetstream_* metrics, read from jsz() once per scrape. */
  register(registry: Registry): void {
    // One snapshot per scrape: the registry calls every collect() in the same
    // turn of the event loop, so the first computes it and it is dropped after that turn.
    let snap: { j: Jsz | undefined } | null = null;
    const current = (): Jsz | undefined => {
      if (snap === null) {
        snap = { j: this.js()?.jsz() };
        setImmediate(() => (snap = null));
      }
      return snap.j;
    };
    const gauge = (name: string, help: string, read: (j: Jsz) => number): void =>
      scrapedGauge(registry, name, help, () => {
        const j = current();
        return j ? read(j) : 0;
      });
    gauge('tern_jetstream_enabled', 'Whether JetStream is running (1) or not (0)', () => 1);
    gauge('tern_jetstream_streams', 'Streams', (j) => j.streams);
    gauge('tern_jetstream_consumers', 'Consumers of all streams', (j) => j.consumers);
    gauge('tern_jetstream_messages', 'Messages stored in all streams', (j) => j.messages);
    gauge('tern_jetstream_bytes', 'Bytes stored in all streams', (j) => j.bytes);
    gauge('tern_jetstream_memory_bytes', 'Bytes used by memory-storage streams', (j) => j.memory);
    gauge('tern_jetstream_storage_bytes', 'Bytes used by file-storage streams', (j) => j.storage);
    const counter = (name: string, help: string, read: (j: Jsz) => number): void =>
      scrapedCounter(registry, name, help, () => {
        const j = current();
        return j ? read(j) : undefined;
      });
    counter('tern_jetstream_api_requests_total', 'JetStream API requests ($JS.API.>) handled', (j) => j.api.total);
    counter('tern_jetstream_api_errors_total', 'JetStream API requests answered with an error', (j) => j.api.errors);

    const perStream = (name: string, help: string, read: (s: Jsz['stream_details'][number]) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['stream'],
        registers: [registry],
        collect() {
          this.reset();
          for (const s of current()?.stream_details ?? []) this.labels({ stream: s.name }).set(read(s));
        },
      });
    };
    perStream('tern_jetstream_stream_messages', 'Messages in a stream', (s) => s.state.messages);
    perStream('tern_jetstream_stream_bytes', 'Bytes in a stream', (s) => s.state.bytes);
    perStream('tern_jetstream_stream_consumers', 'Consumers of a stream', (s) => s.consumers.length);

    type ConsumerRow = Jsz['stream_details'][number]['consumers'][number];
    const perConsumer = (name: string, help: string, read: (c: ConsumerRow) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['stream', 'consumer'],
        registers: [registry],
        collect() {
          this.reset();
          for (const s of current()?.stream_details ?? []) for (const c of s.consumers) this.labels({ stream: s.name, consumer: c.name }).set(read(c));
        },
      });
    };
    perConsumer('tern_jetstream_consumer_num_pending', 'Messages not yet delivered to a consumer', (c) => c.num_pending);
    perConsumer('tern_jetstream_consumer_num_ack_pending', 'Messages delivered and awaiting an ack', (c) => c.num_ack_pending);
    perConsumer('tern_jetstream_consumer_num_redelivered', 'Messages delivered more than once and not yet acked', (c) => c.num_redelivered);
    perConsumer('tern_jetstream_consumer_num_waiting', 'Pull requests waiting', (c) => c.num_waiting);
    perConsumer('tern_jetstream_consumer_delivered_stream_seq', 'Last stream sequence delivered', (c) => c.delivered.stream_seq);
    perConsumer('tern_jetstream_consumer_ack_floor_stream_seq', 'Stream sequence up to which everything is acked', (c) => c.ack_floor.stream_seq);
  }
}

function unhealthy(code: number, status: HealthStatus['status'], error: string): { code: number; body: HealthStatus } {
  return { code, body: { status, error } };
}
