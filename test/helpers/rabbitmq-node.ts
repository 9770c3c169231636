// A private RabbitMQ node for tests that must stop, kill or restart the broker: the
// shared service on 5672 belongs to everyone, so such tests start their own node from
// the installed rabbitmq-server on free ports, with its own node name, Erlang cookie,
// config and data directory, and throw it away afterwards.
//
// - start() / stop() (graceful: `rabbitmqctl stop`) / kill() (SIGKILL of the whole
//   process tree, without asking epmd or the node) / restart(): always on the same
//   ports, node name and data dir, so durable queues and persistent messages survive.
// - dispose() kills the node and removes its directory; call it in after(). A watchdog
//   process kills the node too if the test process itself dies without cleaning up.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** How long start() waits for the node to boot (a cold boot takes ~3 s here). */
const START_TIMEOUT_MS = 60_000;
/** How long stop() waits for a graceful stop before it kills the node. */
const STOP_TIMEOUT_MS = 30_000;

/**
 * Ports a private node must not take: the shared node's (AMQP, distribution, management,
 * prometheus), epmd, the NATS service, and the range rabbitmqctl picks its own
 * distribution port from (RABBITMQ_CTL_DIST_PORT_MIN..+10): a node listening there
 * could make a neighbour's rabbitmqctl fail, and a rabbitmqctl holding one of them
 * would make our restart on the same port fail.
 */
function reservedPort(p: number): boolean {
  return [4222, 4369, 5672, 15672, 15692, 25672].includes(p) || (p >= 35672 && p <= 35682);
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    if (port > 0 && !reservedPort(port)) return port;
  }
}

/**
 * The directory of the real rabbitmq-server / rabbitmqctl scripts. Debian's
 * /usr/sbin/rabbitmq-server is a wrapper that, run as root, switches to the rabbitmq
 * user with its HOME (the shared node's cookie) and logs over the service's startup
 * log; the scripts it calls live in /usr/lib/rabbitmq/bin. Elsewhere the ones on PATH
 * (often symlinks into the release's sbin) are the real ones. RABBITMQ_SCRIPTS_DIR
 * overrides both.
 */
export function rabbitmqScriptsDir(): string {
  const override = process.env.RABBITMQ_SCRIPTS_DIR?.trim();
  if (override) return override;
  if (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server')) return '/usr/lib/rabbitmq/bin';
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(d, 'rabbitmq-server');
    if (d !== '' && existsSync(p)) return dirname(realpathSync(p));
  }
  throw new Error('rabbitmq-server not found (set RABBITMQ_SCRIPTS_DIR to the directory of the rabbitmq-server and rabbitmqctl scripts)');
}

/** Parent pid of a process from /proc, or undefined if it is gone (or no /proc). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** A process that still runs (not gone, not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** pid and every descendant of it (sh -> beam.smp -> erl_child_setup -> inet_gethost ...). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [root];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pp = parentOf(Number(e));
    if (pp === undefined) continue;
    let l = children.get(pp);
    if (!l) children.set(pp, (l = []));
    l.push(Number(e));
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

export interface QueueTotals {
  /** Ready + unacknowledged, as rabbitmqctl's `messages`. */
  messages: number;
  ready: number;
  unacked: number;
  consumers: number;
}

export class RabbitNode {
  /** e.g. tern-test-1234-a1b2c3@localhost: unique per process and node. */
  readonly nodeName: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** amqp://guest:guest@127.0.0.1:<amqpPort> (guest may log in over loopback). */
  readonly url: string;
  readonly dir: string;
  private readonly scripts: string;
  private readonly pidFile: string;
  private readonly outFile: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private watchdog: ChildProcess | undefined;
  private readonly onExit = (): void => {
    this.killSync();
  };

