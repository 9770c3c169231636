// The NATS side of the bridge: one connection per target, a pipelined JetStream publisher
// and a flushed core publisher. Completion is callback based (no promise or timer per
// message): JetStream publishes carry a reply subject under one inbox subscription, the
// PubAck is matched by a counter in the reply subject, and one sweep timer fails the
// publishes that waited longer than the timeout.
import { connect } from '@nats-io/transport-node';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { HeaderEntry } from './connector.js';
import { encodeHeaders, HeaderNameError, type EncodedHeaders } from './nats-headers.js';
import { parsePubAck } from './puback.js';

export interface TargetConfig {
  readonly servers: readonly string[];
  readonly user: string | null;
  readonly pass: string | null;
  readonly token: string | null;
  readonly name: string;
  /** Fail a publish that has no PubAck after this long. */
  readonly publishTimeoutMs: number;
  /** Try servers in the listed order instead of shuffling them. */
  readonly noRandomize?: boolean;
}

/**
 * Why a publish failed. `transient` failures (no connection, timeout, no stream answering)
 * say nothing about the message: the engine pauses the source and retries without counting
 * an attempt. `rejected` means the target refused this message (a JetStream API error in
 * the PubAck, e.g. size or stream limits): that counts toward the poison limit.
 */
export class PublishError extends Error {
  override name = 'PublishError';
  constructor(
    readonly kind: 'transient' | 'rejected',
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface PubAckInfo {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

export type PublishCallback = (err: PublishError | null, ack: PubAckInfo | null) => void;

/** A callback as an object: the engine passes its lane entry, saving a closure per publish. */
export interface PublishWaiter {
  published(err: PublishError | null, ack: PubAckInfo | null): void;
}

type Pending = PublishCallback | PublishWaiter;

/** Every publish id below `id` was sent before `at` (ms). */
interface Mark {
  readonly id: number;
  readonly at: number;
}

function complete(cb: PublishCallback | PublishWaiter, err: PublishError | null, ack: PubAckInfo | null): void {
  if (typeof cb === 'function') cb(err, ack);
  else cb.published(err, ack);
}

export class NatsTarget {
  private nc!: NatsConnection;
  private inboxPrefix = '';
  private next = 1;
  // id -> completion only: no record (or clock read) per publish. Ages come from marks the
  // sweeper takes (ids grow monotonically), so a timeout fires at most one sweep late.
  private readonly pending = new Map<number, Pending>();
  private marks: Mark[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private coreBatch: Array<PublishCallback | PublishWaiter> = [];
  private flushScheduled = false;
  private statusListeners: Array<(up: boolean, detail: string) => void> = [];
  connected = false;

  constructor(readonly config: TargetConfig) {}

  /** Connect (retries forever after the first success; the first attempt must succeed). */
  async connect(): Promise<void> {
    const c = this.config;
    try {
      this.nc = await connect({
        servers: [...c.servers],
        name: c.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        noRandomize: c.noRandomize === true,
        ...(c.user !== null ? { user: c.user } : {}),
        ...(c.pass !== null ? { pass: c.pass } : {}),
        ...(c.token !== null ? { token: c.token } : {}),
      });
    } catch (e) {
      throw new Error(`cannot connect to the NATS target ${c.servers.join(',')}: ${(e as Error).message}`);
    }
    this.connected = true;
    this.inboxPrefix = createInbox() + '.';
    this.nc.subscribe(this.inboxPrefix + '*', { callback: (_err, msg) => this.onReply(msg) });
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, Math.min(500, c.publishTimeoutMs / 8)));
    this.sweeper.unref();
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') this.setConnected(false, `disconnected from ${s.server}`);
        else if (s.type === 'reconnect') this.setConnected(true, `reconnected to ${s.server}`);
      }
    })();
  }

  get connection(): NatsConnection {
    return this.nc;
  }

  /** The server's max_payload: the largest message (headers + body) it accepts. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  onStatus(fn: (up: boolean, detail: string) => void): void {
    this.statusListeners.push(fn);
  }

  private setConnected(up: boolean, detail: string): void {
    this.connected = up;
    for (const fn of this.statusListeners) fn(up, detail);
  }

  get inflight(): number {
    return this.pending.size + this.coreBatch.length;
  }

  /** Publish to a JetStream subject; cb gets the PubAck. msgId becomes Nats-Msg-Id. */
  publishJs(subject: string, body: Uint8Array, hdrs: readonly HeaderEntry[], msgId: string | undefined, cb: PublishCallback | PublishWaiter): void {
    const id = this.next++;
    this.pending.set(id, cb);
    try {
      this.nc.publish(subject, body, { reply: this.inboxPrefix + id, headers: toNatsHeaders(hdrs, msgId) });
    } catch (e) {
      this.pending.delete(id);
      complete(cb, publishFailure(e), null);
    }
  }

  /** Publish on a core subject; cb runs after the next flush (the server has read it). */
  publishCore(subject: string, body: Uint8Array, hdrs: readonly HeaderEntry[], cb: PublishCallback | PublishWaiter): void {
    try {
      this.nc.publish(subject, body, hdrs.length > 0 ? { headers: toNatsHeaders(hdrs, undefined) } : undefined);
    } catch (e) {
      complete(cb, publishFailure(e), null);
      return;
    }
    this.coreBatch.push(cb);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushCore());
    }
  }

  private flushCore(): void {
    this.flushScheduled = false;
    const batch = this.coreBatch;
    this.coreBatch = [];
    const timer = setTimeout(() => done(new PublishError('transient', 'flush timed out')), this.config.publishTimeoutMs);
    let settled = false;
    const done = (err: PublishError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const cb of batch) complete(cb, err, null);
    };
    this.nc.flush().then(
      () => done(null),
      (e: Error) => done(new PublishError('transient', `flush failed: ${e.message}`)),
    );
  }

  private onReply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.inboxPrefix.length));
    const p = this.pending.get(id);
    if (!p) return; // already timed out; the retry carries the same Nats-Msg-Id
    this.pending.delete(id);
    if (msg.headers && msg.headers.code === 503) {
      complete(p, new PublishError('transient', 'no responders: no JetStream stream answered for this subject', 503), null);
      return;
    }
    const ack = parsePubAck(msg.data);
    if (!ack.ok) {
      // 503 inside a JetStream error = JetStream temporarily unavailable (e.g. restarting)
      const kind = ack.code === 503 ? 'transient' : 'rejected';
      const text = ack.unparseable ? ack.description : `JetStream rejected the message: ${ack.description} (code ${ack.errCode ?? ack.code})`;
      complete(p, new PublishError(kind, text, ack.errCode ?? ack.code), null);
      return;
    }
    complete(p, null, ack);
  }

  private sweep(): void {
    const now = Date.now();
    const limit = now - this.config.publishTimeoutMs;
    // The newest mark taken at or before limit: every id below it is older than the timeout.
    let cut = -1;
    while (this.marks.length > 0 && this.marks[0]!.at <= limit) cut = this.marks.shift()!.id;
    this.marks.push({ id: this.next, at: now });
    if (cut === -1) return;
    for (const [id, p] of this.pending) {
      if (id >= cut) break; // Map keeps insertion order and ids grow: the rest are younger
      this.pending.delete(id);
      complete(p, new PublishError('transient', `no PubAck within ${this.config.publishTimeoutMs} ms${this.connected ? '' : ' (target disconnected)'}`), null);
    }
  }

  /** Fail everything outstanding, then drain and close the connection. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      complete(p, new PublishError('transient', 'bridge stopping'), null);
    }
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** A bad header is this message's fault (rejected); anything else is the connection's. */
function publishFailure(e: unknown): PublishError {
  const kind = e instanceof HeaderNameError ? 'rejected' : 'transient';
  return new PublishError(kind, `publish failed: ${(e as Error).message}`);
}

/** Headers (+ Nats-Msg-Id) as nats.js publish options want them, encoded once. */
export function toNatsHeaders(hdrs: readonly HeaderEntry[], msgId: string | undefined): EncodedHeaders {
  return encodeHeaders(hdrs, msgId);
}
