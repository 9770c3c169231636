// Cluster: the route listener, solicited routes with reconnects, the route
// registry (one route per peer server_id), gossip, interest propagation and
// the connect_urls clients are told about.
//
// Invariants:
// - `peers` holds at most one registered RouteConnection per peer id. When
//   two connections to one peer exist (both dialed at once), both sides keep
//   the same one: the one dialed by the smaller server_id, then by the
//   dialer's smaller local port (which both sides see), see `preferred()`.
// - Local interest is counted per `subject` / `subject queue` in `interest`;
//   routes hear RS+ on 0->1 and RS- on 1->0 (queue groups: RS+ with the new
//   weight on every change). A new route gets the whole map at once.
// - Gossip is one hop: a newly registered route's INFO (with `ip` filled in)
//   goes to every other route; a server receiving a foreign INFO on a route
//   dials that server unless it already has (or is dialing) it.
// - Retries as nats-server's: configured routes are redialed forever, 1 s
//   apart (and 1 s after a drop); an implicit (gossiped) route is redialed
//   once right after a drop and then connect_retries more times (default 0).
//   A restarted peer comes back through its configured routes, and the
//   seed's gossip rebuilds the implicit ones.
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import type { ClusterOptions } from '../config/options.js';
import { NATS_COMPAT_VERSION } from '../config/version.js';
import { ClosedReason } from '../server/errors.js';
import type { RouteSnapshot, RouteSource } from '../server/monitor/routes.js';
import { hostPort, listenUrls, type Server } from '../server/server.js';
import type { Subscription } from '../server/subscription.js';
import { GLOBAL_ACCOUNT, RouteConnection, type RouteHost } from './route.js';
import type { RouteConnectWire, RouteInfoWire } from './wire.js';

/** nats-server's DEFAULT_ROUTE_CONNECT: the delay between failed dials (no backoff by default). */
const ROUTE_CONNECT_MS = 1000;
/** nats-server's DEFAULT_ROUTE_RECONNECT: a configured route redials this long after a drop. */
const ROUTE_RECONNECT_MS = 1000;
/** Random extra delay after a drop, so two servers redialing each other rarely collide. */
const RECONNECT_JITTER_MS = 100;
const ROUTE_PING_MAX_MS = 30_000;

/** A route URL we dial: configured (forever) or learned by gossip (connect_retries times). */
interface Solicit {
  url: string;
  host: string;
  port: number;
  user: string;
  pass: string;
  configured: boolean;
  /** Peer id once a connection through this URL completed its handshake. */
  remoteId: string;
  attempts: number;
  timer: NodeJS.Timeout | null;
  conn: RouteConnection | null;
  connecting: boolean;
  /** The URL leads to ourselves: never dial it again. */
  self: boolean;
}

export class Cluster implements RouteHost, RouteSource {
  /** Registered routes by peer server_id. */
  readonly peers = new Map<string, RouteConnection>();
  private readonly conns = new Set<RouteConnection>();
  private readonly solicits: Solicit[] = [];
  private readonly interest = new Map<string, number>();
  private listener: NetServer | null = null;
  private boundPort = 0;
  private nextRid = 1;
  private closing = false;
  private slowConsumerCount = 0;
  private name: string;
  private dynamicName: boolean;
  private lastUrls = '';
  private readonly stopSubs: () => void;
  private readonly opts: ClusterOptions;

  constructor(readonly server: Server) {
    this.opts = server.options.cluster!;
    this.dynamicName = this.opts.name === '';
    this.name = this.dynamicName ? randomBytes(11).toString('base64url') : this.opts.name;
    this.stopSubs = server.onSubscription((sub, change) => this.localInterest(sub, change));
  }

  get port(): number {
    return this.boundPort;
  }

