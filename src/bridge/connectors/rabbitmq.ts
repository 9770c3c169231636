// RabbitMQ source on amqplib. Two modes, chosen by the mapping's source block:
//   takeover: `queue: q`               consume an existing queue (checked, not declared);
//   tap:      `exchange: ex, bindingKeys: [...]` (+ optional `queue`, `queueType`)
//             declare a durable queue the bridge owns, bind it to the legacy exchange with
//             the binding keys, consume it. Legacy consumers keep their own queues, and the
//             tap queue keeps collecting while the bridge is down: nothing is lost.
// All mappings naming one connection share one AMQP connection (rabbitmq-connection.ts);
// each source has its own channel on it, with manual acks and prefetch = the engine's
// window, so that ack(multiple=true) only covers this source's deliveries and a channel
// failure (queue deleted, NOT_FOUND, PRECONDITION_FAILED) re-opens only that channel.
// amqplib has no topology recovery of its own that we rely on: when the connection or the
// channel is lost, the source re-opens its channel with jittered exponential backoff
// (through the shared connection, which re-connects once for everyone) and re-declares
// everything (openChannel).
import * as amqp from 'amqplib';
import {
  ConnectorConfigError,
  type ConnectorDefinition,
  type MessageTokens,
  type ParkedLocation,
  type ParkRequest,
  type SourceConnector,
  type SourceContext,
  type SourceMessage,
  type SourceSink,
  type SourceStats,
} from '../connector.js';
import { closeChannelQuietly, SharedConnection, type ConnectionUser, type SharedConnectionKey } from './rabbitmq-connection.js';
import { encodeAmqpHeaders } from './rabbitmq-headers.js';
import { defaultParkingQueue, parkedCopy, ParkingPublisher, type ParkSource } from './rabbitmq-parking.js';

export interface RabbitConnection {
  readonly url: string;
  readonly username: string | null;
  readonly password: string | null;
  readonly heartbeatSeconds: number | null;
  readonly connectionName: string;
  /** Close a source's channel (requeueing its unacked messages) when paused longer than this. */
  readonly maxPauseMs: number;
}

export interface RabbitSource {
  readonly mode: 'takeover' | 'tap';
  readonly queue: string | undefined;
  readonly exchange: string | undefined;
  readonly bindingKeys: readonly string[];
  readonly queueType: 'quorum' | 'classic';
  /** Prefetch override; defaults to the engine window. */
  readonly prefetch: number | undefined;
}

const SOURCE_KEYS = ['queue', 'exchange', 'bindingKeys', 'queueType', 'prefetch'];

function tapQueueName(src: RabbitSource, mappingName: string): string {
  return src.queue ?? `tern-bridge.${mappingName}`;
}

/** Put credentials from the config/env into the URL unless it already carries some. */
function connectUrl(c: RabbitConnection): string {
  const u = new URL(c.url);
  if (c.username !== null && u.username === '') u.username = encodeURIComponent(c.username);
  if (c.password !== null && u.password === '') u.password = encodeURIComponent(c.password);
  if (c.heartbeatSeconds !== null) u.searchParams.set('heartbeat', String(c.heartbeatSeconds));
  return u.toString();
}

/** The user the broker sees us as (amqplib's default is guest). */
function loginUser(c: RabbitConnection): string {
  const u = new URL(connectUrl(c)).username;
  return u === '' ? 'guest' : decodeURIComponent(u);
}

