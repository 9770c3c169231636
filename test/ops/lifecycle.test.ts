// Config reload and lame duck mode. Reload runs on Tern and nats-server:
// new permissions apply to an existing connection; a broken file keeps the
// old config. Lame duck (Tern): /healthz turns 503, clients are told
// (ldm) and drained to a second server, then the process exits.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { serverKinds, TERN_MAIN } from '../helpers/servers.js';
import { errs, RawClient } from '../server/raw.js';
import { eventually, getJson, startMonitored, type MonitoredServer } from './helpers.js';

const conf = (allow: string[], extra = ''): string =>
  `authorization { users = [ { user: alice, password: pw, permissions: { publish: { allow: ${JSON.stringify(allow)} } } } ] }\n${extra}`;

function signalReload(srv: MonitoredServer): void {
  if (srv.kind === 'tern') execFileSync(process.execPath, [TERN_MAIN, 'server', '--signal', `reload=${srv.pid}`]);
  else process.kill(srv.pid, 'SIGHUP');
}

const count = (s: string, sub: string): number => s.split(sub).length - 1;

for (const kind of serverKinds()) {
  describe(`${kind}: config reload`, () => {
    let srv: MonitoredServer;
    after(async () => srv?.stop());

    it('new permissions apply to an open connection; a bad file keeps the old config', async () => {
      srv = await startMonitored(kind, conf(['a.>']));
      const c = await RawClient.ready(srv.port, { user: 'alice', pass: 'pw' });
      c.write('PUB b.x 1\r\nx\r\nPING\r\n');
      assert.deepEqual(errs(await c.waitFor((d) => d.includes('PONG'))), ['Permissions Violation for Publish to "b.x"']);

      writeFileSync(srv.confFile, conf(['a.>', 'b.>']));
      signalReload(srv);
      await eventually('reloaded', () => count(srv.output(), 'Reloaded server configuration') === 1);
      c.data = '';
      c.write('SUB b.x 1\r\nPUB b.x 1\r\ny\r\nPING\r\n');
      const out = await c.waitFor((d) => d.includes('PONG'));
      assert.deepEqual(errs(out), []);
      assert.match(out, /MSG b\.x 1 1\r\ny\r\n/);

      writeFileSync(srv.confFile, 'authorization { users = [ { user: alice, password: pw\n');
      signalReload(srv);
      await eventually('reload failure logged', () => /Failed to reload|error/i.test(srv.output().split('Reloaded server configuration')[1] ?? ''));
      c.data = '';
      c.write('PUB b.z 1\r\nz\r\nPUB c.z 1\r\nz\r\nPING\r\n');
      assert.deepEqual(errs(await c.waitFor((d) => d.includes('PONG'))), ['Permissions Violation for Publish to "c.z"']);
      assert.equal(await c.alive(), true);
      c.close();
    });
  });
}

for (const kind of serverKinds()) {
  describe(`${kind}: reload of connection limits`, () => {
    let srv: MonitoredServer;
    after(async () => srv?.stop());

    it('max_control_line applies to an open connection; a max_pending change is refused', async () => {
      srv = await startMonitored(kind, 'max_control_line: 1024\nmax_pending: 10MB\n');
      const c = await RawClient.ready(srv.port);
      const long = `reload.${'x'.repeat(80)}`;
      c.write(`SUB ${long} 1\r\nPING\r\n`);
      assert.deepEqual(errs(await c.waitFor((d) => d.includes('PONG'))), []);

      writeFileSync(srv.confFile, 'max_control_line: 64\nmax_pending: 10MB\n');
      signalReload(srv);
      await eventually('reloaded', () => count(srv.output(), 'Reloaded server configuration') === 1 || /Reloaded: max_control_line/.test(srv.output()));
      c.data = '';
      c.write(`SUB ${long} 2\r\n`);
      assert.deepEqual(errs(await c.waitFor((d) => d.includes('-ERR'))), ['maximum control line exceeded']);
      assert.equal(await c.waitClosed(), true);
      assert.equal((await getJson(srv.http, '/varz')).body.max_control_line, 64);

      const before = srv.output().length;
      writeFileSync(srv.confFile, 'max_control_line: 64\nmax_pending: 20MB\n');
      signalReload(srv);
      await eventually('max_pending reload refused', () => /reload not supported for (max_pending|MaxPending)/.test(srv.output().slice(before)));
      assert.equal((await getJson(srv.http, '/varz')).body.max_pending, 10 * 1024 * 1024, 'old max_pending kept');
      const c2 = await RawClient.ready(srv.port);
      assert.equal(await c2.alive(), true);
      c2.close();
    });
  });
}

describe('tern: lame duck mode drains clients to another server', () => {
  const servers: MonitoredServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('SIGUSR2: healthz 503, ldm status, client moves to the second server, process exits', async () => {
    const ldmConf = 'lame_duck_duration: 30s\nlame_duck_grace_period: 1s\n';
    const a = await startMonitored('tern', ldmConf);
    const b = await startMonitored('tern', ldmConf);
    servers.push(a, b);
    const nc = await connect({ servers: [a.url, b.url], noRandomize: true, reconnectTimeWait: 100 });
    const events: string[] = [];
    const watch = (async () => {
      for await (const s of nc.status()) events.push(s.type);
    })();
    const got: string[] = [];
    nc.subscribe('ldm.test', { callback: (_e, m) => void got.push(m.string()) });
    await nc.flush();
    assert.equal(nc.getServer(), `127.0.0.1:${a.port}`);
    assert.equal((await fetch(a.http + '/healthz')).status, 200);

    process.kill(a.pid, 'SIGUSR2');
    await eventually('healthz 503', async () => (await fetch(a.http + '/healthz')).status === 503, 3000);
    const body = (await (await fetch(a.http + '/healthz')).json()) as Record<string, unknown>;
    assert.equal(body.status, 'unavailable');
    await eventually('ldm status seen', () => events.includes('ldm'), 3000);
    await eventually('reconnected to b', () => nc.getServer() === `127.0.0.1:${b.port}`, 10000);
    assert.equal(await a.exited, 0);
    assert.match(a.output(), /Entering lame duck mode/);

    // The subscription moved with the client.
    nc.publish('ldm.test', 'after');
    await eventually('message after failover', () => got.includes('after'), 3000);
    await nc.close();
    await watch;
  });
});
