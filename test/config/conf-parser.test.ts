// The config file parser on real files: every syntax feature and every error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfFile, toPlain, type ConfMap } from '../../src/config/conf-parser.js';

const dir = mkdtempSync(join(tmpdir(), 'tern-conf-'));
let n = 0;

function file(text: string, name = `c${n++}.conf`): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function parse(text: string, env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  return toPlain(parseConfFile(file(text), { env })) as Record<string, unknown>;
}

function parseError(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  const p = file(text);
  try {
    parseConfFile(p, { env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${p}:`), `error should name the file: ${e.message}`);
    return e;
  }
  assert.fail(`expected a parse error for:\n${text}`);
}

test('key separators: colon, equals, whitespace; optional ; and , terminators', () => {
  assert.deepEqual(parse('a: 1\nb = 2\nc 3\nd: 4; e: 5, f: 6\n'), { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
});

test('comments with # and //, including after values', () => {
  assert.deepEqual(parse('# top\n// also\na: 1 # trailing\nb: x // trailing\n  # indented\n'), { a: 1, b: 'x' });
});

test('quoted strings: single quotes are raw, double quotes take escapes', () => {
  const v = parse(`a: 'x\\ty # not a comment'\nb: "t\\tn\\nq\\"b\\\\x\\x41"\n"quoted key": 1\n'sq key' = 2\n`);
  assert.deepEqual(v, { a: 'x\\ty # not a comment', b: 't\tn\nq"b\\xA', 'quoted key': 1, 'sq key': 2 });
});

test('bare strings, URLs and host:port stay strings', () => {
  const v = parse('a: hello\nb: nats://u:p@host:4222\nlisten: 127.0.0.1:4222\nc: 10.0.0.1\nd: localhost:4222\ne: foo.bar.>\n');
  assert.deepEqual(v, { a: 'hello', b: 'nats://u:p@host:4222', listen: '127.0.0.1:4222', c: '10.0.0.1', d: 'localhost:4222', e: 'foo.bar.>' });
});

test('numbers: integers, negatives, floats', () => {
  assert.deepEqual(parse('a: 42\nb: -1\nc: 1.5\nd: -0.25\ne: 0\n'), { a: 42, b: -1, c: 1.5, d: -0.25, e: 0 });
});

test('size suffixes: k=1000, kb/ki/kib=1024, m/mb, g/gb, t/tb, case-insensitive', () => {
  const v = parse('a: 1k\nb: 1kb\nc: 1KiB\nd: 2m\ne: 2MB\nf: 1g\ng: 1GB\nh: 1t\ni: 1TB\nj: 4Ki\n');
  assert.deepEqual(v, {
    a: 1000,
    b: 1024,
    c: 1024,
    d: 2_000_000,
    e: 2 * 1024 * 1024,
    f: 1e9,
    g: 1024 ** 3,
    h: 1e12,
    i: 1024 ** 4,
    j: 4096,
  });
});

test('a digit-led word that is not a size is a string: durations such as 10s, 1h30m, 500ms', () => {
  assert.deepEqual(parse('a: 10s\nb: 1h30m\nc: 500ms\nd: "2m"\n'), { a: '10s', b: '1h30m', c: '500ms', d: '2m' });
});

test('booleans: true/yes/on and false/no/off in any case', () => {
  const v = parse('a: true\nb: YES\nc: on\nd: false\ne: no\nf: Off\ng: "true"\n');
  assert.deepEqual(v, { a: true, b: true, c: true, d: false, e: false, f: false, g: 'true' });
});

test('datetimes in Zulu form', () => {
  const v = parse('a: 2024-01-02T03:04:05Z\n');
  assert.ok(v.a instanceof Date);
  assert.equal((v.a as Date).toISOString(), '2024-01-02T03:04:05.000Z');
});

test('maps and arrays, nested, multi-line and single-line', () => {
  const v = parse(`
authorization {
  users = [
    {user: a, password: b}
    {user: "c", password: 'd', permissions: {publish: ["x", "y.>"], subscribe: {allow: "z", deny: [q]}}},
  ]
}
list: [1, 2, 3]
empty_map {}
empty_list: []
`);
  assert.deepEqual(v, {
    authorization: {
      users: [
        { user: 'a', password: 'b' },
        { user: 'c', password: 'd', permissions: { publish: ['x', 'y.>'], subscribe: { allow: 'z', deny: ['q'] } } },
      ],
    },
    list: [1, 2, 3],
    empty_map: {},
    empty_list: [],
  });
});

test('a JSON document wrapped in braces', () => {
  assert.deepEqual(parse('{\n  "port": 4222,\n  "cluster": {"name": "c", "routes": ["nats://a:1"]}\n}\n'), {
    port: 4222,
    cluster: { name: 'c', routes: ['nats://a:1'] },
  });
});

test('block strings between ( and a ) on its own line', () => {
  assert.deepEqual(parse('a (\nline one\n  line two\n)\nb: 1\n'), { a: '\nline one\n  line two', b: 1 });
});

test('later definitions of a key replace earlier ones', () => {
  assert.deepEqual(parse('a: 1\na: 2\n'), { a: 2 });
});

test('variables: from an earlier key, from an enclosing block, else from the environment', () => {
  const v = parse('SIZE = 2MB\nmax_payload: $SIZE\nouter {\n  inner: 7\n  deep { v: $inner, w: $SIZE }\n}\nfrom_env: $TERN_TEST_VAR\n', {
    TERN_TEST_VAR: '64KB',
  });
  assert.equal(v.max_payload, 2 * 1024 * 1024);
  assert.deepEqual(v.outer, { inner: 7, deep: { v: 7, w: 2 * 1024 * 1024 } });
  assert.equal(v.from_env, 64 * 1024, 'environment values are parsed like config values');
});

test('variables are marked as used so that the loader can skip them', () => {
  const tree: ConfMap = parseConfFile(file('X = 1\nY = 2\nport: $X\n'), { env: {} });
  assert.equal(tree.entries.get('X')!.usedAsVariable, true);
  assert.equal(tree.entries.get('Y')!.usedAsVariable, false);
});

test('unquoted bcrypt hashes are strings, not variables', () => {
  const hash = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG';
  assert.deepEqual(parse(`password: ${hash}\n`), { password: hash });
});

test('include merges a file relative to the including file, also inside blocks', () => {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'auth.conf'), 'user: u\npassword: p\n');
  writeFileSync(join(dir, 'sub', 'main.conf'), "port: 1\ninclude 'top.conf'\nauthorization {\n  include auth.conf\n}\n");
  writeFileSync(join(dir, 'sub', 'top.conf'), 'debug: true\n');
  const v = toPlain(parseConfFile(join(dir, 'sub', 'main.conf'), { env: {} }));
  assert.deepEqual(v, { port: 1, debug: true, authorization: { user: 'u', password: 'p' } });
});

