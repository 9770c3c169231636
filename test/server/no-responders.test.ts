// The 503 no-responders status (differential: Tern and nats-server): the
// header length announced in the HMSG line is the byte length of the header
// block that follows, also when the subject and reply are not ASCII.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { RawClient } from './raw.js';

for (const kind of serverKinds()) {
  describe(`no-responders status (${kind})`, () => {
    let srv: RunningServer;
    before(async () => {
      srv = await startServer(kind);
    });
    after(async () => {
      await srv.stop();
    });

    it('503 with UTF-8 subject and reply: lengths match the bytes sent', async () => {
      const cl = await RawClient.ready(srv.port, { headers: true, no_responders: true });
      // RawClient writes and reads latin1: one string character per byte.
      const subject = Buffer.from(`nobody.h\u00e9llo.${process.pid}`, 'utf8').toString('latin1');
      const reply = Buffer.from(`_INBOX.\u00fc.${process.pid}`, 'utf8').toString('latin1');
      cl.write(`SUB _INBOX.> 7\r\nPUB ${subject} ${reply} 2\r\nhi\r\nPING\r\n`);
      const d = await cl.waitFor((s) => s.includes('PONG\r\n'));
      const head = `HMSG ${reply} 7 `;
      const at = d.indexOf(head);
      assert.ok(at >= 0, JSON.stringify(d));
      const m = /^(\d+) (\d+)\r\n/.exec(d.slice(at + head.length));
      assert.ok(m, JSON.stringify(d));
      const hl = Number(m[1]);
      assert.equal(m[2], m[1]);
      const block = d.slice(at + head.length + m[0].length, at + head.length + m[0].length + hl);
      assert.match(block, /^NATS\/1\.0 503\r\n/);
      assert.ok(block.endsWith('\r\n\r\n'), JSON.stringify(block));
      // The message ends right after the header block (empty payload).
      assert.equal(d.slice(at + head.length + m[0].length + hl, at + head.length + m[0].length + hl + 2), '\r\n');
      // nats-server 2.10 names the subject (2.9 does not); when present it is the published bytes.
      if (block.includes('Nats-Subject:')) assert.ok(block.includes(`Nats-Subject: ${subject}\r\n`), JSON.stringify(block));
      cl.close();
    });
  });
}
