// JetStream: owns the streams and consumers of the (single) account, recovers
// them from the store directory at start, serves $JS.API through JsApi, and
// persists stream/consumer metadata and consumer state.
//
// Layout under store_dir (as nats-server's): jetstream/$G/streams/<stream>/
// with meta.json, msgs/ (FileStore) and obs/<consumer>/{meta.json,state.json}.
// Memory streams and ephemeral consumers are not persisted.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AccountInfo, ConsumerConfig, ConsumerInfo, CreateConsumerRequest, StreamConfig, StreamInfo } from './api-types.js';
import { JsApi } from './api.js';
import { Consumer, type ConsumerHost } from './consumer.js';
import { checkConsumerUpdate, consumerFilters, normalizeConsumerConfig, sameConsumerConfig } from './consumer-config.js';
import { JsApiError, JsErr } from './errors.js';
import { Stream, storeLimitsOf, type StreamHost } from './stream.js';
import { checkStreamUpdate, isValidName, normalizeStreamConfig, sameStreamConfig } from './stream-config.js';
import { type JsTransport } from './transport.js';
import {
  ConsumerStateFile,
  FileStore,
  MemoryStore,
  consumerDir,
  listConsumers,
  listStreams,
  nowNs,
  streamDir,
  writeMeta,
  type ConsumerState,
  type StreamStore,
} from './store/mod.js';
import { subjectsOverlap } from '../server/subject.js';

export interface JetStreamConfig {
  /** The configured store_dir; data lives in <storeDir>/jetstream. */
  storeDir: string;
  /** -1 = unlimited. */
  maxMemory: number;
  maxStore: number;
  syncInterval: number | 'always';
  maxPayload: number;
  log?: (level: 'info' | 'warn' | 'error', line: string) => void;
}

interface ConsumerRecord {
  consumer: Consumer;
  state?: ConsumerStateFile;
}

/** Data for /jsz and /metrics. */
export interface JszStream {
  name: string;
  created: string;
  config: StreamConfig;
  state: StreamInfo['state'];
  consumers: ConsumerInfo[];
}

export interface Jsz {
  config: { max_memory: number; max_storage: number; store_dir: string; sync_interval: number | 'always' };
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  api: { total: number; errors: number };
  stream_details: JszStream[];
}

const ts = (): bigint => nowNs();

export class JetStream {
  private readonly streams = new Map<string, Stream>();
  private readonly consumerRecords = new WeakMap<Consumer, ConsumerRecord>();
  readonly api = new JsApi(this);
  private apiSub: unknown;
  /**
   * Set by the cluster layer (cluster.ts): sees every $JS.API request first
   * and returns true when it answers or forwards it itself.
   */
  apiInterceptor: ((subject: string, reply: string, hdr: Buffer | null, payload: Buffer) => boolean) | undefined;
  /** Called after a stream was created, updated (subjects) or deleted. */
  onStreamsChanged: (() => void) | undefined;
  private readonly root: string;
  private readonly streamHost: StreamHost;
  private readonly consumerHost: ConsumerHost;

  constructor(
    private readonly transport: JsTransport,
    readonly config: JetStreamConfig,
  ) {
    this.root = join(config.storeDir, 'jetstream', '$G', 'streams');
    this.streamHost = {
      transport,
      maxPayload: config.maxPayload,
      saveMeta: (s) => this.saveStreamMeta(s),
      warn: (line) => this.log('warn', line),
    };
    this.consumerHost = {
      transport,
      saveState: (c) => this.saveConsumerState(c),
      removeInactive: (c) => {
        void this.deleteConsumer(c.stream.name, c.name).catch((err: unknown) => {
          this.log('warn', `JetStream: could not remove inactive consumer ${c.stream.name} > ${c.name}: ${err instanceof Error ? err.message : String(err)}`);
        });
      },
    };
  }

  private log(level: 'info' | 'warn' | 'error', line: string): void {
    this.config.log?.(level, line);
  }

  // ---- lifecycle ------------------------------------------------------------

