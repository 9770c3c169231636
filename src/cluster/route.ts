// RouteConnection: one route to another server (pool_size -1 semantics: one
// connection per peer, every op carries the account, always $G here).
//
// In: RS+/RS- become Subscriptions owned by this route in the server's
// sublist (one per subject or subject+queue; the queue weight is kept here);
// RMSG/HMSG are delivered to local subscribers only (processMessage skips
// route owners for messages from a route: one hop), and to queue groups only
// when the sender named them.
// Out: deliver() is called by the routing loop once per matching remote
// subscription; it only records "plain interest" or a queue name and asks
// the server to finish the message when routing ends (DeferredOwner), so a
// message costs one RMSG per route, carrying the chosen queue groups.
import type { Socket } from 'node:net';
import { Connection } from '../server/connection.js';
import { ClosedReason } from '../server/errors.js';
import { LARGE_PAYLOAD } from '../server/outbound.js';
import { PubArgs } from '../server/parser.js';
import type { DeferredOwner, Server } from '../server/server.js';
import { SublistError, type SublistMatch } from '../server/sublist.js';
import { Subscription, type SubscriptionOwner } from '../server/subscription.js';
import type { RouteInfoWire, RouteConnectWire } from './wire.js';
import { RouteParser, type RouteProtocolHandler } from './route-parser.js';

export const GLOBAL_ACCOUNT = '$G';

const PONG = Buffer.from('PONG\r\n', 'latin1');
const RMSG_G = Buffer.from('RMSG $G ', 'latin1');
const HMSG_G = Buffer.from('HMSG $G ', 'latin1');

/** What a route needs from the cluster that owns it. */
export interface RouteHost {
  readonly server: Server;
  /** CONNECT received on an accepted route: null = accepted, else the -ERR text to close with. */
  checkConnect(route: RouteConnection, c: RouteConnectWire): string | null;
  /** The peer's INFO: first one registers the route, later ones are updates or gossip. */
  routeInfo(route: RouteConnection, info: RouteInfoWire): void;
  routeClosed(route: RouteConnection): void;
}

export class RouteConnection extends Connection implements SubscriptionOwner, DeferredOwner, RouteProtocolHandler {
  readonly kind = 'route' as const;
  readonly echo = true;
  readonly parser: RouteParser;
  // `subs` (inherited) holds the remote interest: key `subject` or `subject queue`.
  /** Queue weights by key (members of the group on the peer). */
  readonly weights = new Map<string, number>();

  /** The peer's identity, known after its INFO (dialed) or CONNECT (accepted). */
  remoteId = '';
  remoteName = '';
  remoteInfo: RouteInfoWire | null = null;
  /** Registered in the cluster (handshake done, not a duplicate). */
  registered = false;
  connectSeen = false;
  headers = true;

  private pendingSeq = -1;
  private pendingQueues: string[] = [];
  /** A message is deferred and not yet finished. */
  private pendingOpen = false;
  /** Unfinished outer messages while a nested one (published from an internal handler) is routed. */
  private readonly pendingOuter: Array<{ seq: number; queues: string[] }> = [];
  private pingTimer: NodeJS.Timeout | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  private readonly maxPending: number;
  private readonly stallAt: number;

  constructor(
    private readonly host: RouteHost,
    socket: Socket,
    cid: number,
    readonly didSolicit: boolean,
    /** The URL we dialed (solicited routes). */
    readonly url: string,
    /** Dialed because it is in our configured routes. */
    readonly isConfigured: boolean,
  ) {
    super(host.server, socket, cid, 'rid');
    const o = this.server.options;
    this.maxPending = o.maxPending;
    this.stallAt = Math.floor(o.maxPending * 0.75);
    this.parser = new RouteParser(this, Math.max(o.maxControlLine, 64 * 1024));
  }

  /** Socket events, the first INFO (and CONNECT when we dialed), the auth timer. */
  startup(infoLine: string, connectLine: string | null, authTimeoutMs: number): void {
    this.attachSocket('Route');
    if (connectLine !== null) this.sendRaw(connectLine);
    this.sendRaw(infoLine);
    if (!this.didSolicit && authTimeoutMs > 0) {
      this.authTimer = setTimeout(() => {
        this.authTimer = null;
        if (!this.closed && !this.connectSeen) {
          this.sendErr('Authentication Timeout');
          this.close('Authentication Timeout');
        }
      }, authTimeoutMs);
    }
  }

  /** Handshake complete: start pinging (first ping soon, to learn the RTT). */
  startPings(intervalMs: number): void {
    const first = setTimeout(() => this.sendPing(), 1000);
    first.unref();
    this.pingTimer = setInterval(() => {
      if (this.pingsOut >= 2) {
        this.server.logger.info(`${this.logPrefix} - Route connection is stale`);
        this.close(ClosedReason.staleConnection);
        return;
      }
      this.sendPing();
    }, intervalMs);
    this.pingTimer.unref();
  }

