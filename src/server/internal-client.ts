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

const CRLF = Buffer.from('\r\n', 'latin1');

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
   * Route a message to the subscribers of `target` while the delivered control
   * line shows `shown`: a JetStream push delivery goes to the deliver subject
   * but shows the stored message's subject. Returns true if anything received it.
   */
  publishShown(target: string, shown: string, reply: string, hdr: Buffer | null, payload: Buffer | Uint8Array | string): boolean {
    if (this.closed) return false;
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const hl = hdr ? hdr.length : -1;
    const total = (hdr ? hdr.length : 0) + body.length;
    // Build a control line in the shape the parser produces: "subj [reply] [hdr] size".
    const parts = [shown];
    if (reply) parts.push(reply);
    if (hdr) parts.push(String(hl));
    parts.push(String(total));
    const line = Buffer.from(parts.join(' '), 'utf8');
    // A fresh PubArgs per publish: handlers may publish again while this one is being routed.
    const pa = new PubArgs();
    pa.buf = line;
    let p = 0;
    pa.subjStart = p;
    pa.subjEnd = p += Buffer.byteLength(shown, 'utf8');
    p++;
    if (reply) {
      pa.replyStart = p;
      pa.replyEnd = p += Buffer.byteLength(reply, 'utf8');
      p++;
    }
    if (hdr) {
      pa.hdbStart = p;
      pa.hdbEnd = p += String(hl).length;
      p++;
    }
    pa.szbStart = p;
    pa.szbEnd = line.length;
    pa.hdr = hl;
    pa.size = total;
    pa.subject = toWireSubject(target);
    pa.shownIsSubject = target === shown;
    const data = hdr ? Buffer.concat([hdr, body, CRLF]) : Buffer.concat([body, CRLF]);
    const s = this.server;
    s.stats.inMsgs++;
    s.stats.inBytes += total;
    return s.processMessage(this, s.sublist.match(pa.subject), pa, data, 0);
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
