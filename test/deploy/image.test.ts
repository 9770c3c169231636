// The Docker image cannot be built here (no Docker engine), so what it relies on
// is checked: src compiles on its own with tsconfig.build.json, every package
// the runtime imports survives `npm prune --omit=dev`, and the image's
// entrypoint is the one docker-compose.yml uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import YAML from 'yaml';
import { REPO_ROOT } from '../helpers/servers.js';

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? jsFiles(p) : n.endsWith('.js') ? [p] : [];
  });
}

test('src compiles on its own (the image builds with tsconfig.build.json)', () => {
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noEmit'], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
  });
});

test('every package imported at run time is a production dependency', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const builtins = new Set(builtinModules);
  const imported = new Set<string>();
  const spec = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'".][^'"]*)['"]|import\(\s*['"]([^'".][^'"]*)['"]\s*\)/gm;
  for (const f of jsFiles(join(REPO_ROOT, 'dist', 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(spec)) {
      const s = (m[1] ?? m[2])!;
      if (s.startsWith('node:') || builtins.has(s)) continue;
      imported.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
    }
  }
  assert.ok(imported.size > 0, 'found the runtime imports');
  for (const name of imported) assert.ok(pkg.dependencies[name], `${name} is imported by dist/src but is not in "dependencies"`);
});

test('the image entrypoint is the one docker-compose.yml runs, and compose builds that image', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  assert.ok(entry, 'Dockerfile has an exec-form ENTRYPOINT');
  const compose = YAML.parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: unknown; entrypoint?: string[] }>;
  };
  for (const name of ['tern-1', 'tern-2', 'tern-3', 'bridge']) {
    const svc = compose.services[name]!;
    assert.equal(svc.build, '.', `${name} builds the image from ./Dockerfile`);
    assert.deepEqual(svc.entrypoint, JSON.parse(entry[1]!) as string[]);
  }
  assert.match(dockerfile, /COPY --from=build \/app\/dist\/src \.\/dist\/src/);
});
