// Connection: what a client socket and a route socket share — the outbound
// buffer and its batching (append, mark dirty, one flush per read batch),
// traffic counters, RTT from PING/PONG, producers parked until this socket
// drains, and the close sequence (flush or drop what is queued, end the
// socket, drop its subscriptions).
//
// Each subclass keeps its own deliver(): the per-message path stays
// monomorphic (a method of one class), only per-batch and per-line code
// lives here.
import type { Socket } from 'node:net';
import type { ClientConnection } from './client.js';
import { ClosedReason } from './errors.js';
import { OutboundBuffer } from './outbound.js';
import type { Flushable, Server } from './server.js';
import type { Subscription } from './subscription.js';

/** Messages and payload bytes through one connection. */
export interface TrafficStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
}

/** The activity fields /connz and /routez both show, for an open or closed connection. */
export interface ConnectionActivity extends TrafficStats {
  ip: string;
  port: number;
  start: Date;
  lastActivity: Date;
  rttMs: number;
  /** Bytes queued and not yet written (0 once closed). */
  pendingBytes: number;
}

/** Something a producer can wait on while its output drains (a client or a route). */
export interface DrainTarget {
  readonly closed: boolean;
  drainWaiters: ClientConnection[] | null;
}

const PING = Buffer.from('PING\r\n', 'latin1');

/** How long a closing socket may take to accept its last bytes before it is destroyed. */
const CLOSE_LINGER_MS = 2000;

export abstract class Connection implements Flushable, DrainTarget {
  readonly out = new OutboundBuffer();
  readonly stats: TrafficStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
  readonly start = new Date();
  lastActivity = new Date();
  readonly ip: string;
  readonly port: number;
  /** `ip:port - cid:N` (clients) or `- rid:N` (routes), as nats-server logs them. */
  readonly logPrefix: string;
  /** Subscriptions this connection owns in the server's sublist (removed on close). */
  readonly subs = new Map<string, Subscription>();

  closed = false;
  closeReason = '';
  /** In the server's dirty list. */
  dirty = false;
  rttMs = 0;
  /** Producers paused waiting for this connection to drain. */
  drainWaiters: ClientConnection[] | null = null;
  protected pingsOut = 0;
  private pingSentAt = 0;

  constructor(
    readonly server: Server,
    readonly socket: Socket,
    readonly cid: number,
    idLabel: 'cid' | 'rid',
  ) {
    this.ip = socket.remoteAddress ?? '';
    this.port = socket.remotePort ?? 0;
    this.logPrefix = `${this.ip.includes(':') ? `[${this.ip}]` : this.ip}:${this.port} - ${idLabel}:${cid}`;
  }

  /** Socket events; `what` names the connection in the debug line of a socket error. */
  protected attachSocket(what: string): void {
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err: Error) => {
      this.server.logger.debug(`${this.logPrefix} - ${what} connection error: ${err.message}`);
      this.close(ClosedReason.readError);
    });
    s.on('end', () => this.close(ClosedReason.clientClosed));
    s.on('close', () => this.close(ClosedReason.clientClosed));
    s.on('drain', () => this.onDrain());
  }

  protected abstract onData(chunk: Buffer): void;

  // ---- output ---------------------------------------------------------------

  /** Queue protocol bytes (PONG, +OK, PING). */
  sendProto(b: Buffer): void {
    if (this.closed) return;
    this.out.append(b);
    if (!this.dirty) this.server.markDirty(this);
  }

  /** Queue a text line (INFO, CONNECT, -ERR); `line` must end with CRLF. */
  sendRaw(line: string): void {
    if (this.closed) return;
    this.out.appendString(line);
    if (!this.dirty) this.server.markDirty(this);
  }

  sendErr(text: string): void {
    this.sendRaw(`-ERR '${text}'\r\n`);
  }

  /** Write everything queued (called by the server once per batch). */
  flush(): void {
    this.dirty = false;
    if (this.closed) return;
    const out = this.out;
    const n = out.pending;
    if (n === 0) return;
    const ok = out.flushTo(this.socket);
    this.server.stats.outBytesWritten += n;
    this.flushed(n, ok);
  }

  /** After a flush of n bytes; `ok` false when the socket buffered them (backpressure). */
  protected flushed(_n: number, _ok: boolean): void {}

  /** Bytes queued here or in the socket (the /connz pending_bytes, /routez pending_size). */
  get pendingBytes(): number {
    return this.closed ? 0 : this.out.pending + this.socket.writableLength;
  }

  protected onDrain(): void {
    this.releaseWaiters();
  }

  protected releaseWaiters(): void {
    const w = this.drainWaiters;
    if (w === null) return;
    this.drainWaiters = null;
    for (const p of w) p.resumeFromStall();
  }

  // ---- pings ------------------------------------------------------------------

  protected sendPing(): void {
    if (this.closed) return;
    this.pingsOut++;
    this.pingSentAt = Date.now();
    this.sendProto(PING);
  }

  /** A PONG: the peer is alive; the first after our PING gives the RTT. */
  protected pongReceived(): void {
    this.pingsOut = 0;
    if (this.pingSentAt > 0) {
      this.rttMs = Date.now() - this.pingSentAt;
      this.pingSentAt = 0;
    }
  }

  // ---- close ------------------------------------------------------------------

  /**
   * Close the connection: queued output (e.g. a final -ERR) is flushed first
   * unless `drop` (slow consumers: their backlog is what we are cutting off).
   */
  close(reason: string, drop = false): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.stopWork();
    this.releaseWaiters();
    const s = this.socket;
    if (!drop && this.out.pending > 0 && !s.destroyed) this.out.flushTo(s);
    this.out.reset();
    if (drop || s.destroyed) s.destroy();
    else {
      s.end();
      // A peer that never reads must not keep the socket forever.
      setTimeout(() => s.destroy(), CLOSE_LINGER_MS).unref();
    }
    for (const sub of this.subs.values()) this.server.removeSubscription(sub);
    this.closedDone();
  }

  /** First step of close(): stop timers and input. */
  protected abstract stopWork(): void;
  /** Last step of close(): the socket is gone and the subscriptions removed; tell the owner. */
  protected abstract closedDone(): void;
}
