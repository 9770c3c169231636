// ClientConnection: one NATS client socket. It is the parser's handler
// (control ops in, MSG/HMSG out) and a subscription owner (deliver()).
//
// Output never goes straight to the socket: deliver() and protocol replies
// append to `out` and mark the connection dirty; the server flushes every
// dirty connection once at the end of the producer's read callback (see
// Server.endRead), so one input batch costs one write per destination.
//
// Limits enforced here: max_payload, max_control_line (parser),
// max_subscriptions, max_pending (slow consumer: closed at once, never
// blocking others; producers are briefly paused while a destination has
// more than min(4 MiB, 75% of max_pending) unsent), write_deadline, ping_interval/ping_max (stale), and
// the auth timeout.
import type { Socket } from 'node:net';
import { statusHeader } from '../protocol/headers.js';
import { Connection, type ConnectionActivity, type DrainTarget } from './connection.js';
import { ClosedReason, ErrText, permissionsViolationPublish, permissionsViolationSubscribe } from './errors.js';
import { LARGE_PAYLOAD } from './outbound.js';
import { ProtocolParser, splitArgs, type ProtocolHandler, type PubArgs } from './parser.js';
import type { Permissions } from './permissions.js';
import type { Server } from './server.js';
import { isValidLiteralSubject } from './subject.js';
import { isUncachedSubject, SublistError, type SublistMatch } from './sublist.js';
import { Subscription, type SubscriptionOwner } from './subscription.js';
import { tlsCipherOf, tlsVersionOf } from './tls.js';

/** The CONNECT fields Tern understands (nats-server's ClientOpts). */
export interface ConnectOptions {
  verbose?: boolean;
  pedantic?: boolean;
  tls_required?: boolean;
  auth_token?: string;
  user?: string;
  pass?: string;
  name?: string;
  lang?: string;
  version?: string;
  protocol?: number;
  echo?: boolean;
  headers?: boolean;
  no_responders?: boolean;
  jwt?: string;
  nkey?: string;
  sig?: string;
  account?: string;
  new_account?: boolean;
}

/** A point-in-time description of a connection (open or closed), in /connz terms. */
export interface ConnectionSnapshot extends ConnectionActivity {
  cid: number;
  kind: 'Client';
  stop: Date | null;
  reason: string;
  numSubs: number;
  subscriptions: string[];
  name: string;
  lang: string;
  version: string;
  authorizedUser: string;
  tlsVersion: string;
}

