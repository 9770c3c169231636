// Client TLS, as nats-server does it: the INFO goes out in plain text with
// tls_required (and tls_verify when client certificates are checked), then
// the client starts a TLS handshake on the same socket. With verify on, a
// client without a certificate signed by the configured CA fails the
// handshake and is dropped.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { TlsOptions } from '../config/options.js';

export class TlsConfigError extends Error {}

export interface TlsSetup {
  context: SecureContext;
  verify: boolean;
  /** Handshake timeout (ms). */
  timeout: number;
}

/** Read certificate, key and CA files; throws TlsConfigError naming the file that failed. */
export function loadTls(t: TlsOptions): TlsSetup {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new TlsConfigError(`error loading TLS ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const cert = read('certificate', t.certFile);
  const key = read('key', t.keyFile);
  const ca = t.caFile ? read('CA', t.caFile) : undefined;
  let context: SecureContext;
  try {
    context = createSecureContext({ cert, key, ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' });
  } catch (e) {
    throw new TlsConfigError(`error parsing TLS certificate/key (${t.certFile}, ${t.keyFile}): ${(e as Error).message}`);
  }
  return { context, verify: t.verify, timeout: t.timeout };
}

/** Upgrade an accepted socket (INFO already written) to TLS; rejects on handshake failure or timeout. */
export function upgradeToTls(socket: Socket, setup: TlsSetup): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: setup.context,
      requestCert: setup.verify,
      rejectUnauthorized: setup.verify,
    });
    const timer = setTimeout(() => {
      cleanup();
      tls.destroy();
      reject(new Error('TLS handshake timeout'));
    }, setup.timeout);
    const onSecure = (): void => {
      cleanup();
      resolve(tls);
    };
    const onError = (err: Error): void => {
      cleanup();
      tls.destroy();
      reject(err);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      tls.off('secure', onSecure);
      tls.off('error', onError);
    };
    tls.once('secure', onSecure);
    tls.once('error', onError);
  });
}

/** nats-server's tls_version text for /connz ("1.3"). */
export function tlsVersionOf(s: Socket): string {
  if (!(s instanceof TLSSocket)) return '';
  const p = s.getProtocol();
  return p ? p.replace(/^TLSv/, '') : '';
}

export function tlsCipherOf(s: Socket): string {
  if (!(s instanceof TLSSocket)) return '';
  return s.getCipher()?.standardName ?? '';
}
