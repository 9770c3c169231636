// The contract between the bridge engine and the systems it bridges.
//
// A *connector* is one module per system (connectors/rabbitmq.ts, connectors/kafka.ts)
// that knows its client library; nothing else in src/bridge imports amqplib or kafkajs.
// A connector definition (ConnectorDefinition) declares:
//   - the config schema of a *connection* (URL, credentials, tuning), validated by convict;
//   - how to parse the `source:` block of a mapping that uses such a connection;
//   - which template tokens its messages carry and its default de-dup key;
//   - a factory for a running source (SourceConnector).
// It is registered with one line in connectors/index.ts.
//
// Data flow for one mapping:
//   SourceConnector --push(SourceMessage)--> engine (SourceSink) --publish--> NATS target
//   target confirms (PubAck/flush) --> engine calls source.ack(lane, msg) in lane order.
//
// Invariants the engine guarantees to every source:
//   1. ack(lane, m) is called only after m AND every earlier message pushed on that lane
//      were confirmed by the target (or dead-lettered, which is confirmed too). So a
//      connector may ack "everything up to m" in one call (AMQP multiple=true, Kafka commit
//      of m.offset+1).
//   2. ack calls per lane are in push order, never repeated for the same message.
//   3. The engine never nacks: a message that cannot be delivered is retried in order and,
//      after the mapping's attempt limit, dead-lettered and acked. On stop, unconfirmed
//      messages are simply not acked, so the source redelivers them after restart.
//   4. A message bigger than the target's max_payload cannot travel to NATS at all. If the
//      connector's `oversize` is 'park', the engine calls source.park() and acks only after
//      it resolved (and the headers-only dead letter, which names the parking place, was
//      confirmed); a rejected park() keeps the message unacked and is retried with backoff.
// Invariants a source must keep:
//   a. Messages on one lane are pushed in source order (AMQP: per queue delivery order;
//      Kafka: per partition offset order).
//   b. After a reconnect, acks for messages from a dead channel/session must be ignored
//      (the broker redelivers those; the target drops the duplicates by Nats-Msg-Id).
//      Connectors track a generation number for that; the engine does not need to know.
//   c. pause()/resume() stop and restart intake without losing the session (AMQP: cancel
//      and re-consume; Kafka: consumer.pause/resume on the partitions).

/** The systems a connector can talk to. A new system adds a name here and a registry line. */
export type ConnectorKind = 'rabbitmq' | 'kafka';

/**
 * Template tokens of a message. Keys are token names as written in mapping templates
 * without braces. Standard names (use them when they apply; a connector lists the ones it
 * provides in ConnectorDefinition.tokens):
 *   rabbitmq: routingKey, exchange, queue, messageId, correlationId, deliveryTag
 *   kafka:    topic, partition, offset, key (UTF-8, or base64 when not valid UTF-8), timestamp
 * `{rk.N}` (0-based routing-key segments) is derived by the mapping layer from routingKey;
 * `{header.NAME}` is looked up in SourceMessage.headers. A token that a message lacks
 * (e.g. no message-id) reads as undefined, not an empty string. A connector may serve them
 * from getters (read only when a template asks) instead of a plain object.
 */
export interface MessageTokens {
  readonly [name: string]: string | undefined;
}

/** One header as it will appear on the NATS message. Repeated names are allowed (multi-value). */
export type HeaderEntry = readonly [name: string, value: string];

/**
 * A message handed from a source to the engine.
 * The connector encodes everything system-specific (AMQP properties, typed headers, Kafka
 * key/timestamp) into `headers` losslessly; the mapping's header rules may then drop some.
 */
export interface SourceMessage {
  /**
   * The ordering lane: messages of one lane are published and acked in order; lanes are
   * independent. E.g. "queue:orders.q" or "orders/3" (topic/partition).
   */
  readonly lane: string;
  /** The payload, passed through byte for byte. */
  readonly body: Uint8Array;
  /** Headers to carry to NATS (already string-encoded by the connector's codec). */
  readonly headers: readonly HeaderEntry[];
  /** Values for subject / dedup templates; see MessageTokens. */
  readonly tokens: MessageTokens;
  /**
   * Where the message came from, for dead-letter headers and logs, e.g.
   * { queue: 'q', deliveryTag: '17' } or { topic: 't', partition: '0', offset: '42' }.
   */
  readonly coordinates: Readonly<Record<string, string>>;
  /** Source timestamp (ms since epoch) if the system has one; used for end-to-end latency. */
  readonly sourceTimestamp?: number;
  /** Time the bridge received it (ms, performance.now() clock is not used: Date.now()). */
  readonly receivedAt: number;
  /** True if the source says this is a redelivery (AMQP `redelivered`). */
  readonly redelivered: boolean;
  /** Body size in bytes plus header bytes, for oversize checks before publishing. */
  readonly size: number;
}

