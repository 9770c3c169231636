// JetStream monitoring: /jsz, the /varz jetstream object and /healthz
// parameters, run against Tern and nats-server with the same streams,
// consumers and traffic, then compared field by field. The tern_jetstream_*
// gauges on /metrics must move by exactly the traffic sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { serverKinds, type ServerKind } from '../helpers/servers.js';
import { getJson, parsePrometheus, sampleValue, startMonitored, typeOf, type MonitoredServer, type Sample } from './helpers.js';

type Json = Record<string, unknown>;

const JSZ_QUERIES = ['', 'accounts=true', 'streams=true', 'consumers=true', 'consumers=true&config=true', 'acc=$G', 'acc=nope', 'accounts=true&offset=1', 'streams=true&limit=1'];

interface Observed {
  jsz: Map<string, Json>;
  varzJs: Json;
  health: Map<string, number>;
  badParams: Map<string, { status: number; text: string }>;
  disabledJsz: Json;
  disabledVarzJs: Json;
}

const observed = new Map<ServerKind, Observed>();

async function startJs(kind: ServerKind): Promise<MonitoredServer> {
  return startMonitored(kind, '', ['-js', '-sd', mkdtempSync(join(tmpdir(), `jsz-${kind}-`))]);
}

async function pull(nc: NatsConnection, stream: string, consumer: string, max: number): Promise<JsMsg[]> {
  const c = await jetstream(nc).consumers.get(stream, consumer);
  const out: JsMsg[] = [];
  for await (const m of await c.fetch({ max_messages: max, expires: 2000 })) {
    out.push(m);
    if (out.length === max) break;
  }
  return out;
}

/** The same JetStream state on either server: two streams, three consumers, some acked, some pending. */
async function populate(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'JSZ_A', subjects: ['jsz.a.>'] });
  await jsm.streams.add({ name: 'JSZ_B', subjects: ['jsz.b'], max_msgs: 100 });
  await jsm.consumers.add('JSZ_A', { durable_name: 'W1', ack_policy: AckPolicy.Explicit });
  await jsm.consumers.add('JSZ_A', { durable_name: 'W2', ack_policy: AckPolicy.Explicit, max_ack_pending: 50 });
  await jsm.consumers.add('JSZ_B', { durable_name: 'R1', ack_policy: AckPolicy.None });
  for (let i = 0; i < 5; i++) await js.publish(`jsz.a.${i % 2}`, `msg-${i}`);
  for (let i = 0; i < 3; i++) await js.publish('jsz.b', 'bb');
  const got = await pull(nc, 'JSZ_A', 'W1', 3);
  assert.equal(got.length, 3);
  got[0]!.ack(); // one acked, two awaiting ack
  await nc.flush();
  // An API error, counted in api.errors.
  await assert.rejects(jsm.streams.info('JSZ_MISSING'));
}

async function observe(kind: ServerKind): Promise<Observed> {
  const srv = await startJs(kind);
  const nc = await connect({ servers: srv.url });
  try {
    await populate(nc);
    const jsz = new Map<string, Json>();
    for (const q of JSZ_QUERIES) {
      const r = await getJson(srv.http, `/jsz?${q}`);
      assert.equal(r.status, 200, `${kind} /jsz?${q}`);
      jsz.set(q, r.body);
    }
    const varzJs = (await getJson(srv.http, '/varz')).body.jetstream as Json;
    const health = new Map<string, number>();
    for (const q of ['', 'js-enabled-only=true', 'js-server-only=1', 'js-enabled=true', 'js-enabled-only=false']) {
      health.set(q, (await fetch(`${srv.http}/healthz?${q}`)).status);
    }
    const badParams = new Map<string, { status: number; text: string }>();
    for (const p of ['/jsz?streams=maybe', '/jsz?limit=ten', '/healthz?js-enabled-only=x']) {
      const r = await fetch(srv.http + p);
      badParams.set(p, { status: r.status, text: await r.text() });
    }
    await nc?.close();
    await srv?.stop();
    const off = await startMonitored(kind, '');
    const disabledJsz = (await getJson(off.http, '/jsz?streams=true')).body;
    const disabledVarzJs = (await getJson(off.http, '/varz')).body.jetstream as Json;
    await off.stop();
    return { jsz, varzJs, health, badParams, disabledJsz, disabledVarzJs };
  } finally {
    if (!nc.isClosed()) await nc.close();
    await srv.stop();
  }
}

