// The route parser over a raw route socket: control lines (RS+, RMSG) cut at
// every byte boundary still work, and a control line longer than the route's
// max_control_line closes the route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNode, subj, until, type ClusterNode } from './helpers.js';

let node: ClusterNode;
before(async () => {
  node = await startNode({ name: 'split-a' });
});
after(async () => {
  await node.stop();
});

/** A fake peer: dials the route port, sends CONNECT + INFO, records everything it receives. */
async function fakeRoute(port: number, id: string): Promise<{ sock: Socket; got: () => string; closed: () => boolean }> {
  const sock = tcpConnect({ host: '127.0.0.1', port });
  let data = '';
  let closed = false;
  sock.on('data', (d: Buffer) => (data += d.toString('latin1')));
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  await new Promise<void>((res, rej) => {
    sock.once('connect', () => res());
    sock.once('error', rej);
  });
  const info = { server_id: id, name: id, cluster: 'tern-test', headers: true, host: '127.0.0.1', port: 1 };
  sock.write(`CONNECT {"verbose":false,"pedantic":false,"name":"${id}","cluster":"tern-test","headers":true}\r\nINFO ${JSON.stringify(info)}\r\n`);
  await until(() => data.includes('INFO '), 3000, 'route INFO');
  return { sock, got: () => data, closed: () => closed };
}

/** Write `s` one byte per write, each after a short pause so every byte is its own read. */
async function dribble(sock: Socket, s: string): Promise<void> {
  for (const ch of s) {
    sock.write(ch);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('RS+ and RMSG cut at every byte still route (interest in, message out)', async () => {
  const peer = await fakeRoute(node.clusterPort, 'FAKESPLIT1');
  let nc: NatsConnection | null = null;
  try {
    const toPeer = subj('split.out');
    const toClient = subj('split.in');
    await dribble(peer.sock, `RS+ $G ${toPeer}\r\n`);
    nc = await connect({ servers: `127.0.0.1:${node.port}` });
    const sub = nc.subscribe(toClient, { max: 1 });
    await nc.flush();
    // Interest from the split RS+ exists once a publish reaches the peer.
    await until(async () => {
      nc!.publish(toPeer, 'x');
      await nc!.flush();
      return peer.got().includes(`RMSG $G ${toPeer} 1\r\nx\r\n`);
    }, 5000, 'RMSG to the fake peer');
    // The client's SUB arrives as RS+ before the routed message goes in.
    await until(() => peer.got().includes(`RS+ $G ${toClient}`), 3000, 'RS+ from the node');
    await dribble(peer.sock, `RMSG $G ${toClient} reply.to 5\r\nhello\r\n`);
    for await (const m of sub) {
      assert.equal(m.string(), 'hello');
      assert.equal(m.reply, 'reply.to');
    }
    assert.equal(peer.closed(), false);
  } finally {
    await nc?.close();
    peer.sock.destroy();
  }
});

test('a route control line over max_control_line closes the route', async () => {
  const peer = await fakeRoute(node.clusterPort, 'FAKESPLIT2');
  try {
    // The route limit is max(max_control_line, 64 KiB); send more without a newline, in pieces.
    const chunk = 'x'.repeat(16 * 1024);
    peer.sock.write('RS+ $G ');
    for (let i = 0; i < 5 && !peer.closed(); i++) {
      peer.sock.write(chunk);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => peer.closed(), 3000, 'route closed');
  } finally {
    peer.sock.destroy();
  }
});
