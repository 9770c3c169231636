// bench:compare's machinery: runs each pattern against Tern and the reference
// nats-server in interleaved rounds (fresh server per run, warm-up first),
// with server CPU per message from /proc, and measures start-up time and
// memory. A run whose load generator fails (lost messages, errors) is
// recorded as a failure, never as a number.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMicros, peakRssKb, rssKb, systemCpu } from './procstat.js';
import { launchServer, REPO_ROOT, snapshotTern, TERN_MAIN, type LaunchConfig, type ServerKind } from './launch.js';
import { launchPair } from './cluster.js';
import { ensureNatsBench, parseLatency, parseRates, runTool, type LatencyLine, type ToolRun } from './loadgen.js';
import { PATTERNS, type Pattern } from './patterns.js';
import { median, summarize, type Summary } from './stats.js';

export interface CompareOptions {
  rounds: number;
  quick: boolean;
  /** Pattern ids plus 'startup' and 'memory'; empty = all. */
  patterns: string[];
  pin: boolean;
  natsServerBin: string;
  ternBin?: string;
  /** Run Tern from a private copy of dist/src taken at the start (default true). */
  snapshot?: boolean;
  /** Idle connections for the memory measurement. */
  connections: number;
  /** Start-up samples per server. */
  startups: number;
  log: (line: string) => void;
}

export interface RunRecord {
  round: number;
  kind: ServerKind;
  ok: boolean;
  /** Delivered msgs/s (pub-only: accepted msgs/s; latency: req/s). */
  rate?: number;
  latency?: LatencyLine;
  cpuUsPerMsg?: number;
  peakRssKb?: number;
  error?: string;
  command: string;
  /** The load generator's report, kept as the raw log of the run. */
  output?: string;
}

export interface SideSummary {
  rate: Summary;
  cpuUsPerMsg: Summary;
  peakRssKb: Summary;
  latency?: { p50us: Summary; p90us: Summary; p99us: Summary };
  failures: number;
}

export interface PatternResult {
  id: string;
  title: string;
  tool: string;
  metric: string;
  msgs: number;
  runs: RunRecord[];
  tern: SideSummary;
  nats: SideSummary;
  /** Median over rounds of Tern/nats-server for the rate (latency: req/s). */
  rateRatio: number;
  /** Median over rounds of Tern/nats-server CPU per message. */
  cpuRatio: number;
  /** Latency patterns: median over rounds of Tern/nats-server p50 and p99. */
  p50Ratio?: number;
  p99Ratio?: number;
}

export interface StartupResult {
  samples: Record<ServerKind, number[]>;
  readyMs: Record<ServerKind, Summary>;
  idleRssKb: Record<ServerKind, Summary>;
}

export interface MemoryResult {
  connections: number;
  idleRssKb: Record<ServerKind, number>;
  loadedRssKb: Record<ServerKind, number>;
  perConnectionKb: Record<ServerKind, number>;
  errors: string[];
}

export interface CompareReport {
  meta: {
    date: string;
    natsServerVersion: string;
    ternCommit: string;
    ternCommand: string;
    node: string;
    cpus: string;
    pinned: boolean;
    quick: boolean;
    rounds: number;
    loadavgBefore: number[];
    loadavgAfter: number[];
    /** Share of CPU time stolen by the hypervisor during the run, in %. */
    stealPercent: number;
    commandLine: string;
  };
  patterns: PatternResult[];
  startup?: StartupResult;
  memory?: MemoryResult;
  failures: string[];
}

const KINDS: ServerKind[] = ['tern', 'nats-server'];

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
}

function summarizeSide(runs: RunRecord[]): SideSummary {
  const ok = runs.filter((r) => r.ok);
  const side: SideSummary = {
    rate: summarize(ok.map((r) => r.rate!)),
    cpuUsPerMsg: summarize(ok.map((r) => r.cpuUsPerMsg!)),
    peakRssKb: summarize(ok.map((r) => r.peakRssKb!)),
    failures: runs.length - ok.length,
  };
  if (ok.some((r) => r.latency)) {
    side.latency = {
      p50us: summarize(ok.map((r) => r.latency!.p50us)),
      p90us: summarize(ok.map((r) => r.latency!.p90us)),
      p99us: summarize(ok.map((r) => r.latency!.p99us)),
    };
  }
  return side;
}

