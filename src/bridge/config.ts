// The bridge's own configuration (convict): target, connections, windows, retries, metrics,
// logging. Loaded from a YAML/JSON file (--config), overridden by TERN_BRIDGE_* env vars,
// validated strictly (unknown keys are errors). Each connection is validated again against
// its connector's schema, with env vars TERN_BRIDGE_<CONNECTION>_<FIELD> (e.g.
// TERN_BRIDGE_RABBIT_PASSWORD), so credentials never have to be in the file.
import convict from 'convict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { ConnectionSchema } from './connector.js';
import { connectorKinds, loadConnector } from './connectors/index.js';
import type { LogLevel } from './log.js';
import type { ConnectionEntry } from './mapping.js';

convict.addParser({ extension: ['yml', 'yaml'], parse: (s: string) => YAML.parse(s) as unknown });

export class BridgeConfigError extends Error {
  override name = 'BridgeConfigError';
}

const nonNegInt = (name: string) => (v: unknown) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
};
const posInt = (v: unknown) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error('must be a positive integer');
};

const schema = {
  target: {
    servers: {
      doc: 'NATS server URLs of the target cluster (comma-separated in env)',
      format: (v: unknown) => {
        if (!Array.isArray(v) || v.length === 0) throw new Error('must be a non-empty list of nats:// URLs');
        for (const s of v) if (typeof s !== 'string' || !/^(nats|tls):\/\/[^\s]+$/.test(s.trim())) throw new Error(`"${String(s)}" is not a nats:// URL`);
      },
      default: ['nats://127.0.0.1:4222'],
      // env TERN_BRIDGE_TARGET_SERVERS (comma-separated) is applied in loadBridgeConfig
    },
    user: { doc: 'target user', format: String, default: null as string | null, nullable: true, env: 'TERN_BRIDGE_TARGET_USER' },
    pass: { doc: 'target password', format: String, default: null as string | null, nullable: true, sensitive: true, env: 'TERN_BRIDGE_TARGET_PASS' },
    token: { doc: 'target token', format: String, default: null as string | null, nullable: true, sensitive: true, env: 'TERN_BRIDGE_TARGET_TOKEN' },
    name: { doc: 'client connection name', format: String, default: 'tern-bridge' },
    publishTimeoutMs: { doc: 'fail a publish without PubAck after this long', format: posInt, default: 5000, env: 'TERN_BRIDGE_PUBLISH_TIMEOUT_MS' },
    noRandomize: { doc: 'connect to servers in the listed order (e.g. the local node first) instead of a random one', format: Boolean, default: false },
  },
  connections: {
    doc: 'source connections by name: { <name>: { kind: rabbitmq|kafka, ...connector fields } }; the default "rabbit" (local RabbitMQ) serves the example mappings/',
    format: Object,
    default: { rabbit: { kind: 'rabbitmq', url: 'amqp://127.0.0.1:5672' } } as Record<string, unknown>,
  },
  mappings: { doc: 'mappings directory (*.yaml) or file', format: String, default: 'mappings', env: 'TERN_BRIDGE_MAPPINGS' },
  window: { doc: 'in-flight window per source (AMQP prefetch, Kafka in-flight per partition)', format: posInt, default: 2000, env: 'TERN_BRIDGE_WINDOW' },
  retry: {
    maxAttempts: { doc: 'default attempts before dead-lettering a rejected message', format: posInt, default: 5 },
    backoffMs: { doc: 'default first retry delay', format: posInt, default: 100 },
    maxBackoffMs: { doc: 'default retry delay cap', format: posInt, default: 5000 },
  },
  reconnect: {
    initialDelayMs: { doc: 'first source reconnect delay (jittered, doubling)', format: posInt, default: 200 },
    maxDelayMs: { doc: 'source reconnect delay cap', format: posInt, default: 10000 },
  },
  preflight: {
    redeliveryHorizonMs: {
      doc: 'longest time between a first publish and a redelivered copy (crash + restart + retries); every target stream duplicate_window must cover it',
      format: posInt,
      default: 120000,
      env: 'TERN_BRIDGE_REDELIVERY_HORIZON_MS',
    },
  },
  metrics: {
    host: { doc: 'address for /metrics and /healthz', format: String, default: '0.0.0.0', env: 'TERN_BRIDGE_METRICS_HOST' },
    port: { doc: 'port for /metrics and /healthz (0 = any free port, -1 = off)', format: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -1 || v > 65535) throw new Error('must be -1..65535');
    }, default: 9464, env: 'TERN_BRIDGE_METRICS_PORT' },
  },
  health: {
    stallAfterMs: { doc: '/healthz fails when work is pending and nothing was confirmed for this long', format: posInt, default: 30000 },
    statsIntervalMs: { doc: 'how often queue depth / lag is polled', format: posInt, default: 5000 },
  },
  shutdownTimeoutMs: { doc: 'graceful stop: how long to wait for in-flight confirmations', format: nonNegInt('shutdownTimeoutMs'), default: 20000, env: 'TERN_BRIDGE_SHUTDOWN_TIMEOUT_MS' },
  logLevel: { doc: 'log level', format: ['debug', 'info', 'warn', 'error'], default: 'info', env: 'TERN_BRIDGE_LOG_LEVEL' },
};

