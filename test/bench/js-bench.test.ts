// `tern bench --js pub|consume` against real servers with JetStream (the
// reference nats-server first): counts checked by the official JetStream
// client, and every kind of failure the generators must detect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager, DiscardPolicy, StorageType } from '@nats-io/jetstream';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { ternBench } from './helpers.js';

const RATE = '[\\d,]+ msgs/sec ~ [\\d.]+ [KMGT]?B/sec';

async function withJsServer(kind: 'tern' | 'nats-server', body: (s: RunningServer) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-jsbench-'));
  const s = await startServer(kind, { args: ['-js', '-sd', dir] });
  try {
    await body(s);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// The reference server first: the generator must be right against it before it judges Tern.
const kinds = [...serverKinds()].sort((a) => (a === 'nats-server' ? -1 : 1));

for (const kind of kinds) {
  test(`${kind}: --js pub stores exactly -n acknowledged messages, --js consume receives and acks them all`, { timeout: 60_000 }, async () => {
    await withJsServer(kind, async (s) => {
      const pub = await ternBench(['-s', s.url, '--no-progress', '--js', 'pub', '--create', '--stream', 'JB1', '--window', '64', '-n', '5001', '-ms', '128', 'jb1.data']);
      assert.equal(pub.code, 0, pub.stderr);
      const lines = pub.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'Starting JetStream async publish [msgs=5001, msgsize=128, stream=JB1, storage=file, window=64, subject=jb1.data]');
      assert.match(lines[1]!, new RegExp(`^Pub stats: ${RATE}$`));
      assert.equal(lines[2], 'PubAcks: 5001 of 5001, stream sequences 1..5001');

      // Independently: the stream holds them, file storage, 128 B each.
      const nc = await connect({ servers: s.url });
      try {
        const jsm = await jetstreamManager(nc);
        const si = await jsm.streams.info('JB1');
        assert.equal(si.state.messages, 5001);
        assert.equal(si.config.storage, StorageType.File);
        assert.equal(si.state.bytes > 5001 * 128, true);
        const last = await jsm.streams.getMessage('JB1', { seq: 5001 });
        assert.equal(last?.data.length, 128);

        const con = await ternBench(['-s', s.url, '--no-progress', '--js', 'consume', '--stream', 'JB1', '--durable', 'D1', '--batch', '100', '-n', '5001']);
        assert.equal(con.code, 0, con.stderr);
        const cl = con.stdout.trimEnd().split('\n');
        assert.equal(cl[0], 'Starting JetStream durable consume [msgs=5001, stream=JB1, durable=D1, batch=100, acks=explicit]');
        assert.match(cl[1]!, new RegExp(`^Sub stats: ${RATE}$`));
        assert.equal(cl[2], 'Received 5001 of 5001, all acked (ack floor 5001, 0 pending, 0 redelivered)');
        const ci = await jsm.consumers.info('JB1', 'D1');
        assert.equal(ci.delivered.stream_seq, 5001);
        assert.equal(ci.ack_floor.stream_seq, 5001);
        assert.equal(ci.num_ack_pending, 0);
        assert.equal(ci.num_pending, 0);
        assert.equal(ci.config.ack_policy, 'explicit');

        // A partial consume with a filter: the first -n matching messages only.
        const part = await ternBench(['-s', s.url, '--no-progress', '--js', 'consume', '--stream', 'JB1', '--durable', 'D2', '--batch', '7', '-n', '50', 'jb1.data']);
        assert.equal(part.code, 0, part.stderr);
        assert.match(part.stdout, /Received 50 of 50, all acked \(ack floor 50, 0 pending/);
      } finally {
        await nc.close();
      }
    });
  });

  test(`${kind}: --js runs fail on error PubAcks, missing acks, missing streams and messages that never come`, { timeout: 60_000 }, async () => {
    await withJsServer(kind, async (s) => {
      const nc = await connect({ servers: s.url });
      try {
        const jsm = await jetstreamManager(nc);
        // max_msgs 10 with discard new: the 11th publish gets an error PubAck.
        await jsm.streams.add({ name: 'JB2', subjects: ['jb2.data', 'jb2.idle'], storage: StorageType.File, max_msgs: 10, discard: DiscardPolicy.New });
        const full = await ternBench(['-s', s.url, '--no-progress', '--js', 'pub', '--stream', 'JB2', '--window', '4', '-n', '20', 'jb2.data']);
        assert.equal(full.code, 1, full.stdout);
        assert.match(full.stderr, /publish 11 failed: .*maximum messages/i);
        assert.doesNotMatch(full.stdout, /Pub stats/);

        // A subject no stream listens on: no PubAck ever comes (503 no responders).
        const nobody = await ternBench(['-s', s.url, '--no-progress', '--js', 'pub', '--stream', 'JB2', '-n', '5', 'jb2.elsewhere']);
        assert.equal(nobody.code, 1);
        assert.match(nobody.stderr, /publish 1 failed: no stream listens on 'jb2\.elsewhere'/);

        const missing = await ternBench(['-s', s.url, '--no-progress', '--js', 'pub', '--stream', 'NOPE', '-n', '5', 'jb.nope']);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /STREAM\.INFO\.NOPE: stream not found/);

        // More messages than the stream holds.
        const tooMany = await ternBench(['-s', s.url, '--no-progress', '--js', 'consume', '--stream', 'JB2', '-n', '11']);
        assert.equal(tooMany.code, 1);
        assert.match(tooMany.stderr, /stream JB2 holds 10 messages; 11 requested/);

        // A filter nothing matches: messages stop, the run fails with the counts.
        const starved = await ternBench(['-s', s.url, '--no-progress', '--js', 'consume', '--stream', 'JB2', '--durable', 'S1', '--timeout', '1s', '-n', '3', 'jb2.idle']);
        assert.equal(starved.code, 1);
        assert.match(starved.stderr, /messages stopped for 1000 ms: received 0 of 3/);

        // A durable that already delivered messages cannot be measured again.
        const once = await ternBench(['-s', s.url, '--no-progress', '--js', 'consume', '--stream', 'JB2', '--durable', 'S2', '-n', '10']);
        assert.equal(once.code, 0, once.stderr);
        const again = await ternBench(['-s', s.url, '--no-progress', '--js', 'consume', '--stream', 'JB2', '--durable', 'S2', '-n', '10']);
        assert.equal(again.code, 1);
        assert.match(again.stderr, /durable S2 on JB2 has already delivered messages/);
      } finally {
        await nc.close();
      }
    });
  });
}

test('--js usage errors', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--js', 'fetch', 'x'], /--js: 'fetch' is not pub or consume/],
    [['--js', 'pub'], /--js pub: missing <subject>/],
    [['--js', 'pub', '--batch', '5', 'x'], /--batch and --durable are for --js consume/],
    [['--js', 'consume', '--create'], /--create, --storage and --window are for --js pub/],
    [['--js', 'pub', '--storage', 'disk', 'x'], /--storage: 'disk' is not file or memory/],
    [['--js', 'pub', '--stream', 'a.b', 'x'], /--stream: invalid name 'a\.b'/],
    [['--js', 'pub', '-np', '2', 'x'], /--js runs one JetStream client/],
    [['--stream', 'S', 'x'], /--stream is a JetStream option/],
    [['--js', 'pub', '--window', '0', 'x'], /-window: must be at least 1/],
  ];
  for (const [args, re] of cases) {
    const r = await ternBench(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
});
