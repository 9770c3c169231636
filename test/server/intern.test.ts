// The parser's subject intern table: always the exact latin1 text of the
// bytes, the same string object for a repeated subject, and correct through
// slot collisions, overwrites and subjects too long to cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internSubject } from '../../src/server/parser.js';

function line(subject: string): { buf: Buffer; start: number; end: number } {
  const buf = Buffer.concat([Buffer.from('PUB ', 'latin1'), Buffer.from(subject, 'latin1'), Buffer.from(' 5\r\n', 'latin1')]);
  return { buf, start: 4, end: 4 + Buffer.byteLength(subject, 'latin1') };
}

test('a repeated subject gives the same string object, read from a fresh buffer each time', () => {
  const a = line('orders.eu.created');
  const b = line('orders.eu.created');
  const s1 = internSubject(a.buf, a.start, a.end);
  const s2 = internSubject(b.buf, b.start, b.end);
  assert.equal(s1, 'orders.eu.created');
  assert.ok(Object.is(s1, s2));
});

test('the cache never returns a stale subject: many distinct subjects (collisions, overwrites) and long ones', () => {
  const subjects: string[] = [];
  for (let i = 0; i < 6000; i++) {
    let s = `s.${(i * 7919) % 4099}`;
    if (i % 3 === 0) s += '.x';
    if (i % 7 === 0) s += '\u00e9'.repeat(i % 5); // latin1 bytes above 0x7f
    if (i % 97 === 0) s += '.' + 'y'.repeat(140); // longer than the cached maximum
    subjects.push(s);
  }
  for (let round = 0; round < 3; round++) {
    for (const s of subjects) {
      const l = line(s);
      assert.equal(internSubject(l.buf, l.start, l.end), s);
    }
  }
  // Same length, same slot candidates, different bytes.
  const x = line('ab.cd');
  const y = line('ab.ce');
  assert.equal(internSubject(x.buf, x.start, x.end), 'ab.cd');
  assert.equal(internSubject(y.buf, y.start, y.end), 'ab.ce');
  assert.equal(internSubject(x.buf, x.start, x.end), 'ab.cd');
});

test('changing the source buffer after interning does not change the cached subject', () => {
  const l = line('tmp.subject.1');
  const s = internSubject(l.buf, l.start, l.end);
  l.buf.fill(0x41, l.start, l.end); // the read chunk is reused for other bytes
  assert.equal(s, 'tmp.subject.1');
  const again = line('tmp.subject.1');
  assert.equal(internSubject(again.buf, again.start, again.end), 'tmp.subject.1');
  const other = internSubject(l.buf, l.start, l.end);
  assert.equal(other, 'A'.repeat('tmp.subject.1'.length));
});
