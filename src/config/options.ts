// The resolved configuration of one `tern server` process: what flags and the
// config file become after parsing and validation. Durations are milliseconds,
// sizes are bytes. Defaults mirror nats-server's setBaselineOptions.
import type { FlagValues } from './flags.js';

export interface Permission {
  allow?: string[];
  deny?: string[];
}

export interface UserPermissions {
  publish?: Permission;
  subscribe?: Permission;
  /** allow_responses: let the user publish to reply subjects it received (max msgs, expiry ms). */
  allowResponses?: { maxMsgs: number; expiresMs: number };
}

export interface UserConfig {
  user: string;
  /** Plain text or a bcrypt hash ($2a$/$2b$/$2y$). */
  password: string;
  permissions?: UserPermissions;
}

export interface AuthorizationOptions {
  user?: string;
  password?: string;
  token?: string;
  users?: UserConfig[];
  /** Auth timeout in ms (nats-server: authorization.timeout, seconds in config). */
  timeout?: number;
}

export interface TlsOptions {
  certFile: string;
  keyFile: string;
  caFile?: string;
  verify: boolean;
  /** Handshake timeout in ms. */
  timeout: number;
}

export interface ClusterOptions {
  name: string;
  host: string;
  port: number;
  /** Advertised route URL host:port for other servers. */
  advertise: string;
  noAdvertise: boolean;
  routes: string[];
  connectRetries: number;
  authorization?: { user?: string; password?: string; timeout?: number };
  poolSize: number;
}

export interface JetStreamOptions {
  enabled: boolean;
  /** Set by the loader when JetStream is enabled without one: <os tmpdir>/tern (nats-server: <tmpdir>/nats). */
  storeDir: string;
  maxMemoryStore: number;
  maxFileStore: number;
  /** fsync policy: 'always' or an interval in ms (default 2 min as nats-server). */
  syncInterval: number | 'always';
}

export interface ServerOptions {
  /** Absolute path of the config file, '' when none. */
  configFile: string;
  host: string;
  /** -1 = random port (as nats-server). */
  port: number;
  serverName: string;
  clientAdvertise: string;

  maxPayload: number;
  maxPending: number;
  maxControlLine: number;
  /** As nats-server: -1 (config `max_connections: 0` or negative) = accept no clients. */
  maxConnections: number;
  /** 0 = unlimited. */
  maxSubscriptions: number;
  pingInterval: number;
  pingMax: number;
  writeDeadline: number;
  noHeaderSupport: boolean;

  debug: boolean;
  trace: boolean;
  logtime: boolean;
  logFile: string;
  pidFile: string;
  portsFileDir: string;

  /** Monitoring: 0 = off, -1 = random. httpHost defaults to `host` unless set by http/--http. */
  httpHost: string;
  httpPort: number;

  authorization: AuthorizationOptions;
  noAuthUser: string;
  tls?: TlsOptions;

  cluster?: ClusterOptions;
  jetstream: JetStreamOptions;

  lameDuckDuration: number;
  lameDuckGracePeriod: number;

  /** The command-line flags these options were built with: a config reload re-applies them over the new file (as nats-server's FlagSnapshot). */
  commandLine: FlagValues;
}

export const DEFAULT_PORT = 4222;
export const RANDOM_PORT = -1;

export function defaultOptions(): ServerOptions {
  return {
    configFile: '',
    host: '0.0.0.0',
    port: DEFAULT_PORT,
    serverName: '',
    clientAdvertise: '',
    maxPayload: 1024 * 1024,
    maxPending: 64 * 1024 * 1024,
    maxControlLine: 4096,
    maxConnections: 64 * 1024,
    maxSubscriptions: 0,
    pingInterval: 2 * 60 * 1000,
    pingMax: 2,
    writeDeadline: 10 * 1000,
    noHeaderSupport: false,
    debug: false,
    trace: false,
    logtime: true,
    logFile: '',
    pidFile: '',
    portsFileDir: '',
    httpHost: '0.0.0.0',
    httpPort: 0,
    authorization: {},
    noAuthUser: '',
    jetstream: {
      enabled: false,
      storeDir: '',
      maxMemoryStore: -1,
      maxFileStore: -1,
      syncInterval: 2 * 60 * 1000,
    },
    lameDuckDuration: 2 * 60 * 1000,
    lameDuckGracePeriod: 10 * 1000,
    commandLine: {},
  };
}
