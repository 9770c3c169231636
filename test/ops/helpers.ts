// Shared helpers for the operations tests: servers with monitoring on a free
// port, JSON fetches, and Prometheus text parsing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerKind } from '../helpers/servers.js';

export interface MonitoredServer extends RunningServer {
  /** http://127.0.0.1:PORT */
  http: string;
  confFile: string;
}

/** Start a server of either kind from a config text, with -m -1. */
export async function startMonitored(kind: ServerKind, conf: string, extraArgs: string[] = []): Promise<MonitoredServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-ops-'));
  const confFile = join(dir, 'server.conf');
  writeFileSync(confFile, conf);
  const s = await startServer(kind, { args: ['-c', confFile, '-a', '127.0.0.1', '-p', '-1', '-m', '-1', ...extraArgs] });
  const http = s.ports.monitoring?.[0];
  if (!http) throw new Error(`${kind}: no monitoring port in ports file`);
  return { ...s, http: http.replace('0.0.0.0', '127.0.0.1'), confFile };
}

export async function getJson(base: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(base + path);
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text) as Record<string, unknown> };
}

export function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parse Prometheus text exposition format (0.0.4). Throws on any line that
 * is not a comment, blank, or a valid sample, and on samples without a
 * preceding # TYPE for their metric family.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)$/; // Prometheus parses floats like Go: NaN/Inf in any case
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!name || !type || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`bad TYPE line: ${line}`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const family = [...types.keys()].find((f) => name === f || name === `${f}_bucket` || name === `${f}_sum` || name === `${f}_count`);
    if (!family) throw new Error(`sample ${name} has no # TYPE`);
    const labels: Record<string, string> = {};
    if (m[3]) for (const lm of m[3].matchAll(labelRe)) labels[lm[1]!] = lm[2]!;
    samples.push({ name, labels, value: Number(m[4]) });
  }
  return { samples, types };
}

export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (!s) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return s.value;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until fn returns true (or throw with the label). */
export async function eventually(label: string, fn: () => Promise<boolean> | boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for: ${label}`);
}

export interface Certs {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl in a temp dir. */
export function makeCerts(): Certs {
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
