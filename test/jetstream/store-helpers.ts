// Helpers for the storage-layer tests: temp directories and a factory that
// opens the same store API as MemoryStore or FileStore, so one test body
// checks both.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileStore,
  MemoryStore,
  UNLIMITED,
  fileStoreMsgSize,
  memStoreMsgSize,
  type StoreLimits,
  type StreamStore,
} from '../../src/jetstream/store/mod.js';

export function tempDir(prefix = 'tern-store-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StoreKind {
  name: 'memory' | 'file';
  /** Open a fresh store with these limits (the file store in a new temp dir, small blocks). */
  open(limits?: Partial<StoreLimits>, firstSeq?: number): StreamStore;
  /** Bytes one message counts for in this kind of store. */
  size(subject: string, hdr: Buffer | null, data: Buffer): number;
}

export function limits(l: Partial<StoreLimits> = {}): StoreLimits {
  return { ...UNLIMITED, ...l };
}

const dirs: string[] = [];

export const kinds: StoreKind[] = [
  {
    name: 'memory',
    open: (l, firstSeq) => new MemoryStore({ limits: limits(l), firstSeq }),
    size: (s, h, d) => memStoreMsgSize(Buffer.byteLength(s), h?.length ?? 0, d.length),
  },
  {
    name: 'file',
    open: (l, firstSeq) => {
      const t = tempDir();
      dirs.push(t.dir);
      return FileStore.open({ dir: t.dir, limits: limits(l), firstSeq, blockSize: 4096, sync: 'always', log: () => {} });
    },
    size: (s, h, d) => fileStoreMsgSize(Buffer.byteLength(s), h?.length ?? 0, d.length),
  },
];

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function msgsOf(store: StreamStore): { seq: number; subject: string; data: string }[] {
  const out: { seq: number; subject: string; data: string }[] = [];
  for (let m = store.loadNextMatching('>', 0); m !== undefined; m = store.loadNextMatching('>', m.seq + 1)) {
    out.push({ seq: m.seq, subject: m.subject, data: m.data.toString() });
  }
  return out;
}
