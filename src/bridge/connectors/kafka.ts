// Kafka source connector on kafkajs (consumer groups, classic protocol).
//
// One ordered lane per partition ("topic/partition"). Offsets are committed only as
// the contiguous prefix of confirmed messages: the engine acks a lane in push order
// and an ack of offset N means every message pushed before it is confirmed, so the
// commit is N+1 (kafkajs autoCommit is off; nothing is ever committed ahead of the
// target).
//
// How it rides kafkajs (src/consumer/runner.js, fetcher.js, workerQueue.js):
//   - eachBatch pushes a partition's batch into its lane, at most `window` unacked at a
//     time, then waits (heartbeating) until the engine confirmed the whole batch and
//     commits before returning. kafkajs fetches the next round only after every batch
//     of the round returned (Promise.allSettled), so when a rebalance is detected all
//     lanes are already drained and committed.
//   - A rebalance seen by a heartbeat *inside* eachBatch is the "partitions revoked"
//     moment: drain the lane (bounded by revokeDrainTimeoutMs), commit the confirmed
//     prefix with the old generation (the coordinator accepts that while it prepares
//     the rebalance), then rethrow so kafkajs rejoins.
//   - Every (re)join starts a new epoch per partition: acks of messages pushed in an
//     older epoch are ignored (kafkajs refetches from the committed offset, and the
//     target drops the duplicates by Nats-Msg-Id = {topic}/{partition}/{offset}).
//   - pause()/resume() map to consumer.pause/resume of the lanes' partitions.
//
// Config schema and parsing live in kafka-config.ts, the message encoding into NATS
// headers/body/tokens in kafka-encoding.ts.
import { Kafka, logLevel, type Admin, type Consumer, type KafkaMessage, type LogEntry, type SASLOptions } from 'kafkajs';
import type {
  ConnectorDefinition,
  MessageTokens,
  PlanLine,
  SourceConnector,
  SourceContext,
  SourceMessage,
  SourceSink,
  SourceStats,
} from '../connector.js';
import { connectionSchema, parseConnection, parseSource, type KafkaConnection, type KafkaSource } from './kafka-config.js';
import { encodeKafkaMessage } from './kafka-encoding.js';

// ---------------------------------------------------------------------------------------
// The running source

