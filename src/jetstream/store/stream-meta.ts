// Stream and consumer metadata on disk, and the directory layout around it:
//
//   <storeDir>/<stream>/meta.json              stream config + created time
//   <storeDir>/<stream>/msgs/*.blk             FileStore blocks
//   <storeDir>/<stream>/obs/<consumer>/meta.json   consumer config
//   <storeDir>/<stream>/obs/<consumer>/state.json  ConsumerStateFile
//
// meta.json files are replaced atomically. listStreams() is how the server
// finds its streams at start; damaged entries are reported, not fatal.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from './atomic-file.js';

const META_FILE = 'meta.json';

export interface StoredMeta<C> {
  config: C;
  /** RFC3339 creation time. */
  created: string;
}

export interface MetaEntry<C> {
  name: string;
  dir: string;
  meta: StoredMeta<C>;
}

export interface MetaListing<C> {
  entries: MetaEntry<C>[];
  /** Directories that could not be read, with why. */
  problems: string[];
}

export class StoreNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreNameError';
  }
}

/** Stream and consumer names become directory names: refuse anything that is not one plain path component. */
export function checkName(kind: 'stream' | 'consumer', name: string): void {
  if (name === '' || name === '.' || name === '..' || /[\/\\\x00\s.*>]/.test(name) || name.length > 255) {
    throw new StoreNameError(`invalid ${kind} name ${JSON.stringify(name)}`);
  }
}

export function streamDir(storeDir: string, stream: string): string {
  checkName('stream', stream);
  return join(storeDir, stream);
}

export function consumerDir(streamDirPath: string, consumer: string): string {
  checkName('consumer', consumer);
  return join(streamDirPath, 'obs', consumer);
}

export function writeMeta<C>(dir: string, meta: StoredMeta<C>, durable = true): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(join(dir, META_FILE), JSON.stringify(meta), durable);
}

/** The meta in dir, undefined if there is none; throws with the path on a damaged file. */
export function readMeta<C>(dir: string): StoredMeta<C> | undefined {
  const path = join(dir, META_FILE);
  if (!existsSync(path)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: invalid JSON: ${(err as Error).message}`);
  }
  const m = v as Partial<StoredMeta<C>>;
  if (typeof v !== 'object' || v === null || typeof m.config !== 'object' || m.config === null || typeof m.created !== 'string') {
    throw new Error(`${path}: expected {config, created}`);
  }
  return { config: m.config as C, created: m.created };
}

function listMetaDirs<C>(parent: string): MetaListing<C> {
  const out: MetaListing<C> = { entries: [], problems: [] };
  if (!existsSync(parent)) return out;
  for (const name of readdirSync(parent).sort()) {
    const dir = join(parent, name);
    if (!statSync(dir).isDirectory()) continue;
    try {
      const meta = readMeta<C>(dir);
      if (meta === undefined) out.problems.push(`${dir}: no ${META_FILE}, skipped`);
      else out.entries.push({ name, dir, meta });
    } catch (err) {
      out.problems.push((err as Error).message);
    }
  }
  return out;
}

/** Every stream directory under storeDir with its metadata. */
export function listStreams<C>(storeDir: string): MetaListing<C> {
  return listMetaDirs<C>(storeDir);
}

/** Every consumer directory of a stream with its metadata. */
export function listConsumers<C>(streamDirPath: string): MetaListing<C> {
  return listMetaDirs<C>(join(streamDirPath, 'obs'));
}
