// More consumer behaviour through the official client: the consume() loop
// (pull with heartbeats, what the bridge uses), backoff, ephemeral inactivity,
// headers_only, and (2.10 API, Tern only: the reference here is 2.9.10)
// filter_subjects.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy } from '@nats-io/jetstream';
import { jsKinds, startJs, uniq, apiRequest, rejectsWithCode, s2b, ms, waitFor, type JsEnv } from './helpers.js';

for (const kind of jsKinds()) {
  describe(`jetstream consumers, more [${kind}]`, { timeout: 60_000 }, () => {
    let env: JsEnv;
    before(async () => {
      env = await startJs(kind);
    });
    after(async () => {
      await env?.close();
    });

    it('consume() delivers everything, including messages published while consuming', async () => {
      const s = uniq('CONS');
      await env.jsm.streams.add({ name: s, subjects: [`${s}.>`] });
      for (let i = 0; i < 50; i++) await env.js.publish(`${s}.a`, s2b(`x${i}`));
      await env.jsm.consumers.add(s, { durable_name: 'loop', ack_policy: AckPolicy.Explicit });
      const c = await env.js.consumers.get(s, 'loop');
      const msgs = await c.consume({ max_messages: 20, expires: 2000, idle_heartbeat: 500 });
      const seen: number[] = [];
      for await (const m of msgs) {
        seen.push(m.seq);
        m.ack();
        if (seen.length === 50) for (let i = 0; i < 30; i++) void env.js.publish(`${s}.a`, s2b(`y${i}`));
        if (seen.length === 80) break;
      }
      assert.deepEqual(seen, Array.from({ length: 80 }, (_, i) => i + 1));
      // The acks are fire-and-forget: wait until the server has them all.
      const ci = await waitFor(() => env.jsm.consumers.info(s, 'loop'), (i) => i.num_ack_pending === 0);
      assert.deepEqual([ci.num_pending, ci.delivered.stream_seq, ci.num_ack_pending, ci.ack_floor.stream_seq], [0, 80, 0, 80]);
    });

    it('the ack floor waits for the oldest pending message, across thousands acked after it', async () => {
      const s = uniq('FLOOR');
      const N = 3000;
      await env.jsm.streams.add({ name: s, subjects: [s] });
      const pubs = [];
      for (let i = 0; i < N; i++) pubs.push(env.js.publish(s, s2b(`f${i}`)));
      await Promise.all(pubs);
      await env.jsm.consumers.add(s, { durable_name: 'floor', ack_policy: AckPolicy.Explicit, ack_wait: ms(60_000), max_ack_pending: N });
      const c = await env.js.consumers.get(s, 'floor');
      let held: { ack(): void } | undefined;
      let n = 0;
      for await (const m of await c.consume({ max_messages: 500 })) {
        if (m.seq === 2) held = m; // stays pending while the rest are acked
        else m.ack();
        if (++n === N) break;
      }
      let ci = await waitFor(() => env.jsm.consumers.info(s, 'floor'), (i) => i.num_ack_pending === 1);
      assert.deepEqual([ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq, ci.delivered.stream_seq], [1, 1, N]);
      held!.ack();
      ci = await waitFor(() => env.jsm.consumers.info(s, 'floor'), (i) => i.num_ack_pending === 0);
      assert.deepEqual([ci.ack_floor.stream_seq, ci.ack_floor.consumer_seq], [N, N]);
    });

    it('redelivers on the backoff schedule', async () => {
      const s = uniq('CBO');
      await env.jsm.streams.add({ name: s, subjects: [s] });
      await env.js.publish(s, s2b('b'));
      await rejectsWithCode(env.jsm.consumers.add(s, { durable_name: 'bad', ack_policy: AckPolicy.Explicit, backoff: [ms(100), ms(200)], max_deliver: 2 }), 10116);
      const ci = await env.jsm.consumers.add(s, { durable_name: 'bo', ack_policy: AckPolicy.Explicit, backoff: [ms(300), ms(900)], max_deliver: 4 });
      assert.equal(ci.config.ack_wait, ms(300));
      const c = await env.js.consumers.get(s, 'bo');
      const times: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) {
        const m = await c.next({ expires: 3000 });
        assert.equal(m?.seq, 1);
        assert.equal(m?.info.deliveryCount, i + 1);
        times.push(Date.now() - t0);
      }
      // 2nd after ~300ms, 3rd ~900ms after that.
      assert.ok(times[1]! - times[0]! >= 250, `times ${times.join(',')}`);
      assert.ok(times[2]! - times[1]! >= 800, `times ${times.join(',')}`);
    });

    it('removes ephemeral consumers after inactive_threshold', async () => {
      const s = uniq('CEPH');
      await env.jsm.streams.add({ name: s, subjects: [s] });
      const created = Date.now(); // before the request: a lower bound on the consumer's age
      const r = await apiRequest(env.nc, `$JS.API.CONSUMER.CREATE.${s}`, { stream_name: s, config: { ack_policy: 'explicit', inactive_threshold: ms(500) } });
      const name = String(r.name);
      assert.equal((await env.jsm.consumers.info(s, name)).name, name);
      // Poll the stream's consumer names (not the consumer itself, so the polling is no activity).
      const names = async (): Promise<string[]> => ((await apiRequest(env.nc, `$JS.API.CONSUMER.NAMES.${s}`, {})).consumers as string[] | null) ?? [];
      const left = await waitFor(names, (n) => !n.includes(name), 10_000, 100);
      assert.deepEqual(left, [], 'the ephemeral consumer is gone');
      assert.ok(Date.now() - created >= 480, `removed ${Date.now() - created} ms after creation, inactive_threshold is 500 ms`);
      await rejectsWithCode(env.jsm.consumers.info(s, name), 10014);
    });

    it('delivers headers only when asked', async () => {
      const s = uniq('CHO');
      await env.jsm.streams.add({ name: s, subjects: [s] });
      await env.js.publish(s, s2b('twelve bytes'));
      await env.jsm.consumers.add(s, { durable_name: 'ho', ack_policy: AckPolicy.Explicit, headers_only: true });
      const c = await env.js.consumers.get(s, 'ho');
      const m = await c.next({ expires: 2000 });
      assert.equal(m?.data.length, 0);
      assert.equal(m?.headers?.get('Nats-Msg-Size'), '12');
    });

    if (kind === 'tern') {
      it('supports filter_subjects (2.10 API)', async () => {
        const s = uniq('CMF');
        await env.jsm.streams.add({ name: s, subjects: [`${s}.*`] });
        for (const t of ['a', 'b', 'c', 'a', 'b', 'c']) await env.js.publish(`${s}.${t}`, s2b(t));
        const ci = await env.jsm.consumers.add(s, { durable_name: 'mf', ack_policy: AckPolicy.Explicit, filter_subjects: [`${s}.a`, `${s}.c`] });
        assert.equal(ci.num_pending, 4);
        const c = await env.js.consumers.get(s, 'mf');
        const got: number[] = [];
        for await (const m of await c.fetch({ max_messages: 10, expires: 1000 })) got.push(m.seq);
        assert.deepEqual(got, [1, 3, 4, 6]);
        await rejectsWithCode(env.jsm.consumers.add(s, { durable_name: 'ov', ack_policy: AckPolicy.Explicit, filter_subjects: [`${s}.a`, `${s}.*`] }), 10138);
      });
    }
  });
}
