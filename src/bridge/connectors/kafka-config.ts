// Kafka connector configuration: the connection schema (checked when the bridge config
// loads) and the parsing of a connection and of a mapping's source block into typed,
// validated values, each bad field a ConnectorConfigError naming it. Used by the
// ConnectorDefinition in kafka.ts; free of kafkajs imports.
import { ConnectorConfigError, type ConnectionSchema } from '../connector.js';

export type KafkaSaslMechanism = 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly saslMechanism: KafkaSaslMechanism;
  readonly username: string;
  readonly password: string;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export type KafkaStartOffset = 'earliest' | 'latest';

export interface KafkaSource {
  /** Explicit topic names, or empty when `topicPattern` is used. */
  readonly topics: readonly string[];
  /** A JS regular expression matched against topic names at (re)start. */
  readonly topicPattern?: RegExp;
  readonly group: string;
  /** Where a group without committed offsets starts. */
  readonly startOffset: KafkaStartOffset;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  /** How long a revoked partition may take to drain before committing what is confirmed. */
  readonly revokeDrainTimeoutMs: number;
  /** Commit confirmed progress at least this often while a batch is in flight. */
  readonly commitIntervalMs: number;
  readonly maxBytesPerPartition: number;
  /** Partitions whose batches are handled at the same time (kafkajs partitionsConsumedConcurrently). */
  readonly partitionsConcurrency: number;
}

const BROKER_RE = /^[A-Za-z0-9._\-[\]:]+:\d{1,5}$/;

function parseBrokerList(value: unknown): string[] {
  const list = Array.isArray(value) ? value.map(String) : String(value ?? '').split(',');
  const out = list.map((s) => s.trim()).filter((s) => s !== '');
  if (out.length === 0) throw new Error('needs at least one broker as host:port');
  for (const b of out) if (!BROKER_RE.test(b)) throw new Error(`"${b}" is not host:port`);
  return out;
}

export const connectionSchema: ConnectionSchema = {
  brokers: {
    doc: 'Kafka bootstrap brokers, comma separated host:port',
    format: (v: unknown) => void parseBrokerList(v),
    default: '127.0.0.1:9092',
  },
  clientId: { doc: 'Kafka client id', format: String, default: 'tern-bridge' },
  ssl: { doc: 'Connect with TLS', format: Boolean, default: false },
  saslMechanism: {
    doc: 'SASL mechanism',
    format: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'],
    default: 'none',
  },
  username: { doc: 'SASL user name', format: String, default: '' },
  password: { doc: 'SASL password', format: String, default: '', sensitive: true },
  connectionTimeoutMs: { doc: 'TCP connect timeout (ms)', format: 'nat', default: 3000 },
  requestTimeoutMs: { doc: 'Kafka request timeout (ms)', format: 'nat', default: 30000 },
};

export function parseConnection(props: Record<string, unknown>): KafkaConnection {
  const field = (name: string, fn: () => unknown): unknown => {
    try {
      return fn();
    } catch (err) {
      throw new ConnectorConfigError(name, err instanceof Error ? err.message : String(err));
    }
  };
  const brokers = field('brokers', () => parseBrokerList(props.brokers)) as string[];
  const mech = String(props.saslMechanism ?? 'none') as KafkaSaslMechanism;
  if (!['none', 'plain', 'scram-sha-256', 'scram-sha-512'].includes(mech)) {
    throw new ConnectorConfigError('saslMechanism', `must be one of none, plain, scram-sha-256, scram-sha-512, got "${mech}"`);
  }
  const username = String(props.username ?? '');
  if (mech !== 'none' && username === '') throw new ConnectorConfigError('username', `is required with saslMechanism ${mech}`);
  return {
    brokers,
    clientId: String(props.clientId ?? 'tern-bridge'),
    ssl: props.ssl === true || props.ssl === 'true',
    saslMechanism: mech,
    username,
    password: String(props.password ?? ''),
    connectionTimeoutMs: Number(props.connectionTimeoutMs ?? 3000),
    requestTimeoutMs: Number(props.requestTimeoutMs ?? 30000),
  };
}

