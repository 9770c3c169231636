// `tern bench`: nats-bench's flags and report, on raw-socket clients (src/bench/).
import { writeFileSync } from 'node:fs';
import { BenchConnection, type ConnectOptions } from '../bench/connection.js';
import { formatLatency, runLatency } from '../bench/latency.js';
import { runJsCommand } from '../bench/js-command.js';
import { BENCH_USAGE, parseBenchArgs, UsageError, type BenchCliOptions } from '../bench/options.js';
import { ProgressBar } from '../bench/progress.js';
import { runBench } from '../bench/run.js';

/** The first server of the list that completes a handshake; its errors otherwise. */
async function pickServer(opts: BenchCliOptions): Promise<ConnectOptions> {
  const errors: string[] = [];
  for (const url of opts.servers) {
    const c: ConnectOptions = { url, tls: opts.tls, tlsInsecure: opts.tlsInsecure, name: 'tern-bench' };
    if (opts.tlsCa) c.tlsCa = opts.tlsCa;
    if (opts.creds) c.creds = opts.creds;
    try {
      (await BenchConnection.open(c)).close();
      return c;
    } catch (e) {
      errors.push(`${url}: ${(e as Error).message}`);
    }
  }
  throw new Error(`cannot connect: ${errors.join('; ')}`);
}

export async function main(argv: string[], _commandName: string): Promise<number> {
  let opts: BenchCliOptions | null;
  try {
    opts = parseBenchArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tern bench: ${e.message}\n\n${BENCH_USAGE}`);
      return 2;
    }
    throw e;
  }
  if (!opts) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const bar = ProgressBar.forStderr(opts.progress);
  try {
    const connect = await pickServer(opts);
    if (opts.js) {
      await runJsCommand(opts, opts.js, connect, bar);
      return 0;
    }
    if (opts.req) {
      const r = await runLatency(
        { connect, subject: opts.subject, requests: opts.msgs, size: opts.size, timeoutMs: opts.timeoutMs },
        (done, total) => bar.update('requests', done, total),
      );
      bar.done();
      console.log(formatLatency(r));
      return 0;
    }
    console.log(
      `Starting benchmark [msgs=${opts.msgs}, msgsize=${opts.size}, pubs=${opts.pubs}, subs=${opts.subs}, queue="${opts.queue}"]`,
    );
    const result = await runBench(
      {
        connect,
        subject: opts.subject,
        pubs: opts.pubs,
        subs: opts.subs,
        msgs: opts.msgs,
        size: opts.size,
        queue: opts.queue,
        timeoutMs: opts.timeoutMs,
      },
      (p) => {
        if (p.receiveTarget > 0) bar.update('received', p.received, p.receiveTarget);
        else bar.update('published', p.published, p.publishTarget);
      },
    );
    bar.done();
    process.stdout.write(result.report());
    if (opts.csv) {
      writeFileSync(opts.csv, result.csv());
      console.log(`Saved metric data in csv file ${opts.csv}`);
    }
    return 0;
  } catch (e) {
    bar.done();
    console.error(`tern bench: ${(e as Error).message}`);
    return 1;
  }
}
