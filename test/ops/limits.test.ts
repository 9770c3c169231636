// Connection limits and response permissions, on Tern and nats-server with
// the same config: max_connections, max_subscriptions and max_payload as the
// official client sees them; allow_responses (a responder that may publish
// nowhere except to the reply subjects of requests it received, once and
// within the expiry); and the auth timeout of TLS servers (TLS timeout + 1s).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { serverKinds, type RunningServer } from '../helpers/servers.js';
import { errs, RawClient, startWithConfig } from '../server/raw.js';
import { getJson, makeCerts, sleep, startMonitored } from './helpers.js';

for (const kind of serverKinds()) {
  describe(`${kind}: max_connections through the official client`, () => {
    it('the connection over the limit is refused with the server error; others keep working', async () => {
      const srv = await startWithConfig(kind, 'max_connections: 2\n');
      try {
        const first = await connect({ servers: srv.url });
        const second = await connect({ servers: srv.url });
        // The server writes INFO, -ERR and closes; the client may also see its CONNECT fail to write (EPIPE).
        const err = await connect({ servers: srv.url, reconnect: false, maxReconnectAttempts: 0 }).then(
          () => null,
          (e: Error) => e,
        );
        assert.ok(err, 'third connection refused');
        assert.match(`${err.message} ${String((err as { cause?: Error }).cause?.message ?? '')}`, /maximum connections exceeded|EPIPE|ECONNRESET/i);
        // The raw view: INFO, then the error, then close.
        const raw = await RawClient.connect(srv.port);
        assert.deepEqual(errs(await raw.waitFor((d) => d.includes('-ERR'))), ['maximum connections exceeded']);
        assert.equal(await raw.waitClosed(), true);
        await second.close();
        // A slot is free again once the server has processed the close (asynchronous on
        // both servers); the first connection never noticed.
        const deadline = Date.now() + 5000;
        let third: NatsConnection | undefined;
        while (!third) {
          third = await connect({ servers: srv.url, reconnect: false }).catch((e: Error) => {
            if (Date.now() > deadline) throw e;
            return undefined;
          });
          if (!third) await new Promise((r) => setTimeout(r, 50));
        }
        await third.flush();
        await first.flush();
        await third.close();
        await first.close();
      } finally {
        await srv.stop();
      }
    });
  });

  describe(`${kind}: max_subscriptions, max_payload through the official client`, () => {
    let srv: RunningServer;
    let nc: NatsConnection;
    before(async () => {
      srv = await startWithConfig(kind, 'max_subscriptions: 3\nmax_payload: 1024\n');
      nc = await connect({ servers: srv.url });
    });
    after(async () => {
      await nc?.close();
      await srv?.stop();
    });

    it('max_subscriptions: the extra SUB gets the error, the connection stays open and the first subscriptions work', async () => {
      const c = await connect({ servers: srv.url });
      const got: string[] = [];
      for (let i = 0; i < 3; i++) c.subscribe(`lim.subs.${i}`, { callback: (_e, m) => void got.push(m.subject) });
      c.subscribe('lim.subs.extra', { callback: (_e, m) => void got.push(m.subject) });
      await c.flush();
      await sleep(100);
      assert.equal(c.isClosed(), false);
      for (let i = 0; i < 3; i++) c.publish(`lim.subs.${i}`);
      c.publish('lim.subs.extra');
      await c.flush();
      await sleep(100);
      assert.deepEqual(got.sort(), ['lim.subs.0', 'lim.subs.1', 'lim.subs.2']);
      const raw = await RawClient.ready(srv.port);
      raw.write('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n');
      assert.deepEqual(errs(await raw.waitFor((d) => d.includes('PONG'))), ['maximum subscriptions exceeded']);
      assert.equal(await raw.alive(), true);
      raw.close();
      await c.close();
    });

    it('max_payload: INFO announces it, the client refuses bigger messages, a raw PUB over it is closed', async () => {
      assert.equal(nc.info?.max_payload, 1024);
      assert.throws(() => nc.publish('lim.payload', new Uint8Array(1025)), /payload|max/i);
      nc.publish('lim.payload', new Uint8Array(1024));
      await nc.flush();
      const raw = await RawClient.ready(srv.port);
      raw.write(`PUB lim.payload 1025\r\n${'x'.repeat(1025)}\r\n`);
      assert.deepEqual(errs(await raw.waitFor((d) => d.includes('-ERR'))), ['Maximum Payload Violation']);
      assert.equal(await raw.waitClosed(), true);
    });
  });

  describe(`${kind}: allow_responses`, () => {
    let srv: RunningServer;
    let requester: NatsConnection;
    before(async () => {
      srv = await startWithConfig(
        kind,
        `authorization { users = [
          { user: svc, password: pw, permissions: { publish: { deny: ">" }, subscribe: "svc.>", allow_responses: { max: 1, expires: "1s" } } }
          { user: cli, password: pw }
        ] }\n`,
      );
      requester = await connect({ servers: srv.url, user: 'cli', pass: 'pw' });
    });
    after(async () => {
      await requester?.close();
      await srv?.stop();
    });

    it('replies once within expiry; a second reply, a late reply and other publishes are denied', async () => {
      const svc = await RawClient.ready(srv.port, { user: 'svc', pass: 'pw' });
      svc.write('SUB svc.echo 1\r\nPING\r\n');
      await svc.waitFor((d) => d.includes('PONG'));
      svc.data = '';
      // Requests seen by svc; it answers by hand.
      const msgLine = (data: string, n: number): string => {
        const lines = [...data.matchAll(/MSG svc\.echo 1 (\S+) \d+\r\n/g)];
        return lines[n]![1]!;
      };

      const spy = await connect({ servers: srv.url, user: 'cli', pass: 'pw' });
      const seen: string[] = [];
      spy.subscribe('_INBOX.>', { callback: (_e, m) => void seen.push(m.string()) });
      await spy.flush();

      const p1 = requester.request('svc.echo', 'one', { timeout: 2000 });
      await svc.waitFor((d) => (d.match(/MSG svc\.echo/g) ?? []).length === 1);
      const reply1 = msgLine(svc.data, 0);
      svc.write(`PUB ${reply1} 3\r\nok1\r\nPUB ${reply1} 3\r\nok2\r\nPUB other.subject 1\r\nx\r\nPING\r\n`);
      assert.equal((await p1).string(), 'ok1');
      const out = await svc.waitFor((d) => d.includes('PONG'));
      assert.deepEqual(errs(out), [`Permissions Violation for Publish to "${reply1}"`, 'Permissions Violation for Publish to "other.subject"']);

      // A late reply (after the 1s expiry) is denied and never reaches the requester.
      svc.data = '';
      const p2 = requester.request('svc.echo', 'two', { timeout: 2500 });
      await svc.waitFor((d) => (d.match(/MSG svc\.echo/g) ?? []).length === 1);
      const reply2 = msgLine(svc.data, 0);
      await sleep(1300);
      svc.write(`PUB ${reply2} 4\r\nlate\r\nPING\r\n`);
      assert.deepEqual(errs(await svc.waitFor((d) => d.includes('PONG'))), [`Permissions Violation for Publish to "${reply2}"`]);
      await assert.rejects(p2);
      assert.equal(await svc.alive(), true, 'permission errors keep the connection');
      await spy.flush();
      assert.deepEqual(seen, ['ok1'], 'only the first in-time reply was delivered');
      await spy.close();
      svc.close();
    });
  });

  describe(`${kind}: auth timeout with TLS is the TLS timeout + 1s`, () => {
    const certs = makeCerts();
    it('/varz auth_timeout = tls_timeout + 1; a TLS client that never sends CONNECT is cut after ~3s, not 2s', async () => {
      const srv = await startMonitored(kind, 'authorization { user: a, password: b }\n', ['--tls', '--tlscert', certs.cert, '--tlskey', certs.key]);
      try {
        const varz = (await getJson(srv.http, '/varz')).body;
        assert.equal(varz.tls_timeout, 2);
        assert.equal(varz.auth_timeout, 3);
        const started = Date.now();
        // TLS after INFO (nats-server's default order): read INFO in clear, then upgrade.
        const plain = await RawClient.connect(srv.port);
        plain.socket.removeAllListeners('data');
        const sock = tlsConnect({ socket: plain.socket, ca: readFileSync(certs.ca), servername: 'localhost' });
        let data = '';
        sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
        await new Promise<void>((res, rej) => {
          sock.once('secureConnect', () => res());
          sock.once('error', rej);
        });
        const closed = new Promise<number>((res) => sock.once('close', () => res(Date.now() - started)));
        sock.on('error', () => undefined);
        await sleep(2400);
        assert.equal(sock.destroyed, false, 'still open after 2.4s (the plain auth timeout is 2s)');
        const after = await closed;
        assert.ok(after >= 2900 && after < 5000, `closed after ${after} ms`);
        assert.deepEqual(errs(data), ['Authentication Timeout']);
      } finally {
        await srv.stop();
      }
    });
  });
}
