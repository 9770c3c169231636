// The narrow view JetStream has of the broker: internal subscriptions that are
// called synchronously with raw header/payload buffers, a publish, and an
// interest check. The broker core provides it through its internal client
// (server.createInternalClient); keeping it this small makes the wiring one
// adapter and lets JetStream stay independent of the connection code.

/** `reply` is '' when the message had none; `hdr` is the raw NATS header block or null. */
export type JsMsgHandler = (subject: string, reply: string, hdr: Buffer | null, payload: Buffer) => void;

export interface JsTransport {
  /**
   * Returns an opaque handle for unsubscribe(). `localOnly`: not announced to
   * cluster routes (the per-node $JS.API handler; see cluster.ts).
   */
  subscribe(subject: string, queue: string | null, handler: JsMsgHandler, opts?: { localOnly?: boolean }): unknown;
  unsubscribe(sub: unknown): void;
  /** reply '' = none. The payload is copied before publish returns: the caller may reuse it. */
  publish(subject: string, reply: string, hdr: Buffer | null, payload: Buffer): void;
  /** publish() of a one-shot reply (a PubAck): it need not be remembered for later routing. */
  publishOnce?(subject: string, reply: string, hdr: Buffer | null, payload: Buffer): void;
  /**
   * Routes by `target` (a pull request's inbox or a push deliver_subject) but
   * shows `subject` (the stored message's subject) in the MSG/HMSG line, as
   * nats-server's consumer deliveries do. With `replyPrefix` the reply
   * subject is its bytes followed by `reply` (a consumer's pre-encoded ack
   * subject prefix, so the per-message part is all that is built per delivery).
   */
  deliver(target: string, subject: string, reply: string, hdr: Buffer | null, payload: Buffer, replyPrefix?: Buffer): void;
  /**
   * Does any subscriber (other than JetStream's own) want `subject`? Used to
   * pause push consumers without a listener and to drop pull requests whose
   * requester went away. When absent, JetStream assumes there is interest.
   */
  hasInterest?(subject: string): boolean;
  /**
   * Send pending output now (one write per connection), even in the middle of a read,
   * instead of at the read's end or on the broker's next-turn fallback flush.
   */
  flushNow?(): void;
}

export const EMPTY = Buffer.alloc(0);
