// The broker closes a connection in the same read as its connection.open-ok: amqplib then
// emits 'close' before amqp.connect()'s promise continuation can attach a listener. Seen in
// CI: an in-process bridge whose reconnect landed while the test blocked the event loop in
// rabbitmqctl, then kept handing out the dead connection forever. Made deterministic here by
// a TCP proxy between amqplib and the RabbitMQ service that holds open-ok back until the
// broker's connection.close for the same connection arrives, then forwards both in one write.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { SharedConnection, type ConnectionUser } from '../../src/bridge/connectors/rabbitmq-connection.js';
import { forceCloseRabbitConnectionsNamed, uid } from './helpers.js';

const RABBIT_PORT = Number(new URL(process.env.RABBIT_URL ?? 'amqp://127.0.0.1:5672').port || 5672);
const FRAME_METHOD = 1;
const FRAME_END = 0xce;

interface HoldingProxy {
  readonly port: number;
  /** Resolves when the first connection's open-ok is being held back. */
  readonly openOkHeld: Promise<void>;
  close(): void;
}

/** Proxy to RabbitMQ; the first connection's server frames from open-ok on are held until a connection.close follows. */
async function holdingProxy(): Promise<HoldingProxy> {
  let armed = true;
  let signal: () => void = () => undefined;
  const openOkHeld = new Promise<void>((r) => (signal = r));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(RABBIT_PORT, '127.0.0.1');
    sockets.add(client).add(upstream);
    const hold = armed;
    armed = false;
    let pending = Buffer.alloc(0);
    let held: Buffer[] | undefined;
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (!hold) {
        client.write(d);
        return;
      }
      pending = Buffer.concat([pending, d]);
      // frame: type u8, channel u16, size u32, payload, 0xCE; a method payload starts class u16, method u16
      while (pending.length >= 8 && pending.length >= 8 + pending.readUInt32BE(3)) {
        const frame = pending.subarray(0, 8 + pending.readUInt32BE(3));
        pending = pending.subarray(frame.length);
        assert.equal(frame[frame.length - 1], FRAME_END, 'AMQP frame end');
        const isMethod = frame[0] === FRAME_METHOD;
        const cls = isMethod ? frame.readUInt16BE(7) : -1;
        const method = isMethod ? frame.readUInt16BE(9) : -1;
        if (held === undefined && cls === 10 && method === 41) {
          held = [frame];
          signal();
        } else if (held !== undefined) {
          held.push(frame);
          if (cls === 10 && method === 50) {
            client.write(Buffer.concat(held)); // open-ok and close in one read
            held = [];
          }
        } else {
          client.write(frame);
        }
      }
    });
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop).on('error', drop);
    upstream.on('close', drop).on('error', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    openOkHeld,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

test('a connection the broker closes in the same read as open-ok is never handed out; the next acquire opens a working one', { timeout: 60_000 }, async () => {
  const proxy = await holdingProxy();
  cleanups.push(() => proxy.close());
  const clientName = uid('tern-open-race');
  const url = `amqp://guest:guest@127.0.0.1:${proxy.port}`;
  const shared = SharedConnection.for({ name: 'race', url, redactedUrl: url, clientName });
  const events: string[] = [];
  const user: ConnectionUser = {
    connectionLost: (why) => events.push(`lost: ${why}`),
    connectionUp: () => events.push('up'),
  };
  const first = shared.acquire(user);
  first.catch(() => undefined); // asserted below, after the broker closed it
  await proxy.openOkHeld;
  assert.equal(forceCloseRabbitConnectionsNamed(clientName, 'open race test'), 1, 'the broker had the connection open');
  await assert.rejects(first, /closed by the broker as it opened/);
  assert.equal(shared.current, undefined, 'the dead connection did not become current');
  assert.deepEqual(events, [], 'nobody was told it was up');

  // The proxy holds only its first connection: this one opens normally and works.
  const second = await shared.acquire(user);
  assert.equal(shared.current, second);
  const ch = await second.createChannel();
  await ch.prefetch(10); // a round trip on the channel
  await ch.close();
  assert.deepEqual(events, ['up']);
  await shared.release(user);
  assert.equal(shared.current, undefined, 'the last release closed it');
});
