// FileStore on real directories: restart recovery, torn and damaged tails,
// block roll-over and removal, durability of deletes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore, UNLIMITED, buildHeaders, type FileStoreOptions, type StoreLimits } from '../../src/jetstream/store/mod.js';
import { msgsOf, tempDir } from './store-helpers.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function newDir(): string {
  const t = tempDir('tern-fs-');
  cleanups.push(t.cleanup);
  return t.dir;
}

function open(dir: string, extra: Partial<FileStoreOptions> & { limits?: StoreLimits } = {}): FileStore & { logs: string[] } {
  const logs: string[] = [];
  const fs = FileStore.open({ dir, blockSize: 4096, sync: 'always', log: (l) => logs.push(l), ...extra });
  return Object.assign(fs, { logs });
}

function blockFiles(dir: string): string[] {
  return readdirSync(join(dir, 'msgs')).filter((n) => n.endsWith('.blk')).sort();
}

/** Full content of the store, headers included, for before/after comparisons. */
function snapshot(fs: FileStore): unknown {
  const out: unknown[] = [];
  for (let m = fs.loadNextMatching('>', 0); m !== undefined; m = fs.loadNextMatching('>', m.seq + 1)) {
    out.push([m.seq, m.subject, m.hdr?.toString() ?? null, m.data.toString('hex'), m.time.toString()]);
  }
  return out;
}

/** Every record of one subject/payload size has the same length: 31 + subject + data. */
const REC = (subject: string, data: number): number => 31 + subject.length + data;

