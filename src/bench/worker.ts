// Worker-thread entry for one bench client (publisher or subscriber). The
// coordinator (run.ts) talks to it with the messages below.
import { parentPort, workerData } from 'node:worker_threads';
import { Publisher, Subscriber } from './clients.js';
import type { ConnectOptions } from './connection.js';
import type { Sample } from './report.js';

export interface ClientSpec {
  role: 'pub' | 'sub';
  connect: ConnectOptions;
  subject: string;
  size: number;
  /** Publisher: messages to send. Subscriber: messages expected (0 = queue member, until told to stop). */
  count: number;
  queue: string;
  index: number;
}

/** Coordinator -> worker. */
export type ToWorker = { type: 'start' } | { type: 'stop' };

/** Worker -> coordinator. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; count: number }
  | { type: 'done'; sample: Sample; count: number }
  | { type: 'error'; message: string };

const PROGRESS_MS = 50;

async function main(): Promise<void> {
  const port = parentPort!;
  const spec = workerData as ClientSpec;
  const post = (m: FromWorker): void => port.postMessage(m);
  let failed = false;
  const fail = (e: unknown): void => {
    if (failed) return;
    failed = true;
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  };
  try {
    if (spec.role === 'pub') {
      const pub = await Publisher.connect(spec.connect, spec.subject, spec.count, spec.size);
      post({ type: 'ready' });
      await new Promise<void>((resolve) => port.once('message', () => resolve()));
      const timer = setInterval(() => post({ type: 'progress', count: pub.sent }), PROGRESS_MS);
      try {
        const sample = await pub.run();
        post({ type: 'done', sample, count: spec.count });
      } finally {
        clearInterval(timer);
        pub.close();
      }
      return;
    }
    const sub = await Subscriber.connect(spec.connect, spec.subject, spec.queue, spec.index + 1, spec.count);
    sub.connection.onFailure = fail;
    let last = -1;
    const timer = setInterval(() => {
      if (sub.received !== last) post({ type: 'progress', count: (last = sub.received) });
    }, PROGRESS_MS);
    const finish = (): void => {
      clearInterval(timer);
      post({ type: 'done', sample: sub.sample(spec.size), count: sub.received });
      sub.connection.onFailure = () => {};
      sub.close();
    };
    // Queue members cannot know when the group is done: the coordinator says so.
    port.on('message', (m: ToWorker) => {
      if (m.type === 'stop') finish();
    });
    post({ type: 'ready' });
    if (spec.count > 0) {
      await sub.complete();
      finish();
    }
  } catch (e) {
    fail(e);
  }
}

void main();
