// Memory per stored message: the file store's index must stay compact (no
// per-message JS objects) and must not hold message bytes beyond its block
// cache. Measured in a child with --expose-gc so the numbers are after full GCs.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './store-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const here = fileURLToPath(import.meta.url);
const childScript = here.replace(/store-memory\.test\.(ts|js)$/, `store-memory-child${extname(here)}`);

interface ChildReport {
  messages: number;
  heapDelta: number;
  buffersDelta: number;
  cacheAllowance: number;
}

function runChild(dir: string, count: number): Promise<ChildReport> {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, '--expose-gc', childScript, dir, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim()) as ChildReport);
    });
  });
}

describe('file store memory', { timeout: 120_000 }, () => {
  it('keeps under 64 bytes of memory per stored 128 B message beyond the block cache', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const count = 500_000;
    const r = await runChild(t.dir, count);
    assert.equal(r.messages, count + 1);
    const heapPerMsg = r.heapDelta / count;
    const totalPerMsg = (r.heapDelta + r.buffersDelta - r.cacheAllowance) / count;
    // The index columns are ~28 B/msg (plus capacity slack) and the per-subject seq list ~8-12 B.
    assert.ok(heapPerMsg < 40, `JS heap grew ${heapPerMsg.toFixed(1)} B per message`);
    assert.ok(totalPerMsg < 64, `heap + buffers beyond the block cache grew ${totalPerMsg.toFixed(1)} B per message`);
  });
});
