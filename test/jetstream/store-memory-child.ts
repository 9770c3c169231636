// Child process for the store memory test (not a test file itself): run with
// --expose-gc, stores <count> 128-byte messages in a FileStore and prints one
// JSON line with the heap and array-buffer growth measured after full GCs.
//   <dir> <count>
import { FileStore } from '../../src/jetstream/store/mod.js';

const [dir, countArg] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function measure(): { heap: number; buffers: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

async function main(): Promise<void> {
  const count = Number(countArg);
  const blockSize = 1024 * 1024;
  const cacheBlocks = 2;
  const fs = FileStore.open({ dir: dir!, blockSize, cacheBlocks });
  const payload = Buffer.alloc(128, 0x61);
  // One message first so lazily created structures are in the baseline.
  fs.store('mem.warm', null, payload);
  await fs.whenDurable();
  const before = measure();
  for (let i = 0; i < count; i++) {
    // Fresh subject strings, as the parser hands them over, over a handful of subjects.
    fs.store(`mem.${i % 16}.x`.slice(0), null, payload);
    if (i % 5000 === 4999) await fs.whenDurable();
  }
  await fs.whenDurable();
  // Reads of old messages load evicted blocks; only cacheBlocks of them may stay.
  for (let s = 2; s < count; s += Math.floor(count / 50)) {
    const m = fs.load(s);
    if (m === undefined || m.data.length !== 128) throw new Error(`message ${s} missing or damaged`);
  }
  const after = measure();
  const st = fs.state();
  await fs.stop();
  process.stdout.write(
    `${JSON.stringify({
      messages: st.messages,
      heapDelta: after.heap - before.heap,
      buffersDelta: after.buffers - before.buffers,
      // Active block + cached sealed blocks, each at most twice blockSize (doubling growth).
      cacheAllowance: (cacheBlocks + 1) * 2 * blockSize,
    })}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