export interface BridgeConfig {
  target: { servers: string[]; user: string | null; pass: string | null; token: string | null; name: string; publishTimeoutMs: number; noRandomize: boolean };
  connections: Record<string, unknown>;
  mappings: string;
  window: number;
  retry: { maxAttempts: number; backoffMs: number; maxBackoffMs: number };
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  preflight: { redeliveryHorizonMs: number };
  metrics: { host: string; port: number };
  health: { stallAfterMs: number; statsIntervalMs: number };
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

export interface LoadOptions {
  /** YAML or JSON file. */
  file?: string;
  /** Values applied after the file (e.g. --mappings from the CLI); env still wins over the file. */
  overrides?: Record<string, unknown>;
  /** Environment (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Load and validate the bridge config; throws BridgeConfigError with the key at fault. */
export function loadBridgeConfig(opts: LoadOptions = {}): BridgeConfig {
  const env = opts.env ?? process.env;
  // convict would JSON.parse this list from env; take it as comma-separated (trimmed) and
  // apply it last so that, like every env var, it wins over the file.
  const { TERN_BRIDGE_TARGET_SERVERS: serversEnv, ...envRest } = env;
  const cfg = convict(schema, { env: envRest, args: [] });
  try {
    if (opts.file) {
      if (/\.ya?ml$/i.test(opts.file)) cfg.load(YAML.parse(readFileSync(opts.file, 'utf8')) ?? {});
      else cfg.loadFile(opts.file);
    }
    if (opts.overrides) cfg.load(opts.overrides);
    if (serversEnv !== undefined) cfg.set('target.servers', serversEnv.split(',').map((x) => x.trim()).filter((x) => x !== ''));
    cfg.validate({ allowed: 'strict' });
  } catch (e) {
    throw new BridgeConfigError(`${opts.file ?? 'bridge config'}: ${(e as Error).message}`);
  }
  return cfg.getProperties() as unknown as BridgeConfig;
}

function envName(conn: string, field: string): string {
  return `TERN_BRIDGE_${conn}_${field.replace(/([a-z])([A-Z])/g, '$1_$2')}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** Validate every connection against its connector's schema (+ env overrides). */
export async function resolveConnections(config: BridgeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Map<string, ConnectionEntry>> {
  const out = new Map<string, ConnectionEntry>();
  for (const [name, raw] of Object.entries(config.connections)) {
    const where = `connections.${name}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BridgeConfigError(`${where}: must be an object with "kind"`);
    const { kind, ...rest } = raw as Record<string, unknown>;
    if (typeof kind !== 'string') throw new BridgeConfigError(`${where}.kind: required (one of ${connectorKinds().join(', ')})`);
    let def;
    try {
      def = await loadConnector(kind);
    } catch (e) {
      throw new BridgeConfigError(`${where}.kind: ${(e as Error).message}`);
    }
    const connSchema: Record<string, unknown> = {};
    for (const [field, leaf] of Object.entries(def.connectionSchema as ConnectionSchema)) connSchema[field] = { ...leaf, env: envName(name, field) };
    const cc = convict(connSchema as convict.Schema<Record<string, unknown>>, { env, args: [] });
    try {
      cc.load(rest);
      cc.validate({ allowed: 'strict' });
    } catch (e) {
      throw new BridgeConfigError(`${where}: ${(e as Error).message}`);
    }
    out.set(name, { name, definition: def, value: def.parseConnection(cc.getProperties()) });
  }
  return out;
}
