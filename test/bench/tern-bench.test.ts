// `tern bench` against real servers: message counts checked by an
// independent client (the official nats.js), nats-bench's report and CSV
// format, queue groups, loss detection, request/reply, auth and TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startNatsServer, serverKinds, startServer } from '../helpers/servers.js';
import { ternBench, waitFor } from './helpers.js';

const RATE = '[\\d,]+ msgs/sec ~ [\\d.]+ [KMGT]?B/sec';

for (const kind of serverKinds()) {
  test(`${kind}: publishers send exactly -n messages, subscribers count them, report in nats-bench format`, async () => {
    const s = await startServer(kind);
    try {
      // An independent subscriber proves what the publishers really sent.
      const nc = await connect({ servers: s.url });
      let seen = 0;
      nc.subscribe(`tb.count.${kind}`, { callback: () => void seen++ });
      await nc.flush();
      const dir = mkdtempSync(join(tmpdir(), 'tern-bench-'));
      const csv = join(dir, 'out.csv');
      const r = await ternBench(['-s', s.url, '-np', '2', '-ns', '2', '-n', '20001', '-ms', '64', '-csv', csv, `tb.count.${kind}`]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(() => seen === 20001, 5000, `20001 messages (have ${seen})`);
      await nc.flush();
      assert.equal(seen, 20001);
      await nc.close();

      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines[0], `Starting benchmark [msgs=20001, msgsize=64, pubs=2, subs=2, queue=""]`);
      assert.match(lines[1]!, new RegExp(`^NATS Pub/Sub stats: ${RATE}$`));
      assert.match(lines[2]!, new RegExp(`^ Pub stats: ${RATE}$`));
      // MsgsPerClient split: the first publisher takes the odd message.
      assert.match(lines[3]!, new RegExp(`^  \\[1\\] ${RATE} \\(10001 msgs\\)$`));
      assert.match(lines[4]!, new RegExp(`^  \\[2\\] ${RATE} \\(10000 msgs\\)$`));
      assert.match(lines[5]!, /^  min [\d,]+ \| avg [\d,]+ \| max [\d,]+ \| stddev [\d,]+ msgs$/);
      assert.match(lines[6]!, new RegExp(`^ Sub stats: ${RATE}$`));
      assert.match(lines[7]!, new RegExp(`^  \\[1\\] ${RATE} \\(20001 msgs\\)$`));
      assert.match(lines[8]!, new RegExp(`^  \\[2\\] ${RATE} \\(20001 msgs\\)$`));
      assert.match(lines[9]!, /^  min [\d,]+ \| avg [\d,]+ \| max [\d,]+ \| stddev [\d,]+ msgs$/);
      assert.equal(lines[10], `Saved metric data in csv file ${csv}`);

      const rows = readFileSync(csv, 'utf8').trimEnd().split('\n');
      assert.equal(rows[0], '#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs');
      const byClient = new Map(rows.slice(1).map((l) => [l.split(',')[1]!, l.split(',')]));
      assert.deepEqual([...byClient.keys()].sort(), ['P0', 'P1', 'S0', 'S1']);
      assert.equal(byClient.get('P0')![2], '10001');
      assert.equal(byClient.get('S1')![2], '20001');
      assert.equal(byClient.get('S1')![3], String(20001 * 64));
      assert.ok(Number(byClient.get('S0')![4]) > 0);
    } finally {
      await s.stop();
    }
  });
}

