// Replace a small file atomically: write <path>.tmp, (fsync), rename over
// <path>, (fsync the directory). A crash at any point leaves either the old or
// the new content at <path>, never a mix; a leftover .tmp is ignored by readers.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export function tmpPathFor(path: string): string {
  return `${path}.tmp`;
}

export function writeFileAtomicSync(path: string, data: Buffer | string, durable: boolean): void {
  const tmp = tmpPathFor(path);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (durable) syncDirSync(dirname(path));
}

export async function writeFileAtomic(path: string, data: Buffer | string, durable: boolean): Promise<void> {
  const tmp = tmpPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  if (durable) syncDirSync(dirname(path));
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    closeSync(fd);
  }
}