function parkingQueueName(ctx: SourceContext<RabbitConnection, RabbitSource>): string {
  return ctx.parking?.queue ?? defaultParkingQueue(ctx.mappingName);
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * A delivery as the engine holds it until its ack. It keeps only what ack(), coordinates,
 * tokens and parking read, not amqplib's message: thousands are in flight, and every byte
 * they retain is copied by each young-generation GC they live through.
 */
class AmqpMessage implements SourceMessage, ParkSource {
  readonly tokens: AmqpTokens = new AmqpTokens(this);

  constructor(
    readonly lane: string,
    readonly body: Buffer,
    readonly headers: SourceMessage['headers'],
    readonly queue: string,
    readonly sourceTimestamp: number | undefined,
    readonly receivedAt: number,
    readonly redelivered: boolean,
    readonly size: number,
    readonly generation: number,
    readonly deliveryTag: number,
    readonly exchange: string,
    readonly routingKey: string,
    readonly properties: amqp.MessageProperties,
  ) {}

  /** Built on demand: only dead letters and logs read it. */
  get coordinates(): SourceMessage['coordinates'] {
    const id = this.tokens.messageId;
    return { queue: this.queue, exchange: this.exchange, routingKey: this.routingKey, deliveryTag: String(this.deliveryTag), ...(id ? { messageId: id } : {}) };
  }
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * A delivery's template tokens, read from it when a template asks: no object of strings (and
 * no String(deliveryTag)) per message. The names are rabbitmqConnector.tokens().
 */
class AmqpTokens implements MessageTokens {
  readonly [name: string]: string | undefined;
  readonly #m: AmqpMessage;

  constructor(m: AmqpMessage) {
    this.#m = m;
  }
  get routingKey(): string {
    return this.#m.routingKey;
  }
  get exchange(): string {
    return this.#m.exchange;
  }
  get queue(): string {
    return this.#m.queue;
  }
  get deliveryTag(): string {
    return String(this.#m.deliveryTag);
  }
  get messageId(): string | undefined {
    return nonEmpty(this.#m.properties.messageId);
  }
  get correlationId(): string | undefined {
    return nonEmpty(this.#m.properties.correlationId);
  }
}

/** amqplib's ack(message, allUpTo) reads only message.fields.deliveryTag (channel_model.js). */
function ackHandle(deliveryTag: number): amqp.Message {
  return { fields: { deliveryTag } } as amqp.Message;
}

class RabbitMqSource implements SourceConnector, ConnectionUser {
  /** Set from the first acquire() until close() releases it. */
  private shared: SharedConnection | undefined;
  private ch: amqp.Channel | undefined;
  private consumerTag: string | undefined;
  /** A basic.consume is on its way (pause/resume must not start a second one). */
  private consumePending = false;
  /** Bumped whenever this source's channel goes away: acks of an older one are ignored. */
  private generation = 0;
  private sink: SourceSink | undefined;
  private paused = false;
  private pausedSince = 0;
  private pauseTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private connecting: Promise<void> | undefined;
  /** Ends the reconnect loop's backoff sleep early (close(), or a new shared connection). */
  private wake: (() => void) | undefined;
  /**
   * 'source connection up' was reported and no 'down' since. Those report the shared
   * connection (the gauge is per connection): re-opening only the channel is just logged.
   */
  private reportedUp = false;
  private readonly queue: string;
  private readonly lane: string;
  private readonly parking: ParkingPublisher;
  private readonly loginUser: string;
  private readonly key: SharedConnectionKey;

  constructor(private readonly ctx: SourceContext<RabbitConnection, RabbitSource>) {
    this.queue = ctx.source.mode === 'tap' ? tapQueueName(ctx.source, ctx.mappingName) : ctx.source.queue!;
    this.lane = `queue:${this.queue}`;
    this.parking = new ParkingPublisher(parkingQueueName(ctx), ctx.mappingName);
    this.loginUser = loginUser(ctx.connection);
    const url = connectUrl(ctx.connection);
    this.key = { name: ctx.connectionName, url, redactedUrl: redact(url), clientName: ctx.connection.connectionName };
  }

  /**
   * Copy an oversized message to the parking queue (confirmed) so that its ack loses
   * nothing. A message of an earlier channel is parked too: it is redelivered as well, so
   * the parking queue may then hold it twice (at-least-once, same message-id).
   */
  async park(msg: SourceMessage, req: ParkRequest): Promise<ParkedLocation> {
    const conn = this.shared?.current;
    if (!conn) throw new Error(`cannot park the message in queue "${this.parking.queue}" (mapping "${this.ctx.mappingName}"): not connected to RabbitMQ`);
    const { content, options } = parkedCopy(msg as AmqpMessage, req, this.queue, this.loginUser);
    return this.parking.park(conn, content, options);
  }

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    if (this.ctx.options.failFast) {
      await this.openChannel();
    } else {
      this.reconnectLoop();
      await this.connecting;
    }
  }

  /** Re-open this source's channel (and, through acquire(), the shared connection) until it works. */
  private reconnectLoop(): void {
    if (this.connecting || this.stopping) return;
    this.connecting = (async () => {
      const { initialDelayMs, maxDelayMs } = this.ctx.options.reconnect;
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          await this.openChannel();
          return;
        } catch (e) {
          if (this.stopping) return;
          const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 20));
          const delay = Math.round(base / 2 + Math.random() * base / 2); // "equal jitter"
          this.sink?.reconnecting(attempt, delay, (e as Error).message);
          await new Promise<void>((r) => {
            const t = setTimeout(r, delay);
            this.wake = () => {
              clearTimeout(t);
              r();
            };
          });
          this.wake = undefined;
        }
      }
    })().finally(() => (this.connecting = undefined));
  }

  /**
   * One attempt: get the shared connection, open this source's channel, declare, prefetch,
   * consume. Throws on any failure, leaving no channel of its own behind.
   */
  private async openChannel(): Promise<void> {
    if (this.stopping) throw new Error('source is stopping');
    const { source } = this.ctx;
    const model = await (this.shared ??= SharedConnection.for(this.key)).acquire(this);
    let ch: amqp.Channel | undefined;
    try {
      if (this.stopping) throw new Error('source is stopping');
      ch = await model.createChannel();
      // Without an 'error' listener amqplib's emit would throw; 'close' follows it.
      ch.on('error', (err: Error) => this.sink?.log('warn', 'rabbitmq channel error', { error: err.message }));
      await this.declare(ch);
      await ch.prefetch(source.prefetch ?? this.ctx.options.window);
      if (this.stopping) throw new Error('source is stopping');
      const gen = ++this.generation;
      this.ch = ch;
      // A lost connection closes its channels first, then itself (same tick): decide after
      // the tick, when connectionLost() has already bumped the generation in that case.
      ch.on('close', () => queueMicrotask(() => this.channelLost(gen, 'channel closed')));
      if (!this.paused) await this.consume();
      // The connection or the channel may have gone while consume was on its way.
      if (this.ch !== ch) throw new Error('the channel closed while it was being opened');
    } catch (e) {
      if (ch) {
        if (this.ch === ch) {
          this.generation++;
          this.ch = undefined;
          this.consumerTag = undefined;
        }
        void closeChannelQuietly(ch);
      }
      throw e;
    }
    if (!this.reportedUp) {
      this.reportedUp = true;
      this.sink?.connection('up', this.key.redactedUrl);
    } else {
      this.sink?.log('info', 'rabbitmq channel re-opened on the shared connection', { queue: this.queue });
    }
  }

  private async declare(ch: amqp.Channel): Promise<void> {
    const { source } = this.ctx;
    if (source.mode === 'takeover') {
      try {
        await ch.checkQueue(this.queue);
      } catch (e) {
        throw new Error(`queue "${this.queue}" does not exist (mapping "${this.ctx.mappingName}", takeover mode consumes an existing queue): ${(e as Error).message}`);
      }
      return;
    }
    try {
      await ch.checkExchange(source.exchange!);
    } catch (e) {
      throw new Error(`exchange "${source.exchange}" does not exist (mapping "${this.ctx.mappingName}"): ${(e as Error).message}`);
    }
    await ch.assertQueue(this.queue, { durable: true, arguments: source.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {} });
    for (const key of source.bindingKeys) await ch.bindQueue(this.queue, source.exchange!, key);
  }

  private async consume(): Promise<void> {
    const ch = this.ch;
    if (!ch || this.consumePending) return;
    const gen = this.generation;
    const lane = this.lane;
    const queue = this.queue;
    this.consumePending = true;
    let consumerTag: string;
    try {
      ({ consumerTag } = await ch.consume(
        queue,
        (m) => {
          if (m === null) {
            // The server cancelled us (queue deleted): a new channel re-declares or reports it.
            this.channelLost(gen, 'consumer cancelled by server (queue deleted?)');
            return;
          }
          this.sink!.push(toSourceMessage(m, lane, queue, gen));
        },
        { noAck: false },
      ));
    } finally {
      this.consumePending = false;
    }
    if (gen !== this.generation) return; // that channel is gone already
    if (this.paused || this.stopping) {
      // pause()/stopConsuming() came while basic.consume was on its way.
      ch.cancel(consumerTag).catch(() => undefined);
      return;
    }
    this.consumerTag = consumerTag;
  }

  /** ConnectionUser: the shared connection is gone, and with it this source's channel. */
  connectionLost(why: string): void {
    if (this.stopping) return;
    this.generation++; // acks for deliveries of the dead channel are now ignored
    this.ch = undefined;
    this.consumerTag = undefined;
    if (this.reportedUp) {
      this.reportedUp = false;
      this.sink?.connection('down', why);
    }
    this.reconnectLoop();
  }

  /** ConnectionUser: a new shared connection is open; stop waiting out the backoff. */
  connectionUp(): void {
    this.wake?.();
  }

  /**
   * Only this source's channel failed (consumer cancelled, channel error such as
   * NOT_FOUND or PRECONDITION_FAILED): re-open it; the connection and the other mappings'
   * channels stay as they are.
   */
  private channelLost(gen: number, why: string): void {
    if (gen !== this.generation || this.stopping) return;
    this.generation++;
    const ch = this.ch;
    this.ch = undefined;
    this.consumerTag = undefined;
    // After a cancel the channel is still open: closing it requeues what it holds.
    if (ch) void closeChannelQuietly(ch);
    this.sink?.log('warn', 'rabbitmq channel lost: re-opening it (the shared connection stays)', { reason: why, queue: this.queue });
    this.reconnectLoop();
  }

  ack(_lane: string, upTo: SourceMessage): void {
    const m = upTo as AmqpMessage;
    if (m.generation !== this.generation || !this.ch) return; // stale: the broker redelivers it
    try {
      this.ch.ack(ackHandle(m.deliveryTag), true);
    } catch (e) {
      this.sink?.log('warn', 'rabbitmq ack failed', { error: (e as Error).message });
    }
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.pausedSince = Date.now();
    const ch = this.ch;
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (ch && tag) ch.cancel(tag).catch(() => undefined);
    // Unacked deliveries stay with the channel; do not hold them past the broker's
    // consumer timeout: after maxPauseMs give them back by closing this source's channel
    // (= requeue). The shared connection and the other mappings' channels stay.
    this.pauseTimer = setTimeout(() => {
      if (!this.paused) return;
      const c = this.ch;
      if (!c) return;
      this.sink?.log('warn', 'paused too long: closing the channel so RabbitMQ requeues unacked messages', {
        pausedMs: Date.now() - this.pausedSince,
      });
      this.generation++;
      this.ch = undefined;
      void closeChannelQuietly(c);
    }, this.ctx.connection.maxPauseMs);
    this.pauseTimer.unref();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    clearTimeout(this.pauseTimer);
    if (this.stopping) return;
    if (!this.ch) this.reconnectLoop();
    else if (!this.consumerTag) this.consume().catch((e: Error) => this.sink?.log('warn', 'rabbitmq re-consume failed', { error: e.message }));
  }

  async stopConsuming(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pauseTimer);
    this.wake?.();
    const ch = this.ch;
    const tag = this.consumerTag;
    this.consumerTag = undefined;
    if (ch && tag) await ch.cancel(tag).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pauseTimer);
    this.wake?.();
    const ch = this.ch;
    this.generation++;
    this.ch = undefined;
    this.consumerTag = undefined;
    // Closing the channel returns every unacked delivery to the queue.
    if (ch) await closeChannelQuietly(ch);
    await this.parking.close();
    const shared = this.shared;
    this.shared = undefined;
    // The last mapping on the connection closes it.
    await shared?.release(this);
  }

  async stats(): Promise<SourceStats> {
    const ch = this.ch;
    if (!ch) throw new Error('not connected');
    const q = await ch.checkQueue(this.queue);
    return { queueDepth: [{ queue: this.queue, messages: q.messageCount }] };
  }
}

