// The waiting pull requests of a pull consumer (CONSUMER.MSG.NEXT and +NXT acks).
//
// Invariants:
//  - `queue` holds the requests that may still receive messages, served round-robin
//    (nats-server pops the head and re-adds it while it wants more); `n` is what a
//    request still wants, `b` its remaining max_bytes budget (0 = no limit).
//  - a request leaves the queue exactly once, its timers cleared: when it got `n`
//    messages, expired (408), ran out of max_bytes (409), lost its requester, ended as
//    no_wait (404/408), or the consumer was deleted (409).
// The Consumer owns one of these, decides what to deliver and calls `next(size)` for
// where; status messages and heartbeats go out through the host it provides.
import type { ConsumerConfig } from './api-types.js';
import { NATS_PENDING_BYTES, NATS_PENDING_MESSAGES } from '../protocol/headers.js';

const NS_PER_MS = 1_000_000;

export interface WaitingRequest {
  reply: string;
  n: number;
  /** Remaining max_bytes budget; 0 = no limit. */
  b: number;
  noWait: boolean;
  delivered: number;
  expiresAt: number;
  expiryTimer?: NodeJS.Timeout;
  hbTimer?: NodeJS.Timeout;
  lastActivity: number;
}

export type StatusHeaders = Array<[string, string | number]>;

/** What the queue needs from its consumer; built once, not per request or message. */
export interface PullRequestHost {
  /** Publishes a status message (no body) to `subject`. */
  sendStatus(subject: string, code: number, desc: string, headers?: StatusHeaders): void;
  /** 100 Idle Heartbeat for a request that asked for idle_heartbeat. */
  sendHeartbeat(subject: string): void;
  hasInterest(subject: string): boolean;
  /** Messages a no_wait request could get right now (pending + queued redeliveries). */
  available(): number;
}

/** The pull request limits of the consumer config. */
type PullLimits = Pick<ConsumerConfig, 'max_batch' | 'max_expires' | 'max_bytes' | 'max_waiting'>;

export class PullRequests {
  private readonly queue: WaitingRequest[] = [];

  constructor(private readonly host: PullRequestHost) {}

  /** num_waiting. */
  get size(): number {
    return this.queue.length;
  }

