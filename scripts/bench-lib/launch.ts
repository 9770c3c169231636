// Starts a server for a benchmark run on a free port and measures how long
// it takes from spawn to a usable port (the first INFO line arrives). Both
// kinds go through this one path; with `pin` the server runs on CPU 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'tern' | 'nats-server';

/** dist/scripts/bench-lib -> repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TERN_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface LaunchConfig {
  /** nats-server binary (the reference). */
  natsServerBin: string;
  /**
   * What runs as "tern": undefined = `node dist/src/cli/main.js server`;
   * a path = that binary with nats-server flags (to develop the harness
   * with nats-server on both sides).
   */
  ternBin?: string;
  pin: boolean;
  /** Tern's main.js to run (default TERN_MAIN); see snapshotTern. */
  ternMain?: string;
}

/**
 * Copies the compiled server (dist/src + package.json) to .tmp/bench-snapshot
 * and returns the copy's main.js. Other work may rebuild dist/ while a long
 * comparison runs; every round must run the same build. Module resolution
 * still finds the repository's node_modules by walking up.
 */
export function snapshotTern(): string {
  if (!existsSync(TERN_MAIN)) throw new Error(`${TERN_MAIN} not found: run 'npx tsc -p .' first`);
  const root = join(REPO_ROOT, '.tmp', 'bench-snapshot');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  cpSync(join(REPO_ROOT, 'dist', 'src'), join(root, 'dist', 'src'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  return join(root, 'dist', 'src', 'cli', 'main.js');
}

export interface LaunchedServer {
  kind: ServerKind;
  pid: number;
  port: number;
  url: string;
  /** ms from spawn to the first INFO line on a client connection. */
  readyMs: number;
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** One attempt: connect and wait for a line starting with INFO. */
function probeInfo(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) done(buf.startsWith('INFO '));
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

/** The server's command line; `extra` are more nats-server flags (e.g. -js -sd DIR, --cluster ...). */
export function commandFor(kind: ServerKind, cfg: LaunchConfig, port: number, extra: string[] = []): { cmd: string; args: string[] } {
  const serverArgs = ['-a', '127.0.0.1', '-p', String(port), ...extra];
  let cmd: string;
  let args: string[];
  if (kind === 'nats-server') {
    cmd = cfg.natsServerBin;
    args = serverArgs;
  } else if (cfg.ternBin) {
    cmd = cfg.ternBin;
    args = serverArgs;
  } else {
    const main = cfg.ternMain ?? TERN_MAIN;
    if (!existsSync(main)) throw new Error(`${main} not found: run 'npx tsc -p .' first`);
    cmd = process.execPath;
    args = [main, 'server', ...serverArgs];
  }
  // taskset execs the server, so the pid we get is the server's own.
  return cfg.pin ? { cmd: 'taskset', args: ['-c', '1', cmd, ...args] } : { cmd, args };
}

export async function launchServer(kind: ServerKind, cfg: LaunchConfig, timeoutMs = 15_000, extra: string[] = []): Promise<LaunchedServer> {
  const port = await freePort();
  const { cmd, args } = commandFor(kind, cfg, port, extra);
  const t0 = process.hrtime.bigint();
  const proc: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + timeoutMs;
  let ready = false;
  while (!ready && !exitedEarly && Date.now() < deadline) {
    ready = await probeInfo(port);
    if (!ready) await new Promise((r) => setTimeout(r, 5));
  }
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  if (!ready) {
    await stop();
    throw new Error(`${kind} (${cmd} ${args.join(' ')}) did not accept connections on port ${port}:\n${out.slice(-2000)}`);
  }
  return { kind, pid: proc.pid!, port, url: `nats://127.0.0.1:${port}`, readyMs, output: () => out, stop };
}