function toSourceMessage(m: amqp.ConsumeMessage, lane: string, queue: string, gen: number): AmqpMessage {
  const p = m.properties;
  const f = m.fields;
  const headers = encodeAmqpHeaders(p as Parameters<typeof encodeAmqpHeaders>[0], f);
  let size = m.content.length;
  for (let i = 0; i < headers.length; i++) size += headers[i]![0].length + headers[i]![1].length + 4;
  return new AmqpMessage(lane, m.content, headers, queue, typeof p.timestamp === 'number' ? p.timestamp * 1000 : undefined, Date.now(), f.redelivered, size, gen, f.deliveryTag, f.exchange, f.routingKey, p);
}

function parseSource(block: Record<string, unknown>): RabbitSource {
  for (const k of Object.keys(block)) if (!SOURCE_KEYS.includes(k)) throw new ConnectorConfigError(k, `unknown field for a rabbitmq source (known: connection, ${SOURCE_KEYS.join(', ')})`);
  const str = (k: string): string | undefined => {
    const v = block[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new ConnectorConfigError(k, 'must be a non-empty string');
    return v;
  };
  const queue = str('queue');
  const exchange = str('exchange');
  const keysRaw = block['bindingKeys'];
  let bindingKeys: string[] = [];
  if (keysRaw !== undefined) {
    if (!Array.isArray(keysRaw) || keysRaw.length === 0) throw new ConnectorConfigError('bindingKeys', 'must be a non-empty list of routing-key patterns');
    keysRaw.forEach((k, i) => {
      if (typeof k !== 'string') throw new ConnectorConfigError(`bindingKeys[${i}]`, 'must be a string');
    });
    bindingKeys = keysRaw as string[];
  }
  if (exchange === undefined && queue === undefined) throw new ConnectorConfigError('queue', 'give "queue" (takeover an existing queue) or "exchange" + "bindingKeys" (tap)');
  if (exchange !== undefined && bindingKeys.length === 0) throw new ConnectorConfigError('bindingKeys', `required with "exchange" (use ["#"] to tap everything)`);
  if (exchange === undefined && bindingKeys.length > 0) throw new ConnectorConfigError('exchange', 'required with "bindingKeys"');
  const qt = block['queueType'] ?? 'quorum';
  if (qt !== 'quorum' && qt !== 'classic') throw new ConnectorConfigError('queueType', `must be "quorum" or "classic", got ${JSON.stringify(qt)}`);
  if (exchange === undefined && block['queueType'] !== undefined) throw new ConnectorConfigError('queueType', 'only applies to tap queues the bridge declares (exchange + bindingKeys)');
  const pf = block['prefetch'];
  if (pf !== undefined && (typeof pf !== 'number' || !Number.isInteger(pf) || pf < 1 || pf > 65535)) throw new ConnectorConfigError('prefetch', 'must be an integer 1..65535');
  return { mode: exchange ? 'tap' : 'takeover', queue, exchange, bindingKeys, queueType: qt, prefetch: pf as number | undefined };
}

export const rabbitmqConnector: ConnectorDefinition<RabbitConnection, RabbitSource> = {
  kind: 'rabbitmq',
  description: 'RabbitMQ (AMQP 0-9-1) on amqplib: queue takeover or exchange tap, manual acks, one connection per named connection and one channel per mapping',
  connectionSchema: {
    url: { doc: 'AMQP URL, e.g. amqp://host:5672/vhost', format: (v: unknown) => {
      if (typeof v !== 'string' || !/^amqps?:\/\//.test(v)) throw new Error('must be an amqp:// or amqps:// URL');
    }, default: 'amqp://127.0.0.1:5672' },
    username: { doc: 'user name (overrides none in the URL)', format: String, default: null, nullable: true },
    password: { doc: 'password; set it via the environment', format: String, default: null, nullable: true, sensitive: true },
    heartbeatSeconds: { doc: 'AMQP heartbeat; null = server value', format: 'nat', default: null, nullable: true },
    connectionName: { doc: 'connection name shown in the RabbitMQ UI', format: String, default: 'tern-bridge' },
    maxPauseMs: { doc: 'requeue unacked messages when paused this long (keep below consumer_timeout)', format: 'nat', default: 60_000 },
  },
  parseConnection: (p) => ({
    url: String(p['url']),
    username: (p['username'] as string | null) ?? null,
    password: (p['password'] as string | null) ?? null,
    heartbeatSeconds: (p['heartbeatSeconds'] as number | null) ?? null,
    connectionName: String(p['connectionName']),
    maxPauseMs: Number(p['maxPauseMs']),
  }),
  parseSource,
  tokens: () => ['routingKey', 'exchange', 'queue', 'messageId', 'correlationId', 'deliveryTag'],
  alwaysTokens: () => ['routingKey', 'exchange', 'queue', 'deliveryTag'],
  // basic.ack deletes the message: an oversized one is parked on the broker first.
  oversize: 'park',
  defaultDedupKey: '{messageId}',
  sampleTokens: (src) => {
    const keys = src.bindingKeys.length > 0 ? src.bindingKeys : ['sample.key'];
    return keys.map((k) => ({
      routingKey: k.replace(/#/g, 'any.words').replace(/\*/g, 'word'),
      exchange: src.exchange ?? '',
      queue: src.queue ?? 'tap-queue',
      messageId: 'sample-message-id',
      deliveryTag: '1',
    }));
  },
  plan: (ctx) => {
    const s = ctx.source;
    const name = s.mode === 'tap' ? tapQueueName(s, ctx.mappingName) : s.queue!;
    const lines = [
      `connect ${redact(ctx.connection.url)} (connection "${ctx.connectionName}": one AMQP connection shared by every mapping that names it)`,
      `open this mapping's own channel on it (a channel failure re-opens only this channel)`,
    ];
    if (s.mode === 'tap') {
      lines.push(`check exchange "${s.exchange}" exists`);
      lines.push(`declare durable ${s.queueType} queue "${name}"`);
      for (const k of s.bindingKeys) lines.push(`bind "${name}" to exchange "${s.exchange}" with key "${k}"`);
    } else lines.push(`check queue "${name}" exists (takeover: the bridge competes with any other consumer)`);
    lines.push(`consume "${name}" with manual acks, prefetch ${s.prefetch ?? ctx.options.window}`);
    lines.push(`park messages bigger than the target's max_payload in durable queue "${parkingQueueName(ctx)}" (declared if missing; publisher confirm before the ack)`);
    return lines;
  },
  createSource: (ctx) => new RabbitMqSource(ctx),
};