test('pub only: the Pub stats line alone, and every message arrives intact at an outside subscriber', async () => {
  const s = await startNatsServer();
  try {
    const nc = await connect({ servers: s.url });
    let seen = 0;
    let badSize = 0;
    nc.subscribe('tb.pubonly', {
      callback: (_e, m) => {
        seen++;
        if (m.data.length !== 100) badSize++;
      },
    });
    await nc.flush();
    const r = await ternBench(['-s', s.url, '-n', '50000', '-ms', '100', 'tb.pubonly']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Starting benchmark \\[msgs=50000, msgsize=100, pubs=1, subs=0, queue=""\\]\\nPub stats: ${RATE}\\n$`));
    await waitFor(() => seen === 50000, 5000, 'all messages');
    assert.equal(badSize, 0);
    await nc.close();
  } finally {
    await s.stop();
  }
});

test('queue group: members share the messages, their counts add up to -n', async () => {
  const s = await startNatsServer();
  try {
    const r = await ternBench(['-s', s.url, '-np', '1', '-ns', '3', '-q', 'workers', '-n', '30000', 'tb.queue']);
    assert.equal(r.code, 0, r.stderr);
    const counts = [...r.stdout.matchAll(/^  \[(\d)\] [^(]*\((\d+) msgs\)$/gm)].map((m) => Number(m[2]));
    // one publisher line is not printed (single publisher); three member lines are.
    assert.equal(counts.length, 3, r.stdout);
    assert.equal(counts.reduce((a, b) => a + b, 0), 30000);
    for (const c of counts) assert.ok(c > 0 && c < 30000, `each member gets a share: ${counts.join(',')}`);
  } finally {
    await s.stop();
  }
});

test('subscriber only: counts an outside publisher, and lost messages fail the run (exit 1)', async () => {
  const s = await startNatsServer();
  try {
    const nc = await connect({ servers: s.url });
    // Complete: the probe message + 499 = 500 of 500.
    const ok = ternBench(['-s', s.url, '-np', '0', '-ns', '1', '-n', '500', '--timeout', '2s', 'tb.subonly']);
    await subscribedOn(s.url, 'tb.subonly');
    for (let i = 0; i < 499; i++) nc.publish('tb.subonly', 'x');
    await nc.flush();
    const r1 = await ok;
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, new RegExp(`^Sub stats: ${RATE}$`, 'm'));

    // Incomplete: probe + 498 = 499 of 500 must be an error naming the loss, not a rate.
    const lossy = ternBench(['-s', s.url, '-np', '0', '-ns', '1', '-n', '500', '--timeout', '1s', 'tb.lossy']);
    await subscribedOn(s.url, 'tb.lossy');
    for (let i = 0; i < 498; i++) nc.publish('tb.lossy', 'x');
    await nc.flush();
    const r2 = await lossy;
    assert.equal(r2.code, 1, r2.stdout);
    assert.match(r2.stderr, /got 499 of 500 messages .*messages lost/);
    assert.doesNotMatch(r2.stdout, /Sub stats/);
    await nc.close();
  } finally {
    await s.stop();
  }
});

/**
 * Waits until the server routes `subject` to a subscriber. Probes are requests:
 * with no interest the server answers no-responders at once (nothing delivered);
 * the first probe that is not refused has been delivered, so exactly one probe
 * message reaches the subscriber.
 */
async function subscribedOn(url: string, subject: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const end = Date.now() + 5000;
    for (;;) {
      const refused = await nc.request(subject, '', { timeout: 100 }).then(
        () => false,
        (e: Error) => /no responders/i.test(e.message),
      );
      if (!refused) return;
      if (Date.now() > end) throw new Error(`no subscriber on ${subject}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    await nc.close();
  }
}

test('request/reply mode prints req/s and p50/p90/p99', async () => {
  const s = await startNatsServer();
  try {
    const r = await ternBench(['-s', s.url, '-req', '-n', '300', '-ms', '32', 'tb.req']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^request\/reply \[n=300, size=32\]: \d+ req\/sec, p50=[\d.]+(ns|µs|ms) p90=[\d.]+(ns|µs|ms) p99=[\d.]+(ns|µs|ms) max=[\d.]+(ns|µs|ms|s)\n$/,
    );
  } finally {
    await s.stop();
  }
});

test('bad input gets a clear error and exit code 2; no server gives exit 1', async () => {
  const r1 = await ternBench(['-np', '1']);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /missing <subject>/);
  const r2 = await ternBench(['-ms', 'lots', 'x']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /-ms: 'lots' is not a size/);
  const r3 = await ternBench(['--frobnicate', 'x']);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /unknown flag --frobnicate/);
  const r4 = await ternBench(['-s', 'nats://127.0.0.1:1', '-n', '10', 'x']);
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, /cannot connect: nats:\/\/127\.0\.0\.1:1/);
});

test('--creds: NKey seed authentication against nats-server; without it the server refuses', async () => {
  const { createUser } = await import('@nats-io/nkeys');
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const dir = mkdtempSync(join(tmpdir(), 'tern-bench-creds-'));
  const conf = join(dir, 'auth.conf');
  writeFileSync(conf, `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`);
  const credsFile = join(dir, 'user.creds');
  writeFileSync(credsFile, `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`);
  const s = await startNatsServer({ args: ['-c', conf, '-a', '127.0.0.1', '-p', '-1'] });
  try {
    const ok = await ternBench(['-s', s.url, '--creds', credsFile, '-ns', '1', '-n', '1000', 'tb.creds']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Sub stats/);
    const denied = await ternBench(['-s', s.url, '-n', '10', 'tb.creds']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /Authorization Violation/i);
  } finally {
    await s.stop();
  }
});

test('user/password and token from the server URL', async () => {
  const s = await startNatsServer({ args: ['--user', 'bench', '--pass', 's3cret'] });
  try {
    const u = new URL(s.url);
    const ok = await ternBench(['-s', `nats://bench:s3cret@${u.host}`, '-ns', '1', '-n', '500', 'tb.userpass']);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await ternBench(['-s', `nats://bench:wrong@${u.host}`, '-n', '10', 'tb.userpass']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Authorization Violation/i);
  } finally {
    await s.stop();
  }
  const t = await startNatsServer({ args: ['--auth', 'tok123'] });
  try {
    const u = new URL(t.url);
    const ok = await ternBench(['-s', `nats://tok123@${u.host}`, '-n', '500', 'tb.token']);
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await t.stop();
  }
});

test('--tls: upgrades after INFO and verifies the server against --tlsca', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-bench-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
  } catch {
    t.skip('openssl not available to make a test certificate');
    return;
  }
  const s = await startNatsServer({ args: ['--tls', '--tlscert', cert, '--tlskey', key] });
  try {
    const ok = await ternBench(['-s', s.url, '--tls', '--tlsca', cert, '-ns', '1', '-n', '2000', 'tb.tls']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Sub stats/);
    // Not trusting the self-signed certificate must fail the handshake.
    const untrusted = await ternBench(['-s', s.url, '--tls', '-n', '10', 'tb.tls']);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /TLS handshake/);
  } finally {
    await s.stop();
  }
});
