// Server: the client listener, the connection registry, the subject index and
// message routing of one Tern node.
//
// Extension points (for monitoring, auth/TLS, cluster routes, JetStream):
//
// - State to read: `options`, `serverId`, `serverName`, `startTime`,
//   `sublist` (Sublist<Subscription>), `clients` (cid -> ClientConnection,
//   live), `closedConnections()` (last 10,000 closed, oldest first, with their
//   reason), `stats` (ServerStats counters), `info()` (the INFO object sent to
//   clients, without client_id/client_ip), `clientUrls()`.
// - Subscriptions: `addSubscription(sub)` / `removeSubscription(sub)`. A
//   Subscription's owner is a SubscriptionOwner (kind 'client' | 'route' |
//   'internal'); routing calls owner.deliver() and does not care which kind.
//   Messages that came from a route owner are never delivered to route owners
//   (one hop); `deliverySeq` identifies the message being routed (unique per message) so a route
//   owner matched by several of its subscriptions can send a message once.
// - Routing from elsewhere: `processMessage(from, match, pa, data, start)`
//   (a route parser calls this for RMSG with its own PubArgs).
// - In-process clients: `createInternalClient(name)` -> InternalClient with
//   subscribe/unsubscribe/publish and synchronous handlers.
// - Listeners, called on control events only (never per message):
//   `onSubscription((sub, change) => ...)` with change 'added' | 'removed';
//   `onConnection((conn, event) => ...)` with event 'opened' (accepted),
//   'connected' (first CONNECT accepted) | 'closed'. Both return an
//   unsubscribe function.
// - INFO additions: `setInfoField(key, value)` (e.g. connect_urls, cluster,
//   jetstream) and `sendAsyncInfo()` to push the new INFO to clients that
//   sent protocol >= 1.
// - Authentication: `auth` (Authenticator, src/server/auth.ts).
import { randomBytes } from 'node:crypto';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { ServerOptions } from '../config/options.js';
import { NATS_COMPAT_VERSION } from '../config/version.js';
import { Authenticator } from './auth.js';
import { ClientConnection, type ConnectionSnapshot } from './client.js';
import { ClosedReason, ErrText } from './errors.js';
import { InternalClient, type InternalClientOptions } from './internal-client.js';
import type { Logger } from './logger.js';
import type { PubArgs } from './parser.js';
import { SizeHistogram, FLUSH_SIZE_BUCKETS } from './size-histogram.js';
import { Sublist, type SublistResult } from './sublist.js';
import type { Subscription, SubscriptionOwner } from './subscription.js';
import { loadTls, upgradeToTls, type TlsSetup } from './tls.js';

/** The INFO object (nats-server's Info, JSON field names). */
export interface ServerInfo {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  go: string;
  host: string;
  port: number;
  headers: boolean;
  max_payload: number;
  git_commit?: string;
  client_id?: number;
  client_ip?: string;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_verify?: boolean;
  tls_available?: boolean;
  jetstream?: boolean;
  cluster?: string;
  domain?: string;
  connect_urls?: string[];
  ldm?: boolean;
  [key: string]: unknown;
}

/** Server-wide counters (for /varz and /metrics). */
export interface ServerStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  /** Bytes handed to sockets (protocol included). */
  outBytesWritten: number;
  slowConsumers: number;
  staleConnections: number;
  totalConnections: number;
}

/** A connection in the flush list: one write per batch (clients and routes). */
export interface Flushable {
  dirty: boolean;
  flush(): void;
}

/**
 * An owner that collects what deliver() hands it and sends the message once
 * when routing of that message ends (a route: one RMSG with its queue list).
 * It calls server.deferDelivery(this) on the first deliver() of a message.
 */
export interface DeferredOwner {
  finishDelivery(pa: PubArgs, data: Buffer, start: number): void;
}

export type SubscriptionListener = (sub: Subscription, change: 'added' | 'removed') => void;
export type ConnectionEvent = 'opened' | 'connected' | 'closed';
export type ConnectionListener = (conn: ClientConnection, event: ConnectionEvent) => void;

export const MAX_CLOSED_CONNECTIONS = 10_000;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A 56-character nkey-style server id starting with 'N'. */
export function newServerId(): string {
  const bytes = randomBytes(55);
  let s = 'N';
  for (let i = 0; i < 55; i++) s += BASE32[bytes[i]! & 31];
  return s;
}