  protected onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivity = new Date();
    const server = this.server;
    server.beginRead(null);
    this.parser.parse(chunk);
    server.endRead();
  }

  // ---- RouteProtocolHandler -------------------------------------------------

  onInfo(json: string): void {
    let info: RouteInfoWire;
    try {
      info = JSON.parse(json) as RouteInfoWire;
    } catch {
      this.protocolError(`invalid INFO JSON: ${json.slice(0, 64)}`);
      return;
    }
    if (typeof info.server_id !== 'string' || info.server_id === '') {
      this.protocolError('route INFO without server_id');
      return;
    }
    this.host.routeInfo(this, info);
  }

  onConnect(json: string): void {
    if (this.didSolicit) return; // a dialer never receives CONNECT; ignore as nats-server does for routes
    let c: RouteConnectWire;
    try {
      c = JSON.parse(json) as RouteConnectWire;
    } catch {
      this.protocolError(`invalid CONNECT JSON: ${json.slice(0, 64)}`);
      return;
    }
    const err = this.host.checkConnect(this, c);
    if (err !== null) {
      this.server.logger.error(`${this.logPrefix} - ${err}`);
      this.sendErr(err);
      this.close(err === 'Authorization Violation' ? ClosedReason.authenticationViolation : ClosedReason.protocolViolation);
      return;
    }
    this.connectSeen = true;
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    if (typeof c.name === 'string') this.remoteId = c.name;
    this.headers = c.headers !== false;
  }

  onPing(): void {
    this.sendProto(PONG);
  }

  onPong(): void {
    this.pongReceived();
  }

  onErr(text: string): void {
    this.server.logger.error(`${this.logPrefix} - Route Error '${text}'`);
    this.close(text === 'Authorization Violation' ? ClosedReason.authenticationViolation : ClosedReason.parseError);
  }

  onSub(args: string[]): void {
    if (!this.registered) return;
    // RS+ <account> <subject> [<queue> <weight>]
    if (args.length !== 2 && args.length !== 4) {
      this.protocolError(`processRemoteSub Parse Error: 'RS+ ${args.join(' ')}'`);
      return;
    }
    if (args[0] !== GLOBAL_ACCOUNT) return; // only the global account is served
    const subject = args[1]!;
    const queue = args.length === 4 ? args[2]! : null;
    const key = queue === null ? subject : `${subject} ${queue}`;
    let weight = 1;
    if (queue !== null) {
      const w = Number(args[3]);
      weight = Number.isInteger(w) && w > 0 ? w : 1;
      this.weights.set(key, weight);
    }
    const known = this.subs.get(key);
    if (known !== undefined) {
      known.weight = weight; // weight update only
      return;
    }
    const sub = new Subscription(subject, queue, key, this);
    sub.weight = weight;
    try {
      this.server.addSubscription(sub);
    } catch (e) {
      if (e instanceof SublistError) {
        this.server.logger.error(`${this.logPrefix} - Invalid remote subscription "${key}": ${e.message}`);
        return;
      }
      throw e;
    }
    this.subs.set(key, sub);
  }

  onUnsub(args: string[]): void {
    if (!this.registered) return;
    if (args.length !== 2 && args.length !== 3) {
      this.protocolError(`processRemoteUnsub Parse Error: 'RS- ${args.join(' ')}'`);
      return;
    }
    if (args[0] !== GLOBAL_ACCOUNT) return;
    const key = args.length === 3 ? `${args[1]!} ${args[2]!}` : args[1]!;
    const sub = this.subs.get(key);
    if (sub === undefined) return;
    this.subs.delete(key);
    this.weights.delete(key);
    this.server.removeSubscription(sub);
  }

  onMsg(pa: PubArgs, account: string, queues: string[] | null, data: Buffer, start: number): void {
    const stats = this.stats;
    stats.inMsgs++;
    stats.inBytes += pa.size;
    const server = this.server;
    server.stats.inMsgs++;
    server.stats.inBytes += pa.size;
    if (account !== GLOBAL_ACCOUNT || !this.registered) return;
    const r = server.sublist.match(pa.subject) as SublistMatch<Subscription>;
    // The route parser's subject is the latin1 text of the line's subject bytes.
    pa.shownIsSubject = true;
    if (pa.replyEnd - pa.replyStart > 9 && pa.buf[pa.replyStart] === 36) {
      const at = jsAckDeliverIdx(pa.buf, pa.replyStart, pa.replyEnd);
      if (at > 0) pa = withShownSubject(pa, at);
    }
    server.processMessage(this, queues === null ? { psubs: r.psubs, qsubs: NO_QSUBS } : pickQueues(r, queues), pa, data, start);
  }

  onProtocolError(detail: string): void {
    this.protocolError(detail);
  }

  private protocolError(detail: string): void {
    this.server.logger.error(`${this.logPrefix} - Route protocol error: ${detail}`);
    this.close(ClosedReason.protocolViolation);
  }

  // ---- SubscriptionOwner / DeferredOwner -----------------------------------------

  deliver(sub: Subscription, _pa: PubArgs, _data: Buffer, _start: number): boolean {
    if (this.closed) return false;
    const seq = this.server.deliverySeq;
    if (this.pendingSeq !== seq) {
      if (this.pendingOpen) {
        this.pendingOuter.push({ seq: this.pendingSeq, queues: this.pendingQueues });
        this.pendingQueues = [];
      } else this.pendingQueues.length = 0;
      this.pendingSeq = seq;
      this.pendingOpen = true;
      this.server.deferDelivery(this);
    }
    // Plain interest needs no note: the peer delivers to its plain subscribers anyway.
    if (sub.queue !== null) this.pendingQueues.push(sub.queue);
    return true;
  }

  /** One RMSG/HMSG for the current message, with the queue groups this peer was chosen for. */
  finishDelivery(pa: PubArgs, data: Buffer, start: number): void {
    this.writeDelivery(pa, data, start);
    this.pendingOpen = false;
    const outer = this.pendingOuter.pop();
    if (outer !== undefined) {
      this.pendingSeq = outer.seq;
      this.pendingQueues = outer.queues;
      this.pendingOpen = true;
    }
  }

  private writeDelivery(pa: PubArgs, data: Buffer, start: number): void {
    if (this.closed) return;
    const src = pa.buf;
    const queues = this.pendingQueues;
    let hdr = pa.hdr;
    let size = pa.size;
    let dataStart = start;
    let szb: Buffer | null = null;
    if (hdr >= 0 && !this.headers) {
      // Peer without header support: headers stripped (nats-server's cross-version rule).
      dataStart = start + hdr;
      size -= hdr;
      hdr = -1;
      szb = Buffer.from(String(size), 'latin1');
    }
    // A JetStream delivery is matched on its target (pull inbox, deliver
    // subject) but shows the stream's subject: the RMSG goes to the target
    // and, as nats-server does, carries the shown subject after '@' in the
    // $JS.ACK reply; the receiving server restores it (see onMsg).
    const remap = showsOtherSubject(pa);
    const subjLen = remap ? pa.subject.length : pa.subjEnd - pa.subjStart;
    const shownLen = remap && isJsAckReply(src, pa.replyStart, pa.replyEnd) ? pa.subjEnd - pa.subjStart + 1 : 0;
    const replyLen = pa.replyEnd - pa.replyStart + shownLen;
    let qLen = 0;
    for (let i = 0; i < queues.length; i++) qLen += queues[i]!.length + 1;
    const szLen = szb === null ? pa.szbEnd - pa.szbStart : szb.length;
    const lineLen =
      8 + subjLen + (queues.length > 0 ? 2 : 0) + (replyLen > 0 ? replyLen + 1 : 0) + qLen +
      (hdr >= 0 ? pa.hdbEnd - pa.hdbStart + 1 : 0) + szLen + 3;
    const total = lineLen + size + 2;
    const out = this.out;
    const pending = out.pending + this.socket.writableLength;
    if (pending + total > this.maxPending) {
      this.server.stats.slowConsumers++;
      this.server.logger.info(`${this.logPrefix} - Slow Consumer Detected on route: ${pending + total} bytes pending`);
      this.close(ClosedReason.slowConsumerPendingBytes, true);
      return;
    }
    if (pending > this.stallAt) {
      const producer = this.server.currentReader;
      if (producer !== null) producer.stallOn = this;
    }
    out.ensure(lineLen + (size < LARGE_PAYLOAD ? size + 2 : 0));
    const b = out.buf;
    let p = out.len;
    p += (hdr >= 0 ? HMSG_G : RMSG_G).copy(b, p);
    if (remap) p += b.write(pa.subject, p, 'latin1');
    else p += src.copy(b, p, pa.subjStart, pa.subjEnd);
    b[p++] = 32;
    if (queues.length > 0) {
      if (replyLen > 0) {
        b[p++] = 43; // +
        b[p++] = 32;
        p += src.copy(b, p, pa.replyStart, pa.replyEnd);
        if (shownLen > 0) {
          b[p++] = 64; // @
          p += src.copy(b, p, pa.subjStart, pa.subjEnd);
        }
        b[p++] = 32;
      } else {
        b[p++] = 124; // |
        b[p++] = 32;
      }
      for (let i = 0; i < queues.length; i++) {
        p += b.write(queues[i]!, p, 'latin1');
        b[p++] = 32;
      }
    } else if (replyLen > 0) {
      p += src.copy(b, p, pa.replyStart, pa.replyEnd);
      if (shownLen > 0) {
        b[p++] = 64; // @
        p += src.copy(b, p, pa.subjStart, pa.subjEnd);
      }
      b[p++] = 32;
    }
    if (hdr >= 0) {
      p += src.copy(b, p, pa.hdbStart, pa.hdbEnd);
      b[p++] = 32;
    }
    if (szb === null) p += src.copy(b, p, pa.szbStart, pa.szbEnd);
    else p += szb.copy(b, p);
    b[p++] = 13;
    b[p++] = 10;
    if (size < LARGE_PAYLOAD) {
      p += data.copy(b, p, dataStart, dataStart + size + 2);
      out.len = p;
    } else {
      out.len = p;
      out.appendShared(data.subarray(dataStart, dataStart + size + 2));
    }
    this.stats.outMsgs++;
    this.stats.outBytes += size;
    if (!this.dirty) this.server.markDirty(this);
  }

  // ---- close --------------------------------------------------------------------

  protected stopWork(): void {
    this.parser.stop();
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.pingTimer = this.authTimer = null;
  }

  protected closedDone(): void {
    this.subs.clear();
    this.weights.clear();
    this.host.routeClosed(this);
  }
}

