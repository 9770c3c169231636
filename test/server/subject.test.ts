import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  isValidLiteralSubject,
  isValidQueueName,
  isValidSubject,
  numTokens,
  subjectHasWildcard,
  subjectIsSubsetOf,
  subjectMatchesFilter,
  subjectsOverlap,
  tokenAt,
} from '../../src/server/subject.js';
import { startNatsServer } from '../helpers/servers.js';

// [subject, valid for SUB, literal]
const SUBJECTS: [string, boolean, boolean][] = [
  ['foo', true, true],
  ['foo.bar', true, true],
  ['foo.bar.baz', true, true],
  ['*', true, false],
  ['>', true, false],
  ['foo.*', true, false],
  ['foo.>', true, false],
  ['*.*.>', true, false],
  ['foo.*.bar', true, false],
  ['foo*', true, true], // wildcards only as whole tokens
  ['foo.*bar', true, true],
  ['foo.b*r', true, true],
  ['foo.>>', true, true],
  ['foo>bar', true, true],
  ['foo.**.bar', true, true],
  ['$JS.API.INFO', true, true],
  ['_INBOX.abc.123', true, true],
  ['ä.ö.ü', true, true],
  ['', false, false],
  ['.', false, false],
  ['..', false, false],
  ['.foo', false, false],
  ['foo.', false, false],
  ['foo..bar', false, false],
  ['foo.>.bar', false, false],
  ['>.foo', false, false],
  ['>.>', false, false],
  ['foo.>.', false, false],
  [' ', false, false],
  ['foo bar', false, false],
  ['foo\tbar', false, false],
  ['foo\r', false, false],
  ['\nfoo', false, false],
  ['foo.\f', false, false],
  ['foo.\vbar', false, false],
];

test('isValidSubject / isValidLiteralSubject follow the nats-server rules', () => {
  for (const [s, valid, literal] of SUBJECTS) {
    assert.equal(isValidSubject(s), valid, `isValidSubject(${JSON.stringify(s)})`);
    assert.equal(isValidLiteralSubject(s), literal, `isValidLiteralSubject(${JSON.stringify(s)})`);
    assert.equal(subjectHasWildcard(s), valid && !literal, `subjectHasWildcard(${JSON.stringify(s)})`);
  }
});

test('isValidQueueName accepts what nats-server 2.9 accepts, rejects empty and whitespace', () => {
  for (const q of ['q', 'workers', 'q.x', 'q*', '*', '>', 'q..x', 'a-b_c']) assert.equal(isValidQueueName(q), true, q);
  for (const q of ['', ' ', 'a b', 'a\tb', 'a\r\n']) assert.equal(isValidQueueName(q), false, JSON.stringify(q));
});

/** Sends SUB lines one by one to a server and reports which drew -ERR 'Invalid Subject'. */
async function serverRejects(port: number, lines: string[]): Promise<boolean[]> {
  const sock = net.connect(port, '127.0.0.1');
  let buf = '';
  const waiters: (() => void)[] = [];
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    buf += d;
    while (waiters.length > 0 && buf.includes('PONG\r\n')) waiters.shift()!();
  });
  await new Promise<void>((res, rej) => {
    sock.once('connect', () => res());
    sock.once('error', rej);
  });
  const pong = (): Promise<void> =>
    new Promise((res) => {
      if (buf.includes('PONG\r\n')) res();
      else waiters.push(res);
    });
  sock.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n');
  await pong();
  const out: boolean[] = [];
  let sid = 1;
  for (const line of lines) {
    buf = '';
    sock.write(`${line} ${sid++}\r\nPING\r\n`);
    await pong();
    out.push(buf.includes("-ERR 'Invalid Subject'"));
  }
  sock.destroy();
  return out;
}

test('validity agrees with the reference nats-server on raw SUB lines', async () => {
  const srv = await startNatsServer();
  try {
    // Whitespace cannot be sent inside a SUB argument, so only whitespace-free cases go on the wire.
    const wire = SUBJECTS.filter(([s]) => s.length > 0 && !/\s/.test(s));
    const lines = wire.map(([s]) => `SUB ${s}`);
    // Queue names the server accepts.
    const queues = ['q.x', 'q*', '*', '>', 'q..x'];
    lines.push(...queues.map((q) => `SUB diff.queue ${q}`));
    const rejected = await serverRejects(srv.port, lines);
    wire.forEach(([s], i) => assert.equal(rejected[i], !isValidSubject(s), `server vs isValidSubject on ${JSON.stringify(s)}`));
    queues.forEach((q, i) => {
      assert.equal(rejected[wire.length + i], !isValidQueueName(q), `server vs isValidQueueName on ${q}`);
    });
  } finally {
    await srv.stop();
  }
});

