// Ack subjects: parsed by index (v1 and v2 forms, malformed ones rejected) and
// kept out of the sublist's match cache, while still matching their consumer's
// subscription.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ackStreamSeq, ackStreamSeqAfter, ackSubjectPrefix } from '../../src/jetstream/ack-subject.js';
import { prng } from '../helpers/prng.js';
import { Sublist, isUncachedSubject } from '../../src/server/sublist.js';

interface Entry {
  subject: string;
  queue: string | null;
}

describe('ack subjects', () => {
  it('reads the stream sequence of v1 and v2 ack subjects', () => {
    assert.equal(ackSubjectPrefix('S', 'C'), '$JS.ACK.S.C.');
    assert.equal(ackStreamSeq('$JS.ACK.S.C.1.42.7.1700000000000000000.3'), 42);
    assert.equal(ackStreamSeq('$JS.ACK.dom.hash.S.C.2.9007199254740991.8.1700000000000000000.0.rand'), 9007199254740991);
    assert.equal(ackStreamSeq('$JS.ACK.dom.hash.S.C.2.5.8.1700000000000000000.0'), 5);
  });

  it('rejects subjects that are not acks', () => {
    for (const bad of [
      '$JS.ACK.S.C.1.42.7.1700',          // 8 tokens
      '$JS.ACK.S.C.1.x.7.17.3',           // sseq not a number
      '$JS.ACK.S.C.1.42.7x.17.3',         // cseq not a number
      '$JS.ACK.S.C.1..7.17.3',            // empty sseq
      '$JS.ACK.S.C.1.-4.7.17.3',          // negative
      '$JS.ACK.S.C.1.12345678901234567.7.17.3', // beyond 2^53
      '$JS.ACK.a.b.S.C.1.2.3.4',          // 10 tokens
    ]) {
      assert.equal(ackStreamSeq(bad), -1, bad);
    }
  });

  it('ackStreamSeqAfter (the one-pass reader of consumers) agrees with ackStreamSeq on random subjects', () => {
    const prefix = ackSubjectPrefix('ORDERS', 'worker');
    const tokens = ['1', '42', '0', '', 'x', '-4', '9007199254740991', '12345678901234567', '1234567890123456', '007', '17x', '1700000000000000000'];
    const rand = prng(7);
    for (let round = 0; round < 20_000; round++) {
      const k = 1 + Math.floor(rand() * 8);
      const tail = Array.from({ length: k }, () => tokens[Math.floor(rand() * tokens.length)]!).join('.');
      const subject = prefix + tail;
      assert.equal(ackStreamSeqAfter(subject, prefix.length), ackStreamSeq(subject), subject);
    }
    assert.equal(ackStreamSeqAfter(`${prefix}1.42.7.1700000000000000000.3`, prefix.length), 42);
  });

  it('bypasses the sublist cache but still matches', () => {
    const sl = new Sublist<Entry>();
    const sub: Entry = { subject: '$JS.ACK.S.C.>', queue: null };
    const other: Entry = { subject: 'orders.*', queue: null };
    sl.insert(sub);
    sl.insert(other);
    assert.equal(sl.match('orders.1').psubs.length, 1);
    const cached = sl.stats().numCache;
    for (let i = 1; i <= 2000; i++) {
      const r = sl.match(`$JS.ACK.S.C.1.${i}.${i}.1700000000000000000.0`);
      assert.deepEqual([...r.psubs], [sub]);
    }
    assert.equal(sl.match('$JS.ACK.T.C.1.1.1.1.0').psubs.length, 0);
    assert.equal(sl.stats().numCache, cached, 'ack subjects must not enter the cache');
    assert.ok(isUncachedSubject('$JS.ACK.S.C.1.2.3.4.5'));
    assert.ok(!isUncachedSubject('$JS.API.INFO'));
    assert.ok(!isUncachedSubject('orders.1'));
  });
});
