// The config file's blocks: authorization, tls, cluster, jetstream. Each
// reader takes the block's field and fills the matching part of ServerOptions.
import { accessSync, constants } from 'node:fs';
import type { ConfMap } from './conf-parser.js';
import type {
  AuthorizationOptions,
  ClusterOptions,
  JetStreamOptions,
  Permission,
  TlsOptions,
  UserConfig,
  UserPermissions,
} from './options.js';
import {
  type Diagnostics,
  type Field,
  describeNode,
  fieldsOf,
  readBool,
  readDuration,
  readInt,
  readListen,
  readMap,
  readSecondsOrDuration,
  readSize,
  readString,
  readStringList,
} from './values.js';

/** Keys nats-server accepts in a block that Tern ignores (reported as notices). */
function tolerated(d: Diagnostics, f: Field): void {
  d.notice(`${f.name} is accepted for nats-server compatibility but not supported by Tern; ignored`, f.pos);
}

function unknown(d: Diagnostics, f: Field): void {
  if (f.entry.usedAsVariable) return; // a variable definition, not an option
  d.error(`unknown field "${f.name}"`, f.pos);
}

// --- authorization ---

const DEFAULT_RESPONSE_MAX_MSGS = 1;
const DEFAULT_RESPONSE_EXPIRES_MS = 2 * 60 * 1000;

function readSubjectPermission(d: Diagnostics, f: Field): Permission | undefined {
  if (f.node.kind === 'string' || f.node.kind === 'array') {
    const allow = readStringList(d, f);
    return allow && { allow };
  }
  if (f.node.kind !== 'map') {
    return d.error(`${f.name}: expected a subject, a list of subjects or { allow, deny }, got ${describeNode(f.node)}`, f.pos);
  }
  const m = f.node;
  const p: Permission = {};
  for (const sub of fieldsOf(m, f.name)) {
    switch (sub.entry.key.toLowerCase()) {
      case 'allow': {
        const v = readStringList(d, sub);
        if (v) p.allow = v;
        break;
      }
      case 'deny': {
        const v = readStringList(d, sub);
        if (v) p.deny = v;
        break;
      }
      default:
        unknown(d, sub);
    }
  }
  return p;
}

function readAllowResponses(d: Diagnostics, f: Field): UserPermissions['allowResponses'] {
  if (f.node.kind === 'bool') {
    return f.node.value ? { maxMsgs: DEFAULT_RESPONSE_MAX_MSGS, expiresMs: DEFAULT_RESPONSE_EXPIRES_MS } : undefined;
  }
  const m = readMap(d, f);
  if (!m) return undefined;
  const r = { maxMsgs: DEFAULT_RESPONSE_MAX_MSGS, expiresMs: DEFAULT_RESPONSE_EXPIRES_MS };
  for (const sub of fieldsOf(m, f.name)) {
    switch (sub.entry.key.toLowerCase()) {
      case 'max':
      case 'max_msgs':
      case 'max_messages':
      case 'max_responses': {
        const v = readInt(d, sub);
        if (v !== undefined) r.maxMsgs = v;
        break;
      }
      case 'expires':
      case 'expiration':
      case 'ttl': {
        const v = readDuration(d, sub);
        if (v !== undefined) r.expiresMs = v;
        break;
      }
      default:
        unknown(d, sub);
    }
  }
  return r;
}

export function readPermissions(d: Diagnostics, f: Field): UserPermissions | undefined {
  const m = readMap(d, f);
  if (!m) return undefined;
  const p: UserPermissions = {};
  for (const sub of fieldsOf(m, f.name)) {
    switch (sub.entry.key.toLowerCase()) {
      case 'pub':
      case 'publish':
      case 'import': {
        const v = readSubjectPermission(d, sub);
        if (v) p.publish = v;
        break;
      }
      case 'sub':
      case 'subscribe':
      case 'export': {
        const v = readSubjectPermission(d, sub);
        if (v) p.subscribe = v;
        break;
      }
      case 'allow_responses':
      case 'allow_response':
      case 'responses': {
        const v = readAllowResponses(d, sub);
        if (v) p.allowResponses = v;
        break;
      }
      default:
        unknown(d, sub);
    }
  }
  return p;
}

