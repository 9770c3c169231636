// The cluster { } config block: listen, name, routes with credentials,
// authorization, connect_retries.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startTern, type RunningServer } from '../helpers/servers.js';
import { subj, until, waitInterest } from './helpers.js';

describe('cluster config block', { timeout: 30_000 }, () => {
  const procs: RunningServer[] = [];
  after(() => Promise.all(procs.map((p) => p.kill())));

  it('forms an authorized route from config files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-cluster-conf-'));
    const seedConf = join(dir, 'seed.conf');
    writeFileSync(
      seedConf,
      `listen: 127.0.0.1:-1\nserver_name: CFG1\ncluster {\n  name: cfgc\n  listen: 127.0.0.1:-1\n  authorization { user: ru, password: rp, timeout: 2 }\n}\n`,
    );
    const seed = await startTern({ args: ['-c', seedConf] });
    procs.push(seed);
    const routePort = Number(new URL(seed.ports.cluster![0]!).port);
    const joinConf = join(dir, 'join.conf');
    writeFileSync(
      joinConf,
      `listen: 127.0.0.1:-1\nserver_name: CFG2\ncluster {\n  name: cfgc\n  listen: 127.0.0.1:-1\n  routes: [ nats-route://ru:rp@127.0.0.1:${routePort} ]\n  connect_retries: 2\n}\n`,
    );
    const joiner = await startTern({ args: ['-c', joinConf] });
    procs.push(joiner);
    await until(() => /Route connection created to CFG1 /.test(joiner.output()), 5000, 'route from config');
    assert.match(seed.output(), /Cluster name is cfgc/);
    const [n1, n2] = await Promise.all([connect({ servers: seed.url }), connect({ servers: joiner.url })]);
    try {
      const s = subj('cfg');
      const got: string[] = [];
      n1.subscribe(s, { callback: (_e, m) => void got.push(m.string()) });
      await waitInterest([n1], [n2]);
      n2.publish(s, 'via config');
      await until(() => got.length === 1, 3000, 'routed');
    } finally {
      await Promise.all([n1.close(), n2.close()]);
    }
  });

  it('rejects a peer whose cluster name differs', async () => {
    const a = await startTern({ args: ['--cluster', 'nats://127.0.0.1:-1', '--cluster_name', 'one', '-n', 'NM1'] });
    procs.push(a);
    const port = Number(new URL(a.ports.cluster![0]!).port);
    const b = await startTern({ args: ['--cluster', 'nats://127.0.0.1:-1', '--cluster_name', 'two', '-n', 'NM2', '--routes', `nats://127.0.0.1:${port}`] });
    procs.push(b);
    await until(() => /cluster name "(one|two)" does not match/.test(a.output() + b.output()), 5000, 'name conflict logged');
    assert.doesNotMatch(b.output(), /Route connection created to NM1 /);
  });
});
