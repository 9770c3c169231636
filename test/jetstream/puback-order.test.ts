// PubAcks for many publishes that arrive in one read, on a file stream: every publish gets
// exactly one PubAck, in publish order, with consecutive sequence numbers, and duplicates
// (Nats-Msg-Id seen before) answered with the original's sequence. Tern acknowledges the
// first ones of a big read before it has stored the rest; this checks that nothing is
// reordered, lost or doubled by that, against the reference nats-server too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverKinds } from '../helpers/servers.js';
import { RawClient } from '../server/raw.js';
import { startJs, type JsEnv } from './helpers.js';

const N = 1500;
/** Message i carries id m<i>, except every 7th (from 7 on), which repeats the id of message i-5. */
const idOf = (i: number): string => (i >= 7 && i % 7 === 0 ? `m${i - 5}` : `m${i}`);

for (const kind of serverKinds()) describe(`PubAck order (${kind})`, () => {
  let env: JsEnv;
  before(async () => {
    env = await startJs(kind);
    await env.jsm.streams.add({ name: 'ORDER', subjects: ['order.>'], storage: 'file' as never });
  });
  after(async () => {
    await env?.close();
  });

  it(`${N} publishes in one write: one PubAck each, in order, duplicates answered with the original's seq`, async () => {
    const c = await RawClient.ready(env.server.port, { headers: true });
    c.write('SUB r.* 1\r\n');
    const parts: string[] = [];
    for (let i = 0; i < N; i++) {
      const hdr = `NATS/1.0\r\nNats-Msg-Id: ${idOf(i)}\r\n\r\n`;
      const body = `payload ${i}`;
      parts.push(`HPUB order.x r.${i} ${hdr.length} ${hdr.length + body.length}\r\n${hdr}${body}\r\n`);
    }
    c.write(parts.join(''));
    const acks = await c.waitFor((d) => (d.match(/^MSG r\./gm) ?? []).length >= N, 20_000);
    const got = [...acks.matchAll(/^MSG r\.(\d+) 1 +\d+\r\n(.*)\r\n/gm)].map((m) => ({ i: Number(m[1]), ack: JSON.parse(m[2]!) as { seq: number; duplicate?: boolean; stream: string } }));
    assert.equal(got.length, N);
    const seqOf = new Map<string, number>();
    let next = 1;
    got.forEach((g, k) => {
      assert.equal(g.i, k, `PubAck ${k} answers publish ${g.i}`);
      assert.equal(g.ack.stream, 'ORDER');
      const id = idOf(g.i);
      const first = seqOf.get(id);
      if (first === undefined) {
        assert.equal(g.ack.seq, next, `publish ${g.i}`);
        assert.ok(!g.ack.duplicate);
        seqOf.set(id, next++);
      } else {
        assert.equal(g.ack.duplicate, true, `publish ${g.i} repeats ${id}`);
        assert.equal(g.ack.seq, first);
      }
    });
    const info = await env.jsm.streams.info('ORDER');
    assert.equal(info.state.messages, next - 1);
    assert.ok(await c.alive());
    c.close();
  });
});