const NO_QSUBS: readonly (readonly Subscription[])[] = [];

const JS_ACK = Buffer.from('$JS.ACK.', 'latin1');

function isJsAckReply(b: Buffer, start: number, end: number): boolean {
  if (end - start <= JS_ACK.length) return false;
  for (let i = 0; i < JS_ACK.length; i++) if (b[start + i] !== JS_ACK[i]) return false;
  return true;
}

/** The control line shows another subject than the one routed on (a JetStream delivery). */
function showsOtherSubject(pa: PubArgs): boolean {
  const s = pa.subject;
  const n = pa.subjEnd - pa.subjStart;
  if (s.length !== n) return true;
  const b = pa.buf;
  for (let i = n - 1; i >= 0; i--) if (b[pa.subjStart + i] !== s.charCodeAt(i)) return true;
  return false;
}

/** Index of the '@' that ends a $JS.ACK reply (after at least 8 dots), or -1 (nats-server's jsAckDeliverIdx). */
function jsAckDeliverIdx(b: Buffer, start: number, end: number): number {
  if (!isJsAckReply(b, start, end)) return -1;
  let dots = 0;
  for (let i = start; i < end - 1; i++) {
    const c = b[i];
    if (c === 46) dots++;
    else if (c === 64 && dots >= 8) return i;
  }
  return -1;
}