const MSG_BYTES = Buffer.from('MSG ', 'latin1');
const HMSG_BYTES = Buffer.from('HMSG ', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const PONG = Buffer.from('PONG\r\n', 'latin1');
const OK = Buffer.from('+OK\r\n', 'latin1');

/** Stall a producer at most this long per read while a destination is over 75% of max_pending. */
const STALL_MAX_MS = 10;
/**
 * Producers are paused once a destination has this much unsent (when below
 * 75% of max_pending): fan-in publishers that outrun their subscriber then
 * wait for it at a few MB of backlog instead of tens of MB (less memory and GC).
 */
const EARLY_STALL_BYTES = 4 * 1024 * 1024;

/** Per-connection L1 cache of subject -> match, validated by the sublist genid. */
const L1_MAX = 512;
const L1_PRUNE = 32;

export class ClientConnection extends Connection implements ProtocolHandler, SubscriptionOwner {
  readonly kind = 'client' as const;
  readonly parser: ProtocolParser;
  /** Last time data arrived (ms), for the ping timer. */
  private lastIn = Date.now();

  connectOpts: ConnectOptions = {};
  connectReceived = false;
  echo = true;
  headers = false;
  verbose = false;
  pedantic = false;
  noResponders = false;
  protocol = 0;
  authorizedUser = '';
  permissions: Permissions | null = null;
  awaitingAuth: boolean;
  stop: Date | null = null;

  private pingTimer: NodeJS.Timeout | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private deadlineMark = 0;
  /** Set while routing when a destination is over 75% of max_pending. */
  stallOn: DrainTarget | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private paused = false;
  /** deliver() skips the pending checks while out.len + message <= room (see checkRoom). */
  private room = 0;

  private l1 = new Map<string, SublistMatch<Subscription>>();
  private l1genid = -1;

  private readonly maxPending: number;
  private readonly stallAt: number;
  private readonly trace: boolean;

  constructor(server: Server, socket: Socket, cid: number) {
    super(server, socket, cid, 'cid');
    const o = server.options;
    this.parser = new ProtocolParser(this, o.maxControlLine);
    this.maxPending = o.maxPending;
    this.stallAt = Math.min(Math.floor(o.maxPending * 0.75), EARLY_STALL_BYTES);
    this.trace = server.logger.traceEnabled;
    this.awaitingAuth = server.auth.required;
  }

  /** Called by the server after accept: INFO, timers, socket events. */
  startup(infoLine: string): void {
    this.attachSocket('Client');
    // '' when the INFO already went out before a TLS handshake.
    if (infoLine !== '') this.sendRaw(infoLine);
    if (this.trace) this.server.logger.trace(`${this.logPrefix} - ->> [INFO ...]`);
    if (this.server.auth.required) {
      this.authTimer = setTimeout(() => {
        this.authTimer = null;
        if (this.closed || !this.awaitingAuth) return;
        this.sendErr(ErrText.authenticationTimeout);
        this.close(ClosedReason.authenticationTimeout);
      }, this.server.auth.timeout);
    }
    this.startPingTimer();
  }

  // ---- input ----------------------------------------------------------------

  protected onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastIn = Date.now();
    this.lastActivity.setTime(this.lastIn);
    const server = this.server;
    server.beginRead(this);
    this.parser.parse(chunk);
    server.endRead();
    if (this.stallOn !== null) this.stall();
  }

  // ProtocolHandler ----------------------------------------------------------

  processPub(pa: PubArgs): boolean {
    if (this.trace) this.traceIn(pa.hdr >= 0 ? 'HPUB' : 'PUB', pa.argString());
    if (pa.hdr >= 0 && !this.headers) {
      this.protocolViolation('processHeaderPub: message headers not supported');
      return false;
    }
    const max = this.server.options.maxPayload;
    if (max > 0 && pa.size > max) {
      this.server.logger.error(`${this.logPrefix} - maximum payload exceeded: ${pa.size} vs ${max}`);
      this.sendErr(ErrText.maxPayload);
      this.close(ClosedReason.maxPayloadExceeded);
      return false;
    }
    if (this.pedantic && !isValidLiteralSubject(pa.subject)) this.sendErr(ErrText.invalidPublishSubject);
    return true;
  }

  processMsg(pa: PubArgs, data: Buffer, start: number): void {
    const stats = this.stats;
    stats.inMsgs++;
    stats.inBytes += pa.size;
    const server = this.server;
    server.stats.inMsgs++;
    server.stats.inBytes += pa.size;
    if (this.permissions !== null && !this.permissions.canPublish(pa.subject)) {
      this.sendErr(permissionsViolationPublish(pa.subject));
      server.logger.error(`${this.logPrefix} - Publish Violation - User ${JSON.stringify(this.authorizedUser)}, Subject "${pa.subject}"`);
      return;
    }
    if (this.verbose) this.sendProto(OK);

    // L1: one Map lookup while no subscription changed anywhere.
    const sl = server.sublist;
    const genid = sl.genid;
    let r: SublistMatch<Subscription> | undefined;
    if (genid === this.l1genid) r = this.l1.get(pa.subject);
    else {
      this.l1.clear();
      this.l1genid = genid;
    }
    if (r === undefined) {
      r = sl.match(pa.subject);
      // Unique one-shot subjects (JetStream acks) would only evict useful entries.
      if (!isUncachedSubject(pa.subject)) {
        if (this.l1.size >= L1_MAX) {
          let n = 0;
          for (const k of this.l1.keys()) {
            this.l1.delete(k);
            if (++n >= L1_PRUNE) break;
          }
        }
        this.l1.set(pa.subject, r);
      }
    }
    const delivered = server.processMessage(this, r, pa, data, start);
    if (!delivered && this.noResponders && pa.hasReply) this.sendNoResponders(pa);
  }

  processSub(buf: Buffer, start: number, end: number): boolean {
    const args = splitArgs(buf, start, end);
    if (this.trace) this.traceIn('SUB', args.join(' '));
    let subject: string;
    let queue: string | null = null;
    let sid: string;
    if (args.length === 2) {
      subject = args[0]!;
      sid = args[1]!;
    } else if (args.length === 3) {
      subject = args[0]!;
      queue = args[1]!;
      sid = args[2]!;
    } else {
      this.protocolViolation(`processSub Parse Error: '${buf.toString('latin1', start, end)}'`);
      return false;
    }
    this.lastActivity = new Date();
    if (this.permissions !== null && !this.permissions.canSubscribe(subject)) {
      this.sendErr(permissionsViolationSubscribe(subject, queue));
      this.server.logger.error(
        `${this.logPrefix} - Subscription Violation - User ${JSON.stringify(this.authorizedUser)}, ${queue === null ? '' : `Queue "${queue}", `}Subject "${subject}", SID ${sid}`,
      );
      return true;
    }
    const maxSubs = this.server.options.maxSubscriptions;
    if (maxSubs > 0 && this.subs.size >= maxSubs) {
      this.server.logger.error(`${this.logPrefix} - ${ErrText.maxSubscriptions}`);
      this.sendErr(ErrText.maxSubscriptions);
      return true;
    }
    if (!this.subs.has(sid)) {
      const sub = new Subscription(subject, queue, sid, this);
      try {
        this.server.addSubscription(sub);
      } catch (err) {
        if (err instanceof SublistError) {
          this.sendErr(ErrText.invalidSubject);
          return true;
        }
        throw err;
      }
      this.subs.set(sid, sub);
    }
    if (this.verbose) this.sendProto(OK);
    return true;
  }

  processUnsub(buf: Buffer, start: number, end: number): boolean {
    const args = splitArgs(buf, start, end);
    if (this.trace) this.traceIn('UNSUB', args.join(' '));
    let max = -1;
    if (args.length === 2) {
      const b = Buffer.from(args[1]!, 'latin1');
      max = parseSizeStr(b);
    } else if (args.length !== 1) {
      this.protocolViolation(`processUnsub Parse Error: '${buf.toString('latin1', start, end)}'`);
      return false;
    }
    this.lastActivity = new Date();
    const sub = this.subs.get(args[0]!);
    if (sub !== undefined) {
      if (max > 0 && max > sub.delivered) sub.max = max;
      else this.removeSub(sub);
    }
    if (this.verbose) this.sendProto(OK);
    return true;
  }

  processConnect(buf: Buffer, start: number, end: number): boolean {
    const text = buf.toString('utf8', start, end);
    if (this.trace) this.traceIn('CONNECT', redactSecrets(text));
    let opts: ConnectOptions;
    try {
      const v: unknown = JSON.parse(text);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('CONNECT is not a JSON object');
      opts = v as ConnectOptions;
    } catch (err) {
      this.protocolViolation(`CONNECT parse error: ${(err as Error).message}`);
      return false;
    }
    this.clearAuthTimer();
    // A later CONNECT updates only the fields it carries (nats-server unmarshals into the existing options).
    opts = this.connectReceived ? { ...this.connectOpts, ...opts } : opts;
    this.connectOpts = opts;
    const first = !this.connectReceived;
    this.connectReceived = true;
    this.echo = opts.echo !== false;
    this.verbose = opts.verbose !== false;
    this.pedantic = opts.pedantic === true;
    this.headers = !this.server.options.noHeaderSupport && opts.headers === true;
    this.noResponders = opts.no_responders === true;
    this.protocol = typeof opts.protocol === 'number' ? opts.protocol : 0;
    this.lastActivity = new Date();
    this.rttMs = Date.now() - this.start.getTime();

    if (this.server.auth.required || first) {
      const res = this.server.auth.check(opts);
      if (res === null || opts.account !== undefined || opts.new_account === true) {
        this.authViolation(opts.user);
        return false;
      }
      this.authorizedUser = res.user;
      this.permissions = res.permissions;
      this.awaitingAuth = false;
    }
    if (this.protocol < 0 || this.protocol > 1) {
      this.sendErr(ErrText.invalidClientProtocol);
      this.close(ClosedReason.badClientProtocolVersion);
      return false;
    }
    if (this.noResponders && !this.headers) {
      this.sendErr(ErrText.noRespondersRequiresHeaders);
      this.close(ClosedReason.noRespondersRequiresHeaders);
      return false;
    }
    if (this.verbose) this.sendProto(OK);
    if (first) this.server.connectionConnected(this);
    return true;
  }

  processInfo(buf: Buffer, start: number, end: number): boolean {
    // Clients do not send INFO; nats-server parses it as JSON and ignores it for CLIENT connections.
    try {
      JSON.parse(buf.toString('utf8', start, end));
    } catch (err) {
      this.protocolViolation(`INFO parse error: ${(err as Error).message}`);
      return false;
    }
    return true;
  }

  processPing(): void {
    if (this.trace) this.traceIn('PING', '');
    this.sendProto(PONG);
  }

  processPong(): void {
    if (this.trace) this.traceIn('PONG', '');
    this.pongReceived();
  }

  processErr(buf: Buffer, start: number, end: number): void {
    this.server.logger.error(`${this.logPrefix} - Client Error ${buf.toString('utf8', start, end)}`);
    this.close(ClosedReason.parseError);
  }

  parseError(state: number, snippet: string): void {
    this.sendErr(ErrText.unknownProtocol);
    this.server.logger.error(`${this.logPrefix} - Client parser ERROR, state=${state}: proto='${snippet}...'`);
    this.close(ClosedReason.protocolViolation);
  }

  protocolViolation(detail: string): void {
    this.server.logger.error(`${this.logPrefix} - ${detail}`);
    this.close(ClosedReason.protocolViolation);
  }

  maxControlLineExceeded(len: number): void {
    this.server.logger.error(
      `${this.logPrefix} - ${ErrText.maxControlLine}: max_control_line ${this.server.options.maxControlLine}, line length ${len}`,
    );
    this.sendErr(ErrText.maxControlLine);
    this.close(ClosedReason.maxControlLineExceeded);
  }

  authViolation(user?: string): void {
    this.server.logger.error(
      user ? `${this.logPrefix} - authentication error - User ${JSON.stringify(user)}` : `${this.logPrefix} - authentication error`,
    );
    this.sendErr(ErrText.authorizationViolation);
    this.close(ClosedReason.authenticationViolation);
  }

  // ---- output ---------------------------------------------------------------

  /**
   * SubscriptionOwner.deliver: append MSG/HMSG for `sub` to the outbound
   * buffer. Copies the subject, reply and size digits straight from the
   * publisher's control line; the payload is copied (or shared when large).
   */
  deliver(sub: Subscription, pa: PubArgs, data: Buffer, start: number): boolean {
    if (this.closed) return false;
    const hdr = pa.hdr;
    if (hdr >= 0 && !this.headers) return this.deliverWithoutHeaders(sub, pa, data, start);
    const src = pa.buf;
    const size = pa.size;
    const replyLen = pa.replyEnd - pa.replyStart;
    // A literal subscription's "<subject> <sid> " is built once (see Subscription.literalPrefix).
    const prefix = pa.shownIsSubject ? sub.literalPrefix : null;
    const lineLen =
      (hdr >= 0 ? 6 + (pa.hdbEnd - pa.hdbStart) : 4) +
      (prefix !== null ? prefix.length : pa.subjEnd - pa.subjStart + sub.sidBytes.length) +
      (replyLen > 0 ? replyLen + 1 : 0) +
      (pa.szbEnd - pa.szbStart) +
      2;
    const total = lineLen + size + 2;
    const out = this.out;
    // One comparison while well below the limits; checkRoom() does the exact checks.
    if (out.len + total > this.room && !this.checkRoom(total)) return false;

    out.ensure(lineLen + (size < LARGE_PAYLOAD ? size + 2 : 0));
    const b = out.buf;
    let p = out.len;
    if (hdr >= 0) {
      b[p++] = 72; // H
    }
    b[p] = 77; // MSG
    b[p + 1] = 83;
    b[p + 2] = 71;
    b[p + 3] = 32;
    p += 4;
    // Short pieces are copied with a loop: Buffer.copy costs a native call and a view allocation each.
    if (prefix !== null) p = copySmall(prefix, 0, prefix.length, b, p);
    else {
      p = copySmall(src, pa.subjStart, pa.subjEnd, b, p);
      p = copySmall(sub.sidBytes, 0, sub.sidBytes.length, b, p);
    }
    if (replyLen > 0) {
      p = copySmall(src, pa.replyStart, pa.replyEnd, b, p);
      b[p++] = 32;
    }
    if (hdr >= 0) {
      p = copySmall(src, pa.hdbStart, pa.hdbEnd, b, p);
      b[p++] = 32;
    }
    p = copySmall(src, pa.szbStart, pa.szbEnd, b, p);
    b[p++] = 13;
    b[p++] = 10;
    if (size < LARGE_PAYLOAD) {
      // Payload and its trailing CRLF in one copy.
      const n = size + 2;
      if (n <= 64) p = copySmall(data, start, start + n, b, p);
      else if (n <= WORD_COPY_MAX && !pa.bodySeen(data, start)) p = copyWords(pa.dataView(data), start, start + n, out.dataView(), p);
      else {
        b.set(pa.bodyView(data, start, n), p);
        p += n;
      }
      out.len = p;
    } else {
      out.len = p;
      this.appendLarge(data.subarray(start, start + size + 2));
    }
    return this.deliveredOne(size, replyLen, pa);
  }

  /** HMSG to a subscriber that did not ask for headers: the payload only, as a plain MSG (rare). */
  private deliverWithoutHeaders(sub: Subscription, pa: PubArgs, data: Buffer, start: number): boolean {
    const src = pa.buf;
    const dataStart = start + pa.hdr;
    const size = pa.size - pa.hdr;
    const szb = Buffer.from(String(size), 'latin1');
    const replyLen = pa.replyEnd - pa.replyStart;
    const lineLen = 4 + (pa.subjEnd - pa.subjStart) + sub.sidBytes.length + (replyLen > 0 ? replyLen + 1 : 0) + szb.length + 2;
    const out = this.out;
    if (out.len + lineLen + size + 2 > this.room && !this.checkRoom(lineLen + size + 2)) return false;
    out.append(MSG_BYTES);
    out.appendRange(src, pa.subjStart, pa.subjEnd);
    out.append(sub.sidBytes);
    if (replyLen > 0) {
      out.appendRange(src, pa.replyStart, pa.replyEnd);
      out.appendByte(32);
    }
    out.append(szb);
    out.appendCRLF();
    if (size < LARGE_PAYLOAD) out.appendRange(data, dataStart, dataStart + size + 2);
    else this.appendLarge(data.subarray(dataStart, dataStart + size + 2));
    return this.deliveredOne(size, replyLen, pa);
  }

  /** Queue a large payload without copying; its bytes moved out of `out.len`, so the room is re-checked next time. */
  private appendLarge(body: Buffer): void {
    this.out.appendShared(body);
    this.room = 0;
  }

  private deliveredOne(size: number, replyLen: number, pa: PubArgs): true {
    this.stats.outMsgs++;
    this.stats.outBytes += size;
    if (replyLen > 0 && this.permissions !== null && this.permissions.tracksReplies) this.permissions.grantReply(pa.replyString());
    if (!this.dirty) this.server.markDirty(this);
    return true;
  }

  /**
   * The exact pending checks, run when `out.len + total` passes `room`: close
   * a slow consumer at max_pending; ask the producer to stall above stallAt.
   * Then `room` is what `out.len` may reach before the next check: bytes in
   * the socket only shrink between our writes (flush resets `room`), so a
   * check against a stale room is only ever too early, never too late.
   */
  private checkRoom(total: number): boolean {
    const out = this.out;
    const queued = out.pending - out.len + this.socket.writableLength;
    const pending = out.len + queued;
    if (pending + total > this.maxPending) {
      this.slowConsumer(pending + total);
      return false;
    }
    if (pending > this.stallAt) {
      const producer = this.server.currentReader;
      if (producer !== null && producer !== this) producer.stallOn = this;
    }
    // Above the stall mark this stays below out.len: every delivery re-checks, as before.
    this.room = this.stallAt - queued;
    return true;
  }

  override sendErr(text: string): void {
    if (this.trace) this.server.logger.trace(`${this.logPrefix} - ->> [-ERR ${text}]`);
    super.sendErr(text);
  }

  /** 503 to the requester's own reply subscription (nats-server 2.10 form). */
  private sendNoResponders(pa: PubArgs): void {
    const reply = pa.replyString();
    const r = this.server.sublist.match(reply);
    let sub: Subscription | null = null;
    for (const s of r.psubs) {
      if (s.owner === this) {
        sub = s;
        break;
      }
    }
    if (sub === null) return;
    // Built per request that found no one (never on the delivery path). The
    // subject and reply keep their bytes as published (pa.subject is latin1 text).
    const hdr = statusHeader(503, '', [['Nats-Subject', pa.buf.toString('utf8', pa.subjStart, pa.subjEnd)]]);
    const line = Buffer.from(`${hdr.length} ${hdr.length}\r\n`, 'latin1');
    this.sendProto(Buffer.concat([HMSG_BYTES, pa.buf.subarray(pa.replyStart, pa.replyEnd), sub.sidBytes, line, hdr, CRLF]));
  }

  /** After each flush: the room is re-measured, the flush size counted, a stuck write given a deadline. */
  protected override flushed(n: number, ok: boolean): void {
    this.room = 0;
    this.server.flushSizes.observe(n);
    if (!ok && this.deadlineTimer === null && this.server.options.writeDeadline > 0) this.armWriteDeadline();
  }

  private armWriteDeadline(): void {
    this.deadlineMark = this.socket.bytesWritten;
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = null;
      if (this.closed) return;
      if (this.socket.writableLength === 0) return;
      if (this.socket.bytesWritten > this.deadlineMark) {
        // Still making progress: only a write that stalls for a whole deadline is fatal.
        this.armWriteDeadline();
        return;
      }
      this.server.stats.slowConsumers++;
      this.server.logger.info(`${this.logPrefix} - "${this.connectOpts.name ?? ''}" - Slow Consumer Detected: WriteDeadline of ${this.server.options.writeDeadline}ms exceeded`);
      this.close(ClosedReason.slowConsumerWriteDeadline, true);
    }, this.server.options.writeDeadline);
  }

  protected override onDrain(): void {
    if (this.deadlineTimer !== null) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
    }
    this.releaseWaiters();
  }

  /** Pause reading from this producer until `stallOn` drains (bounded, like nats-server's fast-producer stall). */
  private stall(): void {
    const target = this.stallOn!;
    this.stallOn = null;
    if (this.closed || target.closed || this.paused) return;
    this.paused = true;
    this.socket.pause();
    (target.drainWaiters ??= []).push(this);
    this.stallTimer = setTimeout(() => this.resumeFromStall(), STALL_MAX_MS);
  }

  resumeFromStall(): void {
    if (this.stallTimer !== null) {
      clearTimeout(this.stallTimer);
      this.stallTimer = null;
    }
    if (!this.paused) return;
    this.paused = false;
    if (!this.closed) this.socket.resume();
  }

  private slowConsumer(wanted: number): void {
    const s = this.server;
    s.stats.slowConsumers++;
    s.logger.info(
      `${this.logPrefix} - "${this.connectOpts.name ?? ''}" - Slow Consumer Detected: MaxPending of ${this.maxPending} Exceeded (${wanted} bytes pending)`,
    );
    this.close(ClosedReason.slowConsumerPendingBytes, true);
  }

  // ---- pings ------------------------------------------------------------------

  private startPingTimer(): void {
    const interval = this.server.options.pingInterval;
    if (interval <= 0) return;
    this.pingTimer = setInterval(() => this.onPingTimer(interval), interval);
  }

  private onPingTimer(interval: number): void {
    if (this.closed) return;
    // Recent inbound traffic proves the client alive: skip this PING (nats-server does the same).
    if (Date.now() - this.lastIn < interval && this.pingsOut === 0) return;
    if (this.pingsOut + 1 > this.server.options.pingMax) {
      this.server.stats.staleConnections++;
      this.server.logger.debug(`${this.logPrefix} - Stale Client Connection - Closing`);
      this.sendErr(ErrText.staleConnection);
      this.close(ClosedReason.staleConnection);
      return;
    }
    if (this.trace) this.server.logger.trace(`${this.logPrefix} - ->> [PING]`);
    this.sendPing();
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
  }

  // ---- subscriptions and close ------------------------------------------------

  /** Remove one of this client's subscriptions (UNSUB, auto-unsubscribe). */
  removeSub(sub: Subscription): void {
    if (this.subs.get(sub.sid) === sub) this.subs.delete(sub.sid);
    this.server.removeSubscription(sub);
  }

  protected stopWork(): void {
    this.stop = new Date();
    this.clearAuthTimer();
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.pingTimer = this.deadlineTimer = this.stallTimer = null;
  }

  protected closedDone(): void {
    this.server.connectionClosed(this);
  }

  snapshot(): ConnectionSnapshot {
    const o = this.connectOpts;
    return {
      cid: this.cid,
      kind: 'Client',
      ip: this.ip,
      port: this.port,
      start: this.start,
      lastActivity: this.lastActivity,
      stop: this.stop,
      reason: this.closeReason,
      rttMs: this.rttMs,
      pendingBytes: this.pendingBytes,
      inMsgs: this.stats.inMsgs,
      outMsgs: this.stats.outMsgs,
      inBytes: this.stats.inBytes,
      outBytes: this.stats.outBytes,
      numSubs: this.subs.size,
      subscriptions: [...this.subs.values()].map((s) => s.subject),
      name: o.name ?? '',
      lang: o.lang ?? '',
      version: o.version ?? '',
      authorizedUser: this.authorizedUser,
      tlsVersion: tlsVersionOf(this.socket),
    };
  }

  get tlsCipherSuite(): string {
    return tlsCipherOf(this.socket);
  }

  private traceIn(op: string, arg: string): void {
    this.server.logger.trace(`${this.logPrefix} - <<- [${op}${arg ? ' ' + arg : ''}]`);
  }
}

