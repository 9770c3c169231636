// Shared setup for the JetStream differential tests: start a server of a given
// kind with JetStream on a fresh store dir, connect the official clients, and a
// few helpers for raw API requests and protocol-level status messages.
import { connect, type NatsConnection, type Msg, type MsgHdrs, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, JetStreamApiError } from '@nats-io/jetstream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startServer, serverKinds, type RunningServer, type ServerKind } from '../helpers/servers.js';

export interface JsEnv {
  kind: ServerKind;
  server: RunningServer;
  storeDir: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Restart the server on the same store dir (graceful or kill -9), reconnecting the clients. */
  restart(how: 'stop' | 'kill'): Promise<void>;
  close(): Promise<void>;
}

export async function startJs(kind: ServerKind, extraArgs: string[] = []): Promise<JsEnv> {
  const storeDir = mkdtempSync(join(tmpdir(), `js-${kind}-`));
  const args = ['-js', '-sd', storeDir, ...extraArgs];
  const env = {} as JsEnv;
  env.kind = kind;
  env.storeDir = storeDir;
  const open = async (): Promise<void> => {
    env.server = await startServer(kind, { args });
    env.nc = await connect({ servers: env.server.url, reconnect: false });
    env.js = jetstream(env.nc);
    env.jsm = await jetstreamManager(env.nc);
  };
  await open();
  env.restart = async (how) => {
    await env.nc.close().catch(() => undefined);
    if (how === 'kill') await env.server.kill();
    else await env.server.stop();
    await open();
  };
  env.close = async () => {
    await env.nc.close().catch(() => undefined);
    await env.server.stop();
    rmSync(storeDir, { recursive: true, force: true });
  };
  return env;
}

let counter = 0;
/** A stream/subject name unique within this process. */
export function uniq(prefix: string): string {
  counter++;
  return `${prefix}${process.pid}_${counter}`;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const s2b = (s: string): Uint8Array => enc.encode(s);
export const b2s = (b: Uint8Array): string => dec.decode(b);

/** Raw JSON request to a $JS.API subject; returns the parsed reply. */
export async function apiRequest(nc: NatsConnection, subject: string, body?: unknown): Promise<Record<string, unknown>> {
  const payload = body === undefined ? new Uint8Array() : typeof body === 'string' ? s2b(body) : s2b(JSON.stringify(body));
  const m = await nc.request(subject, payload, { timeout: 5000 });
  return JSON.parse(b2s(m.data)) as Record<string, unknown>;
}

/** Asserts that a promise rejects with a JetStream API error carrying err_code. */
export async function rejectsWithCode(p: Promise<unknown>, errCode: number, description?: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof JetStreamApiError, `expected JetStreamApiError, got ${String(err)}`);
    assert.equal(err.code, errCode, `err_code of ${err.message}`);
    if (typeof description === 'string') assert.equal(err.message, description);
    else if (description) assert.match(err.message, description);
    return true;
  });
}

export function hdrs(entries: Record<string, string>): MsgHdrs {
  const h = headers();
  for (const [k, v] of Object.entries(entries)) h.set(k, v);
  return h;
}

/** A protocol-level view of one delivery to an inbox: status line, headers, subject, reply, data. */
export interface RawDelivery {
  subject: string;
  reply: string;
  status: number;
  description: string;
  headers: Record<string, string>;
  data: string;
}

export function rawDelivery(m: Msg): RawDelivery {
  const h: Record<string, string> = {};
  let status = 0;
  let description = '';
  if (m.headers) {
    for (const [k, v] of m.headers) h[k] = v.join(',');
    status = m.headers.hasError || m.headers.code ? m.headers.code : 0;
    description = m.headers.description;
  }
  return { subject: m.subject, reply: m.reply ?? '', status, description, headers: h, data: b2s(m.data) };
}

/**
 * Sends one pull request to CONSUMER.MSG.NEXT and collects what arrives on its
 * inbox until `until` says stop or `timeoutMs` passes.
 */
export async function pull(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  body: unknown,
  until: (got: RawDelivery[]) => boolean,
  timeoutMs = 3000,
): Promise<RawDelivery[]> {
  const inbox = `_INBOX.pull.${uniq('p')}`;
  const got: RawDelivery[] = [];
  const sub = nc.subscribe(inbox);
  const done = (async () => {
    for await (const m of sub) {
      got.push(rawDelivery(m));
      if (until(got)) break;
    }
  })();
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, typeof body === 'string' ? s2b(body) : s2b(JSON.stringify(body)), {
    reply: inbox,
  });
  await done;
  clearTimeout(timer);
  sub.unsubscribe();
  return got;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `read` until `done` holds for its value or `timeoutMs` passes, and
 * returns the last value read either way: the caller asserts on it, so a
 * timeout fails with the real difference instead of a bare "timed out".
 * Use it instead of a fixed sleep before asserting on eventual state.
 */
export async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() >= deadline) return v;
    await sleep(intervalMs);
  }
}

/** Resolves once the wall clock is strictly past `ms` (epoch milliseconds). */
export async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await sleep(Math.max(1, ms - Date.now() + 1));
}

export const NANOS = 1_000_000;
/** milliseconds to nanoseconds, as the JSON API wants durations. */
export const ms = (n: number): number => n * NANOS;

/** serverKinds(), narrowed by JS_KIND=tern|nats-server while developing one side. */
export function jsKinds(): ServerKind[] {
  const only = process.env.JS_KIND;
  return serverKinds().filter((k) => !only || k === only);
}
