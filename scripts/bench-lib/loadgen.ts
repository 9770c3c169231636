// The load generators: the Go nats-bench from ../shared/tools (built once and
// cached) and `tern bench` (raw-socket Node), run as child processes with the
// same arguments against either server; their reports are parsed here.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TERN_MAIN } from './launch.js';

export type Tool = 'nats-bench' | 'tern-bench';

export const NATS_BENCH_SRC = process.env.NATS_BENCH_SRC ?? '/work/shared/tools/nats-bench';

/** Path of a built nats-bench: $NATS_BENCH_BIN, or .tmp/nats-bench/nats-bench (rebuilt when main.go changes). */
export function ensureNatsBench(log: (s: string) => void = () => {}): string {
  if (process.env.NATS_BENCH_BIN) return process.env.NATS_BENCH_BIN;
  const out = join(REPO_ROOT, '.tmp', 'nats-bench', 'nats-bench');
  const src = join(NATS_BENCH_SRC, 'main.go');
  if (existsSync(out) && (!existsSync(src) || statSync(out).mtimeMs >= statSync(src).mtimeMs)) return out;
  if (!existsSync(join(NATS_BENCH_SRC, 'build.sh'))) {
    throw new Error(`nats-bench sources not found at ${NATS_BENCH_SRC} (set NATS_BENCH_SRC or NATS_BENCH_BIN)`);
  }
  log(`building nats-bench into ${out} ...`);
  execFileSync(join(NATS_BENCH_SRC, 'build.sh'), [out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

export interface ToolRun {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command line, for the record. */
  command: string;
}

export function runTool(
  tool: Tool,
  natsBenchBin: string,
  args: string[],
  opts: { pin: boolean; timeoutMs: number },
): Promise<ToolRun> {
  let cmd = tool === 'nats-bench' ? natsBenchBin : process.execPath;
  let argv = tool === 'nats-bench' ? args : [TERN_MAIN, 'bench', '--no-progress', ...args];
  if (opts.pin) {
    argv = ['-c', '0', cmd, ...argv];
    cmd = 'taskset';
  }
  const command = `${cmd} ${argv.join(' ')}`;
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      p.kill('SIGKILL');
    }, opts.timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, stdout, stderr, command });
    });
  });
}

const num = (s: string): number => Number(s.replace(/,/g, ''));

/** Aggregate rates from a nats-bench style report (either tool). */
export function parseRates(report: string): { pub?: number; sub?: number } {
  const pub = /^\s*Pub stats: ([\d,]+) msgs\/sec/m.exec(report);
  const sub = /^\s*Sub stats: ([\d,]+) msgs\/sec/m.exec(report);
  const out: { pub?: number; sub?: number } = {};
  if (pub) out.pub = num(pub[1]!);
  if (sub) out.sub = num(sub[1]!);
  return out;
}

export interface LatencyLine {
  reqPerSec: number;
  p50us: number;
  p90us: number;
  p99us: number;
  maxUs: number;
}

/** Go duration text ("31.327µs", "1.2ms", "850ns", "1.5s") -> µs. */
export function goDurationMicros(s: string): number {
  const m = /^([\d.]+)(ns|µs|us|ms|s)$/.exec(s);
  if (!m) throw new Error(`not a duration: '${s}'`);
  const f = { ns: 1e-3, µs: 1, us: 1, ms: 1e3, s: 1e6 }[m[2] as 'ns' | 'µs' | 'us' | 'ms' | 's'];
  return Number(m[1]) * f;
}

/** The `request/reply [n=..]: X req/sec, p50=.. p90=.. p99=.. max=..` line. */
export function parseLatency(report: string): LatencyLine | undefined {
  const m = /request\/reply \[[^\]]*\]: (\d+) req\/sec, p50=(\S+) p90=(\S+) p99=(\S+) max=(\S+)/.exec(report);
  if (!m) return undefined;
  return {
    reqPerSec: Number(m[1]),
    p50us: goDurationMicros(m[2]!),
    p90us: goDurationMicros(m[3]!),
    p99us: goDurationMicros(m[4]!),
    maxUs: goDurationMicros(m[5]!),
  };
}