  get clusterName(): string {
    return this.name;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const l = createServer({ noDelay: true }, (s) => this.accept(s));
    this.listener = l;
    await new Promise<void>((resolve, reject) => {
      l.once('error', reject);
      l.listen({ host: o.host, port: o.port < 0 ? 0 : o.port }, () => {
        l.off('error', reject);
        resolve();
      });
    });
    l.on('error', (err) => this.server.logger.error(`Route listener error: ${err.message}`));
    const addr = l.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : o.port;
    this.server.logger.info(`Cluster name is ${this.name}`);
    if (this.dynamicName) this.server.logger.warn('Cluster name was dynamically generated, consider setting one');
    this.server.logger.info(`Listening for route connections on ${hostPort(o.host, this.boundPort)}`);
    this.server.setInfoField('cluster', this.name);
    this.updateConnectUrls();
    for (const raw of o.routes) {
      const sol = this.newSolicit(raw, true);
      if (sol !== null) this.dial(sol);
    }
  }

  /** Ports-file URLs of the route listener. */
  listenUrls(): string[] {
    return listenUrls('nats', this.opts.host, this.boundPort);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopSubs();
    for (const s of this.solicits) if (s.timer !== null) clearTimeout(s.timer);
    const l = this.listener;
    this.listener = null;
    const closed = l ? new Promise<void>((r) => l.close(() => r())) : Promise.resolve();
    for (const r of [...this.conns]) r.close(ClosedReason.serverShutdown);
    this.server.flushDirty();
    await closed;
  }

