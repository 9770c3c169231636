// TLS on the client port, on Tern and nats-server: INFO says tls_required,
// the official client connects over TLS, and with --tlsverify a client
// without a certificate from the CA is refused. Certificates are made here
// with openssl, never committed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { RawClient } from '../server/raw.js';

interface Certs {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

function makeCerts(): Certs {
  const d = mkdtempSync(join(tmpdir(), 'tern-tls-'));
  const p = (n: string): string => join(d, n);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Tern Test CA', '-keyout', p('ca.key'), '-out', p('ca.pem'));
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', p('server.key'), '-out', p('server.csr'));
  ssl('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('server.ext'), '-out', p('server.pem'));
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=tern-client', '-keyout', p('client.key'), '-out', p('client.csr'));
  ssl('x509', '-req', '-in', p('client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('client.ext'), '-out', p('client.pem'));
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}

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
      const sub = nc.subscribe('tls.hello', { max: 1 });
      nc.publish('tls.hello', 'secret');
      for await (const m of sub) assert.equal(m.string(), 'secret');
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
