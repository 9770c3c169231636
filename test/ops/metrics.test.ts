// /metrics: valid Prometheus text exposition, and the traffic counters move
// by exactly the traffic sent through a real client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parsePrometheus, sampleValue, startMonitored, type MonitoredServer } from './helpers.js';

async function scrape(srv: MonitoredServer): Promise<ReturnType<typeof parsePrometheus>> {
  const r = await fetch(srv.http + '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

describe('/metrics', () => {
  let srv: MonitoredServer;
  let nc: NatsConnection;
  before(async () => {
    srv = await startMonitored('tern', 'max_payload: 1MB\n');
    nc = await connect({ servers: srv.url });
  });
  after(async () => {
    await nc?.close();
    await srv?.stop();
  });

  it('parses as Prometheus text format with conventional names and types', async () => {
    const { samples, types } = await scrape(srv);
    assert.equal(types.get('tern_in_msgs_total'), 'counter');
    assert.equal(types.get('tern_connections'), 'gauge');
    assert.equal(types.get('tern_outbound_flush_bytes'), 'histogram');
    assert.equal(types.get('process_resident_memory_bytes'), 'gauge');
    for (const [name, type] of types) {
      if (name.startsWith('tern_') && type === 'counter') assert.match(name, /_total$/, `counter ${name} must end in _total`);
    }
    assert.equal(sampleValue(samples, 'tern_connections'), 1);
    assert.equal(sampleValue(samples, 'tern_slow_consumers_total', { kind: 'client' }), 0);
    assert.equal(sampleValue(samples, 'tern_outbound_flush_bytes_bucket', { le: '+Inf' }), sampleValue(samples, 'tern_outbound_flush_bytes_count'));
  });

  it('counters move by exactly the traffic sent', async () => {
    const N = 250;
    const subj = `metrics.exact.${Date.now()}`;
    let got = 0;
    let allIn!: () => void;
    const done = new Promise<void>((r) => (allIn = r));
    nc.subscribe(subj, { callback: () => void (++got === N && allIn()) });
    const sub2 = nc.subscribe(`${subj.split('.').slice(0, 2).join('.')}.>`);
    await nc.flush();
    const before = (await scrape(srv)).samples;
    // (N is hoisted for the callback above.)
    const SIZE = 100;
    const payload = new Uint8Array(SIZE).fill(65);
    for (let i = 0; i < N; i++) nc.publish(subj, payload);
    await nc.flush();
    await done;
    const after = (await scrape(srv)).samples;
    const delta = (name: string): number => sampleValue(after, name) - sampleValue(before, name);
    assert.equal(delta('tern_in_msgs_total'), N);
    assert.equal(delta('tern_in_bytes_total'), N * SIZE);
    assert.equal(delta('tern_out_msgs_total'), 2 * N, 'two matching subscriptions');
    assert.equal(delta('tern_out_bytes_total'), 2 * N * SIZE);
    assert.equal(sampleValue(after, 'tern_subscriptions') - sampleValue(before, 'tern_subscriptions'), 0);
    assert.ok(delta('tern_outbound_flush_bytes_count') >= 1, 'flushes observed');
    assert.ok(delta('tern_out_written_bytes_total') >= 2 * N * SIZE);
    sub2.unsubscribe();
    await nc.flush();
    const later = (await scrape(srv)).samples;
    assert.equal(sampleValue(later, 'tern_subscriptions'), sampleValue(after, 'tern_subscriptions') - 1);
  });
});
