import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from './servers.js';

test('test harness starts the reference nats-server on a free port', async () => {
  const s = await startNatsServer();
  try {
    assert.notEqual(s.port, 4222);
    const nc = await connect({ servers: s.url });
    const sub = nc.subscribe('harness.check', { max: 1 });
    nc.publish('harness.check', 'hi');
    for await (const m of sub) assert.equal(m.string(), 'hi');
    await nc.close();
  } finally {
    await s.stop();
  }
});
