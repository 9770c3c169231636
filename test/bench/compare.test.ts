// bench:compare's machinery end to end, small: one pattern in --quick mode,
// two interleaved rounds against Tern and the reference nats-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCompare } from '../../scripts/bench-lib/compare.js';
import { renderMarkdown } from '../../scripts/bench-lib/markdown.js';
import { goDurationMicros, parseLatency, parseRates } from '../../scripts/bench-lib/loadgen.js';
import { NATS_SERVER_BIN } from '../helpers/servers.js';

test('bench:compare --quick on 1:1 pub/sub: both servers measured, ratio computed, nothing lost', { timeout: 120_000 }, async () => {
  const log: string[] = [];
  const report = await runCompare(
    {
      rounds: 2,
      quick: true,
      patterns: ['pubsub128'],
      pin: false,
      natsServerBin: NATS_SERVER_BIN,
      connections: 100,
      startups: 1,
      log: (l) => log.push(l),
    },
    'test',
  );
  assert.deepEqual(report.failures, [], log.join('\n'));
  assert.equal(report.patterns.length, 1);
  const p = report.patterns[0]!;
  assert.equal(p.id, 'pubsub128');
  // Interleaved: round 0 tern first, round 1 nats-server first.
  assert.deepEqual(
    p.runs.map((r) => `${r.round}:${r.kind}`),
    ['0:tern', '0:nats-server', '1:nats-server', '1:tern'],
  );
  for (const r of p.runs) {
    assert.ok(r.ok, r.error);
    assert.ok(r.rate! > 1000, `${r.kind} rate ${r.rate}`);
    assert.ok(r.cpuUsPerMsg! > 0, `${r.kind} CPU per message ${r.cpuUsPerMsg}`);
    assert.ok(r.peakRssKb! > 1000);
  }
  assert.equal(p.tern.rate.n, 2);
  assert.equal(p.nats.rate.n, 2);
  const ratios = [0, 1].map((round) => {
    const t = p.runs.find((r) => r.round === round && r.kind === 'tern')!;
    const n = p.runs.find((r) => r.round === round && r.kind === 'nats-server')!;
    return t.rate! / n.rate!;
  });
  assert.ok(Math.abs(p.rateRatio - (ratios[0]! + ratios[1]!) / 2) < 1e-9, 'median of two per-round ratios');
  assert.equal(report.startup, undefined);
  assert.match(report.meta.natsServerVersion, /v2\.\d+\.\d+/);
  const md = renderMarkdown(report);
  assert.match(md, /\| 1:1 pub\/sub, 128 B \| [\d.]+ [Mk]? ?\(IQR [^)]*\) \| [\d.]+ [Mk]? ?\(IQR [^)]*\) \| [\d.]+× \|/);
});

test('bench:compare --quick cross-node and JetStream patterns: clusters and -js servers per run, both measured', { timeout: 180_000 }, async () => {
  const log: string[] = [];
  const report = await runCompare(
    {
      rounds: 1,
      quick: true,
      patterns: ['cross-node', 'js-pub', 'js-consume'],
      pin: false,
      natsServerBin: NATS_SERVER_BIN,
      connections: 100,
      startups: 1,
      log: (l) => log.push(l),
    },
    'test',
  );
  assert.deepEqual(report.failures, [], log.join('\n'));
  assert.deepEqual(report.patterns.map((p) => p.id), ['cross-node', 'js-pub', 'js-consume']);
  for (const p of report.patterns) {
    for (const r of p.runs) {
      assert.ok(r.ok, r.error);
      assert.ok(r.rate! > 100, `${p.id} ${r.kind} rate ${r.rate}`);
      assert.ok(r.cpuUsPerMsg! > 0, `${p.id} ${r.kind} CPU per message`);
    }
    assert.ok(p.rateRatio > 0 && Number.isFinite(p.rateRatio), `${p.id} ratio ${p.rateRatio}`);
  }
  const [cross, pub, consume] = report.patterns;
  // Two load generators on two nodes; the subscriber's rate is the one reported.
  assert.match(cross!.runs[0]!.command, /-np 0 -ns 1 .*\(node B\) & .*-np 1 -ns 0 .*\(node A\)/);
  assert.match(cross!.runs[0]!.output!, /Sub stats: /);
  // Counted messages are PubAck'd / received-and-acked ones, verified by the generator.
  assert.match(pub!.runs[0]!.output!, /PubAcks: 20000 of 20000, stream sequences 1\.\.20000/);
  assert.match(consume!.runs[0]!.output!, /Received 20000 of 20000, all acked \(ack floor 20000, 0 pending, 0 redelivered\)/);
  assert.match(renderMarkdown(report), /\| JetStream durable consume, explicit acks, fetch 500 \| [\d.]+ [Mk]? ?\| [\d.]+ [Mk]? ?\| [\d.]+× \|/);
});

test('bench:compare start-up and idle-connection memory for both servers', { timeout: 60_000 }, async () => {
  const report = await runCompare(
    {
      rounds: 1,
      quick: true,
      patterns: ['startup', 'memory'],
      pin: false,
      natsServerBin: NATS_SERVER_BIN,
      connections: 300,
      startups: 1,
      log: () => {},
    },
    'test',
  );
  assert.deepEqual(report.failures, []);
  for (const kind of ['tern', 'nats-server'] as const) {
    assert.ok(report.startup!.readyMs[kind].median > 0);
    assert.ok(report.startup!.idleRssKb[kind].median > 1000);
    // 300 connections cost memory on any server.
    assert.ok(report.memory!.loadedRssKb[kind] > report.memory!.idleRssKb[kind], kind);
  }
  assert.match(renderMarkdown(report), /\| RSS with 300 idle connections \| [\d.]+ MiB \| [\d.]+ MiB \|/);
});

test('report parsers read nats-bench output', () => {
  const out = [
    'Starting benchmark [msgs=200000, msgsize=128, pubs=1, subs=2, queue=""]',
    'NATS Pub/Sub stats: 3,322,205 msgs/sec ~ 405.54 MB/sec',
    ' Pub stats: 1,247,265 msgs/sec ~ 152.25 MB/sec',
    ' Sub stats: 2,223,057 msgs/sec ~ 271.37 MB/sec',
    '  [1] 1,177,541 msgs/sec ~ 143.74 MB/sec (200000 msgs)',
  ].join('\n');
  assert.deepEqual(parseRates(out), { pub: 1247265, sub: 2223057 });
  assert.deepEqual(parseRates('Pub stats: 11,180,872 msgs/sec ~ 170.61 MB/sec\n'), { pub: 11180872 });
  const lat = parseLatency('request/reply [n=2000, size=128]: 22094 req/sec, p50=31.327µs p90=66.769µs p99=1.207381ms max=2s\n');
  assert.deepEqual(lat, { reqPerSec: 22094, p50us: 31.327, p90us: 66.769, p99us: 1207.381, maxUs: 2e6 });
  assert.equal(goDurationMicros('850ns'), 0.85);
  assert.throws(() => goDurationMicros('soon'), /not a duration/);
});
