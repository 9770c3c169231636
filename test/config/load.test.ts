// Config file + flags -> ServerOptions: key handling, overrides and validation errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/config/flags.js';
import { ConfigErrors, loadOptions, type LoadResult } from '../../src/config/load.js';
import { defaultOptions } from '../../src/config/options.js';

const dir = mkdtempSync(join(tmpdir(), 'tern-load-'));
let n = 0;

function conf(text: string): string {
  const p = join(dir, `l${n++}.conf`);
  writeFileSync(p, text);
  return p;
}

function load(text: string | undefined, argv: string[] = []): LoadResult {
  const flags = parseFlags(argv).values;
  if (text !== undefined) flags.configFile = conf(text);
  return loadOptions({ flags, env: {} });
}

function errors(text: string | undefined, argv: string[] = []): string[] {
  try {
    load(text, argv);
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, String(e));
    return e.errors.map((x) => x.message);
  }
  assert.fail('expected configuration errors');
}

test('no file, no flags: nats-server defaults on 0.0.0.0:4222', () => {
  const o = load(undefined).options;
  assert.deepEqual(o, defaultOptions());
  assert.equal(o.host, '0.0.0.0');
  assert.equal(o.port, 4222);
  assert.equal(o.httpPort, 0);
});

test('top-level keys', () => {
  const o = load(`
listen: 127.0.0.1:4333
server_name: s1
client_advertise: "example.com:4333"
http: 127.0.0.1:8333
max_payload: 2MB
max_pending: 32MB
max_control_line: 8KB
max_connections: 100
max_subs: 50
ping_interval: "30s"
ping_max: 3
write_deadline: "2s"
debug: true
trace: true
logtime: false
logfile: /tmp/t.log
pid_file: /tmp/t.pid
ports_file_dir: /tmp
no_header_support: true
lame_duck_duration: "1m"
lame_duck_grace_period: "5s"
`).options;
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.port, 4333);
  assert.equal(o.serverName, 's1');
  assert.equal(o.clientAdvertise, 'example.com:4333');
  assert.equal(o.httpHost, '127.0.0.1');
  assert.equal(o.httpPort, 8333);
  assert.equal(o.maxPayload, 2 * 1024 * 1024);
  assert.equal(o.maxPending, 32 * 1024 * 1024);
  assert.equal(o.maxControlLine, 8192);
  assert.equal(o.maxConnections, 100);
  assert.equal(o.maxSubscriptions, 50);
  assert.equal(o.pingInterval, 30_000);
  assert.equal(o.pingMax, 3);
  assert.equal(o.writeDeadline, 2000);
  assert.equal(o.debug, true);
  assert.equal(o.trace, true);
  assert.equal(o.logtime, false);
  assert.equal(o.logFile, '/tmp/t.log');
  assert.equal(o.pidFile, '/tmp/t.pid');
  assert.equal(o.portsFileDir, '/tmp');
  assert.equal(o.noHeaderSupport, true);
  assert.equal(o.lameDuckDuration, 60_000);
  assert.equal(o.lameDuckGracePeriod, 5000);
});

test('aliases: host/net, http_port/monitor_port, max_conn, pidfile, log_file', () => {
  const o = load('net: 10.1.1.1\nport: 1\nmonitor_port: 8444\nmax_conn: 7\npidfile: a.pid\nlog_file: a.log\n').options;
  assert.equal(o.host, '10.1.1.1');
  assert.equal(o.httpHost, '10.1.1.1', 'monitoring binds to the client host unless told otherwise');
  assert.equal(o.httpPort, 8444);
  assert.equal(o.maxConnections, 7);
  assert.equal(o.pidFile, 'a.pid');
  assert.equal(o.logFile, 'a.log');
});

test('a bare number on a duration key is seconds, with a warning', () => {
  const r = load('ping_interval: 45\n');
  assert.equal(r.options.pingInterval, 45_000);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!.message, /:1:1: invalid use of field "ping_interval": ping_interval should be converted to a duration/);
});

test('authorization: single user, token, users with permissions', () => {
  const a = load('authorization { user: u, password: p, timeout: 3 }\n').options.authorization;
  assert.deepEqual(a, { user: 'u', password: 'p', timeout: 3000 });
  assert.deepEqual(load('authorization { token: s3cr3t }\n').options.authorization, { token: 's3cr3t' });
  const o = load(`
authorization {
  default_permissions { publish: "_INBOX.>" }
  users = [
    { user: alice, password: "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG",
      permissions: { publish: { allow: ["a.>"], deny: "a.secret" }, subscribe: ["b", "c.*"], allow_responses: { max: 5, expires: "1m" } } }
    { user: bob, password: b }
  ]
}
no_auth_user: bob
`).options;
  assert.equal(o.noAuthUser, 'bob');
  assert.deepEqual(o.authorization.users, [
    {
      user: 'alice',
      password: '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG',
      permissions: {
        publish: { allow: ['a.>'], deny: ['a.secret'] },
        subscribe: { allow: ['b', 'c.*'] },
        allowResponses: { maxMsgs: 5, expiresMs: 60_000 },
      },
    },
    { user: 'bob', password: 'b', permissions: { publish: { allow: ['_INBOX.>'] } } },
  ]);
});

