// One entry point for the stream layer: open the store a stream config asks for.

import { FileStore, type SyncPolicy } from './file-store.js';
import { MemoryStore } from './memory-store.js';
import type { StoreLimits, StreamStore } from './store.js';

export interface OpenStoreOptions {
  storage: 'file' | 'memory';
  /** Stream directory (file storage only). */
  dir?: string;
  limits: StoreLimits;
  firstSeq?: number;
  sync?: SyncPolicy;
  blockSize?: number;
  log?: (line: string) => void;
}

export function openStreamStore(opts: OpenStoreOptions): StreamStore {
  if (opts.storage === 'memory') return new MemoryStore({ limits: opts.limits, firstSeq: opts.firstSeq });
  if (opts.dir === undefined) throw new Error('file storage needs a stream directory');
  return FileStore.open({
    dir: opts.dir,
    limits: opts.limits,
    firstSeq: opts.firstSeq,
    sync: opts.sync,
    blockSize: opts.blockSize,
    log: opts.log,
  });
}
