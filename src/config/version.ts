// Tern's own version (from package.json) and the nats-server release whose
// protocol and configuration Tern follows.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATS_COMPAT_VERSION = '2.10.0';

function readPackageVersion(): string {
  // Compiled to dist/src/config/, sources in src/config/: search upwards.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tern' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

export const TERN_VERSION = readPackageVersion();

export function versionLine(): string {
  return `tern version ${TERN_VERSION} (nats-server compatible ${NATS_COMPAT_VERSION})`;
}
