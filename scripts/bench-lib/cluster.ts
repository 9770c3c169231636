// Cross-node pattern for bench:compare: a 2-node cluster of each kind,
// publisher on node A, subscriber on node B (every message crosses one
// route). Exposed as compareCrossNode() for scripts/bench-compare.ts, and
// runnable alone:
//   node dist/scripts/bench-lib/cluster.js [msgs] [size] [rounds]
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { commandFor, freePort, REPO_ROOT, type LaunchConfig, type ServerKind } from './launch.js';
import { ensureNatsBench, parseRates, runTool } from './loadgen.js';

export interface ClusterPair {
  kind: ServerKind;
  urlA: string;
  urlB: string;
  /** Process ids of node A and node B (for CPU and memory from /proc). */
  pids: [number, number];
  /** Both nodes' stdout + stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

function connectUrls(port: number): Promise<string[]> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v: string[]): void => {
      s.destroy();
      res(v);
    };
    s.setTimeout(2000, () => done([]));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      try {
        done((JSON.parse(buf.slice(5, nl)) as { connect_urls?: string[] }).connect_urls ?? []);
      } catch {
        done([]);
      }
    });
    s.on('error', () => done([]));
  });
}

/** Node A (seed) and node B routed to it; resolves once each advertises the other (the route is up). */
export async function launchPair(kind: ServerKind, cfg: LaunchConfig, timeoutMs = 15_000): Promise<ClusterPair> {
  const [pa, pb, ca, cb] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const procs: ChildProcess[] = [];
  let out = '';
  const spawnNode = (port: number, extra: string[]): void => {
    const { cmd, args } = commandFor(kind, cfg, port, ['--cluster_name', 'bench', ...extra]);
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    procs.push(p);
  };
  spawnNode(pa, ['--cluster', `nats://127.0.0.1:${ca}`]);
  spawnNode(pb, ['--cluster', `nats://127.0.0.1:${cb}`, '--routes', `nats://127.0.0.1:${ca}`]);
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            p.once('exit', () => r());
            p.kill('SIGTERM');
            setTimeout(() => p.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [ua, ub] = await Promise.all([connectUrls(pa), connectUrls(pb)]);
    if (ua.includes(`127.0.0.1:${pb}`) && ub.includes(`127.0.0.1:${pa}`)) break;
    if (Date.now() > deadline || procs.some((p) => p.exitCode !== null)) {
      await stop();
      throw new Error(`${kind}: 2-node cluster did not form within ${timeoutMs} ms:\n${out.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    kind,
    urlA: `nats://127.0.0.1:${pa}`,
    urlB: `nats://127.0.0.1:${pb}`,
    pids: [procs[0]!.pid!, procs[1]!.pid!],
    output: () => out,
    stop,
  };
}

export interface CrossNodeRun {
  kind: ServerKind;
  /** Messages per second received on node B. */
  subRate: number;
  pubRate: number;
  commands: string[];
}

/** One measured run: subscriber (nats-bench -np 0 -ns 1) on B, then publisher (-np 1 -ns 0) on A. */
export async function runCrossNode(kind: ServerKind, cfg: LaunchConfig, natsBench: string, msgs: number, size: number): Promise<CrossNodeRun> {
  const pair = await launchPair(kind, cfg);
  try {
    const subject = `bench.cross.${process.pid}.${Date.now()}`;
    const common = ['-n', String(msgs), '-ms', String(size), '-timeout', '60s'];
    const sub = runTool('nats-bench', natsBench, ['-s', pair.urlB, '-np', '0', '-ns', '1', ...common, subject], { pin: false, timeoutMs: 90_000 });
    // Let the subscription's interest cross the route before publishing.
    await new Promise((r) => setTimeout(r, 750));
    const pub = await runTool('nats-bench', natsBench, ['-s', pair.urlA, '-np', '1', '-ns', '0', ...common, subject], { pin: false, timeoutMs: 90_000 });
    const s = await sub;
    if (!pub.ok || !s.ok) throw new Error(`${kind} cross-node run failed:\n${pub.stderr}\n${s.stderr}`);
    return {
      kind,
      subRate: parseRates(s.stdout).sub ?? 0,
      pubRate: parseRates(pub.stdout).pub ?? 0,
      commands: [s.command, pub.command],
    };
  } finally {
    await pair.stop();
  }
}

export interface CrossNodeComparison {
  msgs: number;
  size: number;
  tern: number[];
  natsServer: number[];
  /** median(Tern) / median(nats-server), received msgs/s on node B. */
  ratio: number;
  commands: string[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

/** Interleaved rounds (nats-server, Tern, nats-server, ...) of the cross-node pattern. */
export async function compareCrossNode(
  cfg: LaunchConfig,
  opts: { msgs: number; size: number; rounds: number; log?: (s: string) => void },
): Promise<CrossNodeComparison> {
  const nb = ensureNatsBench(opts.log);
  const tern: number[] = [];
  const nats: number[] = [];
  let commands: string[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const n = await runCrossNode('nats-server', cfg, nb, opts.msgs, opts.size);
    nats.push(n.subRate);
    const t = await runCrossNode('tern', cfg, nb, opts.msgs, opts.size);
    tern.push(t.subRate);
    commands = [...n.commands, ...t.commands];
    opts.log?.(`round ${r + 1}: nats-server ${Math.round(n.subRate)} msgs/s, tern ${Math.round(t.subRate)} msgs/s`);
  }
  const nm = median(nats);
  return { msgs: opts.msgs, size: opts.size, tern, natsServer: nats, ratio: nm > 0 ? median(tern) / nm : 0, commands };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [msgs = '500000', size = '128', rounds = '3'] = process.argv.slice(2);
  const cfg: LaunchConfig = { natsServerBin: process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server', pin: false };
  const res = await compareCrossNode(cfg, { msgs: Number(msgs), size: Number(size), rounds: Number(rounds), log: (s) => console.error(s) });
  console.log(
    `cross-node pub A -> sub B, ${res.size} B, ${res.msgs} msgs: tern ${Math.round(median(res.tern))} msgs/s, ` +
      `nats-server ${Math.round(median(res.natsServer))} msgs/s, ratio ${res.ratio.toFixed(2)}`,
  );
}