  /**
   * Parses and validates a request body (a batch count or a JSON request) and queues it.
   * Bad or over-limit requests are answered with nats-server's status (400/404/408/409).
   * Returns whether the request was queued.
   */
  add(reply: string, body: Buffer, cfg: PullLimits): boolean {
    const sendErr = (code: number, desc: string): false => {
      this.host.sendStatus(reply, code, desc);
      return false;
    };
    let batch = 1;
    let expiresNs = 0;
    let noWait = false;
    let maxBytes = 0;
    let hbNs = 0;
    const text = body.toString('utf8').trim();
    if (text.startsWith('{')) {
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(text) as Record<string, unknown>;
      } catch (err) {
        return sendErr(400, `Bad Request - ${(err as Error).message}`);
      }
      const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0);
      batch = int(r.batch);
      expiresNs = int(r.expires);
      noWait = r.no_wait === true;
      maxBytes = int(r.max_bytes);
      hbNs = int(r.idle_heartbeat);
      if (hbNs > 0 && hbNs * 2 > expiresNs) return sendErr(400, 'Bad Request - heartbeat value too large');
    } else if (text !== '') {
      const n = Number(text);
      if (Number.isInteger(n)) batch = n;
    }
    if (cfg.max_batch && batch > cfg.max_batch) return sendErr(409, `Exceeded MaxRequestBatch of ${cfg.max_batch}`);
    if (expiresNs > 0 && cfg.max_expires && expiresNs > cfg.max_expires) {
      return sendErr(409, `Exceeded MaxRequestExpires of ${goDuration(cfg.max_expires)}`);
    }
    if (maxBytes > 0 && cfg.max_bytes && maxBytes > cfg.max_bytes) return sendErr(409, `Exceeded MaxRequestMaxBytes of ${cfg.max_bytes}`);
    if (batch <= 0) batch = 1;
    this.expire();
    if (noWait) {
      const available = this.host.available();
      if (available === 0 && expiresNs === 0) return sendErr(404, 'No Messages');
      if (available > 0) {
        const batchPending = this.queue.reduce((a, w) => a + w.n, 0);
        if (available < batchPending) return sendErr(408, 'Requests Pending');
      }
    }
    if (this.queue.length >= (cfg.max_waiting ?? 512) && hbNs === 0) return sendErr(409, 'Exceeded MaxWaiting');
    const wr: WaitingRequest = {
      reply,
      n: batch,
      b: maxBytes,
      noWait,
      delivered: 0,
      expiresAt: expiresNs > 0 ? Date.now() + expiresNs / NS_PER_MS : 0,
      lastActivity: Date.now(),
    };
    if (wr.expiresAt > 0) {
      wr.expiryTimer = setTimeout(() => this.expireRequest(wr), Math.max(0, wr.expiresAt - Date.now()));
      wr.expiryTimer.unref();
    }
    if (hbNs > 0) {
      const every = Math.max(1, Math.floor(hbNs / NS_PER_MS));
      wr.hbTimer = setInterval(() => {
        if (Date.now() - wr.lastActivity >= every - 5) this.host.sendHeartbeat(wr.reply);
      }, every);
      wr.hbTimer.unref();
    }
    this.queue.push(wr);
    return true;
  }

  /** Picks the request for a message of `size` bytes (nats-server's nextWaiting). */
  next(size: number): WaitingRequest | undefined {
    while (this.queue.length > 0) {
      const wr = this.queue[0]!;
      if (wr.b > 0) {
        if (size <= wr.b) {
          wr.b -= size;
          if (wr.b === 0) wr.n = 1;
        } else {
          this.host.sendStatus(wr.reply, 409, 'Message Size Exceeds MaxBytes', [[NATS_PENDING_MESSAGES, wr.n], [NATS_PENDING_BYTES, wr.b]]);
          this.remove(wr);
          continue;
        }
      }
      if ((wr.expiresAt === 0 || Date.now() < wr.expiresAt) && this.host.hasInterest(wr.reply)) {
        wr.n--;
        // Round-robin between requests, as nats-server pops and re-adds.
        this.queue.shift();
        if (wr.n > 0) this.queue.push(wr);
        else this.clearTimers(wr);
        return wr;
      }
      if (wr.expiresAt !== 0 && Date.now() >= wr.expiresAt) {
        this.expireRequest(wr);
        continue;
      }
      // The requester went away.
      this.remove(wr);
    }
    return undefined;
  }

  /** A message went to `wr` (returned by next()). */
  delivered(wr: WaitingRequest): void {
    wr.delivered++;
    wr.lastActivity = Date.now();
    if (wr.n <= 0) this.remove(wr);
  }

  /** no_wait requests that got some messages end at the end of the stream with 408; empty ones with 404. */
  finishNoWait(): void {
    for (const wr of [...this.queue]) {
      if (!wr.noWait) continue;
      if (wr.delivered > 0) {
        this.host.sendStatus(wr.reply, 408, 'Request Timeout', [[NATS_PENDING_MESSAGES, wr.n], [NATS_PENDING_BYTES, wr.b]]);
        this.remove(wr);
      } else if (wr.expiresAt === 0) {
        this.host.sendStatus(wr.reply, 404, 'No Messages');
        this.remove(wr);
      }
    }
  }

  /** Stops every request's timers (the consumer stops; the queue itself is kept). */
  stopTimers(): void {
    for (const wr of this.queue) this.clearTimers(wr);
  }

  /** Consumer deleted: waiting requests learn it with 409 Consumer Deleted (when `notify`). */
  deleteAll(notify: boolean): void {
    if (notify) for (const wr of this.queue) this.host.sendStatus(wr.reply, 409, 'Consumer Deleted');
    this.stopTimers();
    this.queue.length = 0;
  }

  private expire(): void {
    const now = Date.now();
    for (const wr of [...this.queue]) if (wr.expiresAt !== 0 && now >= wr.expiresAt) this.expireRequest(wr);
  }

  private expireRequest(wr: WaitingRequest): void {
    if (!this.queue.includes(wr)) return;
    this.host.sendStatus(wr.reply, 408, 'Request Timeout', [[NATS_PENDING_MESSAGES, wr.n], [NATS_PENDING_BYTES, wr.b]]);
    this.remove(wr);
  }

  private remove(wr: WaitingRequest): void {
    const i = this.queue.indexOf(wr);
    if (i >= 0) this.queue.splice(i, 1);
    this.clearTimers(wr);
  }

  private clearTimers(wr: WaitingRequest): void {
    if (wr.expiryTimer) clearTimeout(wr.expiryTimer);
    if (wr.hbTimer) clearInterval(wr.hbTimer);
    wr.expiryTimer = undefined;
    wr.hbTimer = undefined;
  }
}

/** Go's time.Duration String() for the few values the status texts print. */
function goDuration(ns: number): string {
  if (ns % 1_000_000_000 === 0) return `${ns / 1_000_000_000}s`;
  if (ns % 1_000_000 === 0) return `${ns / 1_000_000}ms`;
  return `${ns}ns`;
}