/** What the engine offers to a running source. */
export interface SourceSink {
  /**
   * Hand one message to the engine. Synchronous and cheap; the engine queues it on its
   * lane. The source bounds the number of unacked messages itself (AMQP prefetch, Kafka
   * in-flight window = SourceOptions.window), so push never needs to refuse.
   */
  push(msg: SourceMessage): void;
  /**
   * Resolves when every message pushed so far on the given lanes (all lanes when omitted)
   * was confirmed and ack()ed, or when the engine is stopping and gave up on them.
   * Kafka uses it on partition revocation before committing.
   */
  drain(lanes?: readonly string[]): Promise<void>;
  /** Report connection state for logs, metrics (bridge_connection_up) and /healthz. */
  connection(state: 'up' | 'down', detail?: string): void;
  /** Report a reconnect attempt (bridge_reconnects_total) with the delay chosen. */
  reconnecting(attempt: number, delayMs: number, error?: string): void;
  /** Structured log from the connector; the engine adds connector/mapping fields. */
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

/** Numbers a source reports for metrics and health. Each list may be empty. */
export interface SourceStats {
  /** AMQP: ready messages in the consumed queue (passive declare). */
  readonly queueDepth?: ReadonlyArray<{ queue: string; messages: number }>;
  /** Kafka: high watermark minus committed offset per partition. */
  readonly lag?: ReadonlyArray<{ topic: string; partition: number; lag: number }>;
}

/** What the engine tells a source when it asks it to park a message. */
export interface ParkRequest {
  readonly mapping: string;
  /** Why the message cannot go to the target (the dead letter's Bridge-Error). */
  readonly error: string;
  /** The subject it would have gone to, when it could be rendered. */
  readonly targetSubject: string | undefined;
}

/**
 * Where a parked message now is, as header suffix -> value: { Queue: 'q' } becomes the
 * dead letter's `Bridge-Parked-Queue: q`.
 */
export type ParkedLocation = Readonly<Record<string, string>>;

/** A running source for one mapping. Created by ConnectorDefinition.createSource. */
export interface SourceConnector {
  /**
   * Connect, declare the topology (queues, bindings), start consuming and push messages
   * to the sink. Resolves once consuming has started; rejects with a clear error if the
   * first connection fails and `SourceOptions.failFast` is set, otherwise keeps retrying
   * with jittered backoff in the background and resolves.
   */
  start(sink: SourceSink): Promise<void>;
  /** See the engine invariants at the top of this file. Must not throw. */
  ack(lane: string, upTo: SourceMessage): void;
  /** Stop taking new messages (all lanes, or the given ones) without dropping the session. */
  pause(lanes?: readonly string[]): void;
  /** Undo pause(). */
  resume(lanes?: readonly string[]): void;
  /**
   * Graceful stop, phase 1: stop consuming (no push after this resolves). Acks for
   * messages already pushed are still accepted until close().
   */
  stopConsuming(): Promise<void>;
  /** Graceful stop, phase 2: flush pending acks/commits, then close the connection. */
  close(): Promise<void>;
  /** Current stats; may do I/O (passive declare, offset fetch). Rejects if disconnected. */
  stats(): Promise<SourceStats>;
  /**
   * Keep a copy of `msg` (body, properties, headers) on the source system because acking
   * would delete the only copy and the target cannot hold it. Resolves only once the
   * source system confirmed the copy durably; rejects with a clear error otherwise.
   * Required when the definition's `oversize` is 'park'.
   */
  park?(msg: SourceMessage, req: ParkRequest): Promise<ParkedLocation>;
}

/** Settings the engine passes to every source, from the bridge config. */
export interface SourceOptions {
  /** Max unacked messages the source may have outstanding (AMQP prefetch per lane). */
  readonly window: number;
  /** Reconnect backoff: first delay, cap (ms); jitter is applied by the connector. */
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  /** Reject start() if the first connection attempt fails (used by tests and `plan`). */
  readonly failFast: boolean;
}

/** What a connector may tell `tern bridge plan` it will declare, one line per action. */
export type PlanLine = string;

/**
 * Validation failure inside a connector. `field` is the dotted path inside the block being
 * validated (e.g. "source.bindingKeys[1]"); the caller prefixes file and mapping names.
 */
export class ConnectorConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ConnectorConfigError';
  }
}

