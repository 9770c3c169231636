// Runs `tern bench` as a child process, as a user would, for the bench tests.
import { spawn } from 'node:child_process';
import { TERN_MAIN } from '../helpers/servers.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ternBench(args: string[], timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TERN_MAIN, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Waits until `check` is true (polling), or fails after `ms`. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