test('tls block', () => {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, 'x');
  writeFileSync(key, 'y');
  const o = load(`tls { cert_file: "${cert}", key_file: "${key}", ca_file: "${cert}", verify: true, timeout: 5 }\n`).options;
  assert.deepEqual(o.tls, { certFile: cert, keyFile: key, caFile: cert, verify: true, timeout: 5000 });
});

test('cluster block', () => {
  const c = load(`
cluster {
  name: east
  listen: 0.0.0.0:6333
  routes = [ nats-route://r:p@10.0.0.2:6333, "nats://10.0.0.3:6333" ]
  advertise: "10.0.0.1:6333"
  no_advertise: true
  connect_retries: 5
  pool_size: 4
  authorization { user: r, password: p, timeout: 1 }
}
`).options.cluster;
  assert.deepEqual(c, {
    name: 'east',
    host: '0.0.0.0',
    port: 6333,
    advertise: '10.0.0.1:6333',
    noAdvertise: true,
    routes: ['nats-route://r:p@10.0.0.2:6333', 'nats://10.0.0.3:6333'],
    connectRetries: 5,
    poolSize: 4,
    authorization: { user: 'r', password: 'p', timeout: 1000 },
  });
  const hp = load('cluster { host: 127.0.0.1, port: -1 }\n').options.cluster!;
  assert.equal(hp.host, '127.0.0.1');
  assert.equal(hp.port, -1);
});

test('jetstream: boolean, "enabled", or a block', () => {
  assert.equal(load('jetstream: true\n').options.jetstream.enabled, true);
  assert.equal(load('jetstream: enabled\n').options.jetstream.enabled, true);
  assert.equal(load('jetstream: disabled\n').options.jetstream.enabled, false);
  const js = load('jetstream { store_dir: "/data/js", max_memory_store: 1GB, max_file_store: "10G", sync_interval: always }\n').options.jetstream;
  assert.deepEqual(js, { enabled: true, storeDir: '/data/js', maxMemoryStore: 1024 ** 3, maxFileStore: 10e9, syncInterval: 'always' });
  assert.equal(load('jetstream { sync_interval: "30s" }\n').options.jetstream.syncInterval, 30_000);
  assert.equal(load('jetstream { enabled: false }\n').options.jetstream.enabled, false);
  assert.notEqual(load('jetstream: true\n').options.jetstream.storeDir, '', 'a default store dir is filled in');
});

test('flags override the file', () => {
  const o = load('port: 4333\nhost: 10.0.0.1\ndebug: false\nmax_payload: 1KB\n', ['-p', '5444', '-a', '127.0.0.1', '-D', '--max_payload', '2KB']).options;
  assert.equal(o.port, 5444);
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.debug, true);
  assert.equal(o.maxPayload, 2048);
});

test('flags alone: auth, tls, cluster, jetstream, monitoring', () => {
  const cert = join(dir, 'fcert.pem');
  writeFileSync(cert, 'x');
  const o = load(undefined, [
    '--user', 'u', '--pass', 'p', '--tlscert', cert, '--tlskey', cert, '--tlsverify', '--cluster', 'nats://ru:rp@127.0.0.1:-1',
    '--routes', 'nats://127.0.0.1:7001, nats://127.0.0.1:7002', '--cluster_name', 'C', '--no_advertise', '-js', '-sd', '/tmp/sd',
    '-m', '-1', '-p', '0',
  ]).options;
  assert.equal(o.authorization.user, 'u');
  assert.equal(o.authorization.password, 'p');
  assert.deepEqual(o.tls, { certFile: cert, keyFile: cert, verify: true, timeout: 2000 });
  assert.equal(o.cluster!.host, '127.0.0.1');
  assert.equal(o.cluster!.port, -1);
  assert.deepEqual(o.cluster!.authorization, { user: 'ru', password: 'rp' });
  assert.deepEqual(o.cluster!.routes, ['nats://127.0.0.1:7001', 'nats://127.0.0.1:7002']);
  assert.equal(o.cluster!.name, 'C');
  assert.equal(o.cluster!.noAdvertise, true);
  assert.deepEqual([o.jetstream.enabled, o.jetstream.storeDir], [true, '/tmp/sd']);
  assert.equal(o.httpPort, -1);
  assert.equal(o.port, 4222, 'port 0 means the default port, as nats-server');
});

test('keys nats-server accepts that Tern ignores are notices, not errors', () => {
  const r = load('websocket { port: 8080 }\nsyslog: true\n');
  assert.equal(r.notices.length, 2);
  assert.match(r.notices[0]!.message, /:1:1: websocket is accepted for nats-server compatibility but not supported by Tern; ignored/);
});