export class Server {
  readonly serverId = newServerId();
  readonly serverName: string;
  readonly startTime = new Date();
  readonly sublist = new Sublist<Subscription>();
  readonly clients = new Map<number, ClientConnection>();
  readonly internalClients = new Map<number, InternalClient>();
  readonly stats: ServerStats = {
    inMsgs: 0,
    inBytes: 0,
    outMsgs: 0,
    outBytes: 0,
    outBytesWritten: 0,
    slowConsumers: 0,
    staleConnections: 0,
    totalConnections: 0,
  };
  /** Replaced on config reload (src/server/reload.ts). */
  auth: Authenticator;
  /** Client TLS (null = plain); replaced on reload. */
  tls: TlsSetup | null;
  /** Bytes per outbound flush, for /metrics. */
  readonly flushSizes = new SizeHistogram(FLUSH_SIZE_BUCKETS);
  /** Increases once per routed message (see header comment). */
  deliverySeq = 0;
  private seqCounter = 0;
  /** The client whose read callback is running (producer of the current batch), if any. */
  currentReader: ClientConnection | null = null;

  private listener: NetServer | null = null;
  private boundPort = 0;
  private nextCid = 1;
  private readonly closedRing: ConnectionSnapshot[] = [];
  private closedHead = 0;
  private readonly infoExtra: Record<string, unknown> = {};
  private readonly subListeners = new Set<SubscriptionListener>();
  private readonly connListeners = new Set<ConnectionListener>();
  private readonly dirty: Flushable[] = [];
  private readonly deferred: DeferredOwner[] = [];
  private inRead = false;
  private flushScheduled = false;
  private shuttingDown = false;
  private readonly flushScheduledFn = (): void => {
    this.flushScheduled = false;
    this.flushDirty();
  };

  constructor(
    readonly options: ServerOptions,
    readonly logger: Logger,
  ) {
    this.serverName = options.serverName || this.serverId;
    this.auth = new Authenticator(options.authorization, options.noAuthUser, options.tls?.timeout ?? null);
    this.tls = options.tls ? loadTls(options.tls) : null;
  }

