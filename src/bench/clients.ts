// The two load-generating roles of `tern bench`: a publisher that writes
// pre-built PUB frames about 64 KB at a time, and a subscriber that counts
// MSG frames. Each runs on its own connection (and, in run.ts, its own worker
// thread, so that publishers and subscribers use both cores as Go's
// goroutines do).
import { performance } from 'node:perf_hooks';
import { BenchConnection, type ConnectOptions } from './connection.js';
import type { Sample } from './report.js';

/** Process-wide wall clock in ms, comparable across worker threads. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

const CHUNK_BYTES = 64 * 1024;

/** Builds `PUB subject size\r\n<zeros>\r\n` repeated to about 64 KB. */
export function buildPubChunk(subject: string, size: number): { chunk: Buffer; frames: number } {
  const head = Buffer.from(`PUB ${subject} ${size}\r\n`, 'latin1');
  const frameLen = head.length + size + 2;
  const frames = Math.max(1, Math.floor(CHUNK_BYTES / frameLen));
  const chunk = Buffer.alloc(frames * frameLen);
  for (let i = 0; i < frames; i++) {
    const off = i * frameLen;
    head.copy(chunk, off);
    chunk[off + head.length + size] = 13;
    chunk[off + head.length + size + 1] = 10;
  }
  return { chunk, frames };
}

export class Publisher {
  /** Messages handed to the socket so far. */
  sent = 0;

  constructor(
    private readonly conn: BenchConnection,
    private readonly subject: string,
    private readonly count: number,
    private readonly size: number,
  ) {}

  static async connect(opts: ConnectOptions, subject: string, count: number, size: number): Promise<Publisher> {
    return new Publisher(await BenchConnection.open(opts), subject, count, size);
  }

  /** Publishes all messages, then flushes (PING/PONG) so the server has processed them. */
  async run(): Promise<Sample> {
    const { chunk, frames } = buildPubChunk(this.subject, this.size);
    const frameLen = chunk.length / frames;
    const start = now();
    let remaining = this.count;
    while (remaining > 0) {
      const k = Math.min(frames, remaining);
      const pending = this.conn.write(k === frames ? chunk : chunk.subarray(0, k * frameLen));
      remaining -= k;
      this.sent += k;
      if (pending) await pending;
    }
    await this.conn.flush();
    const end = now();
    return { jobMsgCnt: this.count, msgBytes: this.count * this.size, start, end };
  }

  close(): void {
    this.conn.close();
  }
}

export class Subscriber {
  received = 0;
  /** Clock at the read that brought the first message / the latest message. */
  firstAt = 0;
  lastAt = 0;
  private seen = 0;
  private waiter: (() => void) | null = null;

  private constructor(
    private readonly conn: BenchConnection,
    /** Messages after which the subscriber is complete; 0 = until stopped (queue groups). */
    private readonly expected: number,
  ) {
    conn.onMsg = () => {
      this.received++;
    };
    conn.afterData = () => {
      if (this.received === this.seen) return;
      this.seen = this.received;
      const t = now();
      if (this.firstAt === 0) this.firstAt = t;
      this.lastAt = t;
      if (this.expected > 0 && this.received >= this.expected && this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w();
      }
    };
  }

  /** Subscribes (optionally in a queue group) and flushes so the interest is registered. */
  static async connect(
    opts: ConnectOptions,
    subject: string,
    queue: string,
    sid: number,
    expected: number,
  ): Promise<Subscriber> {
    const conn = await BenchConnection.open(opts);
    const s = new Subscriber(conn, expected);
    conn.socket.write(queue ? `SUB ${subject} ${queue} ${sid}\r\n` : `SUB ${subject} ${sid}\r\n`);
    await conn.flush();
    return s;
  }

  get connection(): BenchConnection {
    return this.conn;
  }

  /** Resolves when `expected` messages have arrived (never for expected = 0). */
  complete(): Promise<void> {
    if (this.expected > 0 && this.received >= this.expected) return Promise.resolve();
    return new Promise<void>((resolve) => (this.waiter = resolve));
  }

  sample(size: number): Sample {
    return { jobMsgCnt: this.received, msgBytes: this.received * size, start: this.firstAt, end: this.lastAt };
  }

  close(): void {
    this.conn.close();
  }
}