describe('file store', () => {
  it('recovers the same state and messages after a restart', async () => {
    const dir = newDir();
    let fs = open(dir);
    for (let i = 1; i <= 300; i++) {
      const hdr = i % 3 === 0 ? buildHeaders({ 'Nats-Msg-Id': `id-${i}` }) : null;
      fs.store(`r.${i % 5}`, hdr, Buffer.from(`payload ${i} `.repeat(i % 7)));
    }
    fs.remove(1);
    fs.remove(150);
    fs.remove(151);
    fs.purge({ filter: 'r.4', keep: 10 });
    await fs.whenDurable();
    const state = fs.state();
    const content = snapshot(fs);
    const deleted = fs.deletedSeqs();
    assert.ok(blockFiles(dir).length > 5, 'spans several blocks');
    await fs.stop();

    fs = open(dir);
    assert.deepEqual(fs.state(), state);
    assert.deepEqual(snapshot(fs), content);
    assert.deepEqual(fs.deletedSeqs(), deleted);
    assert.deepEqual(fs.recovery.truncated, []);
    assert.equal(fs.store('r.1', null, Buffer.from('next')).seq, 301);
    await fs.stop();
  });

  it('keeps sequences and last time after purge, compact and emptying by removes', async () => {
    const dir = newDir();
    let fs = open(dir);
    for (let i = 0; i < 100; i++) fs.store('p', null, Buffer.alloc(50, i));
    const lastTs = fs.state().last_ts;
    assert.equal(fs.purge(), 100);
    await fs.whenDurable();
    assert.equal(blockFiles(dir).length, 1, 'purged blocks are deleted');
    await fs.stop();
    fs = open(dir);
    let st = fs.state();
    assert.deepEqual([st.messages, st.bytes, st.first_seq, st.last_seq, st.last_ts], [0, 0, 101, 100, lastTs]);

    fs.compact(500);
    await fs.stop();
    fs = open(dir);
    st = fs.state();
    assert.deepEqual([st.first_seq, st.last_seq], [500, 499]);
    for (let i = 0; i < 80; i++) fs.store('p', null, Buffer.alloc(50, i));
    for (let seq = 500; seq < 580; seq++) assert.equal(fs.remove(seq), true);
    await fs.whenDurable();
    await fs.stop();
    fs = open(dir);
    st = fs.state();
    assert.deepEqual([st.messages, st.first_seq, st.last_seq], [0, 580, 579]);
    assert.equal(fs.store('p', null, Buffer.from('x')).seq, 580);
    await fs.stop();
  });

  it('rolls blocks over at blockSize and deletes blocks whose messages are all gone', async () => {
    const dir = newDir();
    const fs = open(dir);
    const rec = REC('roll', 100);
    const perBlock = Math.floor(4096 / rec);
    for (let i = 0; i < perBlock * 5; i++) fs.store('roll', null, Buffer.alloc(100, 7));
    await fs.whenDurable();
    const files = blockFiles(dir);
    assert.equal(files.length, 5);
    for (const f of files) assert.ok(statSync(join(dir, 'msgs', f)).size <= 4096);
    assert.equal(statSync(join(dir, 'msgs', files[0]!)).size, perBlock * rec);

    // Emptying the first two blocks removes their files; a partial block stays.
    fs.purge({ seq: perBlock * 2 + 3 });
    await fs.whenDurable();
    assert.deepEqual(blockFiles(dir), files.slice(2));
    // A message bigger than a block gets a block of its own.
    fs.store('big', null, Buffer.alloc(10_000, 1));
    fs.store('roll', null, Buffer.alloc(100, 7));
    await fs.whenDurable();
    const after2 = blockFiles(dir);
    assert.equal(after2.length, 5);
    assert.equal(statSync(join(dir, 'msgs', after2[3]!)).size, REC('big', 10_000));
    assert.equal(fs.loadLastBySubject('big')!.data.length, 10_000);
    await fs.stop();
  });

  it('keeps interior deletes across restarts even when the block holding the tombstone goes first', async () => {
    const dir = newDir();
    let fs = open(dir);
    const perBlock = Math.floor(4096 / REC('t', 100));
    for (let i = 0; i < perBlock; i++) fs.store('t', null, Buffer.alloc(100, 1)); // block 1
    // Block 2 is left with room for exactly the tombstone of seq 5.
    for (let i = 0; i < perBlock - 1; i++) fs.store('u', null, Buffer.alloc(100, 2));
    fs.remove(5);
    await fs.whenDurable();
    // Empty block 2 (interior removes, while block 1 still holds live messages), then roll on.
    fs.purge({ filter: 'u' });
    for (let i = 0; i < perBlock; i++) fs.store('v', null, Buffer.alloc(100, 3));
    await fs.whenDurable();
    assert.equal(blockFiles(dir).includes('00000002.blk'), false, 'block 2 was removed');
    const state = fs.state();
    await fs.stop();

    fs = open(dir);
    assert.equal(fs.load(5), undefined, 'seq 5 stays deleted');
    assert.deepEqual(fs.state(), state);
    assert.equal(fs.state().num_deleted, perBlock);
    await fs.stop();
  });

  it('truncates a torn tail and keeps every record before it', async () => {
    const dir = newDir();
    let fs = open(dir, { blockSize: 1 << 20 });
    for (let i = 1; i <= 50; i++) fs.store('torn', null, Buffer.from(`message-${String(i).padStart(4, '0')}`));
    await fs.stop();
    const file = join(dir, 'msgs', blockFiles(dir)[0]!);
    const rec = REC('torn', 12);
    assert.equal(statSync(file).size, 50 * rec);
    truncateSync(file, 49 * rec + 17); // the last record is cut mid-way

    fs = open(dir, { blockSize: 1 << 20 });
    const msgs = msgsOf(fs);
    assert.equal(msgs.length, 49);
    assert.deepEqual(msgs.at(-1), { seq: 49, subject: 'torn', data: 'message-0049' });
    assert.deepEqual(fs.recovery.truncated, [{ block: 1, offset: 49 * rec, dropped: 17 }]);
    assert.match(fs.logs.join('\n'), /dropping 17 bytes/);
    assert.equal(statSync(file).size, 49 * rec, 'the file is cut back to the last good record');
    assert.equal(fs.store('torn', null, Buffer.from('after')).seq, 50);
    await fs.stop();
    fs = open(dir, { blockSize: 1 << 20 });
    assert.equal(fs.load(50)!.data.toString(), 'after');
    assert.deepEqual(fs.recovery.truncated, []);
    await fs.stop();
  });

  it('drops exactly the damaged tail when a byte in the middle is flipped', async () => {
    const dir = newDir();
    let fs = open(dir, { blockSize: 1 << 20 });
    for (let i = 1; i <= 100; i++) fs.store('flip', null, Buffer.from(`message-${String(i).padStart(4, '0')}`));
    await fs.stop();
    const file = join(dir, 'msgs', blockFiles(dir)[0]!);
    const rec = REC('flip', 12);
    const at = 60 * rec + 35; // inside the payload of seq 61
    const buf = readFileSync(file);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([buf[at]! ^ 0x40]), 0, 1, at);
    closeSync(fd);

    fs = open(dir, { blockSize: 1 << 20 });
    const msgs = msgsOf(fs);
    assert.equal(msgs.length, 60);
    msgs.forEach((m, i) => assert.equal(m.data, `message-${String(i + 1).padStart(4, '0')}`));
    assert.deepEqual(fs.recovery.truncated, [{ block: 1, offset: 60 * rec, dropped: 40 * rec }]);
    assert.equal(fs.state().last_seq, 60);
    await fs.stop();
  });

  it('damage inside an older block drops the rest of that block only', async () => {
    const dir = newDir();
    let fs = open(dir);
    const rec = REC('old', 100);
    const perBlock = Math.floor(4096 / rec);
    for (let i = 0; i < perBlock * 3; i++) fs.store('old', null, Buffer.alloc(100, i % 256));
    await fs.stop();
    const file = join(dir, 'msgs', blockFiles(dir)[1]!); // seqs perBlock+1 .. 2*perBlock
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, 10 * rec); // a nonsense length field
    closeSync(fd);
    fs = open(dir);
    const st = fs.state();
    assert.equal(st.messages, perBlock * 3 - (perBlock - 10));
    assert.equal(fs.load(perBlock + 10)!.data[0], (perBlock + 9) % 256);
    assert.equal(fs.load(perBlock + 11), undefined);
    assert.equal(fs.load(2 * perBlock + 1)!.seq, 2 * perBlock + 1, 'later blocks are kept');
    assert.equal(st.last_seq, perBlock * 3);
    await fs.stop();
  });

  it('applies limits on reopen and serves reads from evicted blocks', async () => {
    const dir = newDir();
    let fs = open(dir, { cacheBlocks: 1 });
    for (let i = 1; i <= 400; i++) fs.store(`e.${i % 4}`, null, Buffer.from(`v${i}`));
    await fs.stop();
    fs = open(dir, { cacheBlocks: 1, limits: { ...UNLIMITED, max_msgs_per_subject: 50 } });
    assert.equal(fs.state().messages, 200);
    assert.equal(fs.state().first_seq, 201);
    // Alternate between far-apart blocks so each read loads a block from disk.
    for (const seq of [201, 399, 202, 398, 250, 300]) assert.equal(fs.load(seq)!.data.toString(), `v${seq}`);
    await fs.stop();
    fs = open(dir);
    assert.equal(fs.state().messages, 200, 'the trim was persisted');
    await fs.stop();
  });

  it('writes a batch of stores with one flush and resolves whenDurable after it', async () => {
    const dir = newDir();
    for (const sync of ['always', 60_000] as const) {
      const d = join(dir, String(sync));
      const fs = open(d, { sync, blockSize: 1 << 20 });
      for (let i = 0; i < 1000; i++) fs.store('d', null, Buffer.alloc(128));
      const file = join(d, 'msgs', blockFiles(d)[0]!);
      assert.equal(statSync(file).size, 0, 'nothing written synchronously');
      await fs.whenDurable();
      assert.equal(statSync(file).size, 1000 * REC('d', 128));
      await fs.sync();
      await fs.stop();
    }
  });

  it('delete() removes the stream directory', async () => {
    const dir = join(newDir(), 'S');
    const fs = open(dir);
    fs.store('x', null, Buffer.from('1'));
    await fs.delete();
    assert.throws(() => statSync(dir), /ENOENT/);
  });
});
