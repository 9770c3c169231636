// The bridge engine: per mapping, per ordering lane, pipelined publishing with in-order
// completion, source acks only after target confirmation, retries, dead-lettering, and
// pausing the sources while the target is unreachable.
//
// A lane is an array of entries in push order. Every entry is published as soon as it is
// pushed (many PubAcks outstanding). When the head of the lane is confirmed, the head
// advances over every confirmed entry and the source gets one ack for the last of them
// (AckTracker-style contiguous prefix). A failed entry keeps its place: nothing after it is
// acked until it is confirmed or dead-lettered, so a crash at any point loses nothing;
// the redelivered messages carry the same Nats-Msg-Id and the stream drops the copies.
import { createHash } from 'node:crypto';
import type { HeaderEntry, ParkedLocation, SourceConnector, SourceMessage, SourceSink } from './connector.js';
import type { Logger } from './log.js';
import type { Mapping } from './mapping.js';
import type { BridgeMetrics, LatencySeries } from './metrics.js';
import { MissingTokenError, renderTemplate } from './template.js';
import { isReserved, subjectProblem } from './subject.js';
import { PublishError, type NatsTarget, type PubAckInfo, type PublishWaiter } from './target.js';

/** queued: pushed this turn, published by the next flushTick (see MappingRunner.toSend). */
type EntryState = 'queued' | 'inflight' | 'failed' | 'done';

/** One message on its lane; it is also the target's completion handle (no closure per publish). */
class Entry implements PublishWaiter {
  subject = '';
  headers: readonly HeaderEntry[];
  msgId: string | undefined = undefined;
  state: EntryState = 'queued';
  /** Publish attempts the target rejected (poison counting). */
  attempts = 0;
  /** Set when the message goes to the dead-letter subject instead. */
  dead: { reason: string; error: string } | undefined = undefined;
  /** Where the source parked an oversized message (set once: retries do not park again). */
  parked: ParkedLocation | undefined = undefined;

  constructor(
    readonly msg: SourceMessage,
    readonly lane: Lane,
    private readonly runner: MappingRunner,
  ) {
    this.headers = msg.headers;
  }

  published(err: PublishError | null, ack: PubAckInfo | null): void {
    this.runner.onResult(this, err, ack);
  }
}

class Lane {
  entries: Entry[] = [];
  head = 0;
  retryTimer: NodeJS.Timeout | undefined;
  /** Consecutive failed retry rounds, for the backoff. */
  failures = 0;
  waiters: Array<() => void> = [];
  /** Last confirmed entry of the prefix not yet acked at the source (acks are sent once per tick). */
  ackUpTo: Entry | undefined;
  /** Entries covered by ackUpTo, for the acked counter. */
  ackCount = 0;
  constructor(readonly name: string) {}
  get size(): number {
    return this.entries.length - this.head;
  }
}

export interface EngineOptions {
  readonly shutdownTimeoutMs: number;
  readonly stallAfterMs: number;
}

/** Runs one mapping: owns its source and its lanes. */
export class MappingRunner implements SourceSink {
  private readonly lanes = new Map<string, Lane>();
  private inflightCount = 0;
  private closing = false;
  /** Lanes with a confirmed prefix waiting for its source ack. */
  private ackLanes: Lane[] = [];
  /**
   * Entries pushed this turn, published together by flushTick. Each source connection
   * delivers from its own read callback and nats.js writes its buffer once per microtask
   * checkpoint: publishing inside push() meant one socket write per read of each source
   * connection (~12 messages); publishing once per turn makes one write of up to 32 KiB.
   */
  private toSend: Entry[] = [];
  // Per-message metric updates cost a label hash each in prom-client: count here and add
  // the sums once per event-loop turn (flushTick), together with the source acks.
  private tickScheduled = false;
  private receivedDelta = 0;
  private publishedDelta = 0;
  private inflightDelta = 0;
  private readonly labels: { mapping: string };
  private readonly latency: LatencySeries;
  private readonly publishedLabels: { mapping: string; guarantee: string };
  /** include ["*"] and no exclude: every carried header passes, no per-name test. */
  private readonly allHeadersPass: boolean;
  /** Include/exclude verdict per header name (names repeat on every message). */
  private readonly headerVerdicts = new Map<string, boolean>();
  /** Target subjects already found valid (a mapping usually produces few distinct ones). */
  private readonly validSubjects = new Set<string>();
  /** Last known source backlog (queue depth / lag), for health. */
  backlog = 0;