/** Values that differ between any two servers by nature (ids, clocks, paths, disk space). */
const VOLATILE = new Set(['server_id', 'now', 'created', 'first_ts', 'last_ts', 'last_active', 'leader', 'store_dir', 'max_storage', 'ts']);

/**
 * Compare `got` (Tern) with `want` (nats-server) recursively: the same keys,
 * the same JSON types, and equal values except the volatile ones. Arrays of
 * named objects are matched by name. Returns the differences as paths.
 */
function diff(want: unknown, got: unknown, path: string, out: string[]): void {
  if (typeOf(want) !== typeOf(got)) {
    out.push(`${path}: type ${typeOf(got)}, want ${typeOf(want)}`);
    return;
  }
  if (Array.isArray(want) && Array.isArray(got)) {
    if (want.length !== got.length) {
      out.push(`${path}: length ${got.length}, want ${want.length}`);
      return;
    }
    const key = (x: unknown): string => String((x as Json)?.name ?? '');
    const sortedW = [...want].sort((a, b) => key(a).localeCompare(key(b)));
    const sortedG = [...got].sort((a, b) => key(a).localeCompare(key(b)));
    sortedW.forEach((w, i) => diff(w, sortedG[i], `${path}[${key(w) || i}]`, out));
    return;
  }
  if (typeOf(want) === 'object') {
    const w = want as Json;
    const g = got as Json;
    for (const k of Object.keys(w)) {
      if (!(k in g)) out.push(`${path}.${k}: missing`);
      else if (!VOLATILE.has(k)) diff(w[k], g[k], `${path}.${k}`, out);
      else if (typeOf(w[k]) !== typeOf(g[k])) out.push(`${path}.${k}: type ${typeOf(g[k])}, want ${typeOf(w[k])}`);
    }
    for (const k of Object.keys(g)) if (!(k in w)) out.push(`${path}.${k}: not in nats-server's output`);
    return;
  }
  if (want !== got) out.push(`${path}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

describe('JetStream monitoring, Tern vs nats-server', () => {
  for (const kind of serverKinds()) {
    it(`${kind}: observe /jsz, /varz jetstream, /healthz`, async () => {
      observed.set(kind, await observe(kind));
    });
  }

  it('tern: /jsz counts what was created and sent (no reference needed)', () => {
    const t = observed.get('tern')!;
    const base = t.jsz.get('')!;
    assert.equal(base.streams, 2);
    assert.equal(base.consumers, 3);
    assert.equal(base.messages, 8);
    assert.equal(base.disabled, undefined);
    assert.equal(base.account_details, undefined, 'no account_details without accounts/streams/consumers/acc');
    const api = base.api as { total: number; errors: number };
    assert.ok(api.errors >= 1, 'the STREAM.INFO of a missing stream is an API error');
    const cons = t.jsz.get('consumers=true')!;
    const streams = ((cons.account_details as Json[])[0]!.stream_detail as Json[]).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    assert.deepEqual(streams.map((s) => s.name), ['JSZ_A', 'JSZ_B']);
    assert.equal(streams[0]!.config, undefined, 'config only with config=true');
    const w1 = (streams[0]!.consumer_detail as Json[]).find((c) => c.name === 'W1')!;
    assert.equal(w1.num_ack_pending, 2);
    assert.equal(w1.num_pending, 2);
    assert.equal(w1.config, undefined);
    const withCfg = ((t.jsz.get('consumers=true&config=true')!.account_details as Json[])[0]!.stream_detail as Json[]).find((s) => s.name === 'JSZ_B')!;
    assert.equal((withCfg.config as Json).max_msgs, 100);
    assert.equal(((withCfg.consumer_detail as Json[])[0]!.config as Json).ack_policy, 'none');
    assert.equal(t.jsz.get('acc=nope')!.account_details, undefined);
    assert.equal(t.jsz.get('accounts=true&offset=1')!.account_details, undefined);
    assert.equal(t.disabledJsz.disabled, true);
  });

  it('/jsz matches nats-server field by field for every parameter set', (t) => {
    if (!observed.has('nats-server')) return t.skip('TERN_ONLY=1');
    const ref = observed.get('nats-server')!;
    const tern = observed.get('tern')!;
    const problems: string[] = [];
    for (const q of JSZ_QUERIES) diff(ref.jsz.get(q), tern.jsz.get(q), `/jsz?${q}`, problems);
    diff(ref.disabledJsz, tern.disabledJsz, '/jsz(disabled)', problems);
    assert.deepEqual(problems, []);
  });

  it('/varz jetstream and /healthz parameters match nats-server', (t) => {
    if (!observed.has('nats-server')) return t.skip('TERN_ONLY=1');
    const ref = observed.get('nats-server')!;
    const tern = observed.get('tern')!;
    const problems: string[] = [];
    diff(ref.varzJs, tern.varzJs, 'varz.jetstream', problems);
    diff(ref.disabledVarzJs, tern.disabledVarzJs, 'varz.jetstream(disabled)', problems);
    assert.deepEqual(problems, []);
    assert.deepEqual([...tern.health], [...ref.health]);
    assert.deepEqual([...tern.badParams], [...ref.badParams]);
  });
});

describe('tern: /healthz asset checks (nats-server 2.10+ parameters)', () => {
  let srv: MonitoredServer;
  let nc: NatsConnection;
  before(async () => {
    srv = await startJs('tern');
    nc = await connect({ servers: srv.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'HZ', subjects: ['hz.>'] });
    await jsm.consumers.add('HZ', { durable_name: 'HC', ack_policy: AckPolicy.Explicit });
  });
  after(async () => {
    await nc?.close();
    await srv?.stop();
  });

  it('existing stream/consumer ok; missing ones 404; stream without account 400', async () => {
    const check = async (q: string): Promise<[number, Json]> => {
      const r = await fetch(`${srv.http}/healthz?${q}`);
      return [r.status, (await r.json()) as Json];
    };
    assert.deepEqual(await check('account=$G&stream=HZ'), [200, { status: 'ok' }]);
    assert.deepEqual(await check('account=$G&stream=HZ&consumer=HC'), [200, { status: 'ok' }]);
    assert.deepEqual(await check('account=$G&stream=NOPE'), [404, { status: 'unavailable', error: 'JetStream stream "NOPE" not found on account "$G"' }]);
    assert.deepEqual(await check('account=$G&stream=HZ&consumer=NOPE'), [404, { status: 'unavailable', error: 'JetStream consumer "NOPE" not found for stream "HZ" on account "$G"' }]);
    assert.deepEqual(await check('account=OTHER'), [404, { status: 'unavailable', error: 'JetStream account "OTHER" not found' }]);
    assert.deepEqual(await check('stream=HZ'), [400, { status: 'error', error: '"account" must not be empty when checking stream health' }]);
  });
});

describe('tern: tern_jetstream_* metrics move by exactly the traffic sent', () => {
  let srv: MonitoredServer;
  let nc: NatsConnection;
  before(async () => {
    srv = await startJs('tern');
    nc = await connect({ servers: srv.url });
  });
  after(async () => {
    await nc?.close();
    await srv?.stop();
  });

  const scrape = async (): Promise<Sample[]> => {
    const r = await fetch(srv.http + '/metrics');
    assert.equal(r.status, 200);
    return parsePrometheus(await r.text()).samples;
  };

  it('streams, consumers, messages, bytes, pending, ack pending, redelivered, api totals', async () => {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    let s = await scrape();
    assert.equal(sampleValue(s, 'tern_jetstream_enabled'), 1);
    assert.equal(sampleValue(s, 'tern_jetstream_streams'), 0);
    assert.equal(sampleValue(s, 'tern_jetstream_consumers'), 0);

    await jsm.streams.add({ name: 'MET', subjects: ['met.>'] });
    await jsm.consumers.add('MET', { durable_name: 'MC', ack_policy: AckPolicy.Explicit });
    s = await scrape();
    assert.equal(sampleValue(s, 'tern_jetstream_streams'), 1);
    assert.equal(sampleValue(s, 'tern_jetstream_consumers'), 1);
    assert.equal(sampleValue(s, 'tern_jetstream_stream_messages', { stream: 'MET' }), 0);

    const N = 40;
    for (let i = 0; i < N; i++) await js.publish('met.x', new Uint8Array(64));
    s = await scrape();
    const jsz = (await getJson(srv.http, '/jsz?streams=true')).body;
    const metState = ((jsz.account_details as Json[])[0]!.stream_detail as Json[])[0]!.state as Json;
    assert.equal(sampleValue(s, 'tern_jetstream_stream_messages', { stream: 'MET' }), N);
    assert.equal(sampleValue(s, 'tern_jetstream_stream_bytes', { stream: 'MET' }), metState.bytes);
    assert.ok(Number(metState.bytes) >= N * 64);
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_pending', { stream: 'MET', consumer: 'MC' }), N);
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_ack_pending', { stream: 'MET', consumer: 'MC' }), 0);

    // Take 10: 7 acked, 3 nak'd (redelivered on the next fetch).
    const first = await pull(nc, 'MET', 'MC', 10);
    assert.equal(first.length, 10);
    first.slice(0, 7).forEach((m) => m.ack());
    first.slice(7).forEach((m) => m.nak());
    await nc.flush();
    s = await scrape();
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_pending', { stream: 'MET', consumer: 'MC' }), N - 10);
    const again = await pull(nc, 'MET', 'MC', 3);
    assert.deepEqual(
      again.map((m) => m.info.redelivered),
      [true, true, true],
    );
    s = await scrape();
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_ack_pending', { stream: 'MET', consumer: 'MC' }), 3);
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_redelivered', { stream: 'MET', consumer: 'MC' }), 3);
    again.forEach((m) => m.ack());
    await nc.flush();
    s = await scrape();
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_ack_pending', { stream: 'MET', consumer: 'MC' }), 0);
    assert.equal(sampleValue(s, 'tern_jetstream_consumer_num_redelivered', { stream: 'MET', consumer: 'MC' }), 0);

    // API counters: exactly one request per raw call, one of them an error.
    const before = await scrape();
    await nc.request('$JS.API.STREAM.INFO.MET', new Uint8Array(0));
    await nc.request('$JS.API.STREAM.NAMES', new Uint8Array(0));
    await nc.request('$JS.API.STREAM.INFO.NOT_THERE', new Uint8Array(0));
    const afterApi = await scrape();
    const d = (n: string): number => sampleValue(afterApi, n) - sampleValue(before, n);
    assert.equal(d('tern_jetstream_api_requests_total'), 3);
    assert.equal(d('tern_jetstream_api_errors_total'), 1);

    await jsm.streams.delete('MET');
    s = await scrape();
    assert.equal(sampleValue(s, 'tern_jetstream_streams'), 0);
    assert.equal(s.some((x) => x.name === 'tern_jetstream_stream_messages'), false, 'deleted stream has no series');
  });
});
