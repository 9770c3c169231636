// Coordinates one pub/sub benchmark: subscribers first (each in a worker
// thread, subscribed and flushed), then publishers, all started together.
// A run that loses messages is an error, never a slow result: if subscribers
// stop making progress for `timeoutMs` before they have everything, the run
// fails with the counts.
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import type { ConnectOptions } from './connection.js';
import { BenchResult, type Sample } from './report.js';
import type { ClientSpec, FromWorker } from './worker.js';

export interface BenchOptions {
  connect: ConnectOptions;
  subject: string;
  pubs: number;
  subs: number;
  msgs: number;
  size: number;
  queue: string;
  /** Fail when subscribers make no progress for this long while incomplete. */
  timeoutMs: number;
}

export interface Progress {
  published: number;
  publishTarget: number;
  received: number;
  receiveTarget: number;
}

export class BenchLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchLossError';
  }
}

/** nats-bench's even split: the first `msgs % clients` clients get one more. */
export function msgsPerClient(msgs: number, clients: number): number[] {
  if (clients <= 0 || msgs <= 0) return [];
  const base = Math.floor(msgs / clients);
  const extra = msgs % clients;
  return Array.from({ length: clients }, (_, i) => base + (i < extra ? 1 : 0));
}

interface Client {
  spec: ClientSpec;
  worker: Worker;
  count: number;
  done: boolean;
}

export async function runBench(opts: BenchOptions, onProgress?: (p: Progress) => void): Promise<BenchResult> {
  if (opts.pubs < 1 && opts.subs < 1) throw new Error('nothing to do: need at least one publisher or subscriber');
  const result = new BenchResult('NATS', randomBytes(11).toString('base64url'));
  const clients: Client[] = [];
  let settle: { resolve: () => void; reject: (e: Error) => void } | null = null;
  let failure: Error | null = null;
  const fail = (e: Error): void => {
    if (failure) return;
    failure = e;
    settle?.reject(e);
  };
  let onChange = (): void => {};
  // Reported in client order ([1] is the first publisher), whatever order they finished in.
  const samples: Array<{ role: 'pub' | 'sub'; index: number; sample: Sample }> = [];

  const spawn = (spec: ClientSpec): Promise<Client> =>
    new Promise<Client>((resolve, reject) => {
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: spec });
      const c: Client = { spec, worker, count: 0, done: false };
      clients.push(c);
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            resolve(c);
            break;
          case 'progress':
            c.count = m.count;
            onChange();
            break;
          case 'done':
            c.count = m.count;
            c.done = true;
            samples.push({ role: spec.role, index: spec.index, sample: m.sample });
            onChange();
            break;
          case 'error': {
            const e = new Error(`${spec.role === 'pub' ? 'publisher' : 'subscriber'} ${spec.index + 1}: ${m.message}`);
            reject(e);
            fail(e);
            break;
          }
        }
      });
      worker.on('error', (e: Error) => {
        reject(e);
        fail(e);
      });
    });

  const queueMode = opts.queue !== '' && opts.subs > 0;
  const subExpected = queueMode ? 0 : opts.msgs;
  const pubCounts = msgsPerClient(opts.msgs, opts.pubs);
  const receiveTarget = opts.subs === 0 ? 0 : queueMode ? opts.msgs : opts.msgs * opts.subs;
  const base = { connect: opts.connect, subject: opts.subject, size: opts.size, queue: opts.queue };
  try {
    const subs = await Promise.all(
      Array.from({ length: opts.subs }, (_, i) => spawn({ ...base, role: 'sub', count: subExpected, index: i })),
    );
    const pubs = await Promise.all(pubCounts.map((count, i) => spawn({ ...base, role: 'pub', count, index: i })));

    let lastReceived = -1;
    let lastChange = Date.now();
    const sum = (list: Client[]): number => list.reduce((a, c) => a + c.count, 0);
    const finished = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
      if (failure) reject(failure);
    });
    let stopSent = false;
    onChange = () => {
      const received = sum(subs);
      if (received !== lastReceived) {
        lastReceived = received;
        lastChange = Date.now();
      }
      onProgress?.({ published: sum(pubs), publishTarget: opts.msgs, received, receiveTarget });
      const pubsDone = pubs.every((c) => c.done);
      if (queueMode && pubsDone && !stopSent && received >= opts.msgs) {
        stopSent = true;
        for (const s of subs) s.worker.postMessage({ type: 'stop' });
      }
      if (pubsDone && subs.every((c) => c.done)) settle?.resolve();
    };
    const watchdog = setInterval(() => {
      if (!pubs.every((c) => c.done)) return;
      // Subscribers only (-np 0): wait for an outside publisher's first message.
      if (pubs.length === 0 && lastReceived <= 0) return;
      if (Date.now() - lastChange < opts.timeoutMs) return;
      const counts = subs.map((c, i) => `[${i + 1}] ${c.count}`).join(', ');
      fail(
        new BenchLossError(
          `subscribers stopped receiving for ${opts.timeoutMs} ms: got ${sum(subs)} of ${receiveTarget} messages (${counts}); messages lost`,
        ),
      );
    }, Math.min(250, opts.timeoutMs));
    try {
      for (const p of pubs) p.worker.postMessage({ type: 'start' });
      onChange();
      await finished;
    } finally {
      clearInterval(watchdog);
    }
    if (queueMode && lastReceived > opts.msgs) {
      throw new BenchLossError(`queue group received ${lastReceived} messages for ${opts.msgs} published (duplicates)`);
    }
    samples.sort((a, b) => a.index - b.index);
    for (const s of samples) (s.role === 'pub' ? result.pubs : result.subs).add(s.sample);
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.worker.terminate()));
  }
}
