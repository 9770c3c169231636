// Config reload (SIGHUP / `tern server --signal reload=<pid>`), as
// nats-server's Reload: the config file is read again, the original
// command-line flags are applied over it, and what can change at runtime is
// applied without dropping connections: authorization (users, passwords,
// tokens, permissions, no_auth_user, auth timeout), TLS certificates, limits
// (max_control_line and max_payload also for open connections; max_pending
// cannot change, as in nats-server) and log settings. Every open client is re-checked: a client whose
// credentials no longer pass is closed with 'Authorization Violation', the
// others get their new permissions at once. A config error (or a change
// that needs a restart, e.g. the listen port) keeps the old config running
// and logs why.
import { ConfigErrors, loadOptions } from '../config/load.js';
import type { ServerOptions } from '../config/options.js';
import { Authenticator } from './auth.js';
import type { Server } from './server.js';
import { loadTls } from './tls.js';

export class ReloadError extends Error {}

/** Options that cannot change without a restart (nats-server refuses these too). */
function unsupportedChanges(cur: ServerOptions, next: ServerOptions): string[] {
  const out: string[] = [];
  if (cur.host !== next.host) out.push('host');
  if (cur.port !== next.port) out.push('port');
  if (cur.httpHost !== next.httpHost || cur.httpPort !== next.httpPort) out.push('http monitoring listen address');
  if (JSON.stringify(cur.cluster ?? null) !== JSON.stringify(next.cluster ?? null)) out.push('cluster');
  if (JSON.stringify(cur.jetstream) !== JSON.stringify(next.jetstream)) out.push('jetstream');
  if (cur.serverName !== next.serverName) out.push('server_name');
  // nats-server refuses it too: each connection sized its outbound limit at accept.
  if (cur.maxPending !== next.maxPending) out.push('max_pending');
  return out;
}

/** Listeners told after a successful reload (the monitor updates config_load_time). */
const reloadListeners = new WeakMap<Server, Array<() => void>>();

export function onReload(server: Server, fn: () => void): void {
  const l = reloadListeners.get(server) ?? [];
  l.push(fn);
  reloadListeners.set(server, l);
}

/** Reload from the config file; throws ReloadError (old config stays) on any problem. */
export function reloadConfig(server: Server): void {
  const cur = server.options;
  if (!cur.configFile) throw new ReloadError('config reload requires a configuration file (-c)');
  let next: ServerOptions;
  try {
    next = loadOptions({ flags: { ...cur.commandLine, configFile: cur.configFile } }).options;
  } catch (e) {
    if (e instanceof ConfigErrors) throw new ReloadError(e.errors.map((x) => x.message).join('; '));
    throw new ReloadError((e as Error).message);
  }
  const bad = unsupportedChanges(cur, next);
  if (bad.length > 0) throw new ReloadError(`config reload not supported for ${bad.join(', ')}`);
  // Build everything that can fail before changing anything.
  const tls = next.tls ? loadTls(next.tls) : null;
  const auth = new Authenticator(next.authorization, next.noAuthUser, next.tls?.timeout ?? null);
  if (next.noAuthUser && !next.authorization.users?.some((u) => u.user === next.noAuthUser)) {
    throw new ReloadError(`no_auth_user: "${next.noAuthUser}" not present as user in authorization block`);
  }

  const o = cur;
  o.authorization = next.authorization;
  o.noAuthUser = next.noAuthUser;
  o.tls = next.tls;
  o.maxPayload = next.maxPayload;
  o.maxControlLine = next.maxControlLine;
  o.maxConnections = next.maxConnections;
  o.maxSubscriptions = next.maxSubscriptions;
  o.pingInterval = next.pingInterval;
  o.pingMax = next.pingMax;
  o.writeDeadline = next.writeDeadline;
  o.lameDuckDuration = next.lameDuckDuration;
  o.lameDuckGracePeriod = next.lameDuckGracePeriod;
  o.debug = next.debug;
  o.trace = next.trace;
  o.logtime = next.logtime;
  o.logFile = next.logFile;
  server.logger.reconfigure({ debug: next.debug, trace: next.trace, logtime: next.logtime, logFile: next.logFile });
  server.tls = tls;
  server.auth = auth;

  // Re-authorize every client that has sent CONNECT.
  for (const c of [...server.clients.values()]) {
    if (c.closed || !c.connectReceived) continue;
    const res = auth.check(c.connectOpts);
    if (res === null) {
      c.authViolation(c.connectOpts.user);
      continue;
    }
    c.authorizedUser = res.user;
    c.permissions = res.permissions;
  }
  // Open connections get the new control line limit at once (nats-server's maxControlLineOption);
  // max_payload is read per PUB from the options.
  for (const c of server.clients.values()) c.parser.setMaxControlLine(next.maxControlLine);
  server.flushDirty();
  for (const fn of reloadListeners.get(server) ?? []) fn();
  server.logger.info('Reloaded server configuration');
}

/** SIGHUP handler body: reload, or log why not and keep running. */
export function reloadOrLog(server: Server): boolean {
  server.logger.info('Reloading server configuration');
  try {
    reloadConfig(server);
    return true;
  } catch (e) {
    server.logger.error(`Failed to reload server configuration: ${(e as Error).message}`);
    return false;
  }
}