/**
 * An RMSG `<target> <ack>@<shown> ...` as local clients must see it: matched
 * on the target, shown as `<shown>` with reply `<ack>` (what JetStream's own
 * deliveries look like on the owner).
 */
function withShownSubject(pa: PubArgs, at: number): PubArgs {
  const src = pa.buf;
  const shown = src.subarray(at + 1, pa.replyEnd);
  const ack = src.subarray(pa.replyStart, at);
  const hdb = pa.hdr >= 0 ? src.subarray(pa.hdbStart, pa.hdbEnd) : null;
  const szb = src.subarray(pa.szbStart, pa.szbEnd);
  const parts = hdb === null ? [shown, SP, ack, SP, szb] : [shown, SP, ack, SP, hdb, SP, szb];
  const line = Buffer.concat(parts);
  const out = new PubArgs();
  out.buf = line;
  out.subjStart = 0;
  out.subjEnd = shown.length;
  out.replyStart = shown.length + 1;
  out.replyEnd = out.replyStart + ack.length;
  let p = out.replyEnd + 1;
  if (hdb !== null) {
    out.hdbStart = p;
    out.hdbEnd = p += hdb.length;
    p++;
  }
  out.szbStart = p;
  out.szbEnd = line.length;
  out.hdr = pa.hdr;
  out.size = pa.size;
  out.subject = pa.subject;
  return out;
}

const SP = Buffer.from(' ', 'latin1');

/** The queue groups of a match that the sender named in its RMSG. */
function pickQueues(r: SublistMatch<Subscription>, queues: string[]): { psubs: readonly Subscription[]; qsubs: readonly (readonly Subscription[])[] } {
  const qsubs: (readonly Subscription[])[] = [];
  for (let i = 0; i < r.queues.length; i++) if (queues.includes(r.queues[i]!)) qsubs.push(r.qsubs[i]!);
  return { psubs: r.psubs, qsubs };
}
