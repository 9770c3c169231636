// Subscriptions and their owners.
//
// A Subscription is created at SUB time and lives in the server's Sublist
// until UNSUB, auto-unsubscribe (max reached) or the owner closes. Its owner
// is polymorphic: a client connection, a route (interest of a remote server),
// or an in-process client (JetStream, system services). Routing calls
// owner.deliver() for every match; the owner decides how bytes leave
// (MSG/HMSG into an outbound buffer, RMSG to a route, a handler call).
//
// The message handed to deliver() is a view valid only during the call:
// `pa` describes the control line (subject/reply/size digits as byte ranges of
// pa.buf) and the message bytes (headers + payload, pa.size of them) are at
// data[start .. start + pa.size), always followed by CRLF. Owners that keep
// a message must copy it.
import type { PubArgs } from './parser.js';
import type { SublistEntry } from './sublist.js';

export type OwnerKind = 'client' | 'route' | 'internal';

export interface SubscriptionOwner {
  readonly kind: OwnerKind;
  /** Connection id (clients and routes), or the internal client's id. */
  readonly cid: number;
  /** When false, this owner's own publishes skip its own subscriptions (CONNECT echo:false). */
  readonly echo: boolean;
  /** Deliver one message; false if nothing was delivered (closed, echo off, ...). */
  deliver(sub: Subscription, pa: PubArgs, data: Buffer, start: number): boolean;
}

export class Subscription implements SublistEntry {
  /** Messages delivered so far. */
  delivered = 0;
  /** Auto-unsubscribe after this many deliveries; 0 = unlimited. */
  max = 0;
  /** Set when removed from the sublist. */
  closed = false;
  /** Never announced to routes: only this server's publishers reach it (internal per-node handlers). */
  localOnly = false;
  /** Queue members this entry stands for (a route's queue interest carries the peer's member count). */
  weight = 1;
  /** ` <sid> ` as bytes: the per-subscription part of a MSG line, built once. */
  readonly sidBytes: Buffer;
  /**
   * `<subject> <sid> ` as bytes when the subject has no wildcard: every
   * message this subscription matches shows exactly this subject, so a MSG
   * line is the verb, this prefix, [reply], size (one copy instead of three).
   * Null for wildcard subscriptions and for owners other than clients.
   */
  readonly literalPrefix: Buffer | null;

  constructor(
    readonly subject: string,
    readonly queue: string | null,
    readonly sid: string,
    readonly owner: SubscriptionOwner,
  ) {
    this.sidBytes = Buffer.from(` ${sid} `, 'latin1');
    this.literalPrefix = owner.kind !== 'client' || hasWildcard(subject) ? null : Buffer.from(`${subject} ${sid} `, 'latin1');
  }
}

/** A `*` or `>` token anywhere in the subject. */
function hasWildcard(subject: string): boolean {
  const n = subject.length;
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if ((c === 42 || c === 62) && (i === 0 || subject.charCodeAt(i - 1) === 46) && (i + 1 === n || subject.charCodeAt(i + 1) === 46)) return true;
  }
  return false;
}

/** Headers of a routed message (null when it has none); copies nothing, valid during deliver(). */
export function messageHeaders(pa: PubArgs, data: Buffer, start: number): Buffer | null {
  return pa.hdr > 0 ? data.subarray(start, start + pa.hdr) : null;
}

/** Payload of a routed message (without headers); valid during deliver(). */
export function messagePayload(pa: PubArgs, data: Buffer, start: number): Buffer {
  const h = pa.hdr > 0 ? pa.hdr : 0;
  return data.subarray(start + h, start + pa.size);
}