/** Copy src[s, e) to dst at p and return the new position; a plain loop below 64 bytes. */
function copySmall(src: Buffer, s: number, e: number, dst: Buffer, p: number): number {
  const n = e - s;
  if (n > 64) return p + src.copy(dst, p, s, e);
  for (let k = s; k < e; k++) dst[p++] = src[k]!;
  return p;
}

/**
 * Copy 8 bytes per step through DataViews (kept per read chunk and per
 * outbound buffer): no allocation per message, where Buffer.copy or
 * TypedArray.set need a fresh view of the range (garbage on every delivery).
 */
function copyWords(src: DataView, s: number, e: number, dst: DataView, p: number): number {
  let k = s;
  for (; k + 8 <= e; k += 8, p += 8) {
    dst.setUint32(p, src.getUint32(k, true), true);
    dst.setUint32(p + 4, src.getUint32(k + 4, true), true);
  }
  for (; k < e; k++, p++) dst.setUint8(p, src.getUint8(k));
  return p;
}

const WORD_COPY_MAX = 512;

function parseSizeStr(b: Buffer): number {
  if (b.length === 0 || b.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Hide passwords and tokens in traced CONNECT lines. */
function redactSecrets(s: string): string {
  return s.replace(/("(?:pass|auth_token|sig|nkey)"\s*:\s*")([^"]*)"/g, '$1[REDACTED]"');
}