  async start(): Promise<void> {
    mkdirSync(this.root, { recursive: true });
    this.recover();
    // Local only: in a cluster every node has this handler, and only the
    // node the client is on may take the request (it forwards to the owner).
    this.apiSub = this.transport.subscribe(
      '$JS.API.>',
      null,
      (subject, reply, hdr, payload) => {
        if (this.apiInterceptor?.(subject, reply, hdr, payload)) return;
        this.handleLocalApi(subject, reply, Buffer.from(payload));
      },
      { localOnly: true },
    );
  }

  /** Serve one $JS.API request from this node's own streams and consumers. */
  handleLocalApi(subject: string, reply: string, payload: Buffer): void {
    const NEXT = '$JS.API.CONSUMER.MSG.NEXT.';
    if (subject.startsWith(NEXT)) {
      const [stream, consumer] = subject.slice(NEXT.length).split('.');
      const c = stream && consumer ? this.streams.get(stream)?.consumers.get(consumer) : undefined;
      // nats-server ignores pulls for unknown consumers: the client times out.
      if (c) c.processPullRequest(reply, payload);
      return;
    }
    // Direct gets are answered by the streams' own subscriptions.
    if (!reply || subject.startsWith('$JS.API.DIRECT.GET.')) return;
    void this.api.handle(subject, payload).then((body) => {
      if (body) this.transport.publish(reply, '', null, Buffer.from(JSON.stringify(body)));
    });
  }

