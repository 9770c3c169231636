// Request/reply latency (`tern bench -req`): one responder subscribed to the
// subject echoes a same-sized payload to each reply subject; one requester
// sends requests one after the other and times each round trip.
import { randomBytes } from 'node:crypto';
import { BenchConnection, type ConnectOptions } from './connection.js';
import { formatDuration } from './report.js';

export interface LatencyOptions {
  connect: ConnectOptions;
  subject: string;
  requests: number;
  size: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

export interface LatencyResult {
  requests: number;
  size: number;
  /** Sorted round-trip times in ns. */
  latenciesNs: number[];
  totalNs: number;
}

export function quantile(sortedNs: number[], q: number): number {
  if (sortedNs.length === 0) return 0;
  return sortedNs[Math.trunc(q * (sortedNs.length - 1))]!;
}

/** The same line as the Go nats-bench -req, so one parser reads both. */
export function formatLatency(r: LatencyResult): string {
  const l = r.latenciesNs;
  const rate = r.requests / (r.totalNs / 1e9);
  return (
    `request/reply [n=${r.requests}, size=${r.size}]: ${rate.toFixed(0)} req/sec, ` +
    `p50=${formatDuration(quantile(l, 0.5))} p90=${formatDuration(quantile(l, 0.9))} ` +
    `p99=${formatDuration(quantile(l, 0.99))} max=${formatDuration(l[l.length - 1] ?? 0)}`
  );
}

export async function runLatency(
  opts: LatencyOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<LatencyResult> {
  if (opts.requests < 1) throw new Error('-n must be at least 1 in request/reply mode');
  const payload = Buffer.alloc(opts.size);
  const responder = await BenchConnection.open({ ...opts.connect, name: 'tern-bench-responder' }, true);
  const requester = await BenchConnection.open({ ...opts.connect, name: 'tern-bench-requester' });
  try {
    responder.onMsg = (reply) => {
      if (reply) responder.socket.write(Buffer.concat([Buffer.from(`PUB ${reply} ${opts.size}\r\n`), payload, CRLF]));
    };
    responder.socket.write(`SUB ${opts.subject} 1\r\n`);
    await responder.flush();

    const inbox = `_INBOX.${randomBytes(12).toString('hex')}`;
    requester.socket.write(`SUB ${inbox} 1\r\n`);
    await requester.flush();
    const frame = Buffer.concat([Buffer.from(`PUB ${opts.subject} ${inbox} ${opts.size}\r\n`), payload, CRLF]);

    let answered: (() => void) | null = null;
    requester.onMsg = () => {
      const a = answered;
      answered = null;
      a?.();
    };
    let failure: Error | null = null;
    const failAll = (e: Error): void => {
      failure ??= e;
      const a = answered;
      answered = null;
      a?.();
    };
    requester.onFailure = failAll;
    responder.onFailure = failAll;

    const lat: number[] = new Array<number>(opts.requests);
    const begin = process.hrtime.bigint();
    for (let i = 0; i < opts.requests; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`request ${i}: no reply within ${opts.timeoutMs} ms`)),
          opts.timeoutMs,
        );
        answered = () => {
          clearTimeout(timer);
          if (failure) reject(failure);
          else resolve();
        };
        requester.socket.write(frame);
      });
      lat[i] = Number(process.hrtime.bigint() - t0);
      if (onProgress && (i & 255) === 0) onProgress(i, opts.requests);
    }
    const totalNs = Number(process.hrtime.bigint() - begin);
    onProgress?.(opts.requests, opts.requests);
    lat.sort((a, b) => a - b);
    return { requests: opts.requests, size: opts.size, latenciesNs: lat, totalNs };
  } finally {
    requester.onFailure = () => {};
    responder.onFailure = () => {};
    requester.close();
    responder.close();
  }
}

const CRLF = Buffer.from('\r\n');
