// nats-server flag syntax as Go's flag package parses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags } from '../../src/config/flags.js';

test('short, long, single-dash long and = forms', () => {
  assert.deepEqual(parseFlags(['-p', '4333']).values, { port: 4333 });
  assert.deepEqual(parseFlags(['-p=4333']).values, { port: 4333 });
  assert.deepEqual(parseFlags(['--port', '4333']).values, { port: 4333 });
  assert.deepEqual(parseFlags(['--port=4333']).values, { port: 4333 });
  assert.deepEqual(parseFlags(['-port', '4333']).values, { port: 4333 });
  assert.deepEqual(parseFlags(['-p', '-1']).values, { port: -1 });
});

test('aliases map to the same option', () => {
  for (const f of ['-a', '--addr', '--net']) assert.deepEqual(parseFlags([f, '127.0.0.1']).values, { host: '127.0.0.1' });
  for (const f of ['-n', '--name', '--server_name']) assert.deepEqual(parseFlags([f, 'S']).values, { serverName: 'S' });
  for (const f of ['-m', '--http_port']) assert.deepEqual(parseFlags([f, '8333']).values, { httpPort: 8333 });
  for (const f of ['-c', '--config']) assert.deepEqual(parseFlags([f, 'x.conf']).values, { configFile: 'x.conf' });
  for (const f of ['-P', '--pid']) assert.deepEqual(parseFlags([f, 'p.pid']).values, { pidFile: 'p.pid' });
  for (const f of ['-l', '--log']) assert.deepEqual(parseFlags([f, 'x.log']).values, { logFile: 'x.log' });
  for (const f of ['-js', '--jetstream']) assert.deepEqual(parseFlags([f]).values, { jetstream: true });
  for (const f of ['-sd', '--store_dir']) assert.deepEqual(parseFlags([f, '/d']).values, { storeDir: '/d' });
  for (const f of ['-sl', '--signal']) assert.deepEqual(parseFlags([f, 'reload=12']).values, { signal: 'reload=12' });
  for (const f of ['--cluster', '--cluster_listen']) {
    assert.deepEqual(parseFlags([f, 'nats://0.0.0.0:6222']).values, { clusterListen: 'nats://0.0.0.0:6222' });
  }
});

test('boolean flags take a value only through =', () => {
  assert.deepEqual(parseFlags(['-D']).values, { debug: true });
  assert.deepEqual(parseFlags(['-T=false']).values, { logtime: false });
  assert.deepEqual(parseFlags(['--logtime=0']).values, { logtime: false });
  assert.deepEqual(parseFlags(['-DV']).values, { debug: true, trace: true });
  assert.deepEqual(parseFlags(['-DVV']).values, { debug: true, trace: true });
  assert.deepEqual(parseFlags(['-VV']).values, { trace: true });
  assert.deepEqual(parseFlags(['--no_advertise']).values, { noAdvertise: true });
  // As Go: `-D false` stops flag parsing at "false".
  assert.deepEqual(parseFlags(['-D', 'false', '-p', '1']), { values: { debug: true }, rest: ['false', '-p', '1'] });
});

test('many flags together; parsing stops at -- and at the first positional argument', () => {
  const r = parseFlags(['-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', '/tmp/x', '-js', '--', '-p', '9']);
  assert.deepEqual(r.values, { host: '127.0.0.1', port: -1, portsFileDir: '/tmp/x', jetstream: true });
  assert.deepEqual(r.rest, ['-p', '9']);
  assert.deepEqual(parseFlags(['version']).rest, ['version']);
});

test('--max_payload takes sizes', () => {
  assert.deepEqual(parseFlags(['--max_payload', '2MB']).values, { maxPayload: 2 * 1024 * 1024 });
  assert.deepEqual(parseFlags(['--max_payload=4096']).values, { maxPayload: 4096 });
});

test('TLS, auth and cluster flags', () => {
  const r = parseFlags([
    '--user', 'u', '--pass', 'p', '--auth', 't', '--tls', '--tlscert', 'c.pem', '--tlskey', 'k.pem', '--tlsverify',
    '--tlscacert', 'ca.pem', '--routes', 'nats://a:1,nats://b:2', '--cluster_name', 'C', '--cluster_advertise', 'h:1',
    '--connect_retries', '3', '--client_advertise', 'x:1', '--http', '127.0.0.1:8222',
  ]);
  assert.deepEqual(r.values, {
    user: 'u', pass: 'p', auth: 't', tls: true, tlsCert: 'c.pem', tlsKey: 'k.pem', tlsVerify: true, tlsCaCert: 'ca.pem',
    routes: 'nats://a:1,nats://b:2', clusterName: 'C', clusterAdvertise: 'h:1', connectRetries: 3, clientAdvertise: 'x:1',
    http: '127.0.0.1:8222',
  });
});

test('errors name the flag', () => {
  const cases: [string[], string][] = [
    [['--bogus'], 'flag provided but not defined: -bogus'],
    [['-p', 'abc'], 'invalid value "abc" for flag -p: parse error'],
    [['--port=4x'], 'invalid value "4x" for flag -port: parse error'],
    [['-p'], 'flag needs an argument: -p'],
    [['-D=maybe'], 'invalid boolean value "maybe" for flag -D: parse error'],
    [['--max_payload', 'lots'], 'invalid value "lots" for flag -max_payload: expected a size such as 1048576, 64KB or 8MB'],
    [['---p'], 'bad flag syntax: ---p'],
  ];
  for (const [argv, msg] of cases) {
    assert.throws(() => parseFlags(argv), (e: unknown) => e instanceof FlagError && e.message === msg, argv.join(' '));
  }
});