  constructor(
    readonly mapping: Mapping,
    readonly source: SourceConnector,
    private readonly engine: BridgeEngine,
    private readonly logger: Logger,
  ) {
    this.labels = { mapping: mapping.name };
    this.latency = engine.metrics.latency.for(this.labels);
    this.publishedLabels = { mapping: mapping.name, guarantee: mapping.stream !== undefined ? 'at-least-once' : 'at-most-once' };
    const h = mapping.headers;
    this.allHeadersPass = h.exclude.length === 0 && h.include.some((r) => r.source === '^.*$');
  }

  get inflight(): number {
    return this.inflightCount;
  }

  // --- SourceSink -------------------------------------------------------------------

  push(msg: SourceMessage): void {
    this.receivedDelta++;
    this.inflightDelta++;
    this.scheduleTick();
    this.inflightCount++;
    let lane = this.lanes.get(msg.lane);
    if (!lane) this.lanes.set(msg.lane, (lane = new Lane(msg.lane)));
    const e = this.prepare(msg, lane);
    lane.entries.push(e);
    // While a retry round is pending the lane keeps its order: new entries wait for it.
    if (lane.retryTimer) e.state = 'failed';
    else this.toSend.push(e);
  }

  drain(lanes?: readonly string[]): Promise<void> {
    this.flushTick(); // a drained lane may still have its last ack waiting for the tick
    const targets = lanes ? lanes.map((l) => this.lanes.get(l)).filter((l): l is Lane => l !== undefined) : [...this.lanes.values()];
    return Promise.all(
      targets.map((l) => (l.size === 0 || this.closing ? Promise.resolve() : new Promise<void>((r) => l.waiters.push(r)))),
    ).then(() => undefined);
  }

  connection(state: 'up' | 'down', detail?: string): void {
    this.engine.metrics.connectionUp.set({ connection: this.mapping.connectionName }, state === 'up' ? 1 : 0);
    this.logger.log(state === 'up' ? 'info' : 'warn', `source connection ${state}`, detail ? { detail } : undefined);
  }

  reconnecting(attempt: number, delayMs: number, error?: string): void {
    this.engine.metrics.reconnects.inc({ connection: this.mapping.connectionName });
    this.logger.warn('source reconnecting', { attempt, delayMs, error });
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.logger.log(level, msg, fields);
  }

  // --- preparing and publishing -------------------------------------------------------

  private prepare(msg: SourceMessage, lane: Lane): Entry {
    const mp = this.mapping;
    const e = new Entry(msg, lane, this);
    // Headers first: they never fail, and the dead-letter message needs them.
    const rules = mp.headers;
    if (!this.allHeadersPass || rules.add.length > 0) {
      const hs: HeaderEntry[] = [];
      for (const h of msg.headers) if (this.allHeadersPass || this.headerPasses(h[0])) hs.push(h);
      try {
        for (const [name, t] of rules.add) hs.push([name, renderTemplate(t, msg.tokens, msg.headers, false)]);
      } catch (err) {
        e.dead = { reason: 'unroutable', error: `headers.add: ${(err as Error).message}` };
      }
      e.headers = hs;
    }
    e.msgId = this.dedupKey(msg);
    if (!e.dead) {
      try {
        e.subject = renderTemplate(mp.subject, msg.tokens, msg.headers, true);
        if (!this.validSubjects.has(e.subject)) {
          const problem = subjectProblem(e.subject, false);
          if (problem) e.dead = { reason: 'unroutable', error: `target subject "${e.subject}" ${problem}` };
          else if (isReserved(e.subject)) e.dead = { reason: 'unroutable', error: `target subject "${e.subject}" is in a reserved subject space` };
          else {
            if (this.validSubjects.size >= 4096) this.validSubjects.clear(); // bounded: subjects may carry ids
            this.validSubjects.add(e.subject);
          }
        }
      } catch (err) {
        if (!(err instanceof MissingTokenError)) throw err;
        e.dead = { reason: 'unroutable', error: `target.subject "${mp.subject.source}": ${err.message}` };
      }
    }
    if (!e.dead) {
      const size = msg.size + e.subject.length + (e.msgId?.length ?? 0) + 64;
      const max = this.engine.target.maxPayload;
      if (size > max) e.dead = { reason: 'oversize', error: `message of ${msg.body.length} bytes (+headers) exceeds the target's max_payload ${max}` };
    }
    return e;
  }

