// Child process for the crash tests (not a test file itself): does durable work
// and prints what it has acknowledged, until the parent kills it with SIGKILL.
//   append <dir> <count>   store <count> 128-byte messages (sync 'always'), print "ack <seq>" after each durable batch
//   consumer <dir>         save consumer states in a loop, print "saved <n>" after each
import { ConsumerStateFile, FileStore, emptyConsumerState } from '../../src/jetstream/store/mod.js';
import { payloadFor } from './store-crash-payload.js';

const [mode, dir, countArg] = process.argv.slice(2);

async function append(): Promise<void> {
  const count = Number(countArg);
  const fs = FileStore.open({ dir: dir!, sync: 'always', blockSize: 256 * 1024 });
  let seq = fs.state().last_seq;
  while (seq < count) {
    // A few stores per turn so that batches of different sizes hit the disk.
    const n = 1 + (seq % 7);
    for (let i = 0; i < n && seq < count; i++) seq = fs.store(`crash.${seq % 10}`, null, payloadFor(seq + 1)).seq;
    await fs.whenDurable();
    process.stdout.write(`ack ${seq}\n`);
  }
  await fs.stop();
  process.stdout.write('done\n');
}

async function consumer(): Promise<void> {
  const file = new ConsumerStateFile(dir!);
  for (let n = 1; ; n++) {
    const s = emptyConsumerState();
    s.delivered = { consumer_seq: n, stream_seq: n };
    s.ack_floor = { consumer_seq: n - 1, stream_seq: n - 1 };
    // The pending map's size tracks n, so a torn or mixed file could not pass the parent's check.
    for (let p = 0; p < (n % 50) + 1; p++) s.pending.set(n + p, { consumer_seq: n, timestamp: n * 1000, deliveries: 1 });
    await file.save(s);
    process.stdout.write(`saved ${n}\n`);
  }
}

if (mode === 'append') await append();
else if (mode === 'consumer') await consumer();
else {
  process.stderr.write(`unknown mode ${String(mode)}\n`);
  process.exit(2);
}
