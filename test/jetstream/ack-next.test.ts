// +NXT: acknowledge a message and ask for more in one publish; the next
// messages go to the ack's reply subject (the pull loop nats.go's Fetch uses).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createInbox, type Msg } from '@nats-io/transport-node';
import { AckPolicy } from '@nats-io/jetstream';
import { jsKinds, startJs, uniq, s2b, b2s, type JsEnv } from './helpers.js';

/** Collects messages on a fresh inbox until `n` arrived (or the deadline). */
function inbox(env: JsEnv, n: number, ms = 5000): { subject: string; done: Promise<Msg[]> } {
  const subject = createInbox();
  const got: Msg[] = [];
  const sub = env.nc.subscribe(subject);
  const done = (async () => {
    const timer = setTimeout(() => sub.unsubscribe(), ms);
    for await (const m of sub) {
      got.push(m);
      if (got.length === n) break;
    }
    clearTimeout(timer);
    sub.unsubscribe();
    return got;
  })();
  return { subject, done };
}

for (const kind of jsKinds()) {
  describe(`jetstream +NXT ack [${kind}]`, { timeout: 60_000 }, () => {
    let env: JsEnv;
    before(async () => {
      env = await startJs(kind);
    });
    after(async () => {
      await env?.close();
    });

    it('acks the message and delivers the next batch to the reply subject', async () => {
      const stream = uniq('NXT');
      await env.jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      for (let i = 1; i <= 4; i++) await env.js.publish(`${stream}.m`, s2b(`m${i}`));
      await env.jsm.consumers.add(stream, { durable_name: 'd', ack_policy: AckPolicy.Explicit });

      const first = inbox(env, 1);
      env.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.d`, s2b(JSON.stringify({ batch: 1 })), { reply: first.subject });
      const [m1] = await first.done;
      assert.ok(m1, 'first message delivered');
      assert.equal(b2s(m1.data), 'm1');
      assert.match(m1.reply ?? '', new RegExp(`^\\$JS\\.ACK\\.${stream}\\.d\\.1\\.1\\.1\\.`));

      const next = inbox(env, 2);
      env.nc.publish(m1.reply!, s2b('+NXT {"batch":2}'), { reply: next.subject });
      const more = await next.done;
      assert.deepEqual(more.map((m) => b2s(m.data)), ['m2', 'm3']);

      await env.nc.flush();
      const info = await env.jsm.consumers.info(stream, 'd');
      assert.equal(info.ack_floor.stream_seq, 1, 'm1 was acked by +NXT');
      assert.equal(info.num_ack_pending, 2, 'm2 and m3 wait for their acks');
      assert.equal(info.num_pending, 1, 'm4 is still to deliver');
    });
  });
}