  private recover(): void {
    const listing = listStreams<{ config: StreamConfig; created: string }>(this.root);
    for (const p of listing.problems) this.log('warn', `JetStream: ${p}`);
    for (const entry of listing.entries) {
      try {
        const meta = entry.meta as unknown as { config: StreamConfig; created: string };
        const cfg = normalizeStreamConfig(meta.config);
        const store = FileStore.open({
          dir: entry.dir,
          limits: storeLimitsOf(cfg),
          firstSeq: cfg.first_seq,
          sync: this.config.syncInterval,
          log: (line) => this.log('warn', line),
        });
        const stream = new Stream(this.streamHost, cfg, rfcToNs(meta.created), store);
        this.streams.set(cfg.name, stream);
        const cl = listConsumers<ConsumerConfig>(entry.dir);
        for (const p of cl.problems) this.log('warn', `JetStream: ${p}`);
        for (const ce of cl.entries) {
          const c = new Consumer(this.consumerHost, stream, ce.name, ce.meta.config, rfcToNs(ce.meta.created), true);
          const stateFile = new ConsumerStateFile(ce.dir, { durable: false });
          const st = stateFile.load();
          if (st) c.restore(fromStoreState(st));
          else c.selectStart();
          stream.consumers.set(ce.name, c);
          this.consumerRecords.set(c, { consumer: c, state: stateFile });
        }
        stream.start();
        for (const c of stream.consumers.values()) c.start();
        const st = store.state();
        this.log('info', `  Restored ${st.messages} messages for stream '$G > ${cfg.name}'`);
      } catch (err) {
        this.log('error', `JetStream: could not recover stream in ${entry.dir}: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.apiSub !== undefined) this.transport.unsubscribe(this.apiSub);
    for (const s of this.streams.values()) await s.stop();
    this.streams.clear();
  }

  // ---- streams --------------------------------------------------------------

  stream(name: string): Stream {
    const s = this.streams.get(name);
    if (!s) throw JsErr.streamNotFound();
    return s;
  }

  hasStream(name: string): boolean {
    return this.streams.has(name);
  }

  /** Name and subjects of every stream this node holds (what a cluster announces). */
  localStreams(): Array<{ name: string; subjects: string[] }> {
    return [...this.streams.values()].map((s) => ({ name: s.name, subjects: [...(s.config.subjects ?? [])] }));
  }

  streamNames(subject?: string): string[] {
    const names: string[] = [];
    for (const s of this.streams.values()) {
      if (subject && !(s.config.subjects ?? []).some((x) => subjectsOverlap(x, subject))) continue;
      names.push(s.name);
    }
    return names.sort();
  }

  async createStream(name: string, body: unknown): Promise<{ info: StreamInfo; didCreate: boolean }> {
    const req = body as Record<string, unknown> | undefined;
    if (req && typeof req.name === 'string' && req.name !== '' && req.name !== name) throw JsErr.streamMismatch();
    const cfg = normalizeStreamConfig({ ...req, name: req?.name || name });
    if (cfg.name !== name) throw JsErr.streamMismatch();
    const existing = this.streams.get(name);
    if (existing) {
      if (!sameStreamConfig(existing.config, cfg)) throw JsErr.streamNameExist();
      return { info: existing.info(), didCreate: true };
    }
    this.checkOverlap(cfg, undefined);
    this.checkResources(cfg);
    let store: StreamStore;
    if (cfg.storage === 'memory') {
      store = new MemoryStore({ limits: storeLimitsOf(cfg), firstSeq: cfg.first_seq });
    } else {
      const dir = streamDir(this.root, name);
      rmSync(dir, { recursive: true, force: true });
      store = FileStore.open({ dir, limits: storeLimitsOf(cfg), firstSeq: cfg.first_seq, sync: this.config.syncInterval, log: (l) => this.log('warn', l) });
    }
    const stream = new Stream(this.streamHost, cfg, ts(), store);
    this.saveStreamMeta(stream);
    this.streams.set(name, stream);
    stream.start();
    this.onStreamsChanged?.();
    return { info: stream.info(), didCreate: true };
  }

  private checkOverlap(cfg: StreamConfig, self: string | undefined): void {
    for (const s of this.streams.values()) {
      if (s.name === self) continue;
      for (const a of s.config.subjects ?? []) {
        for (const b of cfg.subjects ?? []) if (subjectsOverlap(a, b)) throw JsErr.streamSubjectOverlap();
      }
    }
  }

  private checkResources(cfg: StreamConfig): void {
    const limit = cfg.storage === 'memory' ? this.config.maxMemory : this.config.maxStore;
    if (limit < 0 || cfg.max_bytes < 0) return;
    let reserved = 0;
    for (const s of this.streams.values()) if (s.config.storage === cfg.storage && s.config.max_bytes > 0) reserved += s.config.max_bytes;
    if (reserved + cfg.max_bytes > limit) throw new JsApiError(500, 10047, 'insufficient storage resources available');
  }

  async updateStream(name: string, body: unknown): Promise<StreamInfo> {
    const stream = this.stream(name);
    const req = body as Record<string, unknown> | undefined;
    if (req && typeof req.name === 'string' && req.name !== '' && req.name !== name) throw JsErr.streamMismatch();
    const cfg = normalizeStreamConfig({ ...req, name });
    checkStreamUpdate(stream.config, cfg);
    this.checkOverlap(cfg, name);
    stream.update(cfg);
    this.onStreamsChanged?.();
    return stream.info();
  }

  async deleteStream(name: string): Promise<void> {
    const stream = this.stream(name);
    this.streams.delete(name);
    this.onStreamsChanged?.();
    await stream.delete();
    if (stream.config.storage === 'file') rmSync(streamDir(this.root, name), { recursive: true, force: true });
  }

  private saveStreamMeta(s: Stream): void {
    if (s.config.storage !== 'file') return;
    writeMeta(streamDir(this.root, s.name), { config: s.config, created: nsToRfc(s.created) });
  }

  // ---- consumers ------------------------------------------------------------

  consumer(stream: string, name: string): Consumer {
    const c = this.stream(stream).consumers.get(name);
    if (!c) throw JsErr.consumerNotFound();
    return c;
  }

  async createConsumer(
    streamName: string,
    req: CreateConsumerRequest,
    how: { mode: 'ephemeral' | 'named' | 'durable'; name?: string; filter?: string },
  ): Promise<ConsumerInfo> {
    if (req.stream_name !== undefined && req.stream_name !== streamName) throw JsErr.streamMismatch();
    const stream = this.stream(streamName);
    const raw = req.config as Record<string, unknown> | undefined;
    if (!raw) throw JsErr.consumerConfigRequired();
    const durableName = typeof raw.durable_name === 'string' && raw.durable_name !== '' ? raw.durable_name : undefined;
    if (how.mode === 'ephemeral' && durableName) throw JsErr.consumerEphemeralWithDurableName();
    if (how.mode === 'durable') {
      if (!durableName) throw JsErr.consumerDurableNameNotSet();
      if (durableName !== how.name) throw JsErr.consumerDurableNameNotMatchSubject();
    }
    let cfgIn: Record<string, unknown> = { ...raw };
    if (how.mode === 'named') {
      if (durableName && durableName !== how.name) throw JsErr.consumerDurableNameNotMatchSubject();
      const cfgName = typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
      if (cfgName && cfgName !== how.name) throw JsErr.consumerCreateDurableAndNameMismatch();
      if (how.filter !== undefined) {
        const fs = Array.isArray(raw.filter_subjects) ? raw.filter_subjects : [];
        if (fs.length > 1) throw JsErr.consumerMultipleFiltersNotAllowed();
        const f = typeof raw.filter_subject === 'string' && raw.filter_subject !== '' ? raw.filter_subject : fs[0];
        if (f !== how.filter) throw JsErr.consumerCreateFilterSubjectMismatch();
      }
      cfgIn = { ...cfgIn, name: how.name };
    }
    const cfg = normalizeConsumerConfig(cfgIn, stream.config);
    const name = how.name ?? cfg.durable_name ?? cfg.name ?? randomName();
    if (!isValidName(name)) throw JsErr.consumerBadDurableName();
    const durable = cfg.durable_name !== undefined;
    const action = req.action ?? '';
    const existing = stream.consumers.get(name);
    if (existing) {
      if (action === 'create' && !sameConsumerConfig(existing.config, cfg)) throw JsErr.consumerAlreadyExists();
      if (!sameConsumerConfig(existing.config, cfg)) {
        checkConsumerUpdate(existing.config, cfg);
        existing.updateConfig(cfg);
        this.saveConsumerMeta(existing);
      }
      return existing.info();
    }
    if (action === 'update') throw JsErr.consumerDoesNotExist();
    if (stream.config.max_consumers > 0 && stream.consumers.size >= stream.config.max_consumers) throw JsErr.maximumConsumersLimit();
    if (stream.config.retention === 'workqueue') this.checkWorkQueue(stream, cfg);
    const c = new Consumer(this.consumerHost, stream, name, cfg, ts(), durable);
    c.selectStart();
    stream.consumers.set(name, c);
    const persist = durable && stream.config.storage === 'file';
    this.consumerRecords.set(c, {
      consumer: c,
      state: persist ? new ConsumerStateFile(consumerDir(streamDir(this.root, stream.name), name), { durable: false }) : undefined,
    });
    if (persist) {
      this.saveConsumerMeta(c);
      await this.saveConsumerState(c);
    }
    c.start();
    return c.info();
  }

  /** Workqueue streams: one consumer per subject, explicit ack, deliver all (nats-server's rules). */
  private checkWorkQueue(stream: Stream, cfg: ConsumerConfig): void {
    if (cfg.ack_policy !== 'explicit') throw JsErr.consumerWqRequiresExplicitAck();
    if (cfg.deliver_policy !== 'all') throw JsErr.consumerWqConsumerNotDeliverAll();
    const mine = consumerFilters(cfg);
    for (const other of stream.consumers.values()) {
      const theirs = consumerFilters(other.config);
      if (mine.length === 0 || theirs.length === 0) {
        if (mine.length === 0 && theirs.length === 0) throw JsErr.consumerWqMultipleUnfiltered();
        throw JsErr.consumerWqConsumerNotUnique();
      }
      for (const a of mine) for (const b of theirs) if (subjectsOverlap(a, b)) throw JsErr.consumerWqConsumerNotUnique();
    }
  }

  async deleteConsumer(streamName: string, name: string): Promise<void> {
    const stream = this.stream(streamName);
    const c = stream.consumers.get(name);
    if (!c) throw JsErr.consumerNotFound();
    stream.consumers.delete(name);
    await c.delete(true);
    const rec = this.consumerRecords.get(c);
    if (rec?.state) await rec.state.delete();
    stream.recheckInterest();
  }

  private saveConsumerMeta(c: Consumer): void {
    const rec = this.consumerRecords.get(c);
    if (!rec?.state) return;
    writeMeta(rec.state.dir, { config: c.config, created: nsToRfc(c.created) }, false);
  }

  private saveConsumerState(c: Consumer): Promise<void> | undefined {
    const rec = this.consumerRecords.get(c);
    if (!rec?.state) return undefined;
    return rec.state.save(toStoreState(c)).catch((err: Error) => {
      this.log('error', `JetStream: saving state of consumer ${c.stream.name} > ${c.name}: ${err.message}`);
    });
  }

  // ---- account info & monitoring ------------------------------------------------

  accountInfo(): AccountInfo & { api: { total: number; errors: number } } {
    let memory = 0;
    let storage = 0;
    let consumers = 0;
    for (const s of this.streams.values()) {
      const st = s.store.state();
      if (s.config.storage === 'memory') memory += st.bytes;
      else storage += st.bytes;
      consumers += s.consumers.size;
    }
    return {
      memory,
      storage,
      streams: this.streams.size,
      consumers,
      limits: {
        max_memory: this.config.maxMemory,
        max_storage: this.config.maxStore,
        max_streams: -1,
        max_consumers: -1,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        storage_max_stream_bytes: -1,
        max_bytes_required: false,
      },
      api: { total: this.api.total, errors: this.api.errors },
    };
  }

  /** Everything /jsz and /metrics need, computed on demand. */
  jsz(): Jsz {
    const ai = this.accountInfo();
    let messages = 0;
    let bytes = 0;
    const details: JszStream[] = [];
    for (const s of this.streams.values()) {
      const info = s.info();
      messages += info.state.messages;
      bytes += info.state.bytes;
      details.push({
        name: s.name,
        created: info.created,
        config: info.config,
        state: info.state,
        consumers: [...s.consumers.values()].map((c) => c.info()),
      });
    }
    return {
      config: { max_memory: this.config.maxMemory, max_storage: this.config.maxStore, store_dir: this.config.storeDir, sync_interval: this.config.syncInterval },
      memory: ai.memory,
      storage: ai.storage,
      streams: ai.streams,
      consumers: ai.consumers,
      messages,
      bytes,
      api: ai.api,
      stream_details: details,
    };
  }
}

function randomName(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const b = randomBytes(8);
  let s = '';
  for (const x of b) s += alphabet[x % alphabet.length];
  return s;
}

function nsToRfc(ns: bigint): string {
  // Keep full precision: the stored string is parsed back by rfcToNs.
  const ms = ns / 1_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${frac}Z`;
}

function rfcToNs(s: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (!m) return BigInt(Date.parse(s) || 0) * 1_000_000n;
  const secs = BigInt(Date.parse(`${m[1]}Z`)) / 1000n;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
  return secs * 1_000_000_000n + frac;
}

function toStoreState(c: Consumer): ConsumerState {
  const s = c.persistedState();
  const pending = new Map<number, { consumer_seq: number; timestamp: number; deliveries: number }>();
  const redelivered = new Map<number, number>();
  for (const [sseq, cseq, dc, t] of s.pending) {
    pending.set(sseq, { consumer_seq: cseq, timestamp: Number(BigInt(t) / 1_000_000n), deliveries: dc });
    if (dc > 1) redelivered.set(sseq, dc);
  }
  return {
    delivered: { consumer_seq: s.dseq - 1, stream_seq: s.sseq - 1 },
    ack_floor: { consumer_seq: s.ackFloor.cseq, stream_seq: s.ackFloor.sseq },
    pending,
    redelivered,
  };
}

function fromStoreState(st: ConsumerState): Parameters<Consumer['restore']>[0] {
  const pending: Array<[number, number, number, string]> = [];
  for (const [sseq, p] of st.pending) pending.push([sseq, p.consumer_seq, p.deliveries, (BigInt(p.timestamp) * 1_000_000n).toString()]);
  pending.sort((a, b) => a[0] - b[0]);
  return {
    dseq: st.delivered.consumer_seq + 1,
    sseq: st.delivered.stream_seq + 1,
    ackFloor: { cseq: st.ack_floor.consumer_seq, sseq: st.ack_floor.stream_seq },
    pending,
  };
}
