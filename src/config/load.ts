// Config file + flags -> validated ServerOptions. The file is read first,
// flags override it, then the merged result is validated as nats-server's
// validateOptions does. All problems are collected and reported together.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ConfMap, type ConfPosition, ConfigError, parseConfFile, toPlain } from './conf-parser.js';
import type { FlagValues } from './flags.js';
import { defaultOptions, RANDOM_PORT, DEFAULT_PORT, type ServerOptions } from './options.js';
import { DEFAULT_TLS_TIMEOUT_MS, defaultCluster, readAuthorization, readCluster, readJetStream, readTls } from './sections.js';
import {
  Diagnostics,
  type Field,
  checkPort,
  fieldsOf,
  formatGoDuration,
  readBool,
  readDuration,
  readInt,
  readListen,
  readPort,
  readSize,
  readString,
  splitHostPort,
} from './values.js';

export { ConfigError } from './conf-parser.js';

/** Loading failed: every error found, in file order. */
export class ConfigErrors extends Error {
  override name = 'ConfigErrors';
  constructor(
    readonly errors: ConfigError[],
    readonly warnings: ConfigError[] = [],
  ) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

export interface LoadResult {
  options: ServerOptions;
  /** nats-server warnings (e.g. a bare number on a duration key). */
  warnings: ConfigError[];
  /** Keys accepted for compatibility that Tern ignores. */
  notices: ConfigError[];
  /** sha256 of the parsed config (as nats-server -t prints), '' without a file. */
  digest: string;
}

const MAX_INT32 = 2 ** 31 - 1;
const MIN_LAME_DUCK_MS = 30_000;

/** Where option values came from, for errors found after merging. */
type Origins = Partial<Record<'maxPayload' | 'maxPending' | 'lameDuckDuration' | 'lameDuckGracePeriod' | 'noAuthUser' | 'port', ConfPosition>>;

/** Top-level keys nats-server accepts that Tern ignores (notice, no error). */
const TOLERATED = new Set([
  'syslog',
  'remote_syslog',
  'logfile_size_limit',
  'log_size_limit',
  'logfile_max_num',
  'log_max_num',
  'logtime_utc',
  'trace_headers',
  'prof_port',
  'prof_block_rate',
  'max_traced_msg_len',
  'disable_sublist_cache',
  'no_sublist_cache',
  'max_sub_tokens',
  'max_subscription_tokens',
  'write_timeout',
  'no_fast_producer_stall',
  'max_closed_clients',
  'https',
  'https_port',
  'http_base_path',
  'server_tags',
  'tags',
  'server_metadata',
  'connect_error_reports',
  'reconnect_error_reports',
  'allow_non_tls',
  'ocsp',
  'ocsp_cache',
  'default_js_domain',
  'leafnodes',
  'leaf',
  'gateway',
  'websocket',
  'ws',
  'mqtt',
  'no_system_account',
  'system_account',
  'proxy_protocol',
  'feature_flags',
  'default_sentinel',
]);

/** Keys that configure authentication Tern cannot enforce: refusing is safer than ignoring. */
const REFUSED: Record<string, string> = {
  accounts: 'accounts are not supported by Tern (use authorization { users = [...] })',
  operator: 'operator/JWT authentication is not supported by Tern',
  operators: 'operator/JWT authentication is not supported by Tern',
  root: 'operator/JWT authentication is not supported by Tern',
  roots: 'operator/JWT authentication is not supported by Tern',
  root_operator: 'operator/JWT authentication is not supported by Tern',
  root_operators: 'operator/JWT authentication is not supported by Tern',
  resolver: 'account resolvers are not supported by Tern',
  account_resolver: 'account resolvers are not supported by Tern',
  accounts_resolver: 'account resolvers are not supported by Tern',
  resolver_preload: 'account resolvers are not supported by Tern',
  resolver_tls: 'account resolvers are not supported by Tern',
  trusted: 'trusted keys (JWT authentication) are not supported by Tern',
  trusted_keys: 'trusted keys (JWT authentication) are not supported by Tern',
  mappings: 'subject mappings are not supported by Tern',
  maps: 'subject mappings are not supported by Tern',
};

interface FileState {
  origins: Origins;
  /** store_dir given at top level (nats-server rejects it twice). */
  topStoreDir?: Field;
  clusterHasListen: boolean;
  httpHostSet: boolean;
}

function applyTopLevel(d: Diagnostics, f: Field, o: ServerOptions, st: FileState): void {
  const key = f.entry.key.toLowerCase();
  switch (key) {
    case 'listen': {
      const v = readListen(d, f);
      if (v?.host !== undefined) o.host = v.host;
      if (v?.port !== undefined) {
        o.port = v.port;
        st.origins.port = f.pos;
      }
      break;
    }
    case 'port': {
      const v = readPort(d, f);
      if (v !== undefined) {
        o.port = v;
        st.origins.port = f.pos;
      }
      break;
    }
    case 'host':
    case 'net': {
      const v = readString(d, f);
      if (v !== undefined) o.host = v;
      break;
    }
    case 'server_name': {
      const v = readString(d, f);
      if (v !== undefined && v.includes(' ')) d.error(`${f.name}: server name cannot contain spaces`, f.pos);
      else if (v !== undefined) o.serverName = v;
      break;
    }
    case 'client_advertise': {
      const v = readString(d, f);
      if (v !== undefined) o.clientAdvertise = v;
      break;
    }
    case 'http': {
      const v = readListen(d, f);
      if (v?.host !== undefined) {
        o.httpHost = v.host;
        st.httpHostSet = true;
      }
      if (v?.port !== undefined) o.httpPort = v.port;
      break;
    }
    case 'http_port':
    case 'monitor_port': {
      const v = readPort(d, f);
      if (v !== undefined) o.httpPort = v;
      break;
    }
    case 'max_payload': {
      const v = readSize(d, f, { max: MAX_INT32 });
      if (v !== undefined) {
        o.maxPayload = v === 0 ? defaultOptions().maxPayload : v;
        st.origins.maxPayload = f.pos;
      }
      break;
    }
    case 'max_pending': {
      const v = readSize(d, f);
      if (v !== undefined) {
        o.maxPending = v === 0 ? defaultOptions().maxPending : v;
        st.origins.maxPending = f.pos;
      }
      break;
    }
    case 'max_control_line': {
      const v = readSize(d, f, { max: MAX_INT32 });
      if (v !== undefined) o.maxControlLine = v === 0 ? defaultOptions().maxControlLine : v;
      break;
    }
    case 'max_connections':
    case 'max_conn': {
      const v = readInt(d, f);
      // As nats-server: 0 (or a negative number) means no client connections are accepted.
      if (v !== undefined) o.maxConnections = v <= 0 ? -1 : v;
      break;
    }
    case 'max_subscriptions':
    case 'max_subs': {
      const v = readInt(d, f, { min: 0 });
      if (v !== undefined) o.maxSubscriptions = v;
      break;
    }
    case 'ping_interval': {
      const v = readDuration(d, f);
      if (v !== undefined) {
        if (v < 0) d.error(`${f.name}: must not be negative`, f.pos);
        else o.pingInterval = v === 0 ? defaultOptions().pingInterval : v;
      }
      break;
    }
    case 'ping_max': {
      const v = readInt(d, f, { min: 0 });
      if (v !== undefined) o.pingMax = v === 0 ? defaultOptions().pingMax : v;
      break;
    }
    case 'write_deadline': {
      const v = readDuration(d, f);
      if (v !== undefined) {
        if (v < 0) d.error(`${f.name}: must not be negative`, f.pos);
        else o.writeDeadline = v === 0 ? defaultOptions().writeDeadline : v;
      }
      break;
    }
    case 'debug':
    case 'trace':
    case 'trace_verbose':
    case 'logtime':
    case 'no_header_support': {
      const v = readBool(d, f);
      if (v === undefined) break;
      if (key === 'debug') o.debug = v;
      else if (key === 'logtime') o.logtime = v;
      else if (key === 'no_header_support') o.noHeaderSupport = v;
      else o.trace = v;
      break;
    }
    case 'logfile':
    case 'log_file': {
      const v = readString(d, f);
      if (v !== undefined) o.logFile = v;
      break;
    }
    case 'pidfile':
    case 'pid_file': {
      const v = readString(d, f);
      if (v !== undefined) o.pidFile = v;
      break;
    }
    case 'ports_file_dir': {
      const v = readString(d, f);
      if (v !== undefined) o.portsFileDir = v;
      break;
    }
    case 'authorization': {
      const a = readAuthorization(d, f, 'client');
      if (a) o.authorization = a;
      break;
    }
    case 'no_auth_user': {
      const v = readString(d, f);
      if (v !== undefined) {
        o.noAuthUser = v;
        st.origins.noAuthUser = f.pos;
      }
      break;
    }
    case 'tls': {
      const t = readTls(d, f);
      if (t) o.tls = t;
      break;
    }
    case 'cluster': {
      const c = readCluster(d, f);
      if (c) {
        o.cluster = c.cluster;
        st.clusterHasListen = c.hasListen;
      }
      break;
    }
    case 'jetstream':
      readJetStream(d, f, o.jetstream);
      break;
    case 'store_dir':
    case 'storedir': {
      const v = readString(d, f);
      if (v !== undefined) {
        o.jetstream.storeDir = v;
        st.topStoreDir = f;
      }
      break;
    }
    case 'lame_duck_duration': {
      const v = readDuration(d, f);
      if (v !== undefined) {
        if (v < MIN_LAME_DUCK_MS) d.error(`invalid lame_duck_duration of ${formatGoDuration(v)}, minimum is 30 seconds`, f.pos);
        else {
          o.lameDuckDuration = v;
          st.origins.lameDuckDuration = f.pos;
        }
      }
      break;
    }
    case 'lame_duck_grace_period': {
      const v = readDuration(d, f);
      if (v !== undefined) {
        if (v < 0) d.error('invalid lame_duck_grace_period, needs to be positive', f.pos);
        else {
          o.lameDuckGracePeriod = v;
          st.origins.lameDuckGracePeriod = f.pos;
        }
      }
      break;
    }
    default: {
      const refused = REFUSED[key];
      if (refused) d.error(`${f.name}: ${refused}`, f.pos);
      else if (TOLERATED.has(key)) d.notice(`${f.name} is accepted for nats-server compatibility but not supported by Tern; ignored`, f.pos);
      else if (!f.entry.usedAsVariable) d.error(`unknown field "${f.name}"`, f.pos);
    }
  }
}

/** A --cluster / --cluster_listen URL: nats://[user:pass@]host:port. */
function applyClusterListen(d: Diagnostics, o: ServerOptions, raw: string): void {
  // URL rejects a "-1" port: accept it explicitly for a random port.
  const random = /:-1\/?$/.test(raw);
  const text = random ? raw.replace(/:-1(\/?)$/, ':0$1') : raw;
  let u: URL;
  try {
    u = new URL(text.includes('://') ? text : `nats://${text}`);
  } catch {
    d.error(`invalid value "${raw}" for flag --cluster: expected a URL such as nats://0.0.0.0:6222`);
    return;
  }
  // URL drops a port that is the scheme's default, so read it from the text.
  const m = /:(\d+)\/?$/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  if (!random && Number.isNaN(port)) {
    d.error(`invalid value "${raw}" for flag --cluster: missing port (e.g. nats://0.0.0.0:6222)`);
    return;
  }
  const c = o.cluster ?? defaultCluster();
  c.host = u.hostname.replace(/^\[|\]$/g, '') || '0.0.0.0';
  c.port = random ? RANDOM_PORT : port;
  if (u.username) {
    c.authorization = { ...c.authorization, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  }
  o.cluster = c;
}

function applyFlags(d: Diagnostics, o: ServerOptions, f: FlagValues, st: FileState): void {
  if (f.host !== undefined) o.host = f.host;
  if (f.port !== undefined) {
    o.port = f.port;
    delete st.origins.port;
  }
  if (f.serverName !== undefined) o.serverName = f.serverName;
  if (f.clientAdvertise !== undefined) o.clientAdvertise = f.clientAdvertise;
  if (f.http !== undefined) {
    const hp = splitHostPort(f.http);
    if (!hp) d.error(`invalid value "${f.http}" for flag --http: expected host:port`);
    else {
      o.httpHost = hp.host || o.httpHost;
      st.httpHostSet = hp.host !== '';
      o.httpPort = hp.port;
    }
  }
  if (f.httpPort !== undefined) o.httpPort = f.httpPort;
  if (f.pidFile !== undefined) o.pidFile = f.pidFile;
  if (f.portsFileDir !== undefined) o.portsFileDir = f.portsFileDir;
  if (f.maxPayload !== undefined) {
    if (f.maxPayload <= 0 || f.maxPayload > MAX_INT32) {
      d.error(`invalid value "${f.maxPayload}" for flag --max_payload: must be between 1 and ${MAX_INT32}`);
    } else {
      o.maxPayload = f.maxPayload;
      delete st.origins.maxPayload;
    }
  }
  if (f.logFile !== undefined) o.logFile = f.logFile;
  if (f.logtime !== undefined) o.logtime = f.logtime;
  if (f.debug !== undefined) o.debug = f.debug;
  if (f.trace !== undefined) o.trace = f.trace;

  if (f.user !== undefined || f.pass !== undefined || f.auth !== undefined) {
    const a = { ...o.authorization };
    if (f.user !== undefined) a.user = f.user;
    if (f.pass !== undefined) a.password = f.pass;
    if (f.auth !== undefined) a.token = f.auth;
    if (a.users && a.users.length > 0 && (f.user !== undefined || f.auth !== undefined)) {
      d.error('--user/--auth can not be combined with the users array of the config file');
    }
    if ((a.user !== undefined || a.password !== undefined) && a.token !== undefined) {
      d.error('Cannot have a user/pass and token (--user/--pass and --auth)');
    }
    o.authorization = a;
  }

  const tlsFlags = f.tls !== undefined || f.tlsCert !== undefined || f.tlsKey !== undefined || f.tlsVerify !== undefined || f.tlsCaCert !== undefined;
  if (f.tls === false) {
    delete o.tls; // -tls=false turns TLS off, whatever else is given (as nats-server)
  } else if (tlsFlags) {
    const certFile = f.tlsCert ?? o.tls?.certFile;
    const keyFile = f.tlsKey ?? o.tls?.keyFile;
    if (!certFile) d.error('TLS Server certificate must be present and valid (--tlscert)');
    else if (!keyFile) d.error('TLS Server private key must be present and valid (--tlskey)');
    else {
      const t = { certFile, keyFile, verify: f.tlsVerify ?? o.tls?.verify ?? false, timeout: o.tls?.timeout ?? DEFAULT_TLS_TIMEOUT_MS };
      const caFile = f.tlsCaCert ?? o.tls?.caFile;
      o.tls = caFile ? { ...t, caFile } : t;
    }
  }

  if (f.clusterListen !== undefined) {
    applyClusterListen(d, o, f.clusterListen);
    st.clusterHasListen = true;
  }
  if (f.routes !== undefined) {
    if (!st.clusterHasListen) {
      d.error('solicited routes require cluster capabilities, e.g. --cluster');
    } else {
      const routes = f.routes.split(',').map((r) => r.trim()).filter((r) => r !== '');
      for (const r of routes) {
        try {
          new URL(r);
        } catch {
          d.error(`invalid value "${r}" for flag --routes: expected a URL such as nats-route://host:6222`);
        }
      }
      if (o.cluster) o.cluster.routes = routes;
    }
  }
  const clusterOnly: [keyof FlagValues, string][] = [
    ['clusterName', '--cluster_name'],
    ['clusterAdvertise', '--cluster_advertise'],
    ['noAdvertise', '--no_advertise'],
    ['connectRetries', '--connect_retries'],
  ];
  for (const [k, flag] of clusterOnly) {
    if (f[k] !== undefined && !o.cluster) d.error(`${flag} requires a cluster (--cluster <url> or a cluster block in the config file)`);
  }
  if (o.cluster) {
    if (f.clusterName !== undefined) {
      if (f.clusterName.includes(' ')) d.error('cluster name cannot contain spaces (--cluster_name)');
      o.cluster.name = f.clusterName;
    }
    if (f.clusterAdvertise !== undefined) o.cluster.advertise = f.clusterAdvertise;
    if (f.noAdvertise !== undefined) o.cluster.noAdvertise = f.noAdvertise;
    if (f.connectRetries !== undefined) {
      if (f.connectRetries < 0) d.error('--connect_retries can not be negative');
      o.cluster.connectRetries = f.connectRetries;
    }
  }
  if (f.jetstream !== undefined) o.jetstream.enabled = f.jetstream;
  if (f.storeDir !== undefined) o.jetstream.storeDir = f.storeDir;
}

/** Checks on the merged options (nats-server's validateOptions and setBaselineOptions). */
function validate(d: Diagnostics, o: ServerOptions, st: FileState): void {
  const origins = st.origins;
  if (checkPort(d, 'port', o.port, origins.port) !== undefined && o.port === 0) o.port = DEFAULT_PORT;
  checkPort(d, 'http_port', o.httpPort);
  if (!st.httpHostSet) o.httpHost = o.host;
  if (o.serverName.includes(' ')) d.error('server name cannot contain spaces');
  if (o.maxPayload > o.maxPending) {
    d.error(`max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`, origins.maxPayload ?? origins.maxPending);
  }
  if (o.lameDuckGracePeriod >= o.lameDuckDuration) {
    d.error(
      `lame duck grace period (${formatGoDuration(o.lameDuckGracePeriod)}) should be strictly lower than lame duck duration (${formatGoDuration(o.lameDuckDuration)})`,
      origins.lameDuckGracePeriod ?? origins.lameDuckDuration,
    );
  }
  const a = o.authorization;
  if (o.noAuthUser !== '' && !(a.users ?? []).some((u) => u.user === o.noAuthUser)) {
    d.error(`no_auth_user: "${o.noAuthUser}" not present as user in authorization block`, origins.noAuthUser);
  }
  if (o.cluster) {
    if (!st.clusterHasListen) {
      d.error('cluster: a listen address is required (cluster { listen: 0.0.0.0:6222 } or --cluster nats://0.0.0.0:6222)');
    } else {
      checkPort(d, 'cluster.port', o.cluster.port);
    }
  }
  if (o.jetstream.enabled && o.jetstream.storeDir === '') o.jetstream.storeDir = join(tmpdir(), 'tern');
}

export interface LoadInput {
  flags: FlagValues;
  /** Environment for $VAR in the config file; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

function digestOf(tree: ConfMap): string {
  // Sorted keys, like Go's JSON encoding of a map.
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return `sha256:${createHash('sha256').update(JSON.stringify(sorted(toPlain(tree)))).digest('hex')}`;
}

/** Builds the options of a `tern server` run. Throws ConfigErrors (or ConfigError for syntax). */
export function loadOptions(input: LoadInput): LoadResult {
  const o = defaultOptions();
  const d = new Diagnostics();
  const st: FileState = { origins: {}, clusterHasListen: false, httpHostSet: false };
  let digest = '';
  const file = input.flags.configFile;
  if (file !== undefined && file !== '') {
    const tree = parseConfFile(file, input.env ? { env: input.env } : {});
    o.configFile = resolve(file);
    digest = digestOf(tree);
    if (tree.entries.size === 0) d.notice(`${file}: config has no values or is empty`);
    const fields = fieldsOf(tree, '');
    // store_dir in both places is ambiguous (nats-server rejects it too).
    for (const f of fields) applyTopLevel(d, f, o, st);
    const js = fields.find((f) => f.entry.key.toLowerCase() === 'jetstream');
    if (st.topStoreDir && js?.node.kind === 'map' && [...js.node.entries.keys()].some((k) => /^(store_dir|storedir|store)$/i.test(k))) {
      d.error(`Duplicate 'store_dir' configuration`, st.topStoreDir.pos);
    }
  }
  applyFlags(d, o, input.flags, st);
  o.commandLine = { ...input.flags };
  validate(d, o, st);
  if (d.errors.length > 0) throw new ConfigErrors(d.errors, d.warnings);
  return { options: o, warnings: d.warnings, notices: d.notices, digest };
}