  // ---- connections ------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const r = new RouteConnection(this, socket, this.nextRid++, false, '', false);
    this.conns.add(r);
    this.server.logger.debug(`${r.logPrefix} - Route connection created`);
    const timeout = this.opts.authorization?.timeout ?? 2000;
    r.startup(this.infoLine(), null, this.authRequired ? timeout : 0);
    this.server.flushDirty();
  }

  private newSolicit(raw: string, configured: boolean): Solicit | null {
    let u: URL;
    try {
      u = new URL(raw.includes('://') ? raw : `nats-route://${raw}`);
    } catch {
      this.server.logger.error(`Invalid route URL "${raw}"`);
      return null;
    }
    const port = Number(u.port || 6222);
    const auth = this.opts.authorization;
    const sol: Solicit = {
      url: raw,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port,
      user: u.username ? decodeURIComponent(u.username) : (auth?.user ?? ''),
      pass: u.username ? decodeURIComponent(u.password) : (auth?.password ?? ''),
      configured,
      remoteId: '',
      attempts: 0,
      timer: null,
      conn: null,
      connecting: false,
      self: false,
    };
    this.solicits.push(sol);
    return sol;
  }

  private dial(sol: Solicit): void {
    sol.timer = null;
    if (this.closing || sol.self || sol.connecting || sol.conn !== null) return;
    if (sol.remoteId !== '' && this.peers.has(sol.remoteId)) return; // connected the other way
    sol.connecting = true;
    sol.attempts++;
    const socket = connect({ host: sol.host, port: sol.port, noDelay: true });
    const onError = (err: Error): void => {
      sol.connecting = false;
      socket.destroy();
      this.server.logger.debug(`Error trying to connect to route (attempt ${sol.attempts}): ${err.message}`);
      this.retry(sol);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      sol.connecting = false;
      if (this.closing) {
        socket.destroy();
        return;
      }
      const r = new RouteConnection(this, socket, this.nextRid++, true, sol.url, sol.configured);
      sol.conn = r;
      this.conns.add(r);
      solicitOf.set(r, sol);
      this.server.logger.debug(`${r.logPrefix} - Route connection created`);
      r.startup(this.infoLine(), this.connectLine(sol), 0);
      this.server.flushDirty();
    });
  }

  /** Schedule the next dial; `afterDrop`: an established route closed (else a dial failed). */
  private retry(sol: Solicit, afterDrop = false): void {
    if (this.closing || sol.self || sol.timer !== null || sol.connecting || sol.conn !== null) return;
    if (sol.remoteId !== '' && this.peers.has(sol.remoteId)) return;
    if (!sol.configured && sol.attempts > this.opts.connectRetries) {
      const i = this.solicits.indexOf(sol);
      if (i >= 0) this.solicits.splice(i, 1);
      return;
    }
    const jitter = Math.floor(Math.random() * RECONNECT_JITTER_MS);
    const delay = afterDrop ? (sol.configured ? ROUTE_RECONNECT_MS : 0) + jitter : ROUTE_CONNECT_MS;
    sol.timer = setTimeout(() => this.dial(sol), delay);
    sol.timer.unref();
  }

  // ---- RouteHost ----------------------------------------------------------------

  private get authRequired(): boolean {
    const a = this.opts.authorization;
    return a !== undefined && (a.user ?? '') !== '';
  }

  checkConnect(_route: RouteConnection, c: RouteConnectWire): string | null {
    if (c.lang !== undefined || c.gateway !== undefined) return 'Protocol Violation';
    const a = this.opts.authorization;
    if (a !== undefined && (a.user ?? '') !== '') {
      if (c.user !== a.user) return 'Authorization Violation';
      const want = a.password ?? '';
      const got = typeof c.pass === 'string' ? c.pass : '';
      const ok = want.startsWith('$2') ? bcrypt.compareSync(got, want) : got === want;
      if (!ok) return 'Authorization Violation';
    }
    return null;
  }

  routeInfo(route: RouteConnection, info: RouteInfoWire): void {
    if (route.registered) {
      if (info.server_id === route.remoteId) {
        route.remoteInfo = info;
        this.updateConnectUrls();
      } else this.gossiped(info);
      return;
    }
    const log = this.server.logger;
    const sol = solicitOf.get(route);
    if (info.server_id === this.server.serverId) {
      if (sol !== undefined) sol.self = true;
      log.debug(`${route.logPrefix} - Detected route to self, ignoring "${route.url}"`);
      route.close(ClosedReason.duplicateRoute);
      return;
    }
    if (!route.didSolicit && !route.connectSeen) {
      if (this.authRequired) {
        route.sendErr('Authorization Violation');
        route.close(ClosedReason.authenticationViolation);
        return;
      }
    }
    const err = this.adoptClusterName(info);
    if (err !== null) {
      log.error(`${route.logPrefix} - ${err}`);
      route.sendErr(err);
      route.close(ClosedReason.protocolViolation);
      return;
    }
    route.remoteId = info.server_id;
    route.remoteName = info.server_name ?? info.server_id;
    route.remoteInfo = info;
    if (route.didSolicit) route.headers = info.headers !== false;
    if (sol !== undefined) {
      sol.remoteId = info.server_id;
      sol.attempts = 0;
    }
    const existing = this.peers.get(info.server_id);
    if (existing !== undefined) {
      if (this.preferred(existing, route) === existing) {
        log.debug(`${route.logPrefix} - Duplicate route to ${info.server_id}, keeping rid:${existing.cid}`);
        route.close(ClosedReason.duplicateRoute);
        return;
      }
      this.peers.delete(info.server_id);
      existing.close(ClosedReason.duplicateRoute);
    }
    this.register(route, info);
  }

  routeClosed(route: RouteConnection): void {
    this.conns.delete(route);
    const sol = solicitOf.get(route);
    if (sol !== undefined && sol.conn === route) sol.conn = null;
    const wasRegistered = route.registered && this.peers.get(route.remoteId) === route;
    if (wasRegistered) {
      this.peers.delete(route.remoteId);
      this.server.logger.info(`${route.logPrefix} - Route connection closed: ${route.closeReason}`);
      this.updateConnectUrls();
    }
    if (route.closeReason === ClosedReason.slowConsumerPendingBytes) this.slowConsumerCount++;
    if (this.closing) return;
    if (sol !== undefined) this.retry(sol, route.registered);
    if (wasRegistered) {
      // Configured URLs that led to this peer (maybe through the other side's dial) take over.
      for (const s of this.solicits) if (s.configured && s.remoteId === route.remoteId) this.retry(s, true);
    }
  }

  /** Of two connections to one peer, the one both sides keep. */
  private preferred(a: RouteConnection, b: RouteConnection): RouteConnection {
    const key = (r: RouteConnection): [string, number] =>
      r.didSolicit ? [this.server.serverId, r.socket.localPort ?? 0] : [r.remoteId, r.port];
    const [ida, pa] = key(a);
    const [idb, pb] = key(b);
    if (ida !== idb) return ida < idb ? a : b;
    return pa <= pb ? a : b;
  }

  private register(route: RouteConnection, info: RouteInfoWire): void {
    const id = info.server_id;
    this.peers.set(id, route);
    route.registered = true;
    const log = this.server.logger;
    log.info(`${route.logPrefix} - Route connection created to ${route.remoteName} (${id})`);
    // Initial interest: everything local, at once.
    let batch = '';
    for (const [key, n] of this.interest) {
      const sp = key.indexOf(' ');
      batch += sp < 0 ? `RS+ ${GLOBAL_ACCOUNT} ${key}\r\n` : `RS+ ${GLOBAL_ACCOUNT} ${key} ${n}\r\n`;
    }
    if (batch !== '') route.sendRaw(batch);
    route.startPings(Math.min(this.server.options.pingInterval, ROUTE_PING_MAX_MS));
    // Gossip: the other routes learn about the newcomer and dial it.
    const fwd: RouteInfoWire = { ...info };
    if (fwd.ip === undefined || fwd.ip === '') fwd.ip = `nats-route://${hostPort(route.ip, info.port ?? 0)}/`;
    const line = `INFO ${JSON.stringify(fwd)}\r\n`;
    for (const other of this.peers.values()) if (other !== route) other.sendRaw(line);
    this.updateConnectUrls();
    this.server.flushDirty();
  }

  /** A foreign server announced on a route: dial it unless known. */
  private gossiped(info: RouteInfoWire): void {
    const id = info.server_id;
    if (id === this.server.serverId || this.peers.has(id) || this.closing) return;
    if (this.solicits.some((s) => s.remoteId === id && (s.connecting || s.conn !== null || s.timer !== null))) return;
    const url = info.ip !== undefined && info.ip !== '' ? info.ip : `nats-route://${hostPort(info.host ?? '127.0.0.1', info.port ?? 0)}/`;
    const sol = this.newSolicit(url, false);
    if (sol === null) return;
    sol.remoteId = id;
    this.server.logger.debug(`Connecting to implicit route ${url} (${id})`);
    this.dial(sol);
  }

  /** nats-server's cluster name rules: a dynamic name gives way to a configured one, else the larger wins. */
  private adoptClusterName(info: RouteInfoWire): string | null {
    const theirs = info.cluster ?? '';
    if (theirs === '' || theirs === this.name) return null;
    const theirsDynamic = info.cluster_dynamic === true;
    if (this.dynamicName && (!theirsDynamic || theirs > this.name)) {
      this.name = theirs;
      this.dynamicName = theirsDynamic;
      this.server.setInfoField('cluster', theirs);
      this.server.logger.info(`Cluster name updated to ${theirs}`);
      return null;
    }
    if (theirsDynamic) return null; // they adopt ours
    return `Rejecting connection, cluster name "${theirs}" does not match "${this.name}"`;
  }

  // ---- interest ---------------------------------------------------------------------

  private localInterest(sub: Subscription, change: 'added' | 'removed'): void {
    if (sub.owner.kind === 'route' || sub.localOnly) return;
    const q = sub.queue;
    const key = q === null ? sub.subject : `${sub.subject} ${q}`;
    const before = this.interest.get(key) ?? 0;
    const after = change === 'added' ? before + 1 : Math.max(0, before - 1);
    if (after === 0) this.interest.delete(key);
    else this.interest.set(key, after);
    if (this.peers.size === 0 || before === after) return;
    let line: string;
    if (q === null) {
      if (before === 0) line = `RS+ ${GLOBAL_ACCOUNT} ${key}\r\n`;
      else if (after === 0) line = `RS- ${GLOBAL_ACCOUNT} ${key}\r\n`;
      else return;
    } else line = after > 0 ? `RS+ ${GLOBAL_ACCOUNT} ${key} ${after}\r\n` : `RS- ${GLOBAL_ACCOUNT} ${key}\r\n`;
    for (const r of this.peers.values()) r.sendRaw(line);
  }

  // ---- INFO / CONNECT, connect_urls ----------------------------------------------------

  /** Our client URLs as host:port (what route INFO and client INFO carry). */
  private ownClientUrls(): string[] {
    const adv = this.server.options.clientAdvertise;
    if (adv !== '') return [adv.includes(':') ? adv : `${adv}:${this.server.port}`];
    return this.server.clientUrls().map((u) => u.replace(/^nats:\/\//, ''));
  }

  private infoLine(): string {
    const s = this.server;
    const o = this.opts;
    const info: RouteInfoWire = {
      server_id: s.serverId,
      server_name: s.serverName,
      version: NATS_COMPAT_VERSION,
      go: `node${process.versions.node}`,
      proto: 1,
      host: o.host,
      port: this.boundPort,
      headers: true,
      max_payload: s.options.maxPayload,
      cluster: this.name,
    };
    if (this.dynamicName) info.cluster_dynamic = true;
    if (this.authRequired) info.auth_required = true;
    if (!o.noAdvertise) info.connect_urls = this.ownClientUrls();
    if (o.advertise !== '') info.ip = `nats-route://${o.advertise.replace(/^[a-z-]+:\/\//, '').replace(/\/$/, '')}/`;
    return `INFO ${JSON.stringify(info)}\r\n`;
  }

  private connectLine(sol: Solicit): string {
    const c: RouteConnectWire = {
      echo: true,
      verbose: false,
      pedantic: false,
      tls_required: false,
      headers: true,
      name: this.server.serverId,
      cluster: this.name,
    };
    if (sol.user !== '') {
      c.user = sol.user;
      c.pass = sol.pass;
    }
    if (this.dynamicName) c.cluster_dynamic = true;
    return `CONNECT ${JSON.stringify(c)}\r\n`;
  }

  /** connect_urls for clients: ours plus every peer's; async INFO when it changes. */
  private updateConnectUrls(): void {
    if (this.opts.noAdvertise) return;
    const urls = new Set(this.ownClientUrls());
    for (const r of this.peers.values()) for (const u of r.remoteInfo?.connect_urls ?? []) urls.add(u);
    const list = [...urls];
    const text = list.join(',');
    if (text === this.lastUrls) return;
    const first = this.lastUrls === '';
    this.lastUrls = text;
    this.server.setInfoField('connect_urls', list);
    if (!first) this.server.sendAsyncInfo();
  }

  // ---- RouteSource (monitoring) -------------------------------------------------------

  routes(): RouteSnapshot[] {
    const out: RouteSnapshot[] = [];
    for (const r of this.peers.values()) {
      out.push({
        rid: r.cid,
        remoteId: r.remoteId,
        remoteName: r.remoteName,
        didSolicit: r.didSolicit,
        isConfigured: r.isConfigured,
        ip: r.ip,
        port: r.port,
        start: r.start,
        lastActivity: r.lastActivity,
        rttMs: r.rttMs,
        pendingBytes: r.closed ? 0 : r.out.pending + r.socket.writableLength,
        inMsgs: r.stats.inMsgs,
        outMsgs: r.stats.outMsgs,
        inBytes: r.stats.inBytes,
        outBytes: r.stats.outBytes,
        subscriptions: [...r.subs.keys()],
      });
    }
    return out;
  }

  slowConsumers(): number {
    return this.slowConsumerCount;
  }
}

/** Which Solicit dialed a route (kept off RouteConnection, which needs no dialing state). */
const solicitOf = new WeakMap<RouteConnection, Solicit>();
