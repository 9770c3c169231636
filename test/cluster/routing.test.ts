// Three Tern nodes joined through one seed: mesh, interest propagation,
// wildcards, unsubscribe, queue groups cluster-wide, request/reply,
// no-responders and headers across nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { startNode, stopAll, subj, sleep, until, waitInterest, waitMesh, type ClusterNode } from './helpers.js';

function collect(nc: NatsConnection, subject: string, queue?: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, { queue, callback: (_e, m) => void got.push(m) });
  return got;
}

describe('3-node cluster from one seed', { timeout: 60_000 }, () => {
  let a: ClusterNode, b: ClusterNode, c: ClusterNode;
  let na: NatsConnection, nb: NatsConnection, nc: NatsConnection;
  before(async () => {
    a = await startNode({ name: 'A', args: ['-m', '-1'] });
    // B and C know only the seed; C must still end up routed to B.
    [b, c] = await Promise.all([startNode({ name: 'B', routes: [a.routeUrl], args: ['-m', '-1'] }), startNode({ name: 'C', routes: [a.routeUrl], args: ['-m', '-1'] })]);
    await waitMesh([a, b, c], 5000);
    [na, nb, nc] = await Promise.all([a, b, c].map((n) => connect({ servers: n.url })));
  });
  after(async () => {
    await Promise.all([na, nb, nc].map((x) => x?.close()));
    await stopAll([a, b, c]);
  });

  it('forms a full mesh: every node has routes to both others', async () => {
    // waitMesh passed in before(); the logs name the peers too.
    for (const [n, peers] of [[a, ['B', 'C']], [b, ['A', 'C']], [c, ['A', 'B']]] as const) {
      for (const p of peers) assert.match(n.output(), new RegExp(`Route connection created to ${p} `), `${n.name} -> ${p}`);
      const mon = n.ports.monitoring?.[0];
      assert.ok(mon !== undefined, 'monitoring port in the ports file');
      const routez = (await (await fetch(`${mon}/routez?subs=1`)).json()) as { num_routes: number; routes: { remote_name: string; remote_id: string }[] };
      assert.equal(routez.num_routes, 2, `${n.name} /routez`);
      assert.deepEqual(routez.routes.map((r) => r.remote_name).sort(), [...peers]);
    }
  });

  it('delivers a message published on C to a subscriber on B', async () => {
    const s = subj('pubc');
    const got = collect(nb, s);
    await waitInterest([nb], [nc]);
    nc.publish(s, 'hello from C');
    await until(() => got.length === 1, 3000, 'delivery on B');
    assert.equal(got[0]!.string(), 'hello from C');
    await sleep(100);
    assert.equal(got.length, 1, 'exactly once');
  });

  it('routes wildcard subscriptions and sends one copy per route', async () => {
    const base = subj('wild');
    const star = collect(nb, `${base}.*`);
    const gt = collect(nb, `${base}.>`);
    const onC = collect(nc, `${base}.>`);
    await waitInterest([nb, nc], [na]);
    na.publish(`${base}.x`, '1');
    na.publish(`${base}.x.y`, '2');
    await until(() => star.length === 1 && gt.length === 2 && onC.length === 2, 3000, 'wildcard delivery');
    await sleep(150);
    assert.deepEqual(star.map((m) => m.subject), [`${base}.x`]);
    assert.deepEqual(gt.map((m) => m.string()), ['1', '2']);
    assert.deepEqual(onC.map((m) => m.string()), ['1', '2']);
  });

  it('propagates unsubscribe: remote interest goes away', async () => {
    const s = subj('unsub');
    const sub = nb.subscribe(s, { callback: () => {} });
    await waitInterest([nb], [nc]);
    // Interest exists: a request gets no 503 but times out (nobody replies).
    await assert.rejects(nc.request(s, '', { timeout: 300 }), (e: Error) => /TIMEOUT/i.test(`${e.message} ${(e as { code?: string }).code ?? ''}`) || e.name === 'TimeoutError');
    sub.unsubscribe();
    await waitInterest([nb], [nc]);
    await assert.rejects(nc.request(s, '', { timeout: 1000 }), (e: Error) => /no responders/i.test(`${e.message} ${e.name}`));
  });

  it('request/reply works across nodes', async () => {
    const s = subj('svc');
    nb.subscribe(s, { callback: (_e, m) => {
        m.respond(`echo:${m.string()}`);
      },
    });
    await waitInterest([nb], [nc, na]);
    const r = await nc.request(s, 'ping', { timeout: 2000 });
    assert.equal(r.string(), 'echo:ping');
    const r2 = await na.request(s, 'again', { timeout: 2000 });
    assert.equal(r2.string(), 'echo:again');
  });

  it('carries headers and reply subjects over routes (HMSG)', async () => {
    const s = subj('hdr');
    const got = collect(nc, s);
    await waitInterest([nc], [na]);
    const h = headers();
    h.set('X-Trace', 'abc');
    na.publish(s, 'payload', { headers: h, reply: 'reply.to.me' });
    await until(() => got.length === 1, 3000, 'HMSG delivery');
    assert.equal(got[0]!.headers?.get('X-Trace'), 'abc');
    assert.equal(got[0]!.reply, 'reply.to.me');
    assert.equal(got[0]!.string(), 'payload');
  });

  it('queue group with members on all three nodes: 3,000 messages, each delivered exactly once cluster-wide', async () => {
    const s = subj('q3');
    const seen = new Map<string, number>();
    const perNode = [0, 0, 0];
    [na, nb, nc].forEach((conn, i) =>
      conn.subscribe(s, {
        queue: 'workers',
        callback: (_e, m) => {
          perNode[i]!++;
          seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1);
        },
      }),
    );
    const pubs = [na, nb, nc];
    await waitInterest(pubs, pubs);
    for (let i = 0; i < 3000; i++) pubs[i % 3]!.publish(s, String(i));
    await Promise.all(pubs.map((x) => x.flush()));
    await until(() => seen.size === 3000, 10_000, '3,000 distinct messages');
    await sleep(300);
    assert.equal(perNode[0]! + perNode[1]! + perNode[2]!, 3000, 'no duplicates');
    for (const [k, n] of seen) assert.equal(n, 1, `message ${k} delivered ${n} times`);
  });

  it('queue group with members only on remote nodes: exactly once, spread over both', async () => {
    const s = subj('qremote');
    const counts = [0, 0];
    const seen = new Set<string>();
    let dups = 0;
    for (const [i, conn] of [nb, nc].entries()) {
      for (let k = 0; k < 2; k++) {
        conn.subscribe(s, {
          queue: 'remote-workers',
          callback: (_e, m) => {
            counts[i]!++;
            if (seen.has(m.string())) dups++;
            seen.add(m.string());
          },
        });
      }
    }
    await waitInterest([nb, nc], [na]);
    for (let i = 0; i < 3000; i++) na.publish(s, String(i));
    await na.flush();
    await until(() => seen.size === 3000, 10_000, '3,000 distinct messages');
    await sleep(300);
    assert.equal(dups, 0);
    assert.equal(counts[0]! + counts[1]!, 3000);
    assert.ok(counts[0]! > 300 && counts[1]! > 300, `both nodes get a share: ${counts.join('/')}`);
  });

  it('tells clients about the other nodes (connect_urls)', async () => {
    const servers = (na as unknown as { protocol: { servers: { getServers(): { listen: string }[] } } }).protocol.servers.getServers().map((x) => x.listen);
    for (const n of [a, b, c]) assert.ok(servers.includes(`127.0.0.1:${n.port}`), `client knows ${n.name}: ${servers.join(',')}`);
  });
});