test('subjectMatchesFilter', () => {
  const yes: [string, string][] = [
    ['foo', 'foo'],
    ['foo.bar', 'foo.bar'],
    ['foo.bar', 'foo.*'],
    ['foo.bar', '*.bar'],
    ['foo.bar', '*.*'],
    ['foo.bar', 'foo.>'],
    ['foo.bar.baz', 'foo.>'],
    ['foo', '>'],
    ['foo.bar.baz', '>'],
    ['foo.bar.baz', '*.bar.>'],
    ['foo.*', 'foo.*'], // a '*' in the subject is matched by a wildcard filter
    ['foo.*', 'foo.>'],
  ];
  const no: [string, string][] = [
    ['foo', 'bar'],
    ['foo', 'fo'],
    ['fo', 'foo'],
    ['foo', 'foo.bar'],
    ['foo.bar', 'foo'],
    ['foo', 'foo.>'],
    ['foo', 'foo.*'],
    ['foo.bar.baz', 'foo.*'],
    ['foo.bar', '*'],
    ['foo.bar', 'bar.>'],
    ['foo.*', 'foo.bar'], // subject tokens are literal
    ['foobar', 'foo*'],
    ['foo.bar', 'foo.bar.baz'],
    ['', '>'],
    ['foo', ''],
  ];
  for (const [s, f] of yes) assert.equal(subjectMatchesFilter(s, f), true, `${s} ~ ${f}`);
  for (const [s, f] of no) assert.equal(subjectMatchesFilter(s, f), false, `${s} !~ ${f}`);
});

// Exhaustive check of overlap/subset against brute force over a small universe.
const PATTERN_TOKENS = ['a', 'b', '*', '>'];
const LITERAL_TOKENS = ['a', 'b', 'c']; // 'c' appears in no pattern: it tells '*' from a literal

function allPatterns(maxLen: number): string[] {
  const out: string[] = [];
  const rec = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('.'));
    if (prefix.length === maxLen || prefix[prefix.length - 1] === '>') return;
    for (const t of PATTERN_TOKENS) rec([...prefix, t]);
  };
  rec([]);
  return out;
}

function allLiterals(maxLen: number): string[] {
  const out: string[] = [];
  const rec = (prefix: string[]): void => {
    if (prefix.length > 0) out.push(prefix.join('.'));
    if (prefix.length === maxLen) return;
    for (const t of LITERAL_TOKENS) rec([...prefix, t]);
  };
  rec([]);
  return out;
}

/** Independent matcher on token arrays. */
function bruteMatch(subject: string, filter: string): boolean {
  const s = subject.split('.');
  const f = filter.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return s.length === f.length;
}

test('subjectsOverlap and subjectIsSubsetOf agree with brute force over all small patterns', () => {
  const patterns = allPatterns(3);
  const literals = allLiterals(4); // one token longer than any pattern: enough for a witness
  assert.equal(patterns.length, 52);
  const matchSets = new Map(patterns.map((p) => [p, literals.filter((s) => bruteMatch(s, p))]));
  for (const s of literals) for (const p of patterns) assert.equal(subjectMatchesFilter(s, p), bruteMatch(s, p), `${s} ~ ${p}`);
  for (const a of patterns) {
    const ma = matchSets.get(a)!;
    for (const b of patterns) {
      const mb = new Set(matchSets.get(b)!);
      const overlap = ma.some((s) => mb.has(s));
      const subset = ma.every((s) => mb.has(s));
      assert.equal(subjectsOverlap(a, b), overlap, `overlap(${a}, ${b})`);
      assert.equal(subjectIsSubsetOf(a, b), subset, `subset(${a}, ${b})`);
    }
  }
});

test('subjectsOverlap and subjectIsSubsetOf: named cases and invalid input', () => {
  assert.equal(subjectsOverlap('orders.*', 'orders.new'), true);
  assert.equal(subjectsOverlap('orders.>', 'orders'), false);
  assert.equal(subjectsOverlap('orders.*.eu', 'orders.us.*'), true);
  assert.equal(subjectsOverlap('a.b', 'a.c'), false);
  assert.equal(subjectsOverlap('foo..bar', 'foo..bar'), false);
  assert.equal(subjectIsSubsetOf('orders.new', 'orders.*'), true);
  assert.equal(subjectIsSubsetOf('orders.*', 'orders.>'), true);
  assert.equal(subjectIsSubsetOf('orders.>', 'orders.*'), false);
  assert.equal(subjectIsSubsetOf('orders.>', '>'), true);
  assert.equal(subjectIsSubsetOf('>', 'orders.>'), false);
  assert.equal(subjectIsSubsetOf('a', ''), false);
  assert.equal(subjectIsSubsetOf('a.>.b', '>'), false);
});

test('tokenAt is 1-based and returns "" out of range; numTokens', () => {
  assert.equal(tokenAt('a.bb.ccc', 1), 'a');
  assert.equal(tokenAt('a.bb.ccc', 2), 'bb');
  assert.equal(tokenAt('a.bb.ccc', 3), 'ccc');
  assert.equal(tokenAt('a.bb.ccc', 4), '');
  assert.equal(tokenAt('a.bb.ccc', 0), '');
  assert.equal(tokenAt('a.bb.ccc', -1), '');
  assert.equal(tokenAt('a.bb.ccc', 1.5), '');
  assert.equal(tokenAt('single', 1), 'single');
  assert.equal(tokenAt('', 1), '');
  assert.equal(numTokens(''), 0);
  assert.equal(numTokens('a'), 1);
  assert.equal(numTokens('a.b.>'), 3);
});
