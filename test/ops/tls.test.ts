// TLS on the client port, on Tern and nats-server: INFO says tls_required,
// the official client connects over TLS, and with --tlsverify a client
// without a certificate from the CA is refused. Certificates are made here
// with openssl, never committed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { RawClient } from '../server/raw.js';
import { makeCerts } from './helpers.js';

const certs = makeCerts();

for (const kind of serverKinds()) {
  describe(`${kind}: TLS without client certificates`, () => {
    let srv: RunningServer;
    before(async () => {
      srv = await startServer(kind, { args: ['--tls', '--tlscert', certs.cert, '--tlskey', certs.key] });
    });
    after(async () => srv.stop());

    it('INFO says tls_required; the official client connects over TLS and gets messages', async () => {
      const raw = await RawClient.connect(srv.port);
      assert.equal(raw.info.tls_required, true);
      assert.equal(raw.info.tls_verify, undefined);
      raw.close();
      const nc = await connect({ servers: srv.url, tls: { caFile: certs.ca } });
      const sub = nc.subscribe('tls.hello', { max: 1, timeout: 5000 });
      nc.publish('tls.hello', 'secret');
      const got: string[] = [];
      for await (const m of sub) got.push(m.string());
      assert.deepEqual(got, ['secret']);
      await nc.close();
    });

    it('a client that does not trust the CA fails the handshake', async () => {
      await assert.rejects(connect({ servers: srv.url, tls: {}, reconnect: false, timeout: 2000 }));
    });
  });

  describe(`${kind}: TLS with client certificate verification`, () => {
    let srv: RunningServer;
    before(async () => {
      srv = await startServer(kind, { args: ['--tlsverify', '--tlscert', certs.cert, '--tlskey', certs.key, '--tlscacert', certs.ca] });
    });
    after(async () => srv.stop());

    it('INFO says tls_verify; a client with a CA-signed certificate connects', async () => {
      const raw = await RawClient.connect(srv.port);
      assert.equal(raw.info.tls_required, true);
      assert.equal(raw.info.tls_verify, true);
      raw.close();
      const nc = await connect({ servers: srv.url, tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } });
      await nc.flush();
      await nc.close();
    });

    it('a client without a certificate is refused', async () => {
      await assert.rejects(connect({ servers: srv.url, tls: { caFile: certs.ca }, reconnect: false, timeout: 2000 }));
    });
  });
}
