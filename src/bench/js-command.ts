// `tern bench --js pub|consume`: runs one JetStream generator and prints a
// nats-bench style report ("Pub stats" for publish, "Sub stats" for consume)
// plus a line describing what was verified.
import type { ConnectOptions } from './connection.js';
import { runJsConsume } from './js-consume.js';
import { runJsPub } from './js-pub.js';
import type { BenchCliOptions, JsCliOptions } from './options.js';
import type { ProgressBar } from './progress.js';
import { BenchResult } from './report.js';
import { randomBytes } from 'node:crypto';

export async function runJsCommand(opts: BenchCliOptions, js: JsCliOptions, connect: ConnectOptions, bar: ProgressBar): Promise<void> {
  const result = new BenchResult('NATS', randomBytes(11).toString('base64url'));
  if (js.mode === 'pub') {
    console.log(
      `Starting JetStream async publish [msgs=${opts.msgs}, msgsize=${opts.size}, stream=${js.stream}, ` +
        `storage=${js.storage}, window=${js.window}, subject=${opts.subject}]`,
    );
    const r = await runJsPub(
      {
        connect,
        subject: opts.subject,
        stream: js.stream,
        msgs: opts.msgs,
        size: opts.size,
        window: js.window,
        create: js.create,
        storage: js.storage,
        timeoutMs: opts.timeoutMs,
      },
      (done, total) => bar.update('acked', done, total),
    );
    bar.done();
    result.pubs.add(r.sample);
    process.stdout.write(result.report());
    console.log(`PubAcks: ${r.acked} of ${opts.msgs}, stream sequences ${r.firstSeq}..${r.lastSeq}`);
    return;
  }
  console.log(
    `Starting JetStream durable consume [msgs=${opts.msgs}, stream=${js.stream}, durable=${js.durable}, batch=${js.batch}, acks=explicit]`,
  );
  const r = await runJsConsume(
    {
      connect,
      stream: js.stream,
      durable: js.durable,
      msgs: opts.msgs,
      batch: js.batch,
      ...(opts.subject ? { filter: opts.subject } : {}),
      timeoutMs: opts.timeoutMs,
    },
    (done, total) => bar.update('received', done, total),
  );
  bar.done();
  result.subs.add(r.sample);
  process.stdout.write(result.report());
  console.log(
    `Received ${r.received} of ${opts.msgs}, all acked (ack floor ${r.consumer.ack_floor.stream_seq}, ` +
      `${r.consumer.num_ack_pending} pending, ${r.consumer.num_redelivered} redelivered)`,
  );
}