  private headerPasses(name: string): boolean {
    let ok = this.headerVerdicts.get(name);
    if (ok === undefined) {
      const rules = this.mapping.headers;
      ok = rules.include.some((r) => r.test(name)) && !rules.exclude.some((r) => r.test(name));
      if (this.headerVerdicts.size >= 4096) this.headerVerdicts.clear();
      this.headerVerdicts.set(name, ok);
    }
    return ok;
  }

  private dedupKey(msg: SourceMessage): string | undefined {
    const mp = this.mapping;
    if (!mp.dedupKey) return undefined;
    try {
      return renderTemplate(mp.dedupKey, msg.tokens, msg.headers, false);
    } catch (err) {
      if (!(err instanceof MissingTokenError)) throw err;
      const pol = mp.dedupMissing;
      if (pol.kind === 'hash') return 'sha256:' + createHash('sha256').update(msg.body).digest('base64url');
      if (pol.kind === 'header') {
        for (const [k, v] of msg.headers) if (k.toLowerCase() === pol.name) return v;
      }
      return undefined;
    }
  }

  private send(lane: Lane, e: Entry): void {
    e.state = 'inflight';
    const t = this.engine.target;
    const cb = e;
    if (e.dead) {
      const oversize = e.dead.reason === 'oversize';
      // Acking deletes the only copy at such a source: park it there first (engine invariant 4).
      if (oversize && e.parked === undefined && this.mapping.connector.oversize === 'park') {
        this.park(lane, e);
        return;
      }
      const { subject, stream } = { subject: this.mapping.deadLetterSubject, stream: this.mapping.deadLetterStream };
      const hdrs: HeaderEntry[] = [
        ...e.headers,
        ['Bridge-Error', e.dead.error.replace(/[\r\n]+/g, ' ')],
        ['Bridge-Error-Reason', e.dead.reason],
        ['Bridge-Attempts', String(Math.max(1, e.attempts))],
        ['Bridge-Mapping', this.mapping.name],
        ...Object.entries(e.msg.coordinates).map(([k, v]) => [`Bridge-Source-${k}`, v] as const),
      ];
      if (e.subject) hdrs.push(['Bridge-Target-Subject', e.subject]);
      if (oversize) hdrs.push(['Bridge-Body-Omitted', String(e.msg.body.length)]);
      if (e.parked) for (const k in e.parked) hdrs.push([`Bridge-Parked-${k}`, e.parked[k]!]);
      const body = oversize ? new Uint8Array(0) : e.msg.body;
      if (stream) t.publishJs(subject, body, hdrs, e.msgId === undefined ? undefined : `dlq:${e.msgId}`, cb);
      else t.publishCore(subject, body, hdrs, cb);
    } else if (this.mapping.stream !== undefined) {
      t.publishJs(e.subject, e.msg.body, e.headers, e.msgId, cb);
    } else {
      t.publishCore(e.subject, e.msg.body, e.headers, cb);
    }
  }

  /**
   * Have the source keep an oversized message before it is acked. On failure the entry
   * keeps its place in the lane (nothing after it is acked) and is retried with backoff;
   * the error is logged and counted (tern_bridge_park_failures_total).
   */
  private park(lane: Lane, e: Entry): void {
    const m = this.engine.metrics;
    const park = this.source.park?.bind(this.source);
    const parked = park
      ? park(e.msg, { mapping: this.mapping.name, error: e.dead!.error, targetSubject: e.subject || undefined })
      : Promise.reject(new Error(`the ${this.mapping.connector.kind} source cannot park messages`));
    parked.then(
      (where) => {
        if (e.state !== 'inflight' || this.closing) return;
        e.parked = where;
        m.parked.inc(this.labels);
        this.send(lane, e);
      },
      (err: Error) => {
        if (e.state !== 'inflight') return;
        e.state = 'failed';
        m.parkFailures.inc(this.labels);
        this.logger.error('cannot park oversized message: it stays unacked at the source and parking is retried', {
          error: err.message,
          source: e.msg.coordinates,
        });
        this.scheduleRetry(lane);
      },
    );
  }