/** Median of per-round ratios tern/nats for rounds where both runs succeeded. */
function pairedRatio(runs: RunRecord[], pick: (r: RunRecord) => number | undefined): number {
  const rounds = new Set(runs.map((r) => r.round));
  const ratios: number[] = [];
  for (const round of rounds) {
    const t = runs.find((r) => r.round === round && r.kind === 'tern' && r.ok);
    const n = runs.find((r) => r.round === round && r.kind === 'nats-server' && r.ok);
    const a = t && pick(t);
    const b = n && pick(n);
    if (a !== undefined && b !== undefined && b > 0) ratios.push(a / b);
  }
  return median(ratios);
}

/** The server side of one run: one process, or both nodes of a 2-node cluster. */
interface RunServers {
  /** Where the load generator connects (a pair: node A, the publisher's side). */
  url: string;
  /** A pair: node B, the subscriber's side. */
  urlB?: string;
  pids: number[];
  output(): string;
  stop(): Promise<void>;
}

async function startServers(p: Pattern, kind: ServerKind, cfg: LaunchConfig): Promise<RunServers> {
  const topology = p.topology ?? 'single';
  if (topology === 'pair') {
    const pair = await launchPair(kind, cfg);
    return { url: pair.urlA, urlB: pair.urlB, pids: pair.pids, output: pair.output, stop: pair.stop };
  }
  if (topology === 'jetstream') {
    // A fresh store per run: no stream or consumer state carries over between runs.
    const dir = mkdtempSync(join(tmpdir(), 'tern-bench-js-'));
    const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
    try {
      const s = await launchServer(kind, cfg, 15_000, ['-js', '-sd', dir]);
      return { url: s.url, pids: [s.pid], output: s.output, stop: () => s.stop().finally(cleanup) };
    } catch (e) {
      cleanup();
      throw e;
    }
  }
  const s = await launchServer(kind, cfg);
  return { url: s.url, pids: [s.pid], output: s.output, stop: s.stop };
}

/** How long a pair's subscriber gets for its interest to cross the route before the publisher starts. */
const ROUTE_INTEREST_MS = 1000;

/**
 * Runs the load generator. A pair pattern runs two: the subscriber on node B
 * first, then the publisher on node A; it succeeds only if both do, and the
 * subscriber's report (first in the output) gives the rate.
 */
async function runLoad(
  p: Pattern,
  servers: RunServers,
  natsBench: string,
  subject: string,
  msgs: number,
  args: string[],
  toolOpts: { pin: boolean; timeoutMs: number },
): Promise<ToolRun> {
  if ((p.topology ?? 'single') !== 'pair') return runTool(p.tool, natsBench, args, toolOpts);
  const sub = runTool(p.tool, natsBench, p.subArgs!(servers.urlB!, subject, msgs), toolOpts);
  await new Promise((r) => setTimeout(r, ROUTE_INTEREST_MS));
  const pub = await runTool(p.tool, natsBench, args, toolOpts);
  const s = await sub;
  return {
    ok: pub.ok && s.ok,
    code: !s.ok ? s.code : pub.code,
    stdout: s.stdout + pub.stdout,
    stderr: [s.stderr, pub.stderr].filter((x) => x.trim()).join('\n'),
    command: `${s.command} (node B) & ${pub.command} (node A)`,
  };
}

