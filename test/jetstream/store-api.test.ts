// The StreamStore contract, checked identically on MemoryStore and FileStore.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, buildHeaders, nowNs, type StreamStore } from '../../src/jetstream/store/mod.js';
import { kinds, msgsOf, removeTempDirs, sleep } from './store-helpers.js';

/** Poll a condition every 10 ms; fail with `what` after `timeout` ms. */
async function until(pred: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!pred()) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeout} ms`);
    await sleep(10);
  }
}

after(removeTempDirs);

const b = (s: string): Buffer => Buffer.from(s);

function fill(store: StreamStore, subjects: string[], n: number): void {
  for (let i = 0; i < n; i++) store.store(subjects[i % subjects.length]!, null, b(`m${i + 1}`));
}

function assertStoreError(fn: () => unknown, code: string, text: string): void {
  assert.throws(fn, (e: unknown) => e instanceof StoreError && e.code === code && e.message === text);
}

for (const kind of kinds) {
  describe(`${kind.name} store`, () => {
    it('appends, loads and reports state', async () => {
      const s = kind.open();
      const hdr = buildHeaders({ 'Nats-Msg-Id': 'x1' });
      const before = nowNs();
      const r1 = s.store('orders.new', hdr, b('hello'));
      const r2 = s.store('orders.old', null, b(''));
      assert.deepEqual([r1.seq, r2.seq], [1, 2]);
      assert.ok(r1.ts >= before && r2.ts >= r1.ts);
      const m = s.load(1)!;
      assert.equal(m.subject, 'orders.new');
      assert.equal(m.seq, 1);
      assert.deepEqual(m.hdr, hdr);
      assert.equal(m.data.toString(), 'hello');
      assert.equal(m.time, r1.ts);
      const m2 = s.load(2)!;
      assert.equal(m2.hdr, null);
      assert.equal(m2.data.length, 0);
      assert.equal(s.load(3), undefined);
      assert.equal(s.load(0), undefined);
      assert.deepEqual(s.state(), {
        messages: 2,
        bytes: kind.size('orders.new', hdr, b('hello')) + kind.size('orders.old', null, b('')),
        first_seq: 1,
        first_ts: r1.ts,
        last_seq: 2,
        last_ts: r2.ts,
        num_subjects: 2,
        num_deleted: 0,
      });
      await s.whenDurable();
      await s.stop();
      assertStoreError(() => s.load(1), 'closed', 'store is closed');
      assertStoreError(() => s.store('a', null, b('x')), 'closed', 'store is closed');
    });

    it('counts bytes like nats-server', () => {
      const s = kind.open();
      const hdr = Buffer.alloc(20, 0x41);
      s.store('a', null, Buffer.alloc(10));
      s.store('a', hdr, Buffer.alloc(10));
      const expected = kind.name === 'file' ? 22 + 1 + 10 + 8 + (22 + 1 + 4 + 20 + 10 + 8) : 1 + 10 + 16 + (1 + 20 + 10 + 16);
      assert.equal(s.state().bytes, expected);
    });

    it('rejects invalid subjects with a clear error', () => {
      const s = kind.open();
      for (const bad of ['', 'a..b', 'a.*', '>', 'a b', '.a', 'a.']) {
        assert.throws(() => s.store(bad, null, b('x')), (e: unknown) => e instanceof StoreError && e.code === 'bad_subject', bad);
      }
      assert.equal(s.state().messages, 0);
    });

    it('removes single messages and tracks interior deletes', () => {
      const s = kind.open();
      fill(s, ['a', 'b'], 6);
      assert.equal(s.remove(3), true);
      assert.equal(s.remove(3), false);
      assert.equal(s.remove(99), false);
      assert.equal(s.remove(1), true);
      const st = s.state();
      assert.equal(st.messages, 4);
      assert.equal(st.first_seq, 2);
      assert.equal(st.num_deleted, 1);
      assert.deepEqual(s.deletedSeqs(), [3]);
      assert.equal(s.remove(6), true);
      assert.equal(s.state().last_seq, 6, 'last_seq does not move back');
      assert.equal(s.store('a', null, b('n')).seq, 7, 'sequences are never reused');
    });

    it('purges all, by filter, with keep and below a seq', () => {
      const s = kind.open();
      fill(s, ['x.1', 'x.2', 'y.1'], 30);
      assert.equal(s.purge({ filter: 'x.1', keep: 4 }), 6);
      assert.equal(s.subjectsState('x.1').get('x.1'), 4);
      assert.deepEqual(
        msgsOf(s).filter((m) => m.subject === 'x.1').map((m) => m.seq),
        [19, 22, 25, 28],
        'keep keeps the newest',
      );
      assert.equal(s.purge({ filter: 'x.*', seq: 11 }), 3, 'x.2 below 11: 2, 5, 8');
      assert.equal(s.purge({ filter: 'y.1', keep: 100 }), 0);
      assert.equal(s.purge({ filter: 'nothing.here' }), 0);
      assert.equal(s.purge({ seq: 1 }), 0);
      const below15 = msgsOf(s).filter((m) => m.seq < 15).length;
      assert.ok(below15 > 0);
      assert.equal(s.purge({ seq: 15 }), below15);
      assert.equal(s.state().first_seq, 15);
      const remaining = s.state().messages;
      assert.equal(s.purge({ keep: 3 }), remaining - 3);
      assert.equal(s.state().messages, 3);
      assert.deepEqual(msgsOf(s).map((m) => m.seq), [28, 29, 30]);
      assert.equal(s.purge(), 3);
      const st = s.state();
      assert.equal(st.messages, 0);
      assert.equal(st.bytes, 0);
      assert.equal(st.first_seq, 31);
      assert.equal(st.last_seq, 30);
      assert.equal(st.num_subjects, 0);
      assert.equal(s.store('x.1', null, b('again')).seq, 31);
    });

    it('compacts below a seq and past the end', () => {
      const s = kind.open();
      fill(s, ['c'], 10);
      assert.equal(s.compact(4), 3);
      assert.equal(s.state().first_seq, 4);
      assert.equal(s.compact(2), 0);
      assert.equal(s.compact(20), 7);
      const st = s.state();
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [0, 20, 19]);
      assert.equal(s.store('c', null, b('x')).seq, 20);
    });

    it('starts at a configured first sequence', () => {
      const s = kind.open({}, 100);
      assert.equal(s.state().first_seq, 100);
      assert.equal(s.store('f', null, b('x')).seq, 100);
    });

    it('answers subject queries: last by subject, next matching, pending, subjects', () => {
      const s = kind.open();
      s.store('orders.eu.new', null, b('1'));
      s.store('orders.us.new', null, b('2'));
      s.store('orders.eu.paid', null, b('3'));
      s.store('audit', null, b('4'));
      s.store('orders.eu.new', null, b('5'));
      assert.equal(s.loadLastBySubject('orders.eu.new')!.seq, 5);
      assert.equal(s.loadLastBySubject('orders.*.paid')!.seq, 3);
      assert.equal(s.loadLastBySubject('orders.>')!.seq, 5);
      assert.equal(s.loadLastBySubject('>')!.seq, 5);
      assert.equal(s.loadLastBySubject('nope'), undefined);
      assert.equal(s.loadNextMatching('orders.us.*', 0)!.seq, 2);
      assert.equal(s.loadNextMatching('orders.eu.new', 2)!.seq, 5);
      assert.equal(s.loadNextMatching('*.eu.>', 4)!.seq, 5);
      assert.equal(s.loadNextMatching('audit', 5), undefined);
      assert.equal(s.loadNextMatching('', 3)!.seq, 3);
      assert.equal(s.numPending('orders.>', 1), 4);
      assert.equal(s.numPending('orders.eu.*', 2), 2);
      assert.equal(s.numPending('>', 4), 2);
      assert.equal(s.numPending('', 99), 0);
      s.remove(4);
      assert.equal(s.numPending('>', 1), 4);
      assert.equal(s.numPending('>', 4), 1);
      assert.deepEqual(
        [...s.subjectsState('orders.eu.*')].sort(),
        [
          ['orders.eu.new', 2],
          ['orders.eu.paid', 1],
        ],
      );
      assert.equal(s.subjectsState('>').size, 3);
      assert.equal(s.state().num_subjects, 3);
    });

    it('finds the first seq at or after a time', () => {
      const s = kind.open();
      const t0 = 1_000_000_000_000_000_000n;
      for (let i = 0; i < 10; i++) s.store('t', null, b(`${i}`), t0 + BigInt(i) * 1000n);
      s.remove(5);
      assert.equal(s.seqFromTime(0n), 1);
      assert.equal(s.seqFromTime(t0 + 2000n), 3);
      assert.equal(s.seqFromTime(t0 + 2500n), 4);
      assert.equal(s.seqFromTime(t0 + 4000n), 6, 'seq 5 is gone');
      assert.equal(s.seqFromTime(t0 + 99_000n), 11);
    });

    it('max_msgs with discard old drops the oldest', () => {
      const s = kind.open({ max_msgs: 5 });
      fill(s, ['a', 'b'], 12);
      const st = s.state();
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [5, 8, 12]);
    });

    it('max_msgs with discard new refuses with the nats-server text', () => {
      const s = kind.open({ max_msgs: 3, discard: 'new' });
      fill(s, ['a'], 3);
      assertStoreError(() => s.store('a', null, b('x')), 'max_msgs', 'maximum messages exceeded');
      assert.equal(s.state().messages, 3);
      assert.equal(s.state().last_seq, 3, 'a refused message takes no sequence');
      s.remove(1);
      assert.equal(s.store('a', null, b('x')).seq, 4);
    });

    it('max_bytes with discard old and new', () => {
      const one = kind.size('bb', null, b('0123456789'));
      const old = kind.open({ max_bytes: one * 3 });
      for (let i = 0; i < 7; i++) old.store('bb', null, b('0123456789'));
      assert.deepEqual([old.state().messages, old.state().bytes, old.state().first_seq], [3, one * 3, 5]);

      const nw = kind.open({ max_bytes: one * 4 - 5, discard: 'new' });
      for (let i = 0; i < 3; i++) nw.store('bb', null, b('0123456789'));
      assertStoreError(() => nw.store('bb', null, b('0123456789')), 'max_bytes', 'maximum bytes exceeded');
      assert.equal(nw.store('bb', null, b('01234')).seq, 4, 'a message that fits is taken');
    });

    it('max_msgs_per_subject keeps the newest per subject', () => {
      const s = kind.open({ max_msgs_per_subject: 2 });
      for (let i = 1; i <= 6; i++) s.store(`kv.${i % 2}`, null, b(`${i}`));
      assert.deepEqual(msgsOf(s).map((m) => m.seq), [3, 4, 5, 6]);
      assert.equal(s.state().num_deleted, 0);
      // Discard new still replaces per subject unless discard_new_per_subject is set.
      const n = kind.open({ max_msgs_per_subject: 1, max_msgs: 2, discard: 'new' });
      n.store('k.a', null, b('1'));
      n.store('k.b', null, b('2'));
      assert.equal(n.store('k.a', null, b('3')).seq, 3, 'at max_msgs but replacing its own subject');
      assertStoreError(() => n.store('k.c', null, b('4')), 'max_msgs', 'maximum messages exceeded');
      n.updateConfig({ ...n.limits(), discard_new_per_subject: true });
      assertStoreError(() => n.store('k.a', null, b('5')), 'max_msgs_per_subject', 'maximum messages per subject exceeded');
      assert.deepEqual(msgsOf(n).map((m) => m.data), ['2', '3']);
    });

    it('max_msg_size counts header and data', () => {
      const s = kind.open({ max_msg_size: 10 });
      s.store('m', null, Buffer.alloc(10));
      assertStoreError(() => s.store('m', Buffer.alloc(5), Buffer.alloc(6)), 'max_msg_size', 'message size exceeds maximum allowed');
      assert.equal(s.state().messages, 1);
    });

    it('updateConfig applies lowered limits at once', () => {
      const s = kind.open();
      fill(s, ['u.1', 'u.2'], 20);
      s.updateConfig({ ...s.limits(), max_msgs_per_subject: 3 });
      assert.equal(s.state().messages, 6);
      s.updateConfig({ ...s.limits(), max_msgs: 2 });
      assert.deepEqual(msgsOf(s).map((m) => m.seq), [19, 20]);
    });

    it('max_age expires messages in the background', async () => {
      // Waits are conditions with deadlines, and max_age leaves a wide margin, so a
      // loaded machine can neither expire the young messages early nor miss the timer.
      const MAX_AGE_MS = 1000;
      const s = kind.open({ max_age: MAX_AGE_MS * 1_000_000 });
      const t0 = Date.now();
      s.store('age', null, b('old'), nowNs() - 10_000_000_000n); // already 10s old
      s.store('age', null, b('a'));
      s.store('age', null, b('b'));
      await until(() => s.state().messages === 2, 'the stale message goes at once');
      assert.ok(Date.now() - t0 < MAX_AGE_MS, 'only the stale message went');
      assert.equal(s.state().first_seq, 2);
      await until(() => s.state().messages === 0, 'a and b expire in the background');
      assert.ok(Date.now() - t0 >= MAX_AGE_MS, `expired after ${Date.now() - t0} ms, before max_age`);
      const st = s.state();
      assert.deepEqual([st.messages, st.first_seq, st.last_seq], [0, 4, 3]);
      const t1 = Date.now();
      s.store('age', null, b('c'));
      assert.equal(s.state().messages, 1);
      await until(() => s.state().messages === 0, 'the timer re-arms for new messages');
      assert.ok(Date.now() - t1 >= MAX_AGE_MS, `c expired after ${Date.now() - t1} ms, before max_age`);
      await s.stop();
    });

    it('reports storage updates', () => {
      const s = kind.open({ max_msgs: 2 });
      const events: [number, number, number, string][] = [];
      s.onStorageUpdate((m, by, seq, subj) => events.push([m, by, seq, subj]));
      s.store('e', null, b('1'));
      s.store('e', null, b('2'));
      s.store('e', null, b('3'));
      const sz = kind.size('e', null, b('1'));
      assert.deepEqual(events, [
        [1, sz, 1, 'e'],
        [1, sz, 2, 'e'],
        [1, sz, 3, 'e'],
        [-1, -sz, 1, 'e'],
      ]);
    });
  });
}
