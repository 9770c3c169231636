// `npm run bench:compare`: Tern against the reference nats-server, same load
// generators, interleaved rounds; prints markdown for BENCHMARKS.md.
//   --rounds N      rounds per pattern (default 5; --quick: 1)
//   --quick         small message counts, for a CI smoke run
//   --patterns a,b  pub16,pubsub128,fanout5,fanin5,queue3,reqrep,cross-node,js-pub,js-consume,startup,memory
//   --json FILE     also write the full report (every run) as JSON
//   --pin           server on cpu1, load generator on cpu0 (taskset)
//   --connections N idle connections for the memory measure (default 10000; --quick: 1000)
//   --tern-bin PATH run this nats-server-compatible binary as "tern" (harness development)
//   --no-snapshot   run dist/src directly instead of a copy taken at the start
import { writeFileSync } from 'node:fs';
import { runCompare, type CompareOptions } from './bench-lib/compare.js';
import { renderMarkdown } from './bench-lib/markdown.js';

const USAGE = `Usage: npm run bench:compare -- [--rounds N] [--quick] [--patterns a,b] [--json file] [--pin]
                                [--connections N] [--startups N] [--nats-server PATH] [--tern-bin PATH] [--no-snapshot]`;

function parseArgs(argv: string[]): { opts: CompareOptions; json?: string } {
  let rounds: number | undefined;
  let connections: number | undefined;
  let startups: number | undefined;
  let json: string | undefined;
  const opts: CompareOptions = {
    rounds: 5,
    quick: false,
    patterns: [],
    pin: false,
    natsServerBin: process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
    connections: 10_000,
    startups: 5,
    log: (line) => console.error(line),
  };
  const int = (flag: string, v: string | undefined): number => {
    if (!v || !/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${flag} needs a positive whole number`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--rounds': rounds = int(a, val()); break;
      case '--quick': opts.quick = true; break;
      case '--patterns': opts.patterns = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--json': json = val(); break;
      case '--pin': opts.pin = true; break;
      case '--connections': connections = int(a, val()); break;
      case '--startups': startups = int(a, val()); break;
      case '--nats-server': opts.natsServerBin = val(); break;
      case '--tern-bin': opts.ternBin = val(); break;
      case '--no-snapshot': opts.snapshot = false; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0);
      // falls through (unreachable: exit)
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  opts.rounds = rounds ?? (opts.quick ? 1 : 5);
  opts.connections = connections ?? (opts.quick ? 1000 : 10_000);
  opts.startups = startups ?? (opts.quick ? 2 : 5);
  return json ? { opts, json } : { opts };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { opts, json } = parseArgs(argv);
  const report = await runCompare(opts, `npm run bench:compare --${argv.length ? ' ' + argv.join(' ') : ''}`);
  process.stdout.write(renderMarkdown(report));
  if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  return report.failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`bench:compare: ${(e as Error).message}`);
    process.exitCode = 2;
  },
);