function readUser(d: Diagnostics, m: ConfMap, prefix: string, defaults?: UserPermissions): UserConfig | undefined {
  let user: string | undefined;
  let password: string | undefined;
  let permissions: UserPermissions | undefined;
  for (const f of fieldsOf(m, prefix)) {
    switch (f.entry.key.toLowerCase()) {
      case 'user':
      case 'username':
        user = readString(d, f);
        break;
      case 'pass':
      case 'password':
        password = readString(d, f);
        break;
      case 'permissions':
      case 'permission':
        permissions = readPermissions(d, f);
        break;
      case 'nkey':
        d.error(`${f.name}: nkey users are not supported by Tern`, f.pos);
        break;
      case 'account':
        d.error(`${f.name}: accounts are not supported by Tern (all users share one account)`, f.pos);
        break;
      case 'allowed_connection_types':
      case 'allowed_connection_type':
        tolerated(d, f);
        break;
      default:
        unknown(d, f);
    }
  }
  if (user === undefined || user === '') return d.error(`${prefix}: user entry without "user"`, m.pos);
  const u: UserConfig = { user, password: password ?? '' };
  const perms = permissions ?? defaults;
  if (perms) u.permissions = perms;
  return u;
}

export function readAuthorization(
  d: Diagnostics,
  f: Field,
  mode: 'client' | 'cluster',
): AuthorizationOptions | undefined {
  const m = readMap(d, f);
  if (!m) return undefined;
  const a: AuthorizationOptions = {};
  let usersField: Field | undefined;
  let defaults: UserPermissions | undefined;
  for (const sub of fieldsOf(m, f.name)) {
    switch (sub.entry.key.toLowerCase()) {
      case 'user':
      case 'username': {
        const v = readString(d, sub);
        if (v !== undefined) a.user = v;
        break;
      }
      case 'pass':
      case 'password': {
        const v = readString(d, sub);
        if (v !== undefined) a.password = v;
        break;
      }
      case 'token': {
        const v = readString(d, sub);
        if (v !== undefined) a.token = v;
        break;
      }
      case 'timeout': {
        const v = readSecondsOrDuration(d, sub);
        if (v !== undefined) a.timeout = v;
        break;
      }
      case 'users':
        usersField = sub;
        break;
      case 'default_permission':
      case 'default_permissions':
      case 'permissions':
        defaults = readPermissions(d, sub);
        break;
      case 'nkeys':
        d.error(`${sub.name}: nkey users are not supported by Tern`, sub.pos);
        break;
      case 'auth_callout':
      case 'callout':
        d.error(`${sub.name}: auth callout is not supported by Tern`, sub.pos);
        break;
      default:
        unknown(d, sub);
    }
  }
  if (usersField) {
    if (usersField.node.kind !== 'array') {
      d.error(`${usersField.name}: expected an array of users, got ${describeNode(usersField.node)}`, usersField.pos);
    } else {
      const users: UserConfig[] = [];
      usersField.node.items.forEach((item, i) => {
        const name = `${usersField!.name}[${i}]`;
        if (item.kind !== 'map') {
          d.error(`${name}: expected a map {user: ..., password: ...}, got ${describeNode(item)}`, item.pos);
          return;
        }
        const u = readUser(d, item, name, defaults);
        if (u) users.push(u);
      });
      a.users = users;
    }
  }
  const pos = f.pos;
  if (mode === 'cluster') {
    if (a.users) d.error(`${f.name}: Cluster authorization does not allow multiple users`, pos);
    if (a.token !== undefined) d.error(`${f.name}: Cluster authorization does not support tokens`, pos);
    return a;
  }
  if ((a.user !== undefined || a.password !== undefined) && a.token !== undefined) {
    d.error(`${f.name}: Cannot have a user/pass and token`, pos);
  }
  if (a.users) {
    if (a.user !== undefined) d.error(`${f.name}: Can not have a single user/pass and a users array`, pos);
    if (a.token !== undefined) d.error(`${f.name}: Can not have a token and a users array`, pos);
    const seen = new Set<string>();
    for (const u of a.users) {
      if (seen.has(u.user)) d.error(`${f.name}: Duplicate user "${u.user}" detected`, pos);
      seen.add(u.user);
    }
  }
  return a;
}

// --- tls ---

