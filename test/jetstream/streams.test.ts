// Streams through the official JetStream client, run against Tern and the
// reference nats-server with the same inputs: CRUD, config defaults and
// errors, publish / PubAck / dedup / expected-* headers, limits, purge, get.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { jsKinds, startJs, uniq, apiRequest, rejectsWithCode, hdrs, s2b, b2s, ms, waitFor, type JsEnv } from './helpers.js';

for (const kind of jsKinds()) {
  describe(`jetstream streams [${kind}]`, { timeout: 60_000 }, () => {
    let env: JsEnv;
    before(async () => {
      env = await startJs(kind);
    });
    after(async () => {
      await env?.close();
    });

    it('advertises jetstream in INFO and answers $JS.API.INFO', async () => {
      assert.equal(env.nc.info?.jetstream, true);
      const r = await apiRequest(env.nc, '$JS.API.INFO');
      assert.equal(r.type, 'io.nats.jetstream.api.v1.account_info_response');
      const limits = r.limits as Record<string, unknown>;
      assert.equal(limits.max_streams, -1);
      assert.equal(limits.max_consumers, -1);
      assert.equal(typeof r.streams, 'number');
      const ai = await env.jsm.getAccountInfo();
      assert.equal(typeof ai.consumers, 'number');
    });

    it('creates a stream with nats-server defaults and is idempotent', async () => {
      const name = uniq('DEF');
      const raw = await apiRequest(env.nc, `$JS.API.STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`] });
      assert.equal(raw.type, 'io.nats.jetstream.api.v1.stream_create_response');
      assert.equal(raw.did_create, true);
      const cfg = raw.config as Record<string, unknown>;
      assert.deepEqual(cfg, {
        name,
        subjects: [`${name}.>`],
        retention: 'limits',
        max_consumers: -1,
        max_msgs: -1,
        max_bytes: -1,
        max_age: 0,
        max_msgs_per_subject: -1,
        max_msg_size: -1,
        discard: 'old',
        storage: 'file',
        num_replicas: 1,
        duplicate_window: 120_000_000_000,
        allow_direct: false,
        mirror_direct: false,
        sealed: false,
        deny_delete: false,
        deny_purge: false,
        allow_rollup_hdrs: false,
      });
      const state = raw.state as Record<string, unknown>;
      assert.deepEqual(state, {
        messages: 0,
        bytes: 0,
        first_seq: 0,
        first_ts: '0001-01-01T00:00:00Z',
        last_seq: 0,
        last_ts: '0001-01-01T00:00:00Z',
        consumer_count: 0,
      });
      assert.match(String(raw.created), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      // Same config again: fine, same created time.
      const again = await apiRequest(env.nc, `$JS.API.STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`] });
      assert.equal(again.error, undefined);
      assert.equal(again.created, raw.created);
      // Different config under the same name: 10058.
      await rejectsWithCode(env.jsm.streams.add({ name, subjects: [`${name}.x`] }), 10058,
        'stream name already in use with a different configuration');
    });

    it('rejects bad stream requests with nats-server error codes', async () => {
      const name = uniq('BAD');
      await env.jsm.streams.add({ name, subjects: [`${name}.a.*`] });
      // Overlapping subjects with another stream.
      await rejectsWithCode(env.jsm.streams.add({ name: uniq('OVL'), subjects: [`${name}.>`] }), 10065,
        'subjects overlap with an existing stream');
      await rejectsWithCode(env.jsm.streams.add({ name: uniq('OVL'), subjects: [`${name}.a.b`] }), 10065);
      // Name in subject differs from the body.
      const r1 = await apiRequest(env.nc, `$JS.API.STREAM.CREATE.${name}X`, { name, subjects: ['zz'] });
      assert.deepEqual(r1.error, { code: 400, err_code: 10056, description: 'stream name in subject does not match request' });
      // Malformed JSON.
      const r2 = await apiRequest(env.nc, `$JS.API.STREAM.CREATE.${name}Y`, 'not json');
      assert.equal((r2.error as Record<string, unknown>).err_code, 10025);
      assert.equal((r2.error as Record<string, unknown>).code, 400);
      // Replicas are not supported without a cluster.
      const r3 = await apiRequest(env.nc, `$JS.API.STREAM.CREATE.${name}R`, { name: `${name}R`, subjects: [`${name}r`], num_replicas: 3 });
      assert.deepEqual(r3.error, { code: 500, err_code: 10074, description: 'replicas > 1 not supported in non-clustered mode' });
      // Unknown streams.
      await rejectsWithCode(env.jsm.streams.info(`${name}NOPE`), 10059, 'stream not found');
      await rejectsWithCode(env.jsm.streams.delete(`${name}NOPE`), 10059);
      await rejectsWithCode(env.jsm.streams.update(`${name}NOPE`, { subjects: ['q'] }), 10059);
      await rejectsWithCode(env.jsm.streams.purge(`${name}NOPE`), 10059);
    });

    it('lists, names (with subject filter), updates and deletes streams', async () => {
      const a = uniq('LSA');
      const b = uniq('LSB');
      await env.jsm.streams.add({ name: a, subjects: [`${a}.*`] });
      await env.jsm.streams.add({ name: b, subjects: [`${b}.*`], storage: 'memory' as never });
      const names: string[] = [];
      for await (const n of env.jsm.streams.names()) names.push(n);
      assert.ok(names.includes(a) && names.includes(b));
      const filtered: string[] = [];
      for await (const n of env.jsm.streams.names(`${b}.x`)) filtered.push(n);
      assert.deepEqual(filtered, [b]);
      const infos: string[] = [];
      for await (const si of env.jsm.streams.list()) infos.push(si.config.name);
      assert.ok(infos.includes(a) && infos.includes(b));
      const bi = await env.jsm.streams.info(b);
      assert.equal(bi.config.storage, 'memory');

      const upd = await env.jsm.streams.update(a, { subjects: [`${a}.*`, `${a}2`], max_msgs: 5 });
      assert.deepEqual(upd.config.subjects, [`${a}.*`, `${a}2`]);
      assert.equal(upd.config.max_msgs, 5);
      const pa = await env.js.publish(`${a}2`, s2b('x'));
      assert.equal(pa.stream, a);
      assert.equal(await env.jsm.streams.delete(a), true);
      await rejectsWithCode(env.jsm.streams.info(a), 10059);
      // After deletion the subjects no longer go anywhere: no responders.
      await assert.rejects(env.js.publish(`${a}2`, s2b('x'), { timeout: 1000 }));
    });

    it('stores published messages and answers PubAcks, with dedup by Nats-Msg-Id', async () => {
      const name = uniq('PUB');
      await env.jsm.streams.add({ name, subjects: [`${name}.>`] });
      const p1 = await env.js.publish(`${name}.a`, s2b('one'));
      assert.deepEqual({ stream: p1.stream, seq: p1.seq, duplicate: p1.duplicate }, { stream: name, seq: 1, duplicate: false });
      const p2 = await env.js.publish(`${name}.b.c`, s2b('two'), { msgID: 'm-2' });
      assert.equal(p2.seq, 2);
      const p3 = await env.js.publish(`${name}.b.c`, s2b('two again'), { msgID: 'm-2' });
      assert.equal(p3.seq, 2);
      assert.equal(p3.duplicate, true);
      // The raw PubAck bytes.
      const raw = await env.nc.request(`${name}.z`, s2b('raw'), { timeout: 2000 });
      assert.deepEqual(JSON.parse(b2s(raw.data)), { stream: name, seq: 3 });
      const si = await env.jsm.streams.info(name);
      assert.equal(si.state.messages, 3);
      assert.equal(si.state.first_seq, 1);
      assert.equal(si.state.last_seq, 3);
      assert.equal(si.state.num_subjects, 3);
      assert.ok(si.state.bytes > 0);
      // A publish without reply is stored too (no PubAck).
      env.nc.publish(`${name}.a`, s2b('fire and forget'));
      await env.nc.flush();
      const stored = await waitFor(() => env.jsm.streams.info(name), (i) => i.state.messages >= 4);
      assert.equal(stored.state.messages, 4);
      const m = await env.jsm.streams.getMessage(name, { seq: 2 });
      assert.ok(m);
      assert.equal(m.subject, `${name}.b.c`);
      assert.equal(b2s(m.data), 'two');
      assert.equal(m.header.get('Nats-Msg-Id'), 'm-2');
    });

    it('checks Nats-Expected-* headers like nats-server', async () => {
      const name = uniq('EXP');
      await env.jsm.streams.add({ name, subjects: [`${name}.*`] });
      await env.js.publish(`${name}.a`, s2b('1'), { msgID: 'id-1' });
      await env.js.publish(`${name}.b`, s2b('2'), { msgID: 'id-2' });
      await rejectsWithCode(env.js.publish(`${name}.a`, s2b('x'), { expect: { streamName: 'OTHER' } }), 10060, 'expected stream does not match');
      await rejectsWithCode(env.js.publish(`${name}.a`, s2b('x'), { expect: { lastSequence: 1 } }), 10071, 'wrong last sequence: 2');
      await rejectsWithCode(env.js.publish(`${name}.a`, s2b('x'), { expect: { lastMsgID: 'id-1' } }), 10070, 'wrong last msg ID: id-2');
      await rejectsWithCode(env.js.publish(`${name}.a`, s2b('x'), { expect: { lastSubjectSequence: 2 } }), 10071, 'wrong last sequence: 1');
      // Matching expectations store the message.
      const ok = await env.js.publish(`${name}.a`, s2b('x'), {
        expect: { streamName: name, lastSequence: 2, lastMsgID: 'id-2', lastSubjectSequence: 1 },
      });
      assert.equal(ok.seq, 3);
      // Raw error PubAck shape.
      const raw = await env.nc.request(`${name}.a`, s2b('x'), { headers: hdrs({ 'Nats-Expected-Last-Sequence': '99' }), timeout: 2000 });
      assert.deepEqual(JSON.parse(b2s(raw.data)), {
        error: { code: 400, err_code: 10071, description: 'wrong last sequence: 3' },
        stream: name,
        seq: 0,
      });
      assert.equal((await env.jsm.streams.info(name)).state.messages, 3);
    });

    it('enforces max_msgs, max_bytes, max_msg_size, max_msgs_per_subject and discard policies', async () => {
      const old = uniq('LIMO');
      await env.jsm.streams.add({ name: old, subjects: [old], max_msgs: 3 });
      for (let i = 0; i < 5; i++) await env.js.publish(old, s2b(`m${i}`));
      let si = await env.jsm.streams.info(old);
      assert.deepEqual([si.state.messages, si.state.first_seq, si.state.last_seq], [3, 3, 5]);

      const neu = uniq('LIMN');
      await env.jsm.streams.add({ name: neu, subjects: [neu], max_msgs: 2, discard: 'new' as never });
      await env.js.publish(neu, s2b('a'));
      await env.js.publish(neu, s2b('b'));
      await rejectsWithCode(env.js.publish(neu, s2b('c')), 10077, 'maximum messages exceeded');
      si = await env.jsm.streams.info(neu);
      assert.deepEqual([si.state.messages, si.state.last_seq], [2, 2]);

      const size = uniq('LIMS');
      await env.jsm.streams.add({ name: size, subjects: [size], max_msg_size: 10 });
      await env.js.publish(size, s2b('0123456789'));
      await rejectsWithCode(env.js.publish(size, s2b('0123456789A')), 10054, 'message size exceeds maximum allowed');

      const per = uniq('LIMP');
      await env.jsm.streams.add({ name: per, subjects: [`${per}.*`], max_msgs_per_subject: 1 });
      await env.js.publish(`${per}.a`, s2b('1'));
      await env.js.publish(`${per}.b`, s2b('2'));
      await env.js.publish(`${per}.a`, s2b('3'));
      si = await env.jsm.streams.info(per);
      assert.deepEqual([si.state.messages, si.state.first_seq, si.state.last_seq], [2, 2, 3]);
      const last = await env.jsm.streams.getMessage(per, { last_by_subj: `${per}.a` });
      assert.equal(last?.seq, 3);

      const bytes = uniq('LIMB');
      await env.jsm.streams.add({ name: bytes, subjects: [bytes], max_bytes: 200 });
      for (let i = 0; i < 10; i++) await env.js.publish(bytes, s2b('x'.repeat(40)));
      si = await env.jsm.streams.info(bytes);
      assert.ok(si.state.bytes <= 200, `bytes ${si.state.bytes}`);
      assert.equal(si.state.last_seq, 10);
      assert.ok(si.state.messages < 10 && si.state.messages > 0);
    });

    it('expires messages after max_age', async () => {
      const name = uniq('AGE');
      await env.jsm.streams.add({ name, subjects: [name], max_age: ms(300) });
      const beforePublish = Date.now();
      await env.js.publish(name, s2b('old'));
      const si = await env.jsm.streams.info(name);
      assert.equal(si.config.duplicate_window, ms(300)); // capped by max_age
      assert.equal(si.state.messages, 1);
      const after = await waitFor(() => env.jsm.streams.info(name), (i) => i.state.messages === 0, 10_000, 50);
      // Not before its age: the clock started before the publish, so this bound holds under any load.
      const age = Date.now() - beforePublish;
      assert.ok(age >= 280, `expired within ${age} ms of publishing, max_age is 300 ms`); // 20 ms for clock rounding
      assert.equal(after.state.messages, 0);
      assert.equal(after.state.first_seq, 2);
      assert.equal(after.state.last_seq, 1);
    });

    it('purges all, by subject filter, by seq and keep', async () => {
      const name = uniq('PRG');
      await env.jsm.streams.add({ name, subjects: [`${name}.*`] });
      for (let i = 0; i < 4; i++) await env.js.publish(`${name}.a`, s2b('a'));
      for (let i = 0; i < 3; i++) await env.js.publish(`${name}.b`, s2b('b'));
      let r = await env.jsm.streams.purge(name, { filter: `${name}.a` });
      assert.deepEqual([r.success, r.purged], [true, 4]);
      let si = await env.jsm.streams.info(name);
      assert.deepEqual([si.state.messages, si.state.first_seq], [3, 5]);
      r = await env.jsm.streams.purge(name, { keep: 1 });
      assert.equal(r.purged, 2);
      for (let i = 0; i < 3; i++) await env.js.publish(`${name}.b`, s2b('b'));
      r = await env.jsm.streams.purge(name, { seq: 9 });
      assert.equal(r.purged, 2);
      si = await env.jsm.streams.info(name);
      assert.deepEqual([si.state.messages, si.state.first_seq, si.state.last_seq], [2, 9, 10]);
      r = await env.jsm.streams.purge(name);
      assert.equal(r.purged, 2);
      si = await env.jsm.streams.info(name);
      assert.deepEqual([si.state.messages, si.state.first_seq, si.state.last_seq], [0, 11, 10]);
      // Sequence continues after a purge.
      const pa = await env.js.publish(`${name}.a`, s2b('after'));
      assert.equal(pa.seq, 11);
    });

    it('gets and deletes single messages', async () => {
      const name = uniq('GET');
      await env.jsm.streams.add({ name, subjects: [`${name}.*`] });
      await env.js.publish(`${name}.a`, s2b('one'), { headers: hdrs({ 'X-Test': 'yes' }) });
      await env.js.publish(`${name}.b`, s2b('two'));
      await env.js.publish(`${name}.a`, s2b('three'));
      const raw = await apiRequest(env.nc, `$JS.API.STREAM.MSG.GET.${name}`, { seq: 2 });
      const msg = raw.message as Record<string, unknown>;
      assert.equal(raw.type, 'io.nats.jetstream.api.v1.stream_msg_get_response');
      assert.deepEqual([msg.subject, msg.seq, msg.data, msg.hdrs], [`${name}.b`, 2, Buffer.from('two').toString('base64'), undefined]);
      const first = await env.jsm.streams.getMessage(name, { seq: 1 });
      assert.equal(first?.header.get('X-Test'), 'yes');
      const last = await env.jsm.streams.getMessage(name, { last_by_subj: `${name}.a` });
      assert.equal(last?.seq, 3);
      const next = await apiRequest(env.nc, `$JS.API.STREAM.MSG.GET.${name}`, { seq: 2, next_by_subj: `${name}.a` });
      assert.equal((next.message as Record<string, unknown>).seq, 3);
      const missing = await apiRequest(env.nc, `$JS.API.STREAM.MSG.GET.${name}`, { seq: 99 });
      assert.deepEqual(missing.error, { code: 404, err_code: 10037, description: 'no message found' });
      assert.equal(await env.jsm.streams.getMessage(name, { seq: 99 }), null);
      assert.equal(await env.jsm.streams.deleteMessage(name, 2), true);
      assert.equal(await env.jsm.streams.getMessage(name, { seq: 2 }), null);
      const si = await env.jsm.streams.info(name);
      assert.deepEqual([si.state.messages, si.state.num_deleted], [2, 1]);
      const del = await apiRequest(env.nc, `$JS.API.STREAM.MSG.DELETE.${name}`, { seq: 2 });
      assert.deepEqual(del.error, { code: 400, err_code: 10043, description: 'sequence 2 not found' });
    });

    it('keeps memory streams and their dedup state', async () => {
      const name = uniq('MEM');
      await env.jsm.streams.add({ name, subjects: [name], storage: 'memory' as never, duplicate_window: ms(5000) });
      const a = await env.js.publish(name, s2b('1'), { msgID: 'x' });
      const b = await env.js.publish(name, s2b('1'), { msgID: 'x' });
      assert.deepEqual([a.seq, b.seq, b.duplicate], [1, 1, true]);
      assert.equal((await env.jsm.streams.info(name)).config.duplicate_window, ms(5000));
    });

    it('answers direct gets when allow_direct is set', async () => {
      const name = uniq('DIR');
      await env.jsm.streams.add({ name, subjects: [`${name}.*`], allow_direct: true });
      await env.js.publish(`${name}.a`, s2b('one'), { headers: hdrs({ 'X-K': 'v' }) });
      await env.js.publish(`${name}.b`, s2b('two'));
      await env.js.publish(`${name}.a`, s2b('three'));
      const bySeq = await env.nc.request(`$JS.API.DIRECT.GET.${name}`, s2b(JSON.stringify({ seq: 1 })), { timeout: 2000 });
      assert.equal(b2s(bySeq.data), 'one');
      assert.equal(bySeq.headers?.get('X-K'), 'v');
      assert.equal(bySeq.headers?.get('Nats-Stream'), name);
      assert.equal(bySeq.headers?.get('Nats-Sequence'), '1');
      assert.equal(bySeq.headers?.get('Nats-Subject'), `${name}.a`);
      assert.match(bySeq.headers?.get('Nats-Time-Stamp') ?? '', /^\d{4}-\d\d-\d\dT/);
      const last = await env.nc.request(`$JS.API.DIRECT.GET.${name}.${name}.a`, new Uint8Array(), { timeout: 2000 });
      assert.deepEqual([b2s(last.data), last.headers?.get('Nats-Sequence')], ['three', '3']);
      const next = await env.nc.request(`$JS.API.DIRECT.GET.${name}`, s2b(JSON.stringify({ seq: 2, next_by_subj: `${name}.a` })), { timeout: 2000 });
      assert.equal(next.headers?.get('Nats-Sequence'), '3');
      const missing = await env.nc.request(`$JS.API.DIRECT.GET.${name}`, s2b(JSON.stringify({ seq: 9 })), { timeout: 2000 });
      assert.deepEqual([missing.headers?.code, missing.headers?.description, missing.data.length], [404, 'Message Not Found', 0]);
      const empty = await env.nc.request(`$JS.API.DIRECT.GET.${name}`, new Uint8Array(), { timeout: 2000 });
      assert.deepEqual([empty.headers?.code, empty.headers?.description], [408, 'Empty Request']);
      const viaClient = await env.jsm.direct.getMessage(name, { last_by_subj: `${name}.b` });
      assert.equal(viaClient?.seq, 2);
    });
  });
}
