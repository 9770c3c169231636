// A client that floods PUBs to a subject it subscribes to and never reads
// its own socket must not grow the server's memory without bound: its
// outbound is capped by max_pending and it is closed as a slow consumer.
// Run on Tern and nats-server; memory is the server's own /varz `mem` (RSS).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { serverKinds } from '../helpers/servers.js';
import { eventually, getJson, startMonitored, type MonitoredServer } from './helpers.js';

const MiB = 1024 * 1024;
const MAX_PENDING = 4 * MiB;
/** Give up (and fail) if the server still reads after this much. */
const SEND_CAP = 256 * MiB;

async function rss(srv: MonitoredServer): Promise<number> {
  return Number((await getJson(srv.http, '/varz')).body.mem);
}

/** Flood until the server closes us; returns bytes written. Never reads. */
async function flood(port: number): Promise<{ sent: number; closedByServer: boolean }> {
  const sock: Socket = netConnect({ port, host: '127.0.0.1' });
  await new Promise<void>((res, rej) => {
    sock.once('connect', () => res());
    sock.once('error', rej);
  });
  let closed = false;
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  // Read nothing at all (not even INFO): the server's writes to us back up.
  sock.pause();
  sock.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1,"name":"flooder"}\r\nSUB flood.self 1\r\n');
  const payload = 'x'.repeat(16 * 1024);
  const chunk = Buffer.from(`PUB flood.self ${payload.length}\r\n${payload}\r\n`.repeat(16), 'latin1');
  let sent = 0;
  while (!closed && sent < SEND_CAP) {
    const ok = sock.write(chunk);
    sent += chunk.length;
    if (!ok) {
      // Our own side's backpressure: wait for drain, or the close.
      await new Promise<void>((res) => {
        const t = setTimeout(res, 200);
        const done = (): void => {
          clearTimeout(t);
          res();
        };
        sock.once('drain', done);
        sock.once('close', done);
      });
    }
  }
  const closedByServer = closed;
  sock.destroy();
  return { sent, closedByServer };
}

for (const kind of serverKinds()) {
  describe(`${kind}: a self-flooding client that never reads`, () => {
    it('is closed as a slow consumer and server memory stays bounded', async () => {
      const srv = await startMonitored(kind, `max_pending: ${MAX_PENDING}\nwrite_deadline: "2s"\n`);
      try {
        const before = await rss(srv);
        const { sent, closedByServer } = await flood(srv.port);
        assert.equal(closedByServer, true, `server still reading after ${sent} bytes`);
        assert.ok(sent >= MAX_PENDING, `closed after ${sent} bytes, before its outbound could exceed max_pending`);
        let cz: Record<string, unknown> = {};
        await eventually('flooder listed as closed', async () => {
          cz = (await getJson(srv.http, '/connz?state=closed')).body;
          return (cz.connections as Array<Record<string, unknown>>).some((c) => c.name === 'flooder');
        });
        const reason = String((cz.connections as Array<Record<string, unknown>>).find((c) => c.name === 'flooder')!.reason);
        assert.match(reason, /^Slow Consumer/);
        assert.ok(Number((await getJson(srv.http, '/varz')).body.slow_consumers) >= 1);
        const after = await rss(srv);
        // Generous: the outbound cap is 4 MiB; allocator slack and buffers read in flight stay well under this.
        assert.ok(after - before < 96 * MiB, `RSS grew ${((after - before) / MiB).toFixed(1)} MiB (before ${(before / MiB).toFixed(1)} MiB)`);
      } finally {
        await srv.stop();
      }
    });
  });
}