test('errors name file, line and column', () => {
  const e = parseError('port: 1\n  foo: {\n');
  assert.equal(e.pos?.line, 3);
  assert.match(e.message, /Unexpected EOF processing map/);

  const u = parseError('a: 1\nb: $NOPE\n');
  assert.equal(u.pos?.line, 2);
  assert.equal(u.pos?.column, 4);
  assert.match(u.message, /:2:4: variable reference for 'NOPE' can not be found$/);
});

test('syntax error messages', () => {
  const cases: [string, RegExp][] = [
    ['a: 1 2\n', /Expected a top-level value to end with a new line, comment or EOF, but got '2' instead/],
    ['m { a: 1 b }\n', /Expected a map value terminator ',' or a map terminator '}', but got 'b' instead/],
    ['a: [1 2]\n', /Expected an array value terminator ',' or an array terminator '\]', but got '2' instead/],
    ['a: [, 1]\n', /Unexpected array value terminator ','/],
    ['a: [1, 2\n', /Unexpected EOF processing array/],
    ['= 1\n', /Unexpected key separator '='/],
    ['a: "open\n', /Unexpected EOF in quoted string/],
    ["a: 'open\n", /Unexpected EOF in quoted string/],
    ['a: "\\q"\n', /Invalid escape character 'q'/],
    ['a: "\\xZZ"\n', /Expected two hexadecimal digits after '\\x', but got 'ZZ'/],
    ['a: .5\n', /Floats must start with a digit/],
    ['a: 1.x\n', /Floats must have a digit after the '.', but got 'x' instead/],
    ['a: -x\n', /Expected a digit but got 'x'/],
    ['a: 12-01\n', /All ISO8601 dates must be in full Zulu form/],
    ['a: 2024-01-02 03\n', /Expected 'T' in ISO8601 datetime, but found ' ' instead/],
    ['a: 99999999999999999999\n', /integer '99999999999999999999' is out of the range/],
    ['a: 1kbi\n', /invalid size suffix 'kbi'/],
    ['a:\n1\n', /Expected a value for key 'a' but found new line/],
    ['a\n', /Expected a value for key 'a' but found EOF/],
    ['a: (\nno end\n', /Unexpected EOF processing block/],
    ['}\n', /Unexpected '}' without a matching '\{'/],
    ['m { ] }\n', /Unexpected array end '\]' processing map/],
    ['{ a: 1 } b\n', /Unexpected 'b' after the closing '\}' of the configuration/],
    ['include [x]\n', /Expected include value but found start of an array/],
    ["include 'missing.conf'\n", /error opening include file 'missing.conf'/],
    ['a: $X\n', /variable reference cycle for 'X'/],
  ];
  for (const [text, re] of cases) {
    const e = parseError(text, { X: '$X' });
    assert.match(e.message, re, `for ${JSON.stringify(text)}`);
    assert.ok(e.pos && e.pos.line >= 1 && e.pos.column >= 1, `position for ${JSON.stringify(text)}`);
  }
});

test('an include cycle is an error, not a hang', () => {
  writeFileSync(join(dir, 'loop-a.conf'), "include 'loop-b.conf'\n");
  writeFileSync(join(dir, 'loop-b.conf'), "include 'loop-a.conf'\n");
  assert.throws(() => parseConfFile(join(dir, 'loop-a.conf')), /include cycle/);
});

test('errors inside an included file name that file', () => {
  writeFileSync(join(dir, 'bad-inc.conf'), 'x: [\n');
  const p = file("a: 1\ninclude 'bad-inc.conf'\n");
  assert.throws(() => parseConfFile(p), (e: unknown) => e instanceof ConfigError && e.message.startsWith(join(dir, 'bad-inc.conf') + ':'));
});

test('a missing config file is a clear error', () => {
  assert.throws(() => parseConfFile(join(dir, 'nope.conf')), /error opening config file .*nope\.conf: no such file or directory/);
});