  /** The port clients connect to (resolved after listen for port -1/0). */
  get port(): number {
    return this.boundPort;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  // ---- lifecycle ---------------------------------------------------------------

  /** Start the client listener. */
  async start(): Promise<void> {
    const o = this.options;
    const port = o.port === -1 ? 0 : o.port;
    const listener = createServer({ noDelay: true }, (s) => this.accept(s));
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: o.host, port }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (err) => this.logger.error(`Client listener error: ${err.message}`));
    const addr = listener.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : port;
    this.logger.info(`Listening for client connections on ${hostPort(o.host, this.boundPort)}`);
  }

  /** Stop accepting, close every client (flushing what they were sent), close internal clients. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const l = this.listener;
    this.listener = null;
    const closed = l ? new Promise<void>((r) => l.close(() => r())) : Promise.resolve();
    for (const c of [...this.clients.values()]) c.close(ClosedReason.serverShutdown);
    for (const ic of [...this.internalClients.values()]) ic.close();
    this.flushDirty();
    await closed;
  }

  /** Close the client listener (lame duck): existing clients stay. */
  stopAccepting(): void {
    const l = this.listener;
    this.listener = null;
    // net.Server.close() calls back only once every connection has ended: do not wait for it.
    l?.close();
  }

  private accept(socket: Socket): void {
    if (this.shuttingDown || this.listener === null) {
      socket.destroy();
      return;
    }
    if (this.tls !== null) {
      this.acceptTls(socket, this.tls);
      return;
    }
    const cid = this.nextCid++;
    const c = new ClientConnection(this, socket, cid);
    const info = this.info();
    info.client_id = cid;
    info.client_ip = c.ip;
    this.register(c, `INFO ${JSON.stringify(info)}\r\n`);
  }

  /** TLS: plain INFO first (tls_required), then the client's handshake; the connection starts once secure. */
  private acceptTls(socket: Socket, tls: TlsSetup): void {
    const cid = this.nextCid++;
    const info = this.info();
    info.client_id = cid;
    info.client_ip = socket.remoteAddress ?? '';
    socket.setNoDelay(true);
    socket.write(`INFO ${JSON.stringify(info)}\r\n`);
    const peer = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0} - cid:${cid}`;
    upgradeToTls(socket, tls).then(
      (secure) => {
        if (this.shuttingDown) {
          secure.destroy();
          return;
        }
        this.register(new ClientConnection(this, secure, cid), '');
      },
      (err: Error) => {
        this.logger.error(`${peer} - TLS handshake error: ${err.message}`);
        socket.destroy();
      },
    );
  }

  private register(c: ClientConnection, infoLine: string): void {
    const cid = c.cid;
    this.stats.totalConnections++;
    if (this.clients.size >= this.options.maxConnections) {
      this.clients.set(cid, c);
      c.startup(infoLine);
      this.logger.error(`${c.logPrefix} - ${ErrText.maxConnections}`);
      c.sendErr(ErrText.maxConnections);
      c.close(ClosedReason.maxConnectionsExceeded);
      return;
    }
    this.clients.set(cid, c);
    this.logger.debug(`${c.logPrefix} - Client connection created`);
    c.startup(infoLine);
    for (const fn of this.connListeners) fn(c, 'opened');
    this.flushDirty();
  }

  // ---- INFO ----------------------------------------------------------------------

  info(): ServerInfo {
    const o = this.options;
    const info: ServerInfo = {
      server_id: this.serverId,
      server_name: this.serverName,
      version: NATS_COMPAT_VERSION,
      proto: 1,
      go: `node${process.versions.node}`,
      host: o.host,
      port: this.boundPort,
      headers: !o.noHeaderSupport,
      max_payload: o.maxPayload,
    };
    if (this.auth.required) info.auth_required = true;
    if (this.tls !== null) {
      info.tls_required = true;
      if (this.tls.verify) info.tls_verify = true;
    }
    Object.assign(info, this.infoExtra);
    return info;
  }

  /** Add or replace an INFO field (undefined removes it). */
  setInfoField(key: string, value: unknown): void {
    if (value === undefined) delete this.infoExtra[key];
    else this.infoExtra[key] = value;
  }

  /** Send the current INFO to every connected client that announced protocol >= 1 (async INFO). */
  sendAsyncInfo(): void {
    const base = this.info();
    for (const c of this.clients.values()) {
      if (c.closed || c.protocol < 1 || !c.connectReceived) continue;
      c.sendRaw(`INFO ${JSON.stringify(base)}\r\n`);
    }
  }

  /** nats://host:port URLs clients can use (all interface addresses when listening on 0.0.0.0/::). */
  clientUrls(): string[] {
    return listenUrls('nats', this.options.host, this.boundPort);
  }

  // ---- connection registry ------------------------------------------------------

  connectionConnected(c: ClientConnection): void {
    for (const fn of this.connListeners) fn(c, 'connected');
  }

  connectionClosed(c: ClientConnection): void {
    if (this.clients.get(c.cid) !== c) return;
    this.clients.delete(c.cid);
    const snap = c.snapshot();
    if (this.closedRing.length < MAX_CLOSED_CONNECTIONS) this.closedRing.push(snap);
    else {
      this.closedRing[this.closedHead] = snap;
      this.closedHead = (this.closedHead + 1) % MAX_CLOSED_CONNECTIONS;
    }
    this.logger.debug(`${c.logPrefix} - Client connection closed: ${c.closeReason}`);
    for (const fn of this.connListeners) fn(c, 'closed');
  }

  /** Closed connections, oldest first (at most MAX_CLOSED_CONNECTIONS). */
  closedConnections(): ConnectionSnapshot[] {
    const r = this.closedRing;
    if (r.length < MAX_CLOSED_CONNECTIONS || this.closedHead === 0) return r.slice();
    return r.slice(this.closedHead).concat(r.slice(0, this.closedHead));
  }

  onConnection(fn: ConnectionListener): () => void {
    this.connListeners.add(fn);
    return () => this.connListeners.delete(fn);
  }

  onSubscription(fn: SubscriptionListener): () => void {
    this.subListeners.add(fn);
    return () => this.subListeners.delete(fn);
  }

  createInternalClient(name: string, opts?: InternalClientOptions): InternalClient {
    const ic = new InternalClient(this, this.nextCid++, name, opts);
    this.internalClients.set(ic.cid, ic);
    return ic;
  }

  internalClientClosed(ic: InternalClient): void {
    this.internalClients.delete(ic.cid);
  }

  // ---- subscriptions ---------------------------------------------------------------

  /** Insert into the sublist (throws SublistError on an invalid subject/queue) and tell listeners. */
  addSubscription(sub: Subscription): void {
    this.sublist.insert(sub);
    for (const fn of this.subListeners) fn(sub, 'added');
  }

  removeSubscription(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    if (this.sublist.remove(sub)) for (const fn of this.subListeners) fn(sub, 'removed');
  }

  // ---- routing ------------------------------------------------------------------------

  /**
   * Deliver one message to the matched subscriptions: every plain
   * subscription, and one member per queue group (random start, first member
   * that takes it, as nats-server). Returns whether anyone received it.
   */
  processMessage(from: SubscriptionOwner, r: SublistResult<Subscription>, pa: PubArgs, data: Buffer, start: number): boolean {
    // Internal clients may publish from a handler while this message is being
    // routed: the nested call has its own sequence and finishes only the
    // deferred owners it added; the outer message's sequence is restored.
    const outerSeq = this.deliverySeq;
    this.deliverySeq = ++this.seqCounter;
    const base = this.deferred.length;
    const noEcho = !from.echo;
    const fromRoute = from.kind === 'route';
    let did = false;
    const psubs = r.psubs;
    for (let i = 0; i < psubs.length; i++) {
      const sub = psubs[i]!;
      const owner = sub.owner;
      if ((noEcho && owner === from) || sub.closed) continue;
      if (fromRoute && owner.kind === 'route') continue;
      if (owner.deliver(sub, pa, data, start)) {
        did = true;
        this.delivered(sub, pa.size);
      }
    }
    const qsubs = r.qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g]!;
      const n = group.length;
      const first = n > 1 ? Math.floor(Math.random() * n) : 0;
      let remote: Subscription | null = null;
      let remoteWeight = 0;
      for (let k = 0; k < n; k++) {
        let idx = first + k;
        if (idx >= n) idx -= n;
        const sub = group[idx]!;
        const owner = sub.owner;
        if ((noEcho && owner === from) || sub.closed) continue;
        if (owner.kind === 'route') {
          // Local members are preferred; a remote one is the fallback (one hop: never from a route),
          // picked in proportion to its member count (weighted reservoir sampling, as nats-server
          // expands remote queue subs by weight).
          if (!fromRoute) {
            remoteWeight += sub.weight;
            if (remote === null || Math.random() * remoteWeight < sub.weight) remote = sub;
          }
          continue;
        }
        if (owner.deliver(sub, pa, data, start)) {
          did = true;
          this.delivered(sub, pa.size);
          remote = null;
          break;
        }
      }
      if (remote !== null && remote.owner.deliver(remote, pa, data, start)) {
        did = true;
        this.delivered(remote, pa.size);
      }
    }
    const deferred = this.deferred;
    if (deferred.length > base) {
      for (let i = base; i < deferred.length; i++) deferred[i]!.finishDelivery(pa, data, start);
      deferred.length = base;
    }
    this.deliverySeq = outerSeq;
    return did;
  }

  /** A DeferredOwner got (part of) the current message: finish it when routing ends. */
  deferDelivery(o: DeferredOwner): void {
    this.deferred.push(o);
  }

  private delivered(sub: Subscription, size: number): void {
    this.stats.outMsgs++;
    this.stats.outBytes += size;
    if (++sub.delivered >= sub.max && sub.max > 0) {
      const owner = sub.owner;
      if (owner instanceof ClientConnection) owner.removeSub(sub);
      else this.removeSubscription(sub);
    }
  }

  // ---- output batching --------------------------------------------------------------

  /** A client's read callback starts: output is batched until endRead(). */
  beginRead(c: ClientConnection | null): void {
    this.inRead = true;
    this.currentReader = c;
  }

  /** Flush every connection that got output during the read: one write each. */
  endRead(): void {
    this.flushDirty();
    this.inRead = false;
    this.currentReader = null;
  }

  markDirty(c: Flushable): void {
    c.dirty = true;
    this.dirty.push(c);
    if (!this.inRead && !this.flushScheduled) {
      // Output produced outside a read (timers, internal clients): flush on the next turn.
      this.flushScheduled = true;
      setImmediate(this.flushScheduledFn);
    }
  }

  flushDirty(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) d[i]!.flush();
    d.length = 0;
  }
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** URLs for a listener; a wildcard host expands to the machine's addresses (as nats-server's ports file). */
export function listenUrls(scheme: string, host: string, port: number): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [`${scheme}://${hostPort(host, port)}`];
  const urls: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) urls.push(`${scheme}://${hostPort(a.address, port)}`);
  }
  return urls.length > 0 ? urls : [`${scheme}://${hostPort(host, port)}`];
}