function checkReadable(d: Diagnostics, f: Field, path: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code);
    d.error(`${f.name}: error reading "${path}": ${why}`, f.pos);
  }
}

const TLS_TOLERATED = new Set([
  'cipher_suites',
  'curve_preferences',
  'insecure',
  'min_version',
  'verify_and_map',
  'map_and_verify',
  'verify_cert_and_check_known_urls',
  'pinned_certs',
  'cert_store',
  'cert_match',
  'cert_match_by',
  'ca_certs_match',
  'handshake_first',
  'first',
  'immediate',
  'ocsp_peer',
  'certs',
  'connection_rate_limit',
]);

export const DEFAULT_TLS_TIMEOUT_MS = 2000;

export function readTls(d: Diagnostics, f: Field): TlsOptions | undefined {
  const m = readMap(d, f);
  if (!m) return undefined;
  let certFile: string | undefined;
  let keyFile: string | undefined;
  const t: Partial<TlsOptions> = { verify: false, timeout: DEFAULT_TLS_TIMEOUT_MS };
  for (const sub of fieldsOf(m, f.name)) {
    const key = sub.entry.key.toLowerCase();
    switch (key) {
      case 'cert_file':
        certFile = readString(d, sub);
        if (certFile !== undefined) checkReadable(d, sub, certFile);
        break;
      case 'key_file':
        keyFile = readString(d, sub);
        if (keyFile !== undefined) checkReadable(d, sub, keyFile);
        break;
      case 'ca_file': {
        const v = readString(d, sub);
        if (v !== undefined) {
          checkReadable(d, sub, v);
          t.caFile = v;
        }
        break;
      }
      case 'verify': {
        const v = readBool(d, sub);
        if (v !== undefined) t.verify = v;
        break;
      }
      case 'timeout': {
        const v = readSecondsOrDuration(d, sub);
        if (v !== undefined) t.timeout = v;
        break;
      }
      default:
        if (TLS_TOLERATED.has(key)) tolerated(d, sub);
        else unknown(d, sub);
    }
  }
  if (certFile === undefined) return d.error(`${f.name}: missing 'cert_file' in tls config`, f.pos);
  if (keyFile === undefined) return d.error(`${f.name}: missing 'key_file' in tls config`, f.pos);
  return { ...t, certFile, keyFile } as TlsOptions;
}

// --- cluster ---

export const DEFAULT_ROUTE_POOL_SIZE = 3;

export function defaultCluster(): ClusterOptions {
  return {
    name: '',
    host: '0.0.0.0',
    port: 0,
    advertise: '',
    noAdvertise: false,
    routes: [],
    connectRetries: 0,
    poolSize: DEFAULT_ROUTE_POOL_SIZE,
  };
}

function validRouteUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.hostname !== '' && u.port !== '';
  } catch {
    return false;
  }
}

export interface ClusterRead {
  cluster: ClusterOptions;
  /** Whether the block gave a listen address or port. */
  hasListen: boolean;
}