async function runOnce(
  p: Pattern,
  kind: ServerKind,
  round: number,
  cfg: LaunchConfig,
  natsBench: string,
  msgs: number,
  quick: boolean,
): Promise<RunRecord> {
  let servers: RunServers;
  try {
    servers = await startServers(p, kind, cfg);
  } catch (e) {
    return { round, kind, ok: false, error: `server did not start: ${(e as Error).message.slice(0, 800)}`, command: '' };
  }
  const subject = `bench.${p.id}.${kind === 'tern' ? 't' : 'n'}${round}`;
  const toolOpts = { pin: cfg.pin, timeoutMs: 120_000 };
  const cpu = (): number => servers.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  try {
    if (p.setup) {
      const setup = await runTool(p.tool, natsBench, p.setup(servers.url, subject, msgs), toolOpts);
      if (!setup.ok) {
        return { round, kind, ok: false, error: `setup failed: ${(setup.stderr || setup.stdout).trim().slice(-500)}`, command: setup.command };
      }
    }
    // Warm-up: the same traffic, discarded, so V8 has tiered up (and Go's caches are warm).
    const warmN = Math.max(1, Math.round(msgs / (quick ? 2 : 5)));
    const warmArgs = p.warm ? p.warm(servers.url, subject, warmN) : p.args(servers.url, `${subject}.warm`, warmN);
    const warm = await runLoad(p, servers, natsBench, `${subject}.warm`, warmN, warmArgs, toolOpts);
    if (!warm.ok) {
      return { round, kind, ok: false, error: `warm-up failed: ${(warm.stderr || warm.stdout).trim().slice(-500)}`, command: warm.command };
    }
    const cpu0 = cpu();
    const run = await runLoad(p, servers, natsBench, subject, msgs, p.args(servers.url, subject, msgs), toolOpts);
    const cpu1 = cpu();
    const peak = Math.max(...servers.pids.map((pid) => peakRssKb(pid)));
    const rec: RunRecord = { round, kind, ok: false, command: run.command, output: (run.stdout + run.stderr).trim() };
    if (!run.ok) {
      rec.error = `exit ${String(run.code)}: ${(run.stderr || run.stdout).trim().slice(-500)}`;
      return rec;
    }
    if (p.metric === 'latency') {
      const lat = parseLatency(run.stdout);
      if (!lat) return { ...rec, error: `no latency line in output:\n${run.stdout.slice(-500)}` };
      rec.latency = lat;
      rec.rate = lat.reqPerSec;
    } else {
      const rates = parseRates(run.stdout);
      const rate = p.metric === 'pub' ? rates.pub : rates.sub;
      if (!rate) return { ...rec, error: `no ${p.metric} rate in output:\n${run.stdout.slice(-500)}` };
      rec.rate = rate;
    }
    if (servers.output().includes('Slow Consumer')) {
      return { ...rec, rate: undefined, error: 'server reported a slow consumer' };
    }
    rec.ok = true;
    rec.cpuUsPerMsg = (cpu1 - cpu0) / p.work(msgs);
    rec.peakRssKb = peak;
    return rec;
  } finally {
    await servers.stop();
  }
}

async function measureStartup(cfg: LaunchConfig, n: number, log: (s: string) => void): Promise<StartupResult> {
  const samples: Record<ServerKind, number[]> = { tern: [], 'nats-server': [] };
  const idle: Record<ServerKind, number[]> = { tern: [], 'nats-server': [] };
  for (let i = 0; i < n; i++) {
    for (const kind of i % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const s = await launchServer(kind, cfg);
      samples[kind].push(s.readyMs);
      // Let start-up work (JIT, lazy init) settle before reading idle memory.
      await new Promise((r) => setTimeout(r, 500));
      idle[kind].push(rssKb(s.pid));
      await s.stop();
    }
  }
  log(`startup: tern ${median(samples.tern).toFixed(0)} ms, nats-server ${median(samples['nats-server']).toFixed(0)} ms`);
  return {
    samples,
    readyMs: { tern: summarize(samples.tern), 'nats-server': summarize(samples['nats-server']) },
    idleRssKb: { tern: summarize(idle.tern), 'nats-server': summarize(idle['nats-server']) },
  };
}

/** Opens `count` idle connections from a child process; resolves with a closer once all are up. */
function openIdleConnections(port: number, count: number): Promise<() => Promise<void>> {
  const script = join(REPO_ROOT, 'dist', 'scripts', 'bench-lib', 'idle-conns.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '127.0.0.1', String(port), String(count)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready \d+/m.test(out)) {
        resolve(async () => {
          child.stdin.end();
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        });
      }
    });
    void exited.then(() => reject(new Error(`idle connection client exited early: ${err.trim()}`)));
  });
}

async function measureMemory(cfg: LaunchConfig, connections: number, log: (s: string) => void): Promise<MemoryResult> {
  const res: MemoryResult = {
    connections,
    idleRssKb: { tern: NaN, 'nats-server': NaN },
    loadedRssKb: { tern: NaN, 'nats-server': NaN },
    perConnectionKb: { tern: NaN, 'nats-server': NaN },
    errors: [],
  };
  for (const kind of KINDS) {
    let s: Awaited<ReturnType<typeof launchServer>> | undefined;
    try {
      s = await launchServer(kind, cfg);
      await new Promise((r) => setTimeout(r, 500));
      res.idleRssKb[kind] = rssKb(s.pid);
      const close = await openIdleConnections(s.port, connections);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        res.loadedRssKb[kind] = rssKb(s.pid);
        res.perConnectionKb[kind] = (res.loadedRssKb[kind] - res.idleRssKb[kind]) / connections;
      } finally {
        await close();
      }
      log(`memory ${kind}: idle ${res.idleRssKb[kind]} KiB, ${connections} conns ${res.loadedRssKb[kind]} KiB`);
    } catch (e) {
      res.errors.push(`${kind}: ${(e as Error).message}`);
    } finally {
      await s?.stop();
    }
  }
  return res;
}

