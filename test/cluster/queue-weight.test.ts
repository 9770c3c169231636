// Queue groups across nodes are weighted by member count: a publisher whose
// node has no member picks among the nodes in proportion to their members
// (RS+ carries the count; nats-server expands remote queue subs by weight).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNode, stopAll, sleep, subj, until, waitInterest, waitMesh, type ClusterNode } from './helpers.js';

describe('queue group weighted by member count across nodes', { timeout: 60_000 }, () => {
  let a: ClusterNode, b: ClusterNode, c: ClusterNode;
  let na: NatsConnection, nb: NatsConnection, nc: NatsConnection;
  before(async () => {
    a = await startNode({ name: 'QA' });
    [b, c] = await Promise.all([startNode({ name: 'QB', routes: [a.routeUrl] }), startNode({ name: 'QC', routes: [a.routeUrl] })]);
    await waitMesh([a, b, c], 5000);
    [na, nb, nc] = await Promise.all([a, b, c].map((n) => connect({ servers: n.url })));
  });
  after(async () => {
    await Promise.all([na, nb, nc].map((x) => x?.close()));
    await stopAll([a, b, c]);
  });

  it('1 member on B, 3 on C: C gets about 3/4 of the messages, each exactly once', async () => {
    const s = subj('weighted');
    const q = 'workers';
    let onB = 0;
    let onC = 0;
    nb.subscribe(s, { queue: q, callback: () => void onB++ });
    for (let i = 0; i < 3; i++) nc.subscribe(s, { queue: q, callback: () => void onC++ });
    await waitInterest([nb, nc], [na]); // RS+ with the final weights reached A
    const total = 4000;
    for (let i = 0; i < total; i++) na.publish(s, 'x');
    await na.flush();
    await until(() => onB + onC === total, 10_000, `all ${total} delivered (B ${onB}, C ${onC})`);
    await sleep(200);
    assert.equal(onB + onC, total, 'each message delivered once');
    // Expected on B: 1000 (sd ~27). Unweighted picking would give ~2000.
    assert.ok(onB > 750 && onB < 1250, `B got ${onB} of ${total}, expected about ${total / 4}`);
  });

  it('weights follow member changes (RS+ re-sent with the new count)', async () => {
    const s = subj('reweighted');
    const q = 'w2';
    let onB = 0;
    let onC = 0;
    const bSubs = [0, 1, 2].map(() => nb.subscribe(s, { queue: q, callback: () => void onB++ }));
    nc.subscribe(s, { queue: q, callback: () => void onC++ });
    await waitInterest([nb, nc], [na]);
    // Now B drops to one member: 1 vs 1.
    bSubs[1]!.unsubscribe();
    bSubs[2]!.unsubscribe();
    await waitInterest([nb], [na]);
    const total = 4000;
    for (let i = 0; i < total; i++) na.publish(s, 'x');
    await na.flush();
    await until(() => onB + onC === total, 10_000, `all ${total} delivered (B ${onB}, C ${onC})`);
    assert.ok(onB > 1700 && onB < 2300, `B got ${onB} of ${total}, expected about ${total / 2}`);
  });
});
