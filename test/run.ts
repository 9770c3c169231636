// The `npm test` entry point: finds every compiled *.test.js under dist/test and
// runs them with node's test runner. Shared services that tests need and that
// are not system services (Kafka) are started here once and stopped at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka, type RunningKafka } from './helpers/kafka.js';

const here = dirname(fileURLToPath(import.meta.url));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** Test files that talk to Kafka say so in their name. */
const needsKafka = (file: string): boolean => /kafka/i.test(file.slice(here.length));

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  let files = findTests(here);
  if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
  if (files.length === 0) {
    console.error('no test files found');
    return 1;
  }

  let kafka: RunningKafka | undefined;
  let child: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;
  // Ctrl-C / CI cancel: stop the tests, then Kafka, then exit with the signal's code.
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\n${sig}: stopping tests${kafka ? ' and Kafka' : ''}`);
    child?.kill(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const env: NodeJS.ProcessEnv = { ...process.env };
  try {
    if (files.some(needsKafka) && !process.env.KAFKA_BROKERS?.trim()) {
      try {
        kafka = await startKafka({ log: (l) => console.error(`[kafka] ${l}`) });
      } catch (err) {
        console.error(`[kafka] could not start Kafka for the tests: ${err instanceof Error ? err.message : String(err)}`);
        return 1;
      }
      env.KAFKA_BROKERS = kafka.brokers.join(',');
    }
    if (interrupted) return 130;
    child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
    const c = child;
    const code = await new Promise<number>((resolve) => c.on('exit', (code) => resolve(code ?? 1)));
    return interrupted ? 130 : code;
  } finally {
    if (kafka) {
      await kafka.stop();
      console.error('[kafka] stopped');
    }
  }
}

process.exitCode = await main();
