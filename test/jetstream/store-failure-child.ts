// Child process for the write-failure test (not a test file itself). The parent
// runs it under a small file-size limit (ulimit -f), so block writes fail with
// EFBIG: a real disk error, not a simulated one. It fills a FileStore with a
// periodic sync, then prints one JSON line saying how each later call settled.
//   <dir>
import { FileStore, StoreError } from '../../src/jetstream/store/mod.js';

const dir = process.argv[2]!;

/** 'resolved', 'rejected: <code>' or 'hung' (not settled within ms). */
function settle(p: Promise<unknown>, ms = 3000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((r) => (timer = setTimeout(() => r('hung'), ms)));
  const done = p.then(
    () => 'resolved',
    (e: unknown) => `rejected: ${e instanceof StoreError ? e.code : String(e)}`,
  );
  return Promise.race([done, hung]).finally(() => clearTimeout(timer));
}

const logs: string[] = [];
const fs = FileStore.open({ dir, sync: 20, blockSize: 1024 * 1024, log: (l) => logs.push(l) });
const payload = Buffer.alloc(1024, 120);
let stored = 0;
let storeError = '';
for (let i = 0; i < 1000 && storeError === ''; i++) {
  try {
    fs.store('fail.x', null, payload);
    stored++;
  } catch (e) {
    storeError = e instanceof StoreError ? e.code : String(e);
  }
  // Let the write of each batch run, as it would between client reads.
  if (i % 10 === 9) await new Promise((r) => setImmediate(r));
}
// Several periodic-sync intervals pass over the failed store.
await new Promise((r) => setTimeout(r, 200));
const result = {
  stored,
  storeError,
  logs,
  sync: await settle(fs.sync()),
  whenDurable: await settle(fs.whenDurable()),
  stop: await settle(fs.stop()),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