/**
 * The convict schema of one connection of this kind. Leaves are convict leaves
 * ({ doc, format, default, sensitive }). The loader sets `env` for each leaf as
 * TERN_BRIDGE_<CONNECTION>_<LEAF> (upper-cased, non-alphanumerics -> `_`), so credentials
 * come from the environment. `kind` is added by the loader; do not declare it.
 */
export type ConnectionSchema = Record<string, ConnectionSchemaLeaf>;
export interface ConnectionSchemaLeaf {
  readonly doc: string;
  /** convict format name, enum array, or a validator that throws with a clear message. */
  readonly format: string | readonly string[] | ((value: unknown) => void);
  readonly default: string | number | boolean | null | readonly string[];
  readonly sensitive?: boolean;
  readonly nullable?: boolean;
}

/** Everything a connector needs to build a source. */
export interface SourceContext<Conn, Src> {
  /** Connection name as in the config (`connections.<name>`). */
  readonly connectionName: string;
  /** The validated connection settings. */
  readonly connection: Conn;
  /** The validated `source:` block of the mapping. */
  readonly source: Src;
  /** Mapping name, for queue naming and logs. */
  readonly mappingName: string;
  readonly options: SourceOptions;
  /** The mapping's `parking:` block (only for connectors whose `oversize` is 'park'). */
  readonly parking?: { readonly queue: string | undefined };
}

/**
 * A connector module's single export, registered in connectors/index.ts.
 * `Conn` is the typed connection config, `Src` the typed mapping source block.
 */
export interface ConnectorDefinition<Conn = unknown, Src = unknown> {
  readonly kind: ConnectorKind;
  /** One-line description for `tern bridge plan` and docs. */
  readonly description: string;
  /** convict schema of a connection of this kind. */
  readonly connectionSchema: ConnectionSchema;
  /** Turn the convict-validated connection properties into the typed value. */
  parseConnection(props: Record<string, unknown>): Conn;
  /**
   * Validate and type a mapping's `source:` block (already parsed from YAML). Throws
   * ConnectorConfigError naming the field. Unknown keys are errors.
   */
  parseSource(block: Record<string, unknown>): Src;
  /** Tokens every message of this source may carry (checked against templates at load). */
  tokens(source: Src): readonly string[];
  /**
   * Tokens that are always present (e.g. kafka topic/partition/offset). Subject
   * templates may only use these unless they give a default; dedup templates that use
   * others fall back to the mapping's `dedup.missing` policy.
   */
  alwaysTokens(source: Src): readonly string[];
  /**
   * How a message bigger than the target's max_payload survives its ack:
   *   'park'     acking deletes it (AMQP), so the source's park() copies it first;
   *   'retained' acking leaves it in place (a Kafka commit does not delete the record):
   *              the dead letter's Bridge-Source-* coordinates locate it.
   */
  readonly oversize: 'park' | 'retained';
  /** Default dedup key template, e.g. "{topic}/{partition}/{offset}" or "{messageId}". */
  readonly defaultDedupKey: string;
  /**
   * Sample tokens for `tern bridge plan` when the user gives no sample message: one
   * representative message per binding/topic.
   */
  sampleTokens(source: Src): MessageTokens[];
  /** What start() will declare / subscribe to, for `tern bridge plan`. */
  plan(ctx: SourceContext<Conn, Src>): PlanLine[];
  /** Build a running source. Does no I/O until start(). */
  createSource(ctx: SourceContext<Conn, Src>): SourceConnector;
  /**
   * Reserved for the reverse direction (Tern -> RabbitMQ/Kafka) and request/reply, which
   * come next: a sink consumes a JetStream consumer and publishes with confirms. Connectors
   * that cannot be a sink leave this undefined.
   */
  createSink?(ctx: SinkContext<Conn>): SinkConnector;
}

/** Future: a sink writes NATS messages to the system and confirms each (publisher confirm / acks=all). */
export interface SinkConnector {
  start(): Promise<void>;
  /** Resolves when the system confirmed the write; the engine then acks the JetStream message. */
  write(target: Readonly<Record<string, string>>, body: Uint8Array, headers: readonly HeaderEntry[]): Promise<void>;
  close(): Promise<void>;
}
export interface SinkContext<Conn> {
  readonly connectionName: string;
  readonly connection: Conn;
  readonly target: Record<string, unknown>;
}

/**
 * A definition with its type parameters erased, as stored in the registry. The members
 * are method signatures, so a ConnectorDefinition<X, Y> is assignable to this.
 */
export type AnyConnectorDefinition = ConnectorDefinition<unknown, unknown>;