  private constructor(amqpPort: number, distPort: number) {
    this.scripts = rabbitmqScriptsDir();
    this.amqpPort = amqpPort;
    this.distPort = distPort;
    this.nodeName = `tern-test-${process.pid}-${randomBytes(3).toString('hex')}@localhost`;
    this.url = `amqp://guest:guest@127.0.0.1:${amqpPort}`;
    this.dir = mkdtempSync(join(tmpdir(), 'tern-rabbit-node-'));
    this.pidFile = join(this.dir, 'node.pid');
    this.outFile = join(this.dir, 'node.out');
    // An empty plugin list: no management (15672) or prometheus (15692) listener to collide.
    writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
    // Our own config and env files: the system ones name the shared node and its port.
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${amqpPort}\n`);
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '');
  }

  /** Allocate free ports and a directory and start the node. */
  static async start(): Promise<RabbitNode> {
    const amqpPort = await freePort();
    let distPort = await freePort();
    while (distPort === amqpPort) distPort = await freePort();
    const node = new RabbitNode(amqpPort, distPort);
    node.startWatchdog();
    process.on('exit', node.onExit);
    try {
      await node.start();
    } catch (e) {
      await node.dispose();
      throw e;
    }
    return node;
  }

  /** Environment for the server and for rabbitmqctl (HOME holds the private Erlang cookie). */
  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      ...process.env,
      HOME: d,
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.amqpPort),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_PID_FILE: this.pidFile,
      // Distribution on loopback only (it listens on all interfaces otherwise).
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Start (or start again, same ports and data) and wait until RabbitMQ accepts work. */
  async start(): Promise<void> {
    if (this.proc) throw new Error(`${this.nodeName} is already running`);
    rmSync(this.pidFile, { force: true });
    const fd = openSync(this.outFile, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(join(this.scripts, 'rabbitmq-server'), [], { cwd: this.dir, env: this.env(), stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.proc = proc;
    let exitInfo = '';
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        exitInfo = `exit ${code ?? signal}`;
        if (this.proc === proc) this.proc = undefined;
        resolve();
      });
      proc.once('error', (e) => {
        exitInfo = e.message;
        if (this.proc === proc) this.proc = undefined;
        resolve();
      });
    });
    const exited = this.exited;
    // `rabbitmqctl wait <pidfile>` waits for the pid file, then distribution, then the
    // rabbit application; if the node dies while booting it would only time out, so race it.
    const ready = this.ctl(['wait', this.pidFile, '--timeout', String(START_TIMEOUT_MS / 1000)], START_TIMEOUT_MS + 5_000);
    const outcome = await Promise.race([ready.then(() => 'ready' as const, (e: Error) => e), exited.then(() => 'exited' as const)]);
    if (outcome === 'ready') return;
    ready.catch(() => undefined);
    if (outcome !== 'exited') await this.kill();
    throw new Error(`RabbitMQ node ${this.nodeName} did not start (${outcome === 'exited' ? exitInfo : outcome.message}):\n${this.output().slice(-3000)}`);
  }

  /** Graceful stop (`rabbitmqctl stop`, as an operator or a service manager does it). */
  async stop(): Promise<void> {
    const exited = this.exited;
    if (!this.proc || !exited) return;
    try {
      await this.ctl(['stop', this.pidFile], STOP_TIMEOUT_MS);
    } catch (e) {
      await this.kill();
      throw new Error(`graceful stop of ${this.nodeName} failed, killed: ${(e as Error).message}`);
    }
    await exited;
    rmSync(this.pidFile, { force: true });
  }

  /** SIGKILL of beam.smp and its helpers (and the server script): a crash, no shutdown work. */
  async kill(): Promise<void> {
    const exited = this.exited;
    const root = this.proc?.pid;
    if (!this.proc || !exited || root === undefined) return;
    // The VM first, so that the server script reaps it and exits by itself (no orphan
    // left for init to reap); the script too if it does not.
    const pids = this.killSync(root);
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 5_000)))]);
    clearTimeout(timer);
    if (late) this.killSync();
    await exited;
    const deadline = Date.now() + 10_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline) throw new Error(`processes ${pids.filter(alive).join(', ')} of ${this.nodeName} survived SIGKILL`);
      await new Promise((r) => setTimeout(r, 20));
    }
    rmSync(this.pidFile, { force: true });
  }

  /** SIGKILL the process tree of the server script, except `spare`; returns the pids signalled. */
  private killSync(spare?: number): number[] {
    const root = this.proc?.pid;
    const pids = root === undefined ? [] : processTree(root);
    // Without /proc the tree is only the script: the pid file names beam.smp.
    try {
      const beam = Number(readFileSync(this.pidFile, 'utf8').trim());
      if (beam > 0 && !pids.includes(beam)) pids.push(beam);
    } catch {
      // not written yet
    }
    const targets = pids.filter((p) => p !== spare);
    for (const p of targets) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    return targets;
  }

  /** Graceful stop and start again on the same ports and data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Run rabbitmqctl against this node; resolves with stdout. */
  ctl(args: readonly string[], timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(join(this.scripts, 'rabbitmqctl'), ['-n', this.nodeName, ...args], { env: this.env(), timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`rabbitmqctl ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      });
    });
  }

  /** Exact counts of a queue (the AMQP checkQueue counts ready messages only). */
  async queueTotals(queue: string): Promise<QueueTotals> {
    const out = await this.ctl(['-q', 'list_queues', 'name', 'messages', 'messages_ready', 'messages_unacknowledged', 'consumers', '--formatter', 'json']);
    const rows = JSON.parse(out) as Array<{ name: string; messages: number; messages_ready: number; messages_unacknowledged: number; consumers: number }>;
    const row = rows.find((r) => r.name === queue);
    if (!row) throw new Error(`queue ${queue} not found on ${this.nodeName}`);
    return { messages: row.messages, ready: row.messages_ready, unacked: row.messages_unacknowledged, consumers: row.consumers };
  }

  /** What the node printed (its console log), for failure messages. */
  output(): string {
    try {
      return readFileSync(this.outFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Kill the node (if running), stop the watchdog, remove the directory. Idempotent. */
  async dispose(): Promise<void> {
    process.off('exit', this.onExit);
    try {
      await this.kill();
    } finally {
      if (this.watchdog?.pid !== undefined) {
        try {
          process.kill(this.watchdog.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      this.watchdog = undefined;
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /**
   * A detached shell that outlives a test process killed without its after() hooks (a
   * runner timeout, SIGKILL): once that process is gone it kills beam.smp (named by
   * the pid file; the server script then exits by itself) and removes the directory.
   */
  private startWatchdog(): void {
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      `if [ -f "$1/node.pid" ]; then kill -9 "$(cat "$1/node.pid")" 2>/dev/null; fi`,
      'sleep 1',
      `rm -rf "$1"`,
    ].join('\n');
    const w = spawn('/bin/sh', ['-c', script, 'rabbit-node-watchdog', this.dir], { detached: true, stdio: 'ignore' });
    w.unref();
    this.watchdog = w;
  }
}

/** Start a private RabbitMQ node on free ports (see RabbitNode). */
export function startRabbitNode(): Promise<RabbitNode> {
  return RabbitNode.start();
}
