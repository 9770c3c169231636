// Consumers through the official JetStream client and raw pull requests, run
// against Tern and the reference nats-server with the same inputs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { jsKinds, startJs, uniq, apiRequest, rejectsWithCode, pull, s2b, b2s, sleep, ms, waitFor, clockPast, type JsEnv } from './helpers.js';

async function fillStream(env: JsEnv, name: string, subjects: string[], n: number): Promise<void> {
  await env.jsm.streams.add({ name, subjects: [`${name}.>`] });
  for (let i = 0; i < n; i++) await env.js.publish(`${name}.${subjects[i % subjects.length]}`, s2b(`m${i + 1}`));
}

async function fetchAll(env: JsEnv, stream: string, consumer: string, max: number, expires = 1000): Promise<JsMsg[]> {
  const c = await env.js.consumers.get(stream, consumer);
  const iter = await c.fetch({ max_messages: max, expires });
  const out: JsMsg[] = [];
  for await (const m of iter) out.push(m);
  return out;
}

const seqs = (msgs: JsMsg[]): number[] => msgs.map((m) => m.seq);

for (const kind of jsKinds()) {
  describe(`jetstream consumers [${kind}]`, { timeout: 120_000 }, () => {
    let env: JsEnv;
    before(async () => {
      env = await startJs(kind);
    });
    after(async () => {
      await env?.close();
    });

    it('creates durable pull consumers with nats-server defaults (new and legacy subjects)', async () => {
      const s = uniq('CDEF');
      await fillStream(env, s, ['a', 'b'], 2);
      const r = await apiRequest(env.nc, `$JS.API.CONSUMER.CREATE.${s}.d1`, { stream_name: s, config: { durable_name: 'd1', ack_policy: 'explicit' } });
      assert.equal(r.type, 'io.nats.jetstream.api.v1.consumer_create_response');
      assert.equal(r.stream_name, s);
      assert.equal(r.name, 'd1');
      assert.deepEqual(r.config, {
        durable_name: 'd1',
        name: 'd1',
        deliver_policy: 'all',
        ack_policy: 'explicit',
        ack_wait: 30_000_000_000,
        max_deliver: -1,
        replay_policy: 'instant',
        max_waiting: 512,
        max_ack_pending: 1000,
        num_replicas: 0,
      });
      assert.deepEqual(r.delivered, { consumer_seq: 0, stream_seq: 0 });
      assert.deepEqual(r.ack_floor, { consumer_seq: 0, stream_seq: 0 });
      assert.deepEqual([r.num_ack_pending, r.num_redelivered, r.num_waiting, r.num_pending], [0, 0, 0, 2]);

      const legacy = await apiRequest(env.nc, `$JS.API.CONSUMER.DURABLE.CREATE.${s}.d2`, {
        stream_name: s,
        config: { durable_name: 'd2', ack_policy: 'explicit', filter_subject: `${s}.a` },
      });
      assert.equal(legacy.name, 'd2');
      assert.equal(legacy.num_pending, 1);
      const eph = await apiRequest(env.nc, `$JS.API.CONSUMER.CREATE.${s}`, { stream_name: s, config: { ack_policy: 'none' } });
      assert.equal(typeof eph.name, 'string');
      assert.equal((eph.config as Record<string, unknown>).inactive_threshold, 5_000_000_000);

      const names: string[] = [];
      for await (const ci of env.jsm.consumers.list(s)) names.push(ci.name);
      assert.deepEqual(names.sort(), ['d1', 'd2', String(eph.name)].sort());
      const si = await env.jsm.streams.info(s);
      assert.equal(si.state.consumer_count, 3);
      assert.equal(await env.jsm.consumers.delete(s, 'd2'), true);
      await rejectsWithCode(env.jsm.consumers.info(s, 'd2'), 10014, 'consumer not found');
      await rejectsWithCode(env.jsm.consumers.delete(s, 'd2'), 10014);
    });

    it('rejects bad consumer requests with nats-server error codes', async () => {
      const s = uniq('CERR');
      await fillStream(env, s, ['a'], 1);
      const base = { ack_policy: 'explicit' };
      const err = async (subject: string, body: unknown): Promise<unknown> => (await apiRequest(env.nc, subject, body)).error;
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}`, { stream_name: s, config: { ...base, durable_name: 'x' } }),
        { code: 400, err_code: 10020, description: 'consumer expected to be ephemeral but a durable name was set in request' });
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}.x`, { stream_name: s, config: { ...base, durable_name: 'y' } }),
        { code: 400, err_code: 10017, description: 'consumer name in subject does not match durable name in request' });
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}.x`, { stream_name: `${s}X`, config: { ...base, durable_name: 'x' } }),
        { code: 400, err_code: 10056, description: 'stream name in subject does not match request' });
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}.x.${s}.a`, { stream_name: s, config: { ...base, durable_name: 'x', filter_subject: `${s}.b` } }),
        { code: 400, err_code: 10131, description: 'Consumer create request did not match filtered subject from create subject' });
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}NOPE.x`, { stream_name: `${s}NOPE`, config: { ...base, durable_name: 'x' } }),
        { code: 404, err_code: 10059, description: 'stream not found' });
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}.x`, { stream_name: s, config: { ...base, durable_name: 'x', filter_subject: 'other.subject' } }),
        { code: 400, err_code: 10093, description: 'consumer filter subject is not a valid subset of the interest subjects' });
      assert.deepEqual(await err(`$JS.API.CONSUMER.CREATE.${s}.x`, { stream_name: s, config: { ...base, durable_name: 'x', deliver_subject: 'p.*' } }),
        { code: 400, err_code: 10079, description: 'consumer deliver subject has wildcards' });
      // action create / update (nats-server 2.10 API; 2.9.10 ignores `action` and updates in place).
      await env.jsm.consumers.add(s, { durable_name: 'c1', ack_policy: AckPolicy.Explicit });
      if (kind === 'tern') {
      const clash = await apiRequest(env.nc, `$JS.API.CONSUMER.CREATE.${s}.c1`, { stream_name: s, action: 'create', config: { ...base, durable_name: 'c1', max_deliver: 3 } });
      assert.deepEqual(clash.error, { code: 400, err_code: 10148, description: 'consumer already exists' });
      const upd = await apiRequest(env.nc, `$JS.API.CONSUMER.CREATE.${s}.c9`, { stream_name: s, action: 'update', config: { ...base, durable_name: 'c9' } });
      assert.deepEqual(upd.error, { code: 400, err_code: 10149, description: 'consumer does not exist' });
      }
      // An update (no action) of an existing consumer keeps its state and changes the config.
      const u = await env.jsm.consumers.update(s, 'c1', { max_deliver: 5 });
      assert.equal(u.config.max_deliver, 5);
    });

    it('fetches, acks and reports delivered / ack floor / pending like nats-server', async () => {
      const s = uniq('CPULL');
      await fillStream(env, s, ['a'], 5);
      await env.jsm.consumers.add(s, { durable_name: 'w', ack_policy: AckPolicy.Explicit });
      const got = await fetchAll(env, s, 'w', 3);
      assert.deepEqual(seqs(got), [1, 2, 3]);
      assert.deepEqual(got.map((m) => b2s(m.data)), ['m1', 'm2', 'm3']);
      assert.equal(got[0]!.subject, `${s}.a`);
      assert.deepEqual([got[0]!.info.deliveryCount, got[0]!.info.streamSequence, got[0]!.info.deliverySequence, got[0]!.info.pending], [1, 1, 1, 4]);
      assert.equal(got[2]!.info.pending, 2);
      let ci = await env.jsm.consumers.info(s, 'w');
      assert.deepEqual([ci.delivered.stream_seq, ci.delivered.consumer_seq, ci.num_ack_pending, ci.num_pending], [3, 3, 3, 2]);
      assert.deepEqual([ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq], [0, 0]);
      await got[1]!.ackAck();
      ci = await env.jsm.consumers.info(s, 'w');
      assert.deepEqual([ci.num_ack_pending, ci.ack_floor.stream_seq], [2, 0]);
      await got[0]!.ackAck();
      ci = await env.jsm.consumers.info(s, 'w');
      assert.deepEqual([ci.num_ack_pending, ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq], [1, 2, 2]);
      got[2]!.ack();
      const rest = await fetchAll(env, s, 'w', 10);
      assert.deepEqual(seqs(rest), [4, 5]);
      for (const m of rest) await m.ackAck();
      ci = await env.jsm.consumers.info(s, 'w');
      assert.deepEqual([ci.num_ack_pending, ci.num_pending, ci.ack_floor.stream_seq, ci.delivered.stream_seq], [0, 0, 5, 5]);
      // New messages after creation are delivered too.
      await env.js.publish(`${s}.a`, s2b('m6'));
      const c = await env.js.consumers.get(s, 'w');
      const m6 = await c.next({ expires: 2000 });
      assert.equal(m6?.seq, 6);
      m6?.ack();
    });

    it('redelivers after ack_wait, on -NAK (with delay) and stops on +TERM and max_deliver', async () => {
      const s = uniq('CRED');
      await fillStream(env, s, ['a'], 3);
      await env.jsm.consumers.add(s, { durable_name: 'r', ack_policy: AckPolicy.Explicit, ack_wait: ms(700), max_deliver: 2 });
      const first = await fetchAll(env, s, 'r', 3);
      assert.deepEqual(seqs(first), [1, 2, 3]);
      first[0]!.nak(); // now
      first[1]!.term();
      // seq 3 left alone: redelivered after ack_wait.
      const c = await env.js.consumers.get(s, 'r');
      const again = await c.next({ expires: 3000 });
      assert.equal(again?.seq, 1);
      assert.equal(again?.info.deliveryCount, 2);
      assert.equal(again?.info.redelivered, true);
      const third = await c.next({ expires: 3000 });
      assert.equal(third?.seq, 3);
      assert.equal(third?.info.deliveryCount, 2);
      let ci = await env.jsm.consumers.info(s, 'r');
      assert.equal(ci.num_redelivered, 2);
      // max_deliver 2 reached for 1 and 3; 2 was terminated: nothing more comes.
      const none = await fetchAll(env, s, 'r', 5, 2000);
      assert.deepEqual(seqs(none), []);
      ci = await env.jsm.consumers.info(s, 'r');
      assert.equal(ci.num_pending, 0);

      const d = uniq('CNAK');
      await fillStream(env, d, ['a'], 1);
      await env.jsm.consumers.add(d, { durable_name: 'n', ack_policy: AckPolicy.Explicit });
      const [m] = await fetchAll(env, d, 'n', 1);
      const t0 = Date.now();
      m!.nak(800);
      const cn = await env.js.consumers.get(d, 'n');
      const back = await cn.next({ expires: 3000 });
      assert.equal(back?.seq, 1);
      assert.ok(Date.now() - t0 >= 700, `redelivered after ${Date.now() - t0}ms`);
      back?.ack();
    });

    it('+WPI extends the ack deadline', async () => {
      const s = uniq('CWPI');
      await fillStream(env, s, ['a'], 1);
      const ackWait = 3000;
      await env.jsm.consumers.add(s, { durable_name: 'p', ack_policy: AckPolicy.Explicit, ack_wait: ms(ackWait) });
      const [m] = await fetchAll(env, s, 'p', 1);
      assert.equal(m?.seq, 1);
      const deliveredBy = Date.now();
      // A pull waits the whole time: had ack_wait run out (WPI ignored), the
      // message would be redelivered into it. Each WPI comes 500 ms after the
      // last, leaving 2.5 s of slack per step for a loaded machine.
      const watch = fetchAll(env, s, 'p', 1, ackWait + 1500);
      while (Date.now() - deliveredBy <= ackWait + 500) {
        await sleep(500);
        m!.working();
      }
      const redelivered = await watch;
      assert.ok(Date.now() - deliveredBy > ackWait, 'the check outlasted ack_wait');
      assert.deepEqual(seqs(redelivered), [], 'no redelivery while in progress');
      const ci = await env.jsm.consumers.info(s, 'p');
      assert.deepEqual([ci.num_ack_pending, ci.num_redelivered, ci.delivered.consumer_seq], [1, 0, 1]);
      assert.ok(await m!.ackAck());
    });

    it('honours max_ack_pending', async () => {
      const s = uniq('CMAP');
      await fillStream(env, s, ['a'], 5);
      await env.jsm.consumers.add(s, { durable_name: 'm', ack_policy: AckPolicy.Explicit, max_ack_pending: 2 });
      const got = await fetchAll(env, s, 'm', 5);
      assert.deepEqual(seqs(got), [1, 2]);
      await got[0]!.ackAck();
      const more = await fetchAll(env, s, 'm', 5);
      assert.deepEqual(seqs(more), [3]);
    });

    it('supports ack_policy all and none', async () => {
      const s = uniq('CACK');
      await fillStream(env, s, ['a'], 4);
      await env.jsm.consumers.add(s, { durable_name: 'all', ack_policy: AckPolicy.All });
      const got = await fetchAll(env, s, 'all', 4);
      assert.deepEqual(seqs(got), [1, 2, 3, 4]);
      await got[2]!.ackAck();
      let ci = await env.jsm.consumers.info(s, 'all');
      assert.deepEqual([ci.num_ack_pending, ci.ack_floor.stream_seq], [1, 3]);
      await env.jsm.consumers.add(s, { durable_name: 'none', ack_policy: AckPolicy.None });
      const n = await fetchAll(env, s, 'none', 4);
      assert.deepEqual(seqs(n), [1, 2, 3, 4]);
      ci = await env.jsm.consumers.info(s, 'none');
      assert.deepEqual([ci.num_ack_pending, ci.ack_floor.stream_seq, ci.num_pending], [0, 4, 0]);
    });

    it('supports every deliver policy and filter subjects', async () => {
      const s = uniq('CPOL');
      await fillStream(env, s, ['a', 'b', 'c'], 6); // a:1,4 b:2,5 c:3,6
      // A start time strictly between m6 and m7, whatever the scheduler does:
      // m1..m6 were stored before now, m7 is published once the clock is past
      // t (10 ms each side for ms rounding of the client's and server's clocks).
      const t = new Date(Date.now() + 10);
      await clockPast(t.getTime() + 10);
      await env.js.publish(`${s}.a`, s2b('m7'));
      const mk = async (name: string, cfg: Record<string, unknown>): Promise<number[]> => {
        await env.jsm.consumers.add(s, { durable_name: name, ack_policy: AckPolicy.Explicit, ...cfg });
        return seqs(await fetchAll(env, s, name, 10));
      };
      assert.deepEqual(await mk('all', { deliver_policy: DeliverPolicy.All }), [1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(await mk('last', { deliver_policy: DeliverPolicy.Last }), [7]);
      assert.deepEqual(await mk('new', { deliver_policy: DeliverPolicy.New }), []);
      assert.deepEqual(await mk('seq', { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 5 }), [5, 6, 7]);
      assert.deepEqual(await mk('time', { deliver_policy: DeliverPolicy.StartTime, opt_start_time: t.toISOString() }), [7]);
      assert.deepEqual(await mk('lps', { deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: `${s}.>` }), [5, 6, 7]);
      assert.deepEqual(await mk('fa', { filter_subject: `${s}.a` }), [1, 4, 7]);
      assert.deepEqual(await mk('lastb', { deliver_policy: DeliverPolicy.Last, filter_subject: `${s}.b` }), [5]);
      const ci = await env.jsm.consumers.info(s, 'fa');
      assert.equal(ci.num_ack_pending, 3);
      assert.equal(ci.num_pending, 0);
    });

    it('answers raw pull requests with 404 / 408 / 409 / 100 status messages', async () => {
      const s = uniq('CRAW');
      await env.jsm.streams.add({ name: s, subjects: [`${s}.>`] });
      await env.jsm.consumers.add(s, { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
      // no_wait on an empty stream: 404 No Messages.
      let got = await pull(env.nc, s, 'raw', { batch: 1, no_wait: true }, (g) => g.length >= 1);
      assert.deepEqual(got.map((g) => [g.status, g.description]), [[404, 'No Messages']]);
      // expires without messages: 408 Request Timeout with pending headers.
      const t0 = Date.now();
      got = await pull(env.nc, s, 'raw', { batch: 2, expires: ms(300) }, (g) => g.length >= 1);
      assert.equal(got[0]!.status, 408);
      assert.equal(got[0]!.description, 'Request Timeout');
      assert.equal(got[0]!.headers['Nats-Pending-Messages'], '2');
      assert.equal(got[0]!.headers['Nats-Pending-Bytes'], '0');
      assert.ok(Date.now() - t0 >= 250);
      // idle heartbeats while waiting.
      got = await pull(env.nc, s, 'raw', { batch: 1, expires: ms(1300), idle_heartbeat: ms(300) }, (g) => g.some((x) => x.status === 408));
      const hb = got.filter((g) => g.status === 100);
      assert.ok(hb.length >= 2, `heartbeats: ${JSON.stringify(got)}`);
      assert.equal(hb[0]!.description, 'Idle Heartbeat');
      // heartbeat too large for the expiry.
      got = await pull(env.nc, s, 'raw', { batch: 1, expires: ms(1000), idle_heartbeat: ms(600) }, (g) => g.length >= 1);
      assert.deepEqual([got[0]!.status, got[0]!.description], [400, 'Bad Request - heartbeat value too large']);
      // Messages arrive with the stream subject and an ack reply; then batch is done.
      for (let i = 0; i < 3; i++) await env.js.publish(`${s}.x`, s2b(`p${i}`));
      got = await pull(env.nc, s, 'raw', 2, (g) => g.length >= 2);
      assert.deepEqual(got.map((g) => [g.subject, g.data, g.status]), [[`${s}.x`, 'p0', 0], [`${s}.x`, 'p1', 0]]);
      assert.match(got[0]!.reply, new RegExp(`^\\$JS\\.ACK\\.${s}\\.raw\\.1\\.1\\.1\\.\\d+\\.2$`));
      // max_bytes: one message fits, then 409 Message Size Exceeds MaxBytes for the next... first ack.
      for (const g of got) env.nc.publish(g.reply, s2b('+ACK'));
      await env.nc.flush();
      got = await pull(env.nc, s, 'raw', { batch: 5, max_bytes: 10, expires: ms(1000) }, (g) => g.some((x) => x.status !== 0));
      assert.deepEqual(got.map((g) => [g.status, g.description]), [[409, 'Message Size Exceeds MaxBytes']]);
      got = await pull(env.nc, s, 'raw', { batch: 5, max_bytes: 1000, expires: ms(1000) }, (g) => g.some((x) => x.status !== 0));
      assert.deepEqual(got.map((g) => [g.status, g.data]), [[0, 'p2'], [408, '']]);
      // Bad JSON: one 400 Bad Request status, no message.
      got = await pull(env.nc, s, 'raw', '{"batch":', (g) => g.length >= 1, 3000);
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(got[0]!.status, 400);
      assert.match(got[0]!.description, /^Bad Request - /);
    });

    it('delivers to push consumers, with queue groups, heartbeats and flow control', async () => {
      const s = uniq('CPUSH');
      await fillStream(env, s, ['a'], 3);
      const ds = uniq('deliver.');
      await env.jsm.consumers.add(s, { durable_name: 'push', ack_policy: AckPolicy.Explicit, deliver_subject: ds, idle_heartbeat: ms(500), flow_control: true });
      const ci = await env.jsm.consumers.info(s, 'push');
      assert.equal(ci.push_bound, undefined);
      const pc = await env.js.consumers.getPushConsumer(s, 'push');
      const msgs = await pc.consume();
      const got: number[] = [];
      for await (const m of msgs) {
        got.push(m.seq);
        m.ack();
        if (got.length === 3) {
          await env.js.publish(`${s}.a`, s2b('m4'));
        }
        if (got.length === 4) break;
      }
      assert.deepEqual(got, [1, 2, 3, 4]);
      const after = await env.jsm.consumers.info(s, 'push');
      assert.equal(after.delivered.stream_seq, 4);

      // Raw: idle heartbeats on the deliver subject carry the last sequences.
      const raw = env.nc.subscribe(ds);
      const seen: string[] = [];
      const done = (async () => {
        for await (const m of raw) {
          if (m.headers && m.headers.code === 100) {
            seen.push(m.headers.description);
            if (m.headers.description === 'Idle Heartbeat') {
              assert.equal(m.headers.get('Nats-Last-Consumer'), '4');
              assert.equal(m.headers.get('Nats-Last-Stream'), '4');
              break;
            }
          }
        }
      })();
      const timer = setTimeout(() => raw.unsubscribe(), 3000);
      await done;
      clearTimeout(timer);
      assert.ok(seen.includes('Idle Heartbeat'), `saw ${seen.join(',')}`);

      // Queue group: each message goes to one member of the group.
      const g = uniq('CGRP');
      await fillStream(env, g, ['a'], 0);
      const gds = uniq('gdeliver.');
      await env.jsm.consumers.add(g, { durable_name: 'grp', ack_policy: AckPolicy.Explicit, deliver_subject: gds, deliver_group: 'workers' });
      const counts = [0, 0];
      const subs = [0, 1].map((i) => env.nc.subscribe(gds, { queue: 'workers', callback: (_e, m) => { counts[i]!++; m.respond(s2b('+ACK')); } }));
      await env.nc.flush();
      for (let i = 0; i < 20; i++) await env.js.publish(`${g}.a`, s2b(`q${i}`));
      const total = await waitFor(async () => counts[0]! + counts[1]!, (n) => n >= 20);
      await env.nc.flush(); // anything beyond 20 already on the wire is counted too
      for (const sub of subs) sub.unsubscribe();
      assert.equal(total, 20);
      assert.equal(counts[0]! + counts[1]!, 20, 'each message went to one member only');
      const gi = await env.jsm.consumers.info(g, 'grp');
      assert.equal(gi.num_ack_pending, 0);
    });

    it('workqueue and interest retention remove acked messages', async () => {
      const w = uniq('CWQ');
      await env.jsm.streams.add({ name: w, subjects: [`${w}.>`], retention: 'workqueue' as never });
      for (let i = 0; i < 3; i++) await env.js.publish(`${w}.a`, s2b(`w${i}`));
      await env.jsm.consumers.add(w, { durable_name: 'wq', ack_policy: AckPolicy.Explicit });
      await rejectsWithCode(env.jsm.consumers.add(w, { durable_name: 'wq2', ack_policy: AckPolicy.Explicit }), 10099,
        'multiple non-filtered consumers not allowed on workqueue stream');
      await rejectsWithCode(env.jsm.consumers.add(w, { durable_name: 'wq3', ack_policy: AckPolicy.None, filter_subject: `${w}.b` }), 10084);
      const got = await fetchAll(env, w, 'wq', 3);
      for (const m of got.slice(0, 2)) await m.ackAck();
      let si = await env.jsm.streams.info(w);
      assert.deepEqual([si.state.messages, si.state.first_seq], [1, 3]);

      const i = uniq('CINT');
      await env.jsm.streams.add({ name: i, subjects: [`${i}.>`], retention: 'interest' as never });
      await env.js.publish(`${i}.a`, s2b('nobody'));
      si = await env.jsm.streams.info(i);
      assert.equal(si.state.messages, 0); // no consumers: not kept
      await env.jsm.consumers.add(i, { durable_name: 'c1', ack_policy: AckPolicy.Explicit });
      await env.jsm.consumers.add(i, { durable_name: 'c2', ack_policy: AckPolicy.Explicit });
      await env.js.publish(`${i}.a`, s2b('both'));
      const a = await fetchAll(env, i, 'c1', 1);
      await a[0]!.ackAck();
      assert.equal((await env.jsm.streams.info(i)).state.messages, 1);
      const b = await fetchAll(env, i, 'c2', 1);
      await b[0]!.ackAck();
      assert.equal((await env.jsm.streams.info(i)).state.messages, 0);
    });
  });
}
