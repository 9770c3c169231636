import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from './servers.js';

test('test harness starts the reference nats-server on a free port', async () => {
  const s = await startNatsServer();
  try {
    assert.notEqual(s.port, 4222);
    const nc = await connect({ servers: s.url });
    // timeout: the iterator throws instead of waiting forever; the count catches an empty loop.
    const sub = nc.subscribe('harness.check', { max: 1, timeout: 5000 });
    nc.publish('harness.check', 'hi');
    const got: string[] = [];
    for await (const m of sub) got.push(m.string());
    assert.deepEqual(got, ['hi']);
    await nc.close();
  } finally {
    await s.stop();
  }
});
