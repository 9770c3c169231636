// A disk write failure (EFBIG under a file-size limit, as a full disk or quota
// would give) makes the file store read-only: later stores fail with a clear
// 'io' error, the failure is logged once, and sync/whenDurable/stop settle
// instead of waiting forever (and piling up waiters on every periodic sync).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './store-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

const here = fileURLToPath(import.meta.url);
// Same extension as this file: .js under dist/, .ts when run through tsx.
const childScript = here.replace(/store-failure\.test\.(ts|js)$/, `store-failure-child${extname(here)}`);

interface FailureRun {
  stored: number;
  storeError: string;
  logs: string[];
  sync: string;
  whenDurable: string;
  stop: string;
}

describe('file store write failure', { timeout: 60_000 }, () => {
  it('turns the store read-only with clear errors; nothing waits forever', () => {
    const t = tempDir('tern-store-fail-');
    cleanups.push(t.cleanup);
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
    const node = [process.execPath, ...execArgv, childScript, t.dir].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    // 64 blocks of the shell's unit (512 B or 1 KiB): far less than the 1 MB the child writes.
    const r = spawnSync('sh', ['-c', `ulimit -f 64 && exec ${node}`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    const run = JSON.parse(r.stdout.trim()) as FailureRun;
    assert.ok(run.stored > 0 && run.stored < 1000, `some stores succeeded before the limit, then they failed (stored ${run.stored})`);
    assert.equal(run.storeError, 'io');
    assert.equal(run.logs.filter((l) => /write failed, store is now read-only: .*EFBIG/.test(l)).length, 1, JSON.stringify(run.logs));
    assert.equal(run.sync, 'rejected: io');
    assert.equal(run.whenDurable, 'rejected: io');
    assert.equal(run.stop, 'resolved');
  });
});