export async function runCompare(opts: CompareOptions, commandLine: string): Promise<CompareReport> {
  const wanted = opts.patterns.length > 0 ? new Set(opts.patterns) : null;
  const known = new Set([...PATTERNS.map((p) => p.id), 'startup', 'memory']);
  for (const id of wanted ?? []) {
    if (!known.has(id)) throw new Error(`unknown pattern '${id}' (known: ${[...known].join(', ')})`);
  }
  const patterns = PATTERNS.filter((p) => !wanted || wanted.has(p.id));
  const cfg: LaunchConfig = { natsServerBin: opts.natsServerBin, pin: opts.pin };
  if (opts.ternBin) cfg.ternBin = opts.ternBin;
  else if (opts.snapshot !== false) cfg.ternMain = snapshotTern();
  const natsBench = patterns.some((p) => p.tool === 'nats-bench') ? ensureNatsBench(opts.log) : '';
  // tern bench (a load generator for some patterns) runs from dist/, whatever runs as the server.
  if (patterns.some((p) => p.tool === 'tern-bench') && !existsSync(TERN_MAIN)) throw new Error(`${TERN_MAIN} not found: run 'npx tsc -p .' first`);
  const steal0 = systemCpu();
  const report: CompareReport = {
    meta: {
      date: new Date().toISOString(),
      natsServerVersion: sh(opts.natsServerBin, ['--version']),
      ternCommit: sh('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']),
      ternCommand: opts.ternBin
        ? `${opts.ternBin} (stand-in for tern)`
        : `node ${cfg.ternMain ? '.tmp/bench-snapshot/' : ''}dist/src/cli/main.js server -a 127.0.0.1 -p <free>`,
      node: process.version,
      cpus: sh('nproc', []),
      pinned: opts.pin,
      quick: opts.quick,
      rounds: opts.rounds,
      loadavgBefore: loadavg(),
      loadavgAfter: [],
      stealPercent: 0,
      commandLine,
    },
    patterns: [],
    failures: [],
  };
  for (const p of patterns) {
    const msgs = opts.quick ? p.msgs.quick : p.msgs.full;
    const runs: RunRecord[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate who goes first, so slow drift on the machine hits both sides alike.
      for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
        const rec = await runOnce(p, kind, round, cfg, natsBench, msgs, opts.quick);
        runs.push(rec);
        const what = rec.ok
          ? p.metric === 'latency'
            ? `p50 ${rec.latency!.p50us.toFixed(0)} µs, p99 ${rec.latency!.p99us.toFixed(0)} µs`
            : `${Math.round(rec.rate!).toLocaleString('en-US')} msgs/s, ${rec.cpuUsPerMsg!.toFixed(3)} µs CPU/msg`
          : `FAILED: ${rec.error}`;
        opts.log(`${p.id} round ${round + 1}/${opts.rounds} ${kind}: ${what}`);
        if (!rec.ok) report.failures.push(`${p.id} round ${round + 1} ${kind}: ${rec.error}`);
      }
    }
    const result: PatternResult = {
      id: p.id,
      title: p.title,
      tool: p.tool,
      metric: p.metric,
      msgs,
      runs,
      tern: summarizeSide(runs.filter((r) => r.kind === 'tern')),
      nats: summarizeSide(runs.filter((r) => r.kind === 'nats-server')),
      rateRatio: pairedRatio(runs, (r) => r.rate),
      cpuRatio: pairedRatio(runs, (r) => r.cpuUsPerMsg),
    };
    if (p.metric === 'latency') {
      result.p50Ratio = pairedRatio(runs, (r) => r.latency?.p50us);
      result.p99Ratio = pairedRatio(runs, (r) => r.latency?.p99us);
    }
    report.patterns.push(result);
  }
  if (!wanted || wanted.has('startup')) {
    try {
      report.startup = await measureStartup(cfg, opts.startups, opts.log);
    } catch (e) {
      report.failures.push(`startup: ${(e as Error).message}`);
    }
  }
  if (!wanted || wanted.has('memory')) {
    report.memory = await measureMemory(cfg, opts.connections, opts.log);
    report.failures.push(...report.memory.errors.map((e) => `memory ${e}`));
  }
  const steal1 = systemCpu();
  report.meta.loadavgAfter = loadavg();
  const total = steal1.total - steal0.total;
  report.meta.stealPercent = total > 0 ? (100 * (steal1.steal - steal0.steal)) / total : 0;
  return report;
}