export function readCluster(d: Diagnostics, f: Field): ClusterRead | undefined {
  const m = readMap(d, f);
  if (!m) return undefined;
  const c = defaultCluster();
  let hasListen = false;
  for (const sub of fieldsOf(m, f.name)) {
    const key = sub.entry.key.toLowerCase();
    switch (key) {
      case 'name': {
        const v = readString(d, sub);
        if (v !== undefined && v.includes(' ')) d.error(`${sub.name}: cluster name cannot contain spaces`, sub.pos);
        else if (v !== undefined) c.name = v;
        break;
      }
      case 'listen': {
        const v = readListen(d, sub);
        if (v) {
          if (v.host !== undefined) c.host = v.host;
          if (v.port !== undefined) c.port = v.port;
          hasListen = true;
        }
        break;
      }
      case 'port': {
        const v = readInt(d, sub, { min: -1, max: 65535 });
        if (v !== undefined) {
          c.port = v;
          hasListen = true;
        }
        break;
      }
      case 'host':
      case 'net': {
        const v = readString(d, sub);
        if (v !== undefined) c.host = v;
        break;
      }
      case 'routes': {
        const v = readStringList(d, sub);
        if (v) {
          for (const r of v) {
            if (!validRouteUrl(r)) d.error(`${sub.name}: error parsing route url "${r}" (expected nats-route://host:port)`, sub.pos);
          }
          c.routes = v;
        }
        break;
      }
      case 'advertise':
      case 'cluster_advertise': {
        const v = readString(d, sub);
        if (v !== undefined) c.advertise = v;
        break;
      }
      case 'no_advertise': {
        const v = readBool(d, sub);
        if (v !== undefined) c.noAdvertise = v;
        break;
      }
      case 'connect_retries': {
        const v = readInt(d, sub, { min: 0 });
        if (v !== undefined) c.connectRetries = v;
        break;
      }
      case 'pool_size': {
        const v = readInt(d, sub, { min: -1 });
        if (v !== undefined) c.poolSize = v === 0 ? DEFAULT_ROUTE_POOL_SIZE : v;
        break;
      }
      case 'authorization': {
        const a = readAuthorization(d, sub, 'cluster');
        if (a) {
          const ca: ClusterOptions['authorization'] = {};
          if (a.user !== undefined) ca.user = a.user;
          if (a.password !== undefined) ca.password = a.password;
          if (a.timeout !== undefined) ca.timeout = a.timeout;
          c.authorization = ca;
        }
        break;
      }
      case 'tls':
      case 'compression':
      case 'ping_interval':
      case 'ping_max':
      case 'write_deadline':
      case 'write_timeout':
      case 'accounts':
      case 'permissions':
      case 'connect_backoff':
        tolerated(d, sub);
        break;
      default:
        unknown(d, sub);
    }
  }
  return { cluster: c, hasListen };
}

// --- jetstream ---

export function readJetStream(d: Diagnostics, f: Field, js: JetStreamOptions): void {
  const n = f.node;
  if (n.kind === 'bool') {
    js.enabled = n.value;
    return;
  }
  if (n.kind === 'string') {
    const v = n.value.toLowerCase();
    if (v === 'enabled' || v === 'enable') js.enabled = true;
    else if (v === 'disabled' || v === 'disable') js.enabled = false;
    else d.error(`${f.name}: Expected 'enabled' or 'disabled' for string value, got '${n.value}'`, f.pos);
    return;
  }
  const m = readMap(d, f);
  if (!m) return;
  js.enabled = true;
  for (const sub of fieldsOf(m, f.name)) {
    const key = sub.entry.key.toLowerCase();
    switch (key) {
      case 'enabled':
      case 'enable': {
        const v = readBool(d, sub);
        if (v !== undefined) js.enabled = v;
        break;
      }
      case 'store':
      case 'store_dir':
      case 'storedir': {
        const v = readString(d, sub);
        if (v !== undefined) js.storeDir = v;
        break;
      }
      case 'max_memory_store':
      case 'max_mem_store':
      case 'max_mem': {
        const v = readSize(d, sub, { allowUnlimited: true });
        if (v !== undefined) js.maxMemoryStore = v;
        break;
      }
      case 'max_file_store':
      case 'max_file': {
        const v = readSize(d, sub, { allowUnlimited: true });
        if (v !== undefined) js.maxFileStore = v;
        break;
      }
      case 'sync':
      case 'sync_interval': {
        if (sub.node.kind === 'string' && sub.node.value.toLowerCase() === 'always') {
          js.syncInterval = 'always';
          break;
        }
        const v = readDuration(d, sub);
        if (v !== undefined) {
          if (v <= 0) d.error(`${sub.name}: must be a positive duration or "always"`, sub.pos);
          else js.syncInterval = v;
        }
        break;
      }
      case 'cipher':
      case 'key':
      case 'prev_key':
      case 'encryption':
        d.error(`${sub.name}: encryption at rest is not supported by Tern`, sub.pos);
        break;
      case 'domain':
      case 'extension_hint':
      case 'limits':
      case 'unique_tag':
      case 'max_outstanding_catchup':
      case 'max_catchup':
      case 'max_buffered_msgs':
      case 'max_buffered_size':
      case 'request_queue_limit':
      case 'max_ack_pending':
      case 'max_ha_assets':
      case 'max_request_batch':
      case 'strict':
      case 'tpm':
      case 'compress_ok':
        tolerated(d, sub);
        break;
      default:
        unknown(d, sub);
    }
  }
}
