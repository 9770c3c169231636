// Start broker processes for tests on free ports: our own `tern server` and the
// reference nats-server, through the same code path, so that one test body can
// run against both (differential tests). Ports are discovered through
// --ports_file_dir, never fixed; 4222 is never used.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TERN_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export type ServerKind = 'tern' | 'nats-server';

/** How long stop()/kill() wait for the process to exit before SIGKILL and an error. */
const STOP_TIMEOUT_MS = 15_000;

export interface PortsFile {
  nats?: string[];
  monitoring?: string[];
  cluster?: string[];
  websocket?: string[];
  leafnodes?: string[];
}

export interface RunningServer {
  kind: ServerKind;
  proc: ChildProcess;
  pid: number;
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  host: string;
  ports: PortsFile;
  /** Everything the process printed (stdout + stderr), for assertions on logs. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Extra CLI args; -a 127.0.0.1 -p -1 --ports_file_dir are added unless given. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** ms to wait for the ports file. */
  timeout?: number;
  cwd?: string;
  /** Options for Tern's node itself (e.g. --cpu-prof); ignored for nats-server. */
  nodeArgs?: string[];
}

function command(kind: ServerKind, nodeArgs: string[]): { cmd: string; argv: string[] } {
  if (kind === 'tern') return { cmd: process.execPath, argv: [...nodeArgs, TERN_MAIN, 'server'] };
  return { cmd: NATS_SERVER_BIN, argv: [] };
}

export async function startServer(kind: ServerKind, opts: StartOptions = {}): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `${kind}-ports-`));
  const args = [...(opts.args ?? [])];
  if (!args.includes('-a') && !args.includes('--addr') && !args.includes('-c')) args.push('-a', '127.0.0.1');
  if (!args.includes('-p') && !args.includes('--port') && !args.includes('-c')) args.push('-p', '-1');
  args.push('--ports_file_dir', dir);
  const { cmd, argv } = command(kind, opts.nodeArgs ?? []);
  const proc = spawn(cmd, [...argv, ...args], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  const deadline = Date.now() + (opts.timeout ?? 10_000);
  let ports: PortsFile | undefined;
  let early: number | null | undefined;
  void exited.then((c) => (early = c));
  while (Date.now() < deadline) {
    if (early !== undefined) break;
    const f = readdirSync(dir).find((n) => n.endsWith('.ports'));
    if (f) {
      try {
        ports = JSON.parse(readFileSync(join(dir, f), 'utf8')) as PortsFile;
        break;
      } catch {
        // file being written: retry
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  rmSync(dir, { recursive: true, force: true });
  if (!ports || !ports.nats || ports.nats.length === 0) {
    proc.kill('SIGKILL');
    throw new Error(`${kind} did not start (exit ${String(early)}):\n${out}`);
  }
  const u = new URL(ports.nats[0]!);
  const host = u.hostname === '0.0.0.0' ? '127.0.0.1' : u.hostname;
  const port = Number(u.port);
  // Bounded: a server that ignores the signal is killed and reported, never left
  // running or hanging the suite's after() hooks.
  const stopWith = async (sig: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(sig);
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((res) => (timer = setTimeout(() => res(true), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!late) return;
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`${kind} (pid ${proc.pid}) did not exit within ${STOP_TIMEOUT_MS} ms of ${sig}; killed:\n${out.slice(-2000)}`);
  };
  return {
    kind,
    proc,
    pid: proc.pid!,
    url: `nats://${host}:${port}`,
    port,
    host,
    ports,
    output: () => out,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    exited,
  };
}

export const startTern = (opts?: StartOptions): Promise<RunningServer> => startServer('tern', opts);
export const startNatsServer = (opts?: StartOptions): Promise<RunningServer> => startServer('nats-server', opts);

/** The server kinds a differential test runs against; TERN_ONLY=1 skips the reference. */
export function serverKinds(): ServerKind[] {
  return process.env.TERN_ONLY === '1' ? ['tern'] : ['tern', 'nats-server'];
}
