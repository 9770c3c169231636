// The `npm test` entry point: finds every compiled *.test.js under dist/test and
// runs them with node's test runner. Shared services that tests need and that
// are not system services (Kafka) are started here once and stopped at the end.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  let files = findTests(here);
  if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
  if (files.length === 0) {
    console.error('no test files found');
    return 1;
  }
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: process.env,
  });
  return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

process.exitCode = await main();
