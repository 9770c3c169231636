// Child process for the memory measurement: opens N idle client connections
// to a NATS server (CONNECT + PING, waits for each PONG), prints
// "ready <n>" and keeps them open until stdin closes. A separate process, so
// the measuring process's own sockets and heap stay out of the picture.
//   node idle-conns.js <host> <port> <count>
import { connect, type Socket } from 'node:net';

const [host = '127.0.0.1', portArg = '', countArg = ''] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const PARALLEL = 200;
const sockets: Socket[] = [];

function openOne(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let buf = '';
    let sentConnect = false;
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (!sentConnect && buf.includes('\n')) {
        sentConnect = true;
        buf = buf.slice(buf.indexOf('\n') + 1);
        s.write('CONNECT {"verbose":false,"pedantic":false,"name":"idle"}\r\nPING\r\n');
      }
      if (sentConnect && buf.includes('PONG')) {
        s.off('data', onData);
        // From now on only answer the server's keep-alive PINGs.
        s.on('data', (x: Buffer) => {
          if (x.includes('PING')) s.write('PONG\r\n');
        });
        resolve();
      } else if (buf.includes('-ERR')) {
        reject(new Error(`server refused connection ${sockets.length}: ${buf.trim()}`));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    sockets.push(s);
  });
}

async function main(): Promise<void> {
  if (!port || !count) throw new Error('usage: idle-conns.js <host> <port> <count>');
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, lane));
  process.stdout.write(`ready ${sockets.length}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(`idle-conns: ${(e as Error).message}\n`);
  process.exit(1);
});
