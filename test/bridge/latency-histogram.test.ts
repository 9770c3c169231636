// The bridge's own latency histogram must expose exactly what prom-client's Histogram
// would for the same observations (dashboards and alerts keep working).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { LatencyHistogram } from '../../src/bridge/metrics.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

test('LatencyHistogram exposition equals prom-client Histogram for the same observations', async () => {
  const ref = new client.Registry();
  const ours = new client.Registry();
  const h = new client.Histogram({ name: 'x_latency_seconds', help: 'help "text"\\n', labelNames: ['mapping'], buckets: BUCKETS, registers: [ref] });
  const l = new LatencyHistogram('x_latency_seconds', 'help "text"\\n', BUCKETS, [ours]);
  // Nothing observed yet: only HELP/TYPE, even for a series that exists already.
  l.for({ mapping: 'idle' });
  assert.equal(await ours.metrics(), await ref.metrics());
  const values = [0, 0.0004, 0.0005, 0.0007, 0.003, 0.011, 0.2, 0.9999, 2.5, 7, 10, 11, 120];
  const series = l.for({ mapping: 'a"b' });
  for (const [i, v] of values.entries()) {
    h.observe({ mapping: 'a"b' }, v);
    series.observe(v);
    h.observe({ mapping: `m${i % 2}` }, v * 3);
    l.observe({ mapping: `m${i % 2}` }, v * 3);
  }
  const text = await ours.metrics();
  assert.equal(text, await ref.metrics());
  assert.match(text, /x_latency_seconds_count\{mapping="a\\"b"\} 13/);
  assert.match(text, /x_latency_seconds_bucket\{le="\+Inf",mapping="m0"\} 7/);
  assert.throws(() => l.observe({ mapping: 'a' }, NaN), /not a valid number/);
});
