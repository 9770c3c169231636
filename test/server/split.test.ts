// Parser robustness: a valid protocol stream gives the same output however
// TCP cuts it: at every single offset, and one byte per write. Run against
// both servers so the expected output is the reference's, not ours.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { RawClient } from './raw.js';

const hdr = 'NATS/1.0\r\nK: vv\r\n\r\n';
const STREAM =
  'CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n' +
  'SUB sp.> 1\r\n' +
  'sub sp.q q1 2\r\n' +
  'PUB sp.a 5\r\nhello\r\n' +
  `HPUB sp.b rep ${hdr.length} ${hdr.length + 5}\r\n${hdr}world\r\n` +
  'PUB sp.q 0\r\n\r\n' +
  'UNSUB 2\r\n' +
  'pub sp.q 3\nxyz\r\n' +
  'PING\r\n';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Send `pieces` as separate writes and return what came back after INFO, up to PONG. */
async function run(port: number, pieces: Buffer[], gapMs: number): Promise<string> {
  const c = await RawClient.connect(port);
  c.socket.setNoDelay(true);
  c.data = '';
  for (const p of pieces) {
    c.write(p);
    if (gapMs > 0) await sleep(gapMs);
  }
  const out = await c.waitFor((d) => d.includes('PONG\r\n'));
  c.close();
  // nats-server 2.10 may send an INFO after the first PONG; drop INFO lines.
  return out.replace(/INFO [^\r]*\r\n/g, '');
}

for (const kind of serverKinds()) {
  describe(`split input (${kind})`, () => {
    let srv: RunningServer;
    let expected = '';
    const bytes = Buffer.from(STREAM, 'latin1');
    before(async () => {
      srv = await startServer(kind);
      expected = await run(srv.port, [bytes], 0);
    });
    after(async () => {
      await srv.stop();
    });

    it('the whole stream gives the expected messages', () => {
      assert.equal(
        expected,
        'MSG sp.a 1 5\r\nhello\r\n' +
          `HMSG sp.b 1 rep ${hdr.length} ${hdr.length + 5}\r\n${hdr}world\r\n` +
          'MSG sp.q 1 0\r\n\r\nMSG sp.q 2 0\r\n\r\n' +
          'MSG sp.q 1 3\r\nxyz\r\n' +
          'PONG\r\n',
      );
    });

    it('cut at every offset', async () => {
      for (let k = 1; k < bytes.length; k++) {
        const got = await run(srv.port, [bytes.subarray(0, k), bytes.subarray(k)], 4);
        assert.equal(got, expected, `cut at ${k}`);
      }
    });

    it('one byte per write', async () => {
      const pieces: Buffer[] = [];
      for (let k = 0; k < bytes.length; k++) pieces.push(bytes.subarray(k, k + 1));
      assert.equal(await run(srv.port, pieces, 1), expected);
    });

    it('a 1 MiB payload in many pieces arrives intact', async () => {
      const payload = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
      const sub = await RawClient.ready(srv.port);
      sub.write('SUB big.one 1\r\nPING\r\n');
      await sub.waitFor((d) => d.includes('PONG'));
      sub.data = '';
      const pub = await RawClient.ready(srv.port);
      const msg = Buffer.concat([Buffer.from(`PUB big.one ${payload.length}\r\n`), payload, Buffer.from('\r\n')]);
      for (let o = 0; o < msg.length; o += 65_000) pub.write(msg.subarray(o, Math.min(msg.length, o + 65_000)));
      const head = `MSG big.one 1 ${payload.length}\r\n`;
      const d = await sub.waitFor((s) => s.length >= head.length + payload.length + 2, 10_000);
      assert.ok(d.startsWith(head));
      assert.ok(Buffer.from(d.slice(head.length, head.length + payload.length), 'latin1').equals(payload));
      assert.equal(d.slice(head.length + payload.length), '\r\n');
      sub.close();
      pub.close();
    });
  });
}
