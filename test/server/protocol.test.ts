// Raw-socket protocol behaviour, written once and run against Tern and the
// reference nats-server: the exact -ERR texts and whether the connection is
// closed afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverKinds, startServer, type RunningServer } from '../helpers/servers.js';
import { errs, RawClient, startWithConfig } from './raw.js';

interface Case {
  name: string;
  /** CONNECT fields; null = send input right after INFO with no CONNECT. */
  connect: Record<string, unknown> | null;
  input: string;
  errs: string[];
  closed: boolean;
  /** Substrings expected in the output (besides -ERR). */
  contains?: string[];
}

const CASES: Case[] = [
  { name: 'unknown verb', connect: {}, input: 'FOO bar\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'MSG from a client', connect: {}, input: 'MSG foo 1 2\r\nhi\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'RS+ from a client', connect: {}, input: 'RS+ $G foo\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'RMSG from a client', connect: {}, input: 'RMSG $G foo 2\r\nhi\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'LS+ from a client', connect: {}, input: 'LS+ foo\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'A+ from a client', connect: {}, input: 'A+ foo\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'PUB without space', connect: {}, input: 'PUBfoo 2\r\nhi\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'PUB missing size', connect: {}, input: 'PUB foo\r\n', errs: [], closed: true },
  { name: 'PUB too many args', connect: {}, input: 'PUB foo bar baz 2\r\nhi\r\n', errs: [], closed: true },
  { name: 'PUB non-numeric size', connect: {}, input: 'PUB foo abc\r\nhi\r\n', errs: [], closed: true },
  { name: 'PUB negative size', connect: {}, input: 'PUB foo -2\r\nhi\r\n', errs: [], closed: true },
  { name: 'PUB payload longer than size', connect: {}, input: 'PUB foo 2\r\nabc\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'PUB payload shorter than size', connect: {}, input: 'PUB foo 4\r\nab\r\nPING\r\n', errs: ['Unknown Protocol Operation'], closed: true },
  { name: 'HPUB without headers support', connect: {}, input: 'HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', errs: [], closed: true },
  { name: 'HPUB header larger than total', connect: { headers: true }, input: 'HPUB foo 12 10\r\nNATS/1.0\r\n\r\n\r\n', errs: [], closed: true },
  { name: 'HPUB bad header size', connect: { headers: true }, input: 'HPUB foo x 14\r\n', errs: [], closed: true },
  { name: 'SUB missing sid', connect: {}, input: 'SUB foo\r\n', errs: [], closed: true },
  { name: 'SUB too many args', connect: {}, input: 'SUB foo q 1 2\r\n', errs: [], closed: true },
  { name: 'SUB invalid subject', connect: {}, input: 'SUB foo..bar 1\r\n', errs: ['Invalid Subject'], closed: false },
  { name: 'SUB > not last', connect: {}, input: 'SUB foo.>.bar 1\r\n', errs: ['Invalid Subject'], closed: false },
  { name: 'UNSUB too many args', connect: {}, input: 'UNSUB 1 2 3\r\n', errs: [], closed: true },
  { name: 'UNSUB unknown sid', connect: {}, input: 'UNSUB 99\r\n', errs: [], closed: false },
  { name: 'duplicate SUB sid', connect: {}, input: 'SUB foo 1\r\nSUB bar 1\r\n', errs: [], closed: false },
  { name: 'CONNECT bad protocol', connect: null, input: 'CONNECT {"protocol":2}\r\n', errs: ['invalid client protocol'], closed: true },
  { name: 'CONNECT negative protocol', connect: null, input: 'CONNECT {"protocol":-1}\r\n', errs: ['invalid client protocol'], closed: true },
  {
    name: 'no_responders without headers',
    connect: null,
    input: 'CONNECT {"no_responders":true,"verbose":false}\r\n',
    errs: ['no responders requires headers support'],
    closed: true,
  },
  { name: 'CONNECT bad JSON', connect: null, input: 'CONNECT {"verbose":\r\n', errs: [], closed: true },
  { name: '-ERR from a client', connect: {}, input: "-ERR 'oops'\r\n", errs: [], closed: true },
  { name: 'INFO from a client is ignored', connect: {}, input: 'INFO {}\r\n', errs: [], closed: false },
  { name: '+OK from a client is ignored', connect: {}, input: '+OK\r\n', errs: [], closed: false },
  { name: 'PING with junk before LF', connect: {}, input: 'PINGxyz\r\n', errs: [], closed: false, contains: ['PONG\r\n'] },
  { name: 'bare LF line endings', connect: {}, input: 'SUB lf 1\nPUB lf 2\nhi\r\nPING\n', errs: [], closed: false, contains: ['MSG lf 1 2\r\nhi\r\n', 'PONG\r\n'] },
  {
    name: 'case-insensitive verbs',
    connect: { headers: true },
    input: 'sub ci 1\r\nPuB ci 2\r\nhi\r\nhpub ci 12 14\r\nNATS/1.0\r\n\r\nhi\r\npInG\r\n',
    errs: [],
    closed: false,
    contains: ['MSG ci 1 2\r\nhi\r\nHMSG ci 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', 'PONG\r\n'],
  },
  { name: 'tabs between arguments', connect: {}, input: 'SUB\ttab\t7\r\nPUB\ttab\t2\r\nhi\r\n', errs: [], closed: false, contains: ['MSG tab 7 2\r\nhi\r\n'] },
  {
    name: 'verbose +OK',
    connect: { verbose: true },
    input: 'SUB vb 1\r\nPUB vb 2\r\nhi\r\nUNSUB 1\r\n',
    errs: [],
    closed: false,
    contains: ['+OK\r\n+OK\r\nMSG vb 1 2\r\nhi\r\n+OK\r\n'],
  },
  { name: 'pedantic invalid publish subject', connect: { pedantic: true }, input: 'PUB foo.* 2\r\nhi\r\n', errs: ['Invalid Publish Subject'], closed: false },
  { name: 'non-pedantic wildcard publish', connect: {}, input: 'PUB foo.* 2\r\nhi\r\n', errs: [], closed: false },
  { name: 'max control line', connect: {}, input: `PUB ${'a'.repeat(5000)} 2\r\nhi\r\n`, errs: ['maximum control line exceeded'], closed: true },
  { name: 'max control line without LF', connect: {}, input: `SUB ${'a'.repeat(5000)}`, errs: ['maximum control line exceeded'], closed: true },
  { name: 'control line at the limit', connect: {}, input: `SUB ${'a'.repeat(4094)} 1\r\n`, errs: [], closed: false },
  { name: 'max payload', connect: {}, input: `PUB big ${1024 * 1024 + 1}\r\n`, errs: ['Maximum Payload Violation'], closed: true },
  { name: 'UNSUB with max then more messages', connect: {}, input: 'SUB um 5\r\nUNSUB 5 2\r\nPUB um 1\r\na\r\nPUB um 1\r\nb\r\nPUB um 1\r\nc\r\nPING\r\n', errs: [], closed: false, contains: ['MSG um 5 1\r\na\r\nMSG um 5 1\r\nb\r\nPONG\r\n'] },
  {
    name: 'echo false',
    connect: { echo: false },
    input: 'SUB ec 1\r\nPUB ec 2\r\nhi\r\nPING\r\n',
    errs: [],
    closed: false,
    contains: ['PONG\r\n'],
  },
];

for (const kind of serverKinds()) {
  describe(`protocol errors and replies (${kind})`, () => {
    let srv: RunningServer;
    before(async () => {
      srv = await startServer(kind);
    });
    after(async () => {
      await srv.stop();
    });

    for (const c of CASES) {
      it(c.name, async () => {
        const cl = c.connect === null ? await RawClient.connect(srv.port) : await RawClient.ready(srv.port, c.connect);
        if (c.connect === null) cl.data = '';
        cl.write(c.input);
        if (c.closed) {
          assert.equal(await cl.waitClosed(3000), true, `expected close; got ${JSON.stringify(cl.data)}`);
        } else {
          assert.equal(await cl.alive(), true, `expected open; got ${JSON.stringify(cl.data)}`);
        }
        assert.deepEqual(errs(cl.data), c.errs, `received ${JSON.stringify(cl.data)}`);
        for (const s of c.contains ?? []) assert.ok(cl.data.includes(s), `missing ${JSON.stringify(s)} in ${JSON.stringify(cl.data)}`);
        if (c.name === 'echo false') assert.ok(!cl.data.includes('MSG'), cl.data);
        cl.close();
      });
    }

    it('INFO fields on accept', async () => {
      const cl = await RawClient.connect(srv.port);
      const info = cl.info;
      assert.match(String(info.server_id), /^N[A-Z2-7]{55}$/);
      assert.equal(info.proto, 1);
      assert.equal(info.headers, true);
      assert.equal(info.max_payload, 1024 * 1024);
      assert.equal(info.port, srv.port);
      assert.equal(typeof info.client_id, 'number');
      assert.equal(info.client_ip, '127.0.0.1');
      assert.match(String(info.version), /^2\.\d+\.\d+/);
      assert.equal(info.auth_required, undefined);
      cl.close();
    });

    it('no-responders 503 to the requester', async () => {
      const cl = await RawClient.ready(srv.port, { headers: true, no_responders: true });
      cl.write('SUB _INBOX.x.* 9\r\nPUB nobody.here _INBOX.x.1 2\r\nhi\r\nPING\r\n');
      const d = await cl.waitFor((s) => s.includes('PONG\r\n'));
      // nats-server 2.10 adds a Nats-Subject header; 2.9 sends the bare status. Both carry 503.
      const m = /HMSG _INBOX\.x\.1 9 (\d+) (\d+)\r\nNATS\/1\.0 503\r\n/.exec(d);
      assert.ok(m, d);
      assert.equal(m[1], m[2]);
      cl.close();
    });

    it('headers pass through byte-exact; headerless subscribers get MSG', async () => {
      const sub = await RawClient.ready(srv.port, { headers: true });
      const plain = await RawClient.ready(srv.port, {});
      sub.write('SUB hx.> 1\r\nPING\r\n');
      plain.write('SUB hx.> 2\r\nPING\r\n');
      await sub.waitFor((s) => s.includes('PONG'));
      await plain.waitFor((s) => s.includes('PONG'));
      sub.data = plain.data = '';
      const hdr = 'NATS/1.0\r\nA: 1\r\nb-Key:  spaced value \r\nA: 2\r\n\r\n';
      const pub = await RawClient.ready(srv.port, { headers: true });
      pub.write(`HPUB hx.y reply.to ${hdr.length} ${hdr.length + 5}\r\n${hdr}hello\r\n`);
      await sub.waitFor((s) => s.includes('hello\r\n'));
      await plain.waitFor((s) => s.includes('hello\r\n'));
      assert.equal(sub.data, `HMSG hx.y 1 reply.to ${hdr.length} ${hdr.length + 5}\r\n${hdr}hello\r\n`);
      assert.equal(plain.data, 'MSG hx.y 2 reply.to 5\r\nhello\r\n');
      sub.close();
      plain.close();
      pub.close();
    });

    it('bystander connection is unaffected by a failing one', async () => {
      const good = await RawClient.ready(srv.port);
      good.write('SUB by 1\r\nPING\r\n');
      await good.waitFor((s) => s.includes('PONG'));
      const bad = await RawClient.ready(srv.port);
      bad.write('PUB by 2\r\nhi\r\nGARBAGE\r\n');
      assert.equal(await bad.waitClosed(), true);
      assert.ok(good.data.includes('MSG by 1 2\r\nhi\r\n') || (await good.waitFor((s) => s.includes('MSG by 1 2\r\nhi\r\n'))));
      assert.equal(await good.alive(), true);
      good.close();
    });
  });

  describe(`configured limits (${kind})`, () => {
    it('max_payload from config', async () => {
      const srv = await startWithConfig(kind, 'max_payload: 100\n');
      try {
        const cl = await RawClient.connect(srv.port);
        assert.equal(cl.info.max_payload, 100);
        cl.write('CONNECT {"verbose":false}\r\nPUB a 100\r\n' + 'x'.repeat(100) + '\r\nPING\r\n');
        await cl.waitFor((s) => s.includes('PONG'));
        cl.write('PUB a 101\r\n');
        assert.equal(await cl.waitClosed(), true);
        assert.deepEqual(errs(cl.data), ['Maximum Payload Violation']);
      } finally {
        await srv.stop();
      }
    });

    it('max_connections', async () => {
      const srv = await startWithConfig(kind, 'max_connections: 1\n');
      try {
        const first = await RawClient.ready(srv.port);
        const second = await RawClient.connect(srv.port);
        assert.equal(await second.waitClosed(), true);
        assert.deepEqual(errs(second.data), ['maximum connections exceeded']);
        assert.ok(second.data.startsWith('INFO '));
        assert.equal(await first.alive(), true);
        first.close();
      } finally {
        await srv.stop();
      }
    });

    it('max_subscriptions', async () => {
      const srv = await startWithConfig(kind, 'max_subscriptions: 2\n');
      try {
        const cl = await RawClient.ready(srv.port);
        cl.write('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n');
        assert.equal(await cl.alive(), true);
        assert.deepEqual(errs(cl.data), ['maximum subscriptions exceeded']);
        cl.close();
      } finally {
        await srv.stop();
      }
    });

    it('max_control_line from config', async () => {
      const srv = await startWithConfig(kind, 'max_control_line: 64\n');
      try {
        const cl = await RawClient.ready(srv.port);
        cl.write(`SUB ${'b'.repeat(58)} 1\r\n`);
        assert.equal(await cl.alive(), true);
        cl.write(`SUB ${'b'.repeat(70)} 1\r\n`);
        assert.equal(await cl.waitClosed(), true);
        assert.deepEqual(errs(cl.data), ['maximum control line exceeded']);
      } finally {
        await srv.stop();
      }
    });

    it('stale connection after unanswered pings', async () => {
      const srv = await startWithConfig(kind, 'ping_interval: "100ms"\nping_max: 1\n');
      try {
        const cl = await RawClient.ready(srv.port);
        assert.equal(await cl.waitClosed(5000), true);
        assert.ok(cl.data.includes('PING\r\n'), cl.data);
        assert.deepEqual(errs(cl.data), ['Stale Connection']);
      } finally {
        await srv.stop();
      }
    });

    it('answered pings keep the connection', async () => {
      const srv = await startWithConfig(kind, 'ping_interval: "100ms"\nping_max: 1\n');
      try {
        const cl = await RawClient.ready(srv.port);
        cl.socket.on('data', (d: Buffer) => {
          if (d.toString().includes('PING')) cl.write('PONG\r\n');
        });
        assert.equal(await cl.waitClosed(700), false);
        cl.close();
      } finally {
        await srv.stop();
      }
    });

    it('auth: first op other than CONNECT, bad password, timeout', async () => {
      const srv = await startWithConfig(kind, 'authorization { user: alice, password: s3cret, timeout: 0.5 }\n');
      try {
        const a = await RawClient.connect(srv.port);
        assert.equal(a.info.auth_required, true);
        a.write('PING\r\n');
        assert.equal(await a.waitClosed(), true);
        assert.deepEqual(errs(a.data), ['Authorization Violation']);

        const b = await RawClient.connect(srv.port);
        b.write('CONNECT {"verbose":false,"user":"alice","pass":"nope"}\r\nPING\r\n');
        assert.equal(await b.waitClosed(), true);
        assert.deepEqual(errs(b.data), ['Authorization Violation']);

        const c = await RawClient.connect(srv.port);
        assert.equal(await c.waitClosed(3000), true);
        assert.deepEqual(errs(c.data), ['Authentication Timeout']);

        const d = await RawClient.ready(srv.port, { user: 'alice', pass: 's3cret' });
        assert.equal(await d.alive(), true);
        d.close();
      } finally {
        await srv.stop();
      }
    });
  });
}