const laneOf = (topic: string, partition: number): string => `${topic}/${partition}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** kafkajs errors that mean "the group is rebalancing: rejoin" (kafkajs src/errors.js isRebalancing). */
function isRebalancing(err: unknown): boolean {
  const t = (err as { type?: string } | null)?.type;
  return t === 'REBALANCE_IN_PROGRESS' || t === 'NOT_COORDINATOR_FOR_GROUP' || t === 'ILLEGAL_GENERATION';
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Ack bookkeeping of one partition within one epoch (one group generation).
 * Invariant: `confirmedNext` is the offset after the last message of this epoch that the
 * engine confirmed together with every message pushed before it; `committed` <= that.
 */
class PartitionLane {
  /** Messages pushed / acked in this epoch (acked counts the confirmed prefix). */
  pushed = 0;
  acked = 0;
  confirmedNext: bigint | undefined;
  committed: bigint | undefined;
  lastCommitAt = Date.now();
  /** Highest offset pushed by this process on this partition, over all epochs (redelivery flag). */
  maxPushed = -1n;
  private wake: (() => void) | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly lane: string,
    readonly epoch: number,
  ) {}

  onAck(seq: number, offset: bigint): void {
    if (seq + 1 > this.acked) this.acked = seq + 1;
    const next = offset + 1n;
    if (this.confirmedNext === undefined || next > this.confirmedNext) this.confirmedNext = next;
    this.wakeUp();
  }

  wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Resolves on the next ack or after `ms`, whichever is first. */
  nextEvent(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this.wake = () => {
        clearTimeout(t);
        res();
      };
    });
  }
}

interface MessageMeta {
  lane: PartitionLane;
  seq: number;
  offset: bigint;
}

export class KafkaSourceConnector implements SourceConnector {
  private sink: SourceSink | undefined;
  private kafka: Kafka | undefined;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private topics: string[] = [];
  private readonly lanes = new Map<string, PartitionLane>();
  private readonly meta = new WeakMap<SourceMessage, MessageMeta>();
  private epoch = 0;
  private stopping = false;
  private closed = false;
  /** Set when one batch saw a rebalance: the others stop pushing until the rejoin. */
  private rebalancing = false;
  private pausedAll = false;
  private readonly pausedLanes = new Set<string>();
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly maxPushedByLane = new Map<string, bigint>();
  private warnedUnknownAck = false;

  constructor(private readonly ctx: SourceContext<KafkaConnection, KafkaSource>) {}

  private get src(): KafkaSource {
    return this.ctx.source;
  }

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    const c = this.ctx.connection;
    const sasl: SASLOptions | undefined =
      c.saslMechanism === 'none'
        ? undefined
        : ({ mechanism: c.saslMechanism, username: c.username, password: c.password } as SASLOptions);
    this.kafka = new Kafka({
      clientId: c.clientId,
      brokers: [...c.brokers],
      ssl: c.ssl,
      ...(sasl ? { sasl } : {}),
      connectionTimeout: c.connectionTimeoutMs,
      requestTimeout: c.requestTimeoutMs,
      retry: {
        initialRetryTime: this.ctx.options.reconnect.initialDelayMs,
        maxRetryTime: this.ctx.options.reconnect.maxDelayMs,
        retries: this.ctx.options.failFast ? 2 : 8,
      },
      logLevel: logLevel.WARN,
      logCreator: () => (e: LogEntry) => this.kafkaLog(e),
    });
    try {
      await this.runConsumer();
    } catch (err) {
      if (this.ctx.options.failFast) {
        await this.teardownConsumer();
        throw new Error(`kafka source (${this.ctx.connectionName}, group ${this.src.group}): ${errText(err)}`);
      }
      this.scheduleRestart(err);
    }
  }

  private kafkaLog(e: LogEntry): void {
    const level = e.level === logLevel.ERROR ? 'warn' : e.level === logLevel.WARN ? 'warn' : 'debug';
    const { message, ...fields } = e.log;
    this.sink?.log(level, `kafkajs ${e.namespace}: ${message}`, fields);
  }

  /** Resolves the subscription, then connects, joins the group and starts fetching. */
  private async runConsumer(): Promise<void> {
    const kafka = this.kafka!;
    this.admin ??= kafka.admin();
    await this.admin.connect();
    const existing = new Set((await this.admin.listTopics()).filter((t) => !t.startsWith('__')));
    if (this.src.topicPattern) {
      const re = this.src.topicPattern;
      this.topics = [...existing].filter((t) => re.test(t)).sort();
      if (this.topics.length === 0) throw new Error(`no topic matches /${re.source}/`);
    } else {
      const missing = this.src.topics.filter((t) => !existing.has(t));
      if (missing.length > 0) throw new Error(`topic${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`);
      this.topics = [...this.src.topics];
    }
    const consumer = kafka.consumer({
      groupId: this.src.group,
      sessionTimeout: this.src.sessionTimeoutMs,
      heartbeatInterval: this.src.heartbeatIntervalMs,
      rebalanceTimeout: this.src.rebalanceTimeoutMs,
      maxBytesPerPartition: this.src.maxBytesPerPartition,
      // Short long-polls so that stop and pause take effect quickly.
      maxWaitTimeInMs: 500,
      // Source topics are never created by the bridge.
      allowAutoTopicCreation: false,
      retry: { restartOnFailure: async () => !this.stopping },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onGroupJoin(e.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (e) => {
      this.sink?.connection('down', errText(e.payload.error));
      if (!e.payload.restart && !this.stopping && this.consumer === consumer) {
        // kafkajs gave up (a non-retriable error): build a new consumer after a backoff.
        this.scheduleRestart(e.payload.error);
      } else if (!this.stopping) {
        this.sink?.reconnecting(++this.attempt, this.ctx.options.reconnect.initialDelayMs, errText(e.payload.error));
      }
    });
    await consumer.connect();
    for (const topic of this.topics) {
      await consumer.subscribe({ topic, fromBeginning: this.src.startOffset === 'earliest' });
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.src.partitionsConcurrency,
      eachBatch: (p) => this.eachBatch(p),
    });
  }

  private scheduleRestart(err: unknown): void {
    if (this.stopping) return;
    const { initialDelayMs, maxDelayMs } = this.ctx.options.reconnect;
    const attempt = ++this.attempt;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 20));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.sink?.connection('down', errText(err));
    this.sink?.reconnecting(attempt, delay, errText(err));
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      void (async () => {
        await this.teardownConsumer();
        if (this.stopping) return;
        try {
          await this.runConsumer();
        } catch (e) {
          this.scheduleRestart(e);
        }
      })();
    }, delay);
  }

  private async teardownConsumer(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    if (c) await c.disconnect().catch(() => undefined);
  }

  /** A new generation: every partition starts a new epoch; older acks no longer count. */
  private onGroupJoin(assignment: Record<string, number[]>): void {
    this.epoch++;
    this.lanes.clear();
    this.rebalancing = false;
    this.attempt = 0;
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const p of partitions) {
        const lane = laneOf(topic, p);
        const st = new PartitionLane(topic, p, lane, this.epoch);
        st.maxPushed = this.maxPushedByLane.get(lane) ?? -1n;
        this.lanes.set(lane, st);
      }
    }
    this.applyPause();
    this.sink?.connection('up');
    this.sink?.log('info', 'kafka group joined', { group: this.src.group, assignment });
  }

  private async eachBatch(p: {
    batch: { topic: string; partition: number; messages: KafkaMessage[]; lastOffset(): string; isEmpty(): boolean };
    resolveOffset(offset: string): void;
    heartbeat(): Promise<void>;
  }): Promise<void> {
    const { batch } = p;
    if (this.stopping || this.rebalancing) return; // not resolved: fetched again after the rejoin
    const st = this.lanes.get(laneOf(batch.topic, batch.partition));
    if (!st) return; // not ours in this generation
    const sink = this.sink!;
    const window = Math.max(1, this.ctx.options.window);
    const tick = Math.max(100, Math.min(1000, this.src.heartbeatIntervalMs));
    let complete = true;
    for (const m of batch.messages) {
      while (st.pushed - st.acked >= window && !this.stopping && !this.rebalancing && st.epoch === this.epoch) {
        await st.nextEvent(tick);
        await this.keepAlive(st, p.heartbeat);
      }
      if (this.stopping || this.rebalancing || st.epoch !== this.epoch) {
        complete = false;
        break;
      }
      this.push(sink, st, batch.topic, batch.partition, m);
    }
    // Wait for the lane to be confirmed (or for the engine to give up when stopping).
    let drained = false;
    const drain = sink.drain([st.lane]).then(() => {
      drained = true;
      st.wakeUp();
    });
    while (!drained) {
      await Promise.race([drain, st.nextEvent(tick)]);
      if (!drained) await this.keepAlive(st, p.heartbeat);
    }
    if (complete && st.acked === st.pushed && batch.messages.length > 0) {
      // Everything fetched is confirmed: also step over trailing control records.
      const end = BigInt(batch.lastOffset()) + 1n;
      if (st.confirmedNext === undefined || end > st.confirmedNext) st.confirmedNext = end;
      p.resolveOffset(batch.lastOffset());
    }
    await this.commit(st);
  }

  private push(sink: SourceSink, st: PartitionLane, topic: string, partition: number, m: KafkaMessage): void {
    const enc = encodeKafkaMessage(topic, partition, m);
    const offset = BigInt(m.offset);
    let size = enc.body.byteLength;
    for (const [n, v] of enc.headers) size += n.length + v.length + 4;
    const ts = Number(m.timestamp);
    const msg: SourceMessage = {
      lane: st.lane,
      body: enc.body,
      headers: enc.headers,
      tokens: enc.tokens as MessageTokens,
      coordinates: { topic, partition: String(partition), offset: m.offset },
      ...(Number.isFinite(ts) && ts >= 0 ? { sourceTimestamp: ts } : {}),
      receivedAt: Date.now(),
      redelivered: offset <= st.maxPushed,
      size,
    };
    this.meta.set(msg, { lane: st, seq: st.pushed, offset });
    st.pushed++;
    if (offset > st.maxPushed) {
      st.maxPushed = offset;
      this.maxPushedByLane.set(st.lane, offset);
    }
    sink.push(msg);
  }

  /**
   * While waiting inside eachBatch: heartbeat (kafkajs sends one only when its interval
   * passed) and commit confirmed progress now and then. A heartbeat that reports a
   * rebalance means our partitions are being revoked: drain, commit, rejoin.
   */
  private async keepAlive(st: PartitionLane, heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (err) {
      // A rebalance, or the coordinator is gone: either way this member may lose the
      // partition, so commit what is confirmed and let kafkajs rejoin / restart.
      await this.revoke(st, err);
      throw err;
    }
    if (Date.now() - st.lastCommitAt < this.src.commitIntervalMs) return;
    try {
      await this.commit(st);
    } catch (err) {
      if (isRebalancing(err)) {
        await this.revoke(st, err);
        throw err;
      }
      // Kept in confirmedNext: the next commit carries it.
      this.sink?.log('warn', 'kafka offset commit failed; will retry', { lane: st.lane, error: errText(err) });
    }
  }

  private async revoke(st: PartitionLane, cause: unknown): Promise<void> {
    this.rebalancing = true;
    this.sink?.log('info', 'kafka partition revoked: draining before commit', {
      lane: st.lane,
      inFlight: st.pushed - st.acked,
      cause: errText(cause),
    });
    const deadline = sleep(this.src.revokeDrainTimeoutMs);
    await Promise.race([this.sink!.drain([st.lane]), deadline]);
    try {
      await this.commit(st);
    } catch (err) {
      this.sink?.log('warn', 'kafka commit on revoke failed; the partition resumes from its last commit', {
        lane: st.lane,
        error: errText(err),
      });
    }
  }

  /** Commits the partition's confirmed prefix if it moved. */
  private async commit(st: PartitionLane): Promise<void> {
    const next = st.confirmedNext;
    st.lastCommitAt = Date.now();
    if (next === undefined || (st.committed !== undefined && next <= st.committed)) return;
    const consumer = this.consumer;
    if (!consumer) return;
    try {
      await consumer.commitOffsets([{ topic: st.topic, partition: st.partition, offset: next.toString() }]);
      if (st.committed === undefined || next > st.committed) st.committed = next;
    } catch (err) {
      if (isRebalancing(err)) this.rebalancing = true;
      throw err;
    }
  }

  ack(lane: string, upTo: SourceMessage): void {
    const m = this.meta.get(upTo);
    if (!m) {
      if (!this.warnedUnknownAck) {
        this.warnedUnknownAck = true;
        this.sink?.log('warn', 'kafka source got an ack for a message it did not push; ignored', { lane });
      }
      return;
    }
    // Acks from an older epoch (before a rejoin) are ignored: that partition was refetched.
    if (m.lane.epoch !== this.epoch || this.lanes.get(lane) !== m.lane) return;
    m.lane.onAck(m.seq, m.offset);
  }

  private partitionsOf(lanes: readonly string[]): Array<{ topic: string; partitions: number[] }> {
    const byTopic = new Map<string, number[]>();
    for (const lane of lanes) {
      const i = lane.lastIndexOf('/');
      const topic = lane.slice(0, i);
      const partition = Number(lane.slice(i + 1));
      if (i <= 0 || !Number.isInteger(partition)) continue;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  }

  private applyPause(): void {
    const c = this.consumer;
    if (!c) return;
    try {
      if (this.pausedAll) c.pause(this.topics.map((topic) => ({ topic })));
      else if (this.pausedLanes.size > 0) c.pause(this.partitionsOf([...this.pausedLanes]));
    } catch {
      // Not running yet: applied again on the next group join.
    }
  }

  pause(lanes?: readonly string[]): void {
    if (lanes === undefined) this.pausedAll = true;
    else for (const l of lanes) this.pausedLanes.add(l);
    this.applyPause();
  }

  resume(lanes?: readonly string[]): void {
    const c = this.consumer;
    if (lanes === undefined) {
      this.pausedAll = false;
      this.pausedLanes.clear();
      try {
        c?.resume(this.topics.map((topic) => ({ topic })));
      } catch {
        // not running
      }
      return;
    }
    for (const l of lanes) this.pausedLanes.delete(l);
    if (this.pausedAll) return;
    try {
      c?.resume(this.partitionsOf(lanes));
    } catch {
      // not running
    }
  }

  async stopConsuming(): Promise<void> {
    // From here on eachBatch pushes nothing; batches in progress wait for the engine's
    // drain and commit before kafkajs may leave the group (in close()).
    this.stopping = true;
    clearTimeout(this.restartTimer);
    for (const st of this.lanes.values()) st.wakeUp();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const c = this.consumer;
    if (c) {
      // stop() waits for running batches (their drain and commit), then leaves the group.
      await c.stop().catch((err: unknown) => this.sink?.log('warn', 'kafka consumer stop failed', { error: errText(err) }));
      await c.disconnect().catch(() => undefined);
    }
    this.consumer = undefined;
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
    this.sink?.connection('down', 'stopped');
  }

  async stats(): Promise<SourceStats> {
    const admin = this.admin;
    if (!admin || this.topics.length === 0) throw new Error('kafka source is not connected');
    const committed = await admin.fetchOffsets({ groupId: this.src.group, topics: this.topics });
    const lag: Array<{ topic: string; partition: number; lag: number }> = [];
    for (const t of committed) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      const endBy = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
      for (const p of t.partitions) {
        const end = endBy.get(p.partition) ?? 0n;
        // -1 = nothing committed yet: the whole partition is lag (low watermark ignored).
        const at = BigInt(p.offset) < 0n ? 0n : BigInt(p.offset);
        lag.push({ topic: t.topic, partition: p.partition, lag: Number(end > at ? end - at : 0n) });
      }
    }
    return { lag };
  }
}

// ---------------------------------------------------------------------------------------
// The definition registered in connectors/index.ts

export const kafkaConnector: ConnectorDefinition<KafkaConnection, KafkaSource> = {
  kind: 'kafka',
  description: 'Kafka consumer group (kafkajs): ordered lane per partition, commits the confirmed prefix',
  connectionSchema,
  parseConnection,
  parseSource,
  tokens: () => ['topic', 'partition', 'offset', 'timestamp', 'key'],
  alwaysTokens: () => ['topic', 'partition', 'offset', 'timestamp'],
  // A commit does not delete the record: an oversized message stays in the topic, located
  // by the dead letter's Bridge-Source-topic/partition/offset.
  oversize: 'retained',
  defaultDedupKey: '{topic}/{partition}/{offset}',
  sampleTokens(source: KafkaSource): MessageTokens[] {
    const topics = source.topics.length > 0 ? source.topics : ['topic'];
    return topics.map((topic) => ({ topic, partition: '0', offset: '0', timestamp: '0', key: 'key' }));
  },
  plan(ctx: SourceContext<KafkaConnection, KafkaSource>): PlanLine[] {
    const s = ctx.source;
    const what = s.topicPattern ? `topics matching /${s.topicPattern.source}/` : `topic${s.topics.length > 1 ? 's' : ''} ${s.topics.join(', ')}`;
    return [
      `kafka ${ctx.connection.brokers.join(',')}: consume ${what} in group "${s.group}" (a new group starts at ${s.startOffset})`,
      `kafka: one ordered lane per partition, up to ${ctx.options.window} unconfirmed messages each; commit the confirmed prefix`,
    ];
  },
  createSource: (ctx) => new KafkaSourceConnector(ctx),
};
