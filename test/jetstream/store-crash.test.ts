// Crash safety: a child process does durable work and is killed with SIGKILL at
// a random point; whatever it acknowledged must be there, intact, on reopen.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsumerStateFile, FileStore } from '../../src/jetstream/store/mod.js';
import { payloadFor } from './store-crash-payload.js';
import { tempDir } from './store-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const here = fileURLToPath(import.meta.url);
// Same extension as this file: .js under dist/, .ts when run through tsx.
const childScript = here.replace(/store-crash\.test\.(ts|js)$/, `store-crash-child${extname(here)}`);

interface ChildRun {
  /** Last number the child printed with the given prefix before it died. */
  last: number;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Run the child until it has printed `<prefix> n` with n >= killAt, then SIGKILL it. */
function runAndKill(args: string[], prefix: string, killAt: number): Promise<ChildRun> {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = 0;
  let buf = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith(`${prefix} `)) last = Number(line.slice(prefix.length + 1));
      if (last >= killAt && child.exitCode === null) child.kill('SIGKILL');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ last, signal, stderr }));
  });
}

describe('crash safety', { timeout: 120_000 }, () => {
  it('every acknowledged append survives kill -9 at a random point', async () => {
    const t = tempDir('tern-crash-');
    cleanups.push(t.cleanup);
    const total = 10_000;
    const killAt = 300 + Math.floor(Math.random() * 9_000);
    const run = await runAndKill(['append', t.dir, String(total)], 'ack', killAt);
    assert.equal(run.signal, 'SIGKILL', `child was killed (stderr: ${run.stderr})`);
    assert.ok(run.last >= killAt, `acknowledged ${run.last}, kill point ${killAt}`);

    const fs = FileStore.open({ dir: t.dir, sync: 'always', log: () => {} });
    const st = fs.state();
    assert.ok(st.last_seq >= run.last, `recovered last_seq ${st.last_seq} covers the last ack ${run.last}`);
    assert.equal(st.messages, st.last_seq, 'no holes: nothing was ever removed');
    // Every stored message, acknowledged or not yet, is intact.
    for (let seq = 1; seq <= st.last_seq; seq++) {
      const m = fs.load(seq);
      assert.ok(m !== undefined, `seq ${seq} present`);
      assert.equal(m.subject, `crash.${(seq - 1) % 10}`);
      assert.ok(m.data.equals(payloadFor(seq)), `seq ${seq} intact`);
    }
    // The store continues where the acknowledged data ends.
    assert.equal(fs.store('crash.x', null, Buffer.from('after')).seq, st.last_seq + 1);
    await fs.stop();
  });

  it('a consumer state file is never torn by kill -9 during saves', async () => {
    const t = tempDir('tern-crash-cs-');
    cleanups.push(t.cleanup);
    const killAt = 50 + Math.floor(Math.random() * 300);
    const run = await runAndKill(['consumer', t.dir], 'saved', killAt);
    assert.equal(run.signal, 'SIGKILL', `child was killed (stderr: ${run.stderr})`);
    const s = new ConsumerStateFile(t.dir).load();
    assert.ok(s !== undefined);
    const n = s.delivered.stream_seq;
    assert.ok(n >= run.last, `saved state ${n} is at least the last acknowledged save ${run.last}`);
    assert.equal(s.ack_floor.stream_seq, n - 1);
    assert.equal(s.pending.size, (n % 50) + 1, 'the whole state of one save, not a mix');
  });
});
