// In-process clients (JetStream, system services): they subscribe and publish
// through the same Sublist and routing as socket clients, without a socket.
// Deliveries to their subscriptions call the handler synchronously, inside
// the publisher's routing loop; a handler may publish or (un)subscribe.
//
// Buffers handed to handlers are views of the publisher's read buffer: valid
// forever (read chunks are never reused) but they keep that chunk alive, so
// copy what you store long term.
import { PubArgs } from './parser.js';
import type { Server } from './server.js';
import { Subscription, type SubscriptionOwner } from './subscription.js';

export type InternalHandler = (subject: string, reply: string, hdr: Buffer | null, payload: Buffer) => void;

export interface InternalSubscribeOptions {
  /** Keep the subscription off routes: remote servers never forward to it. */
  localOnly?: boolean;
}

export interface InternalClientOptions {
  /** Deliver this client's own publishes to its own subscriptions (default true, as nats-server internal clients). */
  echo?: boolean;
}

const SPACE = 32;

/** Write n (a non-negative integer) as decimal ASCII at p; returns the end. */
export function writeDecimal(buf: Buffer, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 48 + n;
    return p + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  const end = p + digits;
  for (let i = end - 1, x = n; i >= p; i--, x = Math.floor(x / 10)) buf[i] = 48 + (x % 10);
  return end;
}

/** Subjects travel inside the server as latin1 strings of their UTF-8 bytes (what the parser makes). */
export function toWireSubject(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

export function fromWireSubject(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  return s;
}

export class InternalClient implements SubscriptionOwner {
  readonly kind = 'internal' as const;
  readonly echo: boolean;
  private readonly handlers = new Map<Subscription, InternalHandler>();
  private nextSid = 1;
  closed = false;

  constructor(
    readonly server: Server,
    readonly cid: number,
    readonly name: string,
    opts: InternalClientOptions = {},
  ) {
    this.echo = opts.echo !== false;
  }

  /** Subscribe; throws SublistError for an invalid subject or queue name. */
  subscribe(subject: string, queue: string | null, handler: InternalHandler, opts?: InternalSubscribeOptions): Subscription {
    if (this.closed) throw new Error(`internal client ${this.name} is closed`);
    const sub = new Subscription(toWireSubject(subject), queue, String(this.nextSid++), this);
    if (opts?.localOnly === true) sub.localOnly = true;
    this.server.addSubscription(sub);
    this.handlers.set(sub, handler);
    return sub;
  }

  unsubscribe(sub: Subscription): void {
    if (this.handlers.delete(sub)) this.server.removeSubscription(sub);
  }

  /** Publish like a client would; returns true if anything received it. */
  publish(subject: string, reply: string, hdr: Buffer | null, payload: Buffer | Uint8Array | string): boolean {
    return this.publishShown(subject, subject, reply, hdr, payload);
  }

  /**
   * publish() to a subject that will not be published to again (a PubAck to its request's
   * unique reply inbox): routed without entering the subject cache, which it would only churn.
   */
  publishOnce(subject: string, reply: string, hdr: Buffer | null, payload: Buffer | Uint8Array | string): boolean {
    return this.publishShown(subject, subject, reply, hdr, payload, undefined, true);
  }

  /**
   * Route a message to the subscribers of `target` while the delivered control
   * line shows `shown`: a JetStream push delivery goes to the deliver subject
   * but shows the stored message's subject. `replyPrefix` (pre-encoded bytes,
   * e.g. a consumer's `$JS.ACK.<stream>.<consumer>.`) goes before `reply` in
   * the reply subject. Returns true if anything received it.
   */
  publishShown(
    target: string,
    shown: string,
    reply: string,
    hdr: Buffer | null,
    payload: Buffer | Uint8Array | string,
    replyPrefix?: Buffer,
    once = false,
  ): boolean {
    if (this.closed) return false;
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const hl = hdr ? hdr.length : -1;
    const total = (hdr ? hdr.length : 0) + body.length;
    const rpl = replyPrefix === undefined ? 0 : replyPrefix.length;
    // One buffer holds the control line in the shape the parser produces
    // ("subj [reply] [hdr] size"), then header, body and CRLF: one allocation
    // per publish (from the Buffer pool for small ones), no strings joined.
    // Sized for the worst case (3 UTF-8 bytes per UTF-16 unit; 16 digits per number).
    const cap = 3 * shown.length + rpl + 3 * reply.length + 40 + total + 2;
    const buf = Buffer.allocUnsafe(cap);
    // A fresh PubArgs per publish: handlers may publish again while this one is being routed.
    const pa = new PubArgs();
    pa.buf = buf;
    let p = 0;
    pa.subjStart = p;
    p += buf.write(shown, p, 'utf8');
    pa.subjEnd = p;
    if (rpl > 0 || reply.length > 0) {
      buf[p++] = SPACE;
      pa.replyStart = p;
      if (rpl > 0) p += replyPrefix!.copy(buf, p);
      if (reply.length > 0) p += buf.write(reply, p, 'utf8');
      pa.replyEnd = p;
    }
    if (hdr) {
      buf[p++] = SPACE;
      pa.hdbStart = p;
      p = writeDecimal(buf, p, hl);
      pa.hdbEnd = p;
    }
    buf[p++] = SPACE;
    pa.szbStart = p;
    p = writeDecimal(buf, p, total);
    pa.szbEnd = p;
    const start = p;
    if (hdr) p += hdr.copy(buf, p);
    p += body.copy(buf, p);
    buf[p++] = 13;
    buf[p++] = 10;
    pa.hdr = hl;
    pa.size = total;
    pa.subject = toWireSubject(target);
    pa.shownIsSubject = target === shown;
    const s = this.server;
    s.stats.inMsgs++;
    s.stats.inBytes += total;
    return s.processMessage(this, once ? s.sublist.matchOnce(pa.subject) : s.sublist.match(pa.subject), pa, buf, start);
  }

  deliver(sub: Subscription, pa: PubArgs, data: Buffer, start: number): boolean {
    const h = this.handlers.get(sub);
    if (h === undefined) return false;
    const hdr = pa.hdr > 0 ? data.subarray(start, start + pa.hdr) : null;
    const payload = data.subarray(start + (pa.hdr > 0 ? pa.hdr : 0), start + pa.size);
    const reply = pa.hasReply ? fromWireSubject(pa.replyString()) : '';
    try {
      h(fromWireSubject(pa.subject), reply, hdr, payload);
    } catch (err) {
      this.server.logger.error(`internal client ${this.name}: handler for "${sub.subject}" failed: ${(err as Error).stack ?? String(err)}`);
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.handlers.keys()) this.server.removeSubscription(sub);
    this.handlers.clear();
    this.server.internalClientClosed(this);
  }
}