  /** The target's verdict on an entry's publish (called through Entry.published). */
  onResult(e: Entry, err: PublishError | null, ack: PubAckInfo | null): void {
    if (e.state !== 'inflight') return;
    const lane = e.lane;
    const name = this.mapping.name;
    const m = this.engine.metrics;
    if (!err) {
      e.state = 'done';
      if (e.dead) {
        m.deadLettered.inc({ mapping: name, reason: e.dead.reason });
        this.logger.error('message dead-lettered', {
          reason: e.dead.reason,
          error: e.dead.error,
          subject: this.mapping.deadLetterSubject,
          source: e.msg.coordinates,
          ...(e.parked ? { parked: e.parked } : {}),
        });
      } else {
        this.publishedDelta++;
        if (ack?.duplicate) m.duplicates.inc(this.labels);
      }
      this.latency.observe((Date.now() - e.msg.receivedAt) / 1000);
      lane.failures = 0;
      this.engine.confirmed();
      if (lane.head < lane.entries.length && lane.entries[lane.head] === e) this.advance(lane);
      return;
    }
    e.state = 'failed';
    if (err.kind === 'rejected') {
      e.attempts++;
      m.retries.inc({ mapping: name, reason: 'rejected' });
      if (!e.dead && e.attempts >= this.mapping.retry.maxAttempts) {
        e.dead = { reason: 'rejected', error: err.message };
      }
      this.logger.warn('target rejected message', { error: err.message, attempts: e.attempts, source: e.msg.coordinates });
    } else {
      m.retries.inc({ mapping: name, reason: 'transient' });
      this.engine.targetTrouble(err.message);
    }
    this.scheduleRetry(lane);
  }

  private scheduleRetry(lane: Lane): void {
    if (lane.retryTimer || this.closing) return;
    const r = this.mapping.retry;
    const base = Math.min(r.maxBackoffMs, r.backoffMs * 2 ** Math.min(lane.failures, 20));
    lane.failures++;
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    lane.retryTimer = setTimeout(() => {
      lane.retryTimer = undefined;
      if (this.closing) return;
      // Republish, in order, everything not in flight and not confirmed.
      for (let i = lane.head; i < lane.entries.length; i++) {
        const e = lane.entries[i]!;
        if (e.state === 'failed') this.send(lane, e);
      }
    }, delay);
  }

  private advance(lane: Lane): void {
    let last: Entry | undefined;
    let n = 0;
    while (lane.head < lane.entries.length && lane.entries[lane.head]!.state === 'done') {
      last = lane.entries[lane.head]!;
      lane.head++;
      n++;
    }
    if (!last) return;
    if (lane.head === lane.entries.length) {
      lane.entries = [];
      lane.head = 0;
    } else if (lane.head > 4096) {
      lane.entries = lane.entries.slice(lane.head);
      lane.head = 0;
    }
    this.inflightCount -= n;
    this.inflightDelta -= n;
    // PubAcks arrive one by one; acking each would cost a frame and a syscall per message
    // (and as much work in RabbitMQ). Collect the confirmed prefix and ack it once per
    // event-loop turn: one ack(multiple) covers every PubAck read in that turn.
    if (lane.ackUpTo === undefined) this.ackLanes.push(lane);
    lane.ackUpTo = last;
    lane.ackCount += n;
    if (lane.size === 0 && lane.waiters.length > 0) {
      // Someone waits for this lane to drain (shutdown, rebalance): ack now, before the
      // waiter closes or revokes the source.
      this.flushTick();
      const w = lane.waiters;
      lane.waiters = [];
      for (const f of w) f();
    } else {
      this.scheduleTick();
    }
  }

