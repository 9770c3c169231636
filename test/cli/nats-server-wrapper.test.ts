// bin/nats-server is a drop-in for harnesses that launch `nats-server -c file`
// from PATH (the nats.js test harness does): same pid, ports file named after
// the invoked program, and a working broker behind it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { REPO_ROOT } from '../helpers/servers.js';

async function waitFor<T>(fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('`nats-server -c file` from PATH runs Tern in the same process and writes nats-server_<pid>.ports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wrapper-'));
  const conf = join(dir, 'server.conf');
  writeFileSync(conf, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\n`);
  const child = spawn('nats-server', ['-c', conf], {
    env: { ...process.env, PATH: `${join(REPO_ROOT, 'bin')}:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  try {
    const file = join(dir, `nats-server_${child.pid}.ports`);
    const ports = await waitFor(() => {
      if (!existsSync(file)) return undefined;
      try {
        return JSON.parse(readFileSync(file, 'utf8')) as { nats: string[] };
      } catch {
        return undefined;
      }
    }, 10_000).catch((e: Error) => assert.fail(`${e.message}; output:\n${out}`));
    assert.match(out, /Server is ready/);
    const url = ports.nats[0]!;
    assert.match(url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connect({ servers: url });
    const info = nc.info!;
    assert.equal(info.proto, 1);
    assert.match(info.version, /^2\.10\./);
    const sub = nc.subscribe('wrapper.check', { max: 1, timeout: 5000 });
    nc.publish('wrapper.check', 'hello');
    const got: string[] = [];
    for await (const m of sub) got.push(m.string());
    assert.deepEqual(got, ['hello']);
    await nc.close();
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(file), false, 'the ports file is removed on exit, as nats-server does');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