test('validation errors name key, file and line', () => {
  const cases: [string, RegExp][] = [
    ['port: 1\nfoo: bar\n', /:2:1: unknown field "foo"$/],
    ['port: "x"\n', /:1:1: port: expected a port number, got string "x"$/],
    ['port: 70000\n', /:1:1: port: port 70000 is out of range/],
    ['listen: "nohostport"\n', /:1:1: listen: could not parse address string "nohostport"/],
    ['max_payload: 100MB\nmax_pending: 1MB\n', /:1:1: max_payload \(104857600\) cannot be higher than max_pending \(1048576\)$/],
    ['max_payload: 4GB\n', /:1:1: max_payload value is too big/],
    ['max_pending: -5\n', /:1:1: max_pending: size can not be negative \(-5\)$/],
    ['debug: 3\n', /:1:1: debug: expected a boolean/],
    ['ping_interval: "soon"\n', /:1:1: error parsing ping_interval: time: invalid duration "soon"$/],
    ['server_name: "a b"\n', /server name cannot contain spaces/],
    ['lame_duck_duration: "10s"\n', /invalid lame_duck_duration of 10s, minimum is 30 seconds/],
    ['lame_duck_duration: "30s"\nlame_duck_grace_period: "40s"\n', /lame duck grace period \(40s\) should be strictly lower than lame duck duration \(30s\)/],
    ['authorization { user: a, password: b, token: c }\n', /:1:1: authorization: Cannot have a user\/pass and token$/],
    ['authorization { user: a, users: [{user: b}] }\n', /Can not have a single user\/pass and a users array/],
    ['authorization { users: [{user: b}, {user: b}] }\n', /Duplicate user "b" detected/],
    ['authorization { users: [{password: x}] }\n', /authorization\.users\[0\]: user entry without "user"/],
    ['authorization { users: [{user: a, colour: red}] }\n', /:1:35: unknown field "authorization\.users\[0\]\.colour"$/],
    ['authorization { users: [ {user: a, permissions: { publish: 5 }} ] }\n', /:1:51: authorization\.users\[0\]\.permissions\.publish: expected a subject, a list of subjects or \{ allow, deny \}, got integer 5$/],
    ['authorization { users: [{user: a}] }\nno_auth_user: zed\n', /:2:1: no_auth_user: "zed" not present as user/],
    ['tls { key_file: x }\n', /missing 'cert_file' in tls config|error reading "x"/],
    ['tls { cert_file: "/nonexistent/c.pem", key_file: "/nonexistent/k.pem" }\n', /tls\.cert_file: error reading "\/nonexistent\/c\.pem": no such file or directory/],
    ['cluster { name: "a b", listen: 6222 }\n', /cluster name cannot contain spaces/],
    ['cluster { listen: 6222, routes: ["not a url"] }\n', /error parsing route url "not a url"/],
    ['cluster { listen: 6222, authorization { users: [{user: a}] } }\n', /Cluster authorization does not allow multiple users/],
    ['cluster { name: x }\n', /cluster: a listen address is required/],
    ['cluster { listen: 6222, bogus: 1 }\n', /unknown field "cluster\.bogus"/],
    ['jetstream: maybe\n', /jetstream: Expected 'enabled' or 'disabled' for string value, got 'maybe'/],
    ['jetstream { max_file_store: -7 }\n', /jetstream\.max_file_store: size can not be negative/],
    ['store_dir: /a\njetstream { store_dir: /b }\n', /Duplicate 'store_dir' configuration/],
    ['accounts { A: { users: [{user: a}] } }\n', /accounts: accounts are not supported by Tern/],
    ['http: "x"\n', /http: could not parse address string "x"/],
  ];
  for (const [text, re] of cases) {
    const errs = errors(text);
    assert.ok(errs.some((m) => re.test(m)), `${JSON.stringify(text)} gave:\n${errs.join('\n')}`);
  }
});

test('all errors of a file are reported together', () => {
  const errs = errors('foo: 1\nport: "x"\nbar: 2\n');
  assert.equal(errs.length, 3);
});

test('a key that is only a variable definition is not an unknown field', () => {
  assert.equal(load('MY_PORT = 4999\nport: $MY_PORT\n').options.port, 4999);
  assert.match(errors('UNUSED = 1\n')[0]!, /unknown field "UNUSED"/);
});

test('flag errors after merging', () => {
  assert.match(errors(undefined, ['--routes', 'nats://a:1'])[0]!, /solicited routes require cluster capabilities, e.g. --cluster/);
  assert.match(errors(undefined, ['--tls'])[0]!, /TLS Server certificate must be present and valid/);
  assert.match(errors(undefined, ['--cluster_name', 'x'])[0]!, /--cluster_name requires a cluster/);
  assert.match(errors(undefined, ['-p', '70000'])[0]!, /port: port 70000 is out of range/);
  assert.match(errors(undefined, ['--cluster', 'nats://host'])[0]!, /missing port/);
  assert.match(errors('max_pending: 1KB\n', ['--max_payload', '2KB'])[0]!, /max_payload \(2048\) cannot be higher than max_pending \(1024\)/);
});