  private scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    setImmediate(this.flushTick);
  }

  /** Once per event-loop turn: add the counted metrics, send the pending source acks. */
  private readonly flushTick = (): void => {
    this.tickScheduled = false;
    const queued = this.toSend;
    if (queued.length > 0) {
      this.toSend = [];
      // A retry round started meanwhile re-sends 'failed' entries only: a queued entry is
      // published here exactly once (as if it had been published at push time).
      for (let i = 0; i < queued.length; i++) {
        const e = queued[i]!;
        if (e.state === 'queued') this.send(e.lane, e);
      }
    }
    const m = this.engine.metrics;
    if (this.receivedDelta > 0) m.received.inc(this.labels, this.receivedDelta);
    if (this.publishedDelta > 0) m.published.inc(this.publishedLabels, this.publishedDelta);
    if (this.inflightDelta !== 0) m.inflight.inc(this.labels, this.inflightDelta);
    this.receivedDelta = this.publishedDelta = this.inflightDelta = 0;
    const lanes = this.ackLanes;
    if (lanes.length === 0) return;
    this.ackLanes = [];
    for (const lane of lanes) {
      const last = lane.ackUpTo;
      const n = lane.ackCount;
      lane.ackUpTo = undefined;
      lane.ackCount = 0;
      if (!last) continue;
      m.acked.inc(this.labels, n);
      this.source.ack(lane.name, last.msg);
    }
  };

  /** True if some entry waits for a retry round. */
  get hasFailures(): boolean {
    for (const l of this.lanes.values()) if (l.retryTimer) return true;
    return false;
  }

  /** Stop retrying and release every drain() waiter (used after the shutdown timeout). */
  abandon(): void {
    this.flushTick();
    this.closing = true;
    for (const l of this.lanes.values()) {
      clearTimeout(l.retryTimer);
      l.retryTimer = undefined;
      const w = l.waiters;
      l.waiters = [];
      for (const f of w) f();
    }
  }
}

/** Owns the target, the metrics and every mapping runner. */
export class BridgeEngine {
  readonly runners: MappingRunner[] = [];
  private pausedForTarget = false;
  lastConfirmAt = Date.now();

  constructor(
    readonly target: NatsTarget,
    readonly metrics: BridgeMetrics,
    readonly options: EngineOptions,
    private readonly log: Logger,
  ) {
    target.onStatus((up, detail) => {
      this.metrics.connectionUp.set({ connection: 'target' }, up ? 1 : 0);
      this.log.log(up ? 'info' : 'warn', `target ${up ? 'up' : 'down'}`, { detail });
      if (!up) this.targetTrouble(detail);
      // Resuming waits for a publish to succeed; with no retry pending none would ever run
      // (e.g. the bridge was idle, or maxPauseMs closed the channels and requeued everything).
      else if (this.pausedForTarget && !this.runners.some((r) => r.hasFailures)) this.resumeSources();
    });
    this.metrics.connectionUp.set({ connection: 'target' }, 1);
  }

  add(runner: MappingRunner): void {
    this.runners.push(runner);
  }

  /** The target failed transiently: stop intake everywhere until publishes succeed again. */
  targetTrouble(why: string): void {
    if (this.pausedForTarget) return;
    this.pausedForTarget = true;
    this.log.warn('target unavailable: pausing sources', { error: why });
    for (const r of this.runners) r.source.pause();
  }

  /** A publish succeeded: resume the sources once no lane waits for a retry. */
  confirmed(): void {
    this.lastConfirmAt = Date.now();
    if (!this.pausedForTarget || !this.target.connected) return;
    if (this.runners.some((r) => r.hasFailures)) return;
    this.resumeSources();
  }

  private resumeSources(): void {
    this.pausedForTarget = false;
    this.log.info('target available again: resuming sources');
    for (const r of this.runners) r.source.resume();
  }

  get paused(): boolean {
    return this.pausedForTarget;
  }

  /** Healthy unless there is work (in flight or waiting at the source) and nothing was confirmed for stallAfterMs. */
  health(): { ok: boolean; detail: Record<string, unknown> } {
    const inflight = this.runners.reduce((a, r) => a + r.inflight, 0);
    const backlog = this.runners.reduce((a, r) => a + r.backlog, 0);
    const sinceMs = Date.now() - this.lastConfirmAt;
    const stalled = (inflight > 0 || backlog > 0) && sinceMs > this.options.stallAfterMs;
    return {
      ok: !stalled,
      detail: { inflight, backlog, msSinceLastConfirm: sinceMs, targetConnected: this.target.connected, pausedForTarget: this.pausedForTarget },
    };
  }

  /** Graceful stop: stop consuming, let in-flight messages confirm and ack, close. */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.source.stopConsuming().catch(() => undefined)));
    const drained = Promise.all(this.runners.map((r) => r.drain())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.options.shutdownTimeoutMs)));
    const ok = await Promise.race([drained, timeout]);
    clearTimeout(timer);
    if (!ok) this.log.warn('shutdown timeout: unconfirmed messages stay unacked and will be redelivered', { inflight: this.runners.reduce((a, r) => a + r.inflight, 0) });
    for (const r of this.runners) r.abandon();
    await Promise.all(this.runners.map((r) => r.source.close().catch(() => undefined)));
    await this.target.close();
  }
}
