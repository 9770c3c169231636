// A raw protocol client for tests: writes bytes as given and records every
// byte the server sends, so tests can assert exact wire behaviour (-ERR
// texts, whether the server closed the connection) against both Tern and
// the reference nats-server.
import { connect, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerKind } from '../helpers/servers.js';

export class RawClient {
  data = '';
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const s = connect({ port, host });
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    const c = new RawClient(s);
    await c.waitFor((d) => d.includes('\r\n'));
    return c;
  }

  /** Connect, read INFO, send CONNECT (with given fields) and PING, wait for PONG. */
  static async ready(port: number, connectOpts: Record<string, unknown> = {}): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, ...connectOpts })}\r\nPING\r\n`);
    await c.waitFor((d) => d.includes('PONG\r\n'));
    c.data = '';
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get info(): Record<string, unknown> {
    const m = /^INFO (.*?)\r\n/.exec(this.data);
    if (!m) throw new Error(`no INFO in ${JSON.stringify(this.data)}`);
    return JSON.parse(m[1]!) as Record<string, unknown>;
  }

  write(s: string | Buffer): void {
    this.socket.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }

  /** Wait until the predicate holds on everything received; throws with the data on timeout. */
  async waitFor(pred: (data: string) => boolean, timeout = 3000): Promise<string> {
    const deadline = Date.now() + timeout;
    while (!pred(this.data)) {
      if (this.closed && !pred(this.data)) throw new Error(`connection closed; received ${JSON.stringify(this.data)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; received ${JSON.stringify(this.data)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.data;
  }

  /** Resolve true once closed by the server, false if still open after `timeout`. */
  async waitClosed(timeout = 2000): Promise<boolean> {
    const deadline = Date.now() + timeout;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return true;
  }

  /** Is the connection alive and in sync? (PING answered by PONG.) */
  async alive(): Promise<boolean> {
    if (this.closed) return false;
    const before = this.data.length;
    this.write('PING\r\n');
    try {
      await this.waitFor((d) => d.indexOf('PONG\r\n', before) >= 0, 2000);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Start a server of either kind with a nats-server config file (the same text for both). */
export async function startWithConfig(kind: ServerKind, conf: string, extraArgs: string[] = []): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tern-conf-'));
  const file = join(dir, 'server.conf');
  writeFileSync(file, conf);
  return startServer(kind, { args: ['-c', file, '-a', '127.0.0.1', '-p', '-1', ...extraArgs] });
}

/** Every -ERR text in received data. */
export function errs(data: string): string[] {
  return [...data.matchAll(/-ERR '([^']*)'\r\n/g)].map((m) => m[1]!);
}