const SOURCE_KEYS = [
  'connection',
  'topic',
  'topics',
  'topicPattern',
  'group',
  'startOffset',
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'rebalanceTimeoutMs',
  'revokeDrainTimeoutMs',
  'commitIntervalMs',
  'maxBytesPerPartition',
  'partitionsConcurrency',
] as const;

function positiveInt(block: Record<string, unknown>, key: string, def: number, min = 1): number {
  const v = block[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConnectorConfigError(key, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseSource(block: Record<string, unknown>): KafkaSource {
  for (const k of Object.keys(block)) {
    if (!(SOURCE_KEYS as readonly string[]).includes(k)) {
      throw new ConnectorConfigError(k, `unknown field (known: ${SOURCE_KEYS.join(', ')})`);
    }
  }
  const given = ['topic', 'topics', 'topicPattern'].filter((k) => block[k] !== undefined);
  if (given.length !== 1) {
    throw new ConnectorConfigError('topics', `give exactly one of topic, topics, topicPattern (got ${given.join(', ') || 'none'})`);
  }
  let topics: string[] = [];
  let topicPattern: RegExp | undefined;
  if (block.topicPattern !== undefined) {
    if (typeof block.topicPattern !== 'string' || block.topicPattern === '') {
      throw new ConnectorConfigError('topicPattern', 'must be a non-empty regular expression string');
    }
    try {
      topicPattern = new RegExp(block.topicPattern);
    } catch (err) {
      throw new ConnectorConfigError('topicPattern', `bad regular expression: ${(err as Error).message}`);
    }
  } else {
    const key = block.topic !== undefined ? 'topic' : 'topics';
    const raw = block[key];
    const list = Array.isArray(raw) ? raw : [raw];
    list.forEach((t, i) => {
      if (typeof t !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(t)) {
        throw new ConnectorConfigError(
          Array.isArray(raw) ? `${key}[${i}]` : key,
          `"${String(t)}" is not a Kafka topic name (letters, digits, '.', '_', '-')`,
        );
      }
    });
    topics = [...new Set(list as string[])];
    if (topics.length === 0) throw new ConnectorConfigError(key, 'needs at least one topic');
  }
  if (typeof block.group !== 'string' || block.group.trim() === '') {
    throw new ConnectorConfigError('group', 'the consumer group id is required');
  }
  const startOffset = block.startOffset ?? 'earliest';
  if (startOffset !== 'earliest' && startOffset !== 'latest') {
    throw new ConnectorConfigError('startOffset', `must be "earliest" or "latest", got ${JSON.stringify(startOffset)}`);
  }
  const sessionTimeoutMs = positiveInt(block, 'sessionTimeoutMs', 30_000, 1000);
  const heartbeatIntervalMs = positiveInt(block, 'heartbeatIntervalMs', Math.min(3000, Math.floor(sessionTimeoutMs / 3)), 100);
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ConnectorConfigError('heartbeatIntervalMs', `must be below sessionTimeoutMs (${sessionTimeoutMs})`);
  }
  const rebalanceTimeoutMs = positiveInt(block, 'rebalanceTimeoutMs', 60_000, 1000);
  const revokeDrainTimeoutMs = positiveInt(block, 'revokeDrainTimeoutMs', Math.floor(rebalanceTimeoutMs / 2), 0);
  if (revokeDrainTimeoutMs >= rebalanceTimeoutMs) {
    throw new ConnectorConfigError('revokeDrainTimeoutMs', `must be below rebalanceTimeoutMs (${rebalanceTimeoutMs})`);
  }
  return {
    topics,
    ...(topicPattern ? { topicPattern } : {}),
    group: block.group,
    startOffset,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs,
    revokeDrainTimeoutMs,
    commitIntervalMs: positiveInt(block, 'commitIntervalMs', 1000, 10),
    maxBytesPerPartition: positiveInt(block, 'maxBytesPerPartition', 1024 * 1024, 1024),
    partitionsConcurrency: positiveInt(block, 'partitionsConcurrency', 8),
  };
}
