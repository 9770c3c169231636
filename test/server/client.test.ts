// Behaviour through the official client (@nats-io/transport-node v3), run
// against Tern and the reference nats-server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { RawClient, startWithConfig } from './raw.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let uniq = 0;
const subj = (p: string): string => `${p}.${process.pid}.${++uniq}`;

function collect(nc: NatsConnection, subject: string, opts: { queue?: string; max?: number } = {}): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, {
    ...opts,
    callback: (_e, m) => {
      got.push(m);
    },
  });
  return got;
}

async function until(pred: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

for (const kind of serverKinds()) {
  describe(`NATS client behaviour (${kind})`, () => {
    let srv: RunningServer;
    let a: NatsConnection;
    let b: NatsConnection;
    before(async () => {
      srv = await startServer(kind);
      a = await connect({ servers: srv.url });
      b = await connect({ servers: srv.url });
    });
    after(async () => {
      // A failed before() leaves some unset: still stop the server.
      await a?.close();
      await b?.close();
      await srv?.stop();
    });

    it('pub/sub and wildcards', async () => {
      const s = subj('ps');
      const exact = collect(b, `${s}.x.y`);
      const star = collect(b, `${s}.*.y`);
      const gt = collect(b, `${s}.>`);
      const none = collect(b, `${s}.*`);
      await b.flush();
      a.publish(`${s}.x.y`, 'one');
      a.publish(`${s}.z.y`, 'two');
      a.publish(`${s}.x.y.w`, 'three');
      await a.flush();
      await until(() => gt.length === 3);
      await b.flush();
      assert.deepEqual(exact.map((m) => m.string()), ['one']);
      assert.deepEqual(star.map((m) => m.string()), ['one', 'two']);
      assert.deepEqual(gt.map((m) => m.string()), ['one', 'two', 'three']);
      assert.equal(none.length, 0);
      assert.equal(gt[2]!.subject, `${s}.x.y.w`);
    });

    it('queue groups: each message to exactly one member, spread over members', async () => {
      const s = subj('qg');
      const members = [collect(b, s, { queue: 'workers' }), collect(b, s, { queue: 'workers' }), collect(a, s, { queue: 'workers' })];
      const other = collect(b, s, { queue: 'auditors' });
      const plain = collect(b, s);
      await a.flush();
      await b.flush();
      const N = 600;
      for (let i = 0; i < N; i++) a.publish(s, String(i));
      await a.flush();
      await until(() => plain.length === N && other.length === N && members.reduce((n, m) => n + m.length, 0) === N);
      await sleep(50);
      const seen = members.flatMap((m) => m.map((x) => Number(x.string()))).sort((x, y) => x - y);
      assert.deepEqual(seen, Array.from({ length: N }, (_, i) => i));
      for (const m of members) assert.ok(m.length > N / 10, `member got ${m.length} of ${N}`);
    });

    it('request/reply', async () => {
      const s = subj('rr');
      b.subscribe(s, {
        callback: (_e, m) => {
          m.respond(`re:${m.string()}`);
        },
      });
      await b.flush();
      const r = await a.request(s, 'ping', { timeout: 2000 });
      assert.equal(r.string(), 're:ping');
    });

    it('no responders', async () => {
      await assert.rejects(a.request(subj('nobody'), 'x', { timeout: 2000 }), (e: Error) => /no responders/i.test(e.message));
    });

    it('echo off', async () => {
      const nc = await connect({ servers: srv.url, noEcho: true });
      const s = subj('echo');
      const mine = collect(nc, s);
      const theirs = collect(b, s);
      await nc.flush();
      await b.flush();
      nc.publish(s, 'x');
      await nc.flush();
      await until(() => theirs.length === 1);
      await nc.flush();
      assert.equal(mine.length, 0);
      await nc.close();
    });

    it('headers byte-exact', async () => {
      const s = subj('hdr');
      const got = collect(b, s);
      await b.flush();
      const h = headers();
      h.append('X-Key', 'a value with  spaces');
      h.append('X-Key', 'second');
      h.set('Mixed-Case', 'V');
      a.publish(s, Buffer.from([0, 1, 2, 255]), { headers: h });
      await a.flush();
      await until(() => got.length === 1);
      const m = got[0]!;
      assert.deepEqual(m.headers!.values('X-Key'), ['a value with  spaces', 'second']);
      assert.equal(m.headers!.get('Mixed-Case'), 'V');
      assert.deepEqual([...m.data], [0, 1, 2, 255]);
    });

    it('UNSUB with max', async () => {
      const s = subj('max');
      const got = collect(b, s, { max: 3 });
      await b.flush();
      for (let i = 0; i < 10; i++) a.publish(s, String(i));
      await a.flush();
      await b.flush();
      await sleep(50);
      assert.deepEqual(got.map((m) => m.string()), ['0', '1', '2']);
    });

    it('1 MiB payloads', async () => {
      const s = subj('big');
      const got = collect(b, s);
      await b.flush();
      const p = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < p.length; i++) p[i] = i % 251;
      for (let i = 0; i < 5; i++) a.publish(s, p);
      await a.flush();
      await until(() => got.length === 5, 10_000);
      for (const m of got) assert.ok(Buffer.from(m.data).equals(p));
    });

    it('10,000 subscriptions on one connection', async () => {
      const nc = await connect({ servers: srv.url });
      const s = subj('many');
      const counts = new Array<number>(10_000).fill(0);
      for (let i = 0; i < 10_000; i++) nc.subscribe(`${s}.${i}`, {
          callback: () => {
            counts[i]!++;
          },
        });
      await nc.flush();
      for (let i = 0; i < 10_000; i += 97) a.publish(`${s}.${i}`, 'x');
      await a.flush();
      await until(() => counts.reduce((x, y) => x + y, 0) === Math.ceil(10_000 / 97));
      for (let i = 0; i < 10_000; i++) assert.equal(counts[i], i % 97 === 0 ? 1 : 0);
      await nc.close();
    });

    it('200 concurrent connections', async () => {
      const s = subj('fan');
      const conns = await Promise.all(Array.from({ length: 200 }, () => connect({ servers: srv.url })));
      const got = conns.map((nc) => collect(nc, s));
      await Promise.all(conns.map((nc) => nc.flush()));
      a.publish(s, 'all');
      await a.flush();
      await until(() => got.every((g) => g.length === 1));
      await Promise.all(conns.map((nc) => nc.close()));
    });
  });

  describe(`slow consumer isolation (${kind})`, () => {
    it('a subscriber that never reads is cut off; a fast one receives everything', async () => {
      const srv = await startWithConfig(kind, 'max_pending: 1MB\nwrite_deadline: "30s"\n');
      try {
        const s = subj('slow');
        const slow = await RawClient.ready(srv.port);
        slow.write(`SUB ${s} 1\r\nPING\r\n`);
        await slow.waitFor((d) => d.includes('PONG'));
        slow.socket.pause(); // never read again
        const fast = await connect({ servers: srv.url });
        const got = collect(fast, s);
        await fast.flush();
        const pub = await connect({ servers: srv.url });
        const N = 6000;
        const payload = Buffer.alloc(4096, 7);
        for (let i = 0; i < N; i++) {
          pub.publish(s, payload);
          if (i % 500 === 0) await pub.flush();
        }
        await pub.flush();
        await until(() => got.length === N, 20_000);
        await until(() => /Slow Consumer Detected/.test(srv.output()), 5000);
        slow.socket.resume();
        assert.equal(await slow.waitClosed(10_000), true);
        await pub.close();
        await fast.close();
      } finally {
        await srv.stop();
      }
    });
  });

  describe(`authentication (${kind})`, () => {
    it('user/password', async () => {
      const srv = await startServer(kind, { args: ['--user', 'u1', '--pass', 'p1'] });
      try {
        const ok = await connect({ servers: srv.url, user: 'u1', pass: 'p1' });
        await ok.flush();
        await ok.close();
        await assert.rejects(connect({ servers: srv.url, user: 'u1', pass: 'bad', reconnect: false }), /Authorization Violation/i);
        await assert.rejects(connect({ servers: srv.url, reconnect: false }), /Authorization Violation/i);
        assert.match(srv.output(), /127\.0\.0\.1:\d+ - cid:\d+ - .*authentication error/);
      } finally {
        await srv.stop();
      }
    });

    it('token', async () => {
      const srv = await startServer(kind, { args: ['--auth', 'tok3n'] });
      try {
        const ok = await connect({ servers: srv.url, token: 'tok3n' });
        await ok.flush();
        await ok.close();
        await assert.rejects(connect({ servers: srv.url, token: 'nope', reconnect: false }), /Authorization Violation/i);
      } finally {
        await srv.stop();
      }
    });

    it('users list from config', async () => {
      const srv = await startWithConfig(kind, 'authorization { users: [ { user: a, password: pa }, { user: b, password: pb } ] }\n');
      try {
        for (const [user, pass] of [['a', 'pa'], ['b', 'pb']] as const) {
          const nc = await connect({ servers: srv.url, user, pass });
          await nc.flush();
          await nc.close();
        }
        await assert.rejects(connect({ servers: srv.url, user: 'a', pass: 'pb', reconnect: false }), /Authorization Violation/i);
      } finally {
        await srv.stop();
      }
    });
  });
}
