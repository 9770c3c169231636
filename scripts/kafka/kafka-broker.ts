// A real single-node Kafka (KRaft, combined broker+controller) for tests, run
// straight from Maven Central jars with the machine's Java 17+. There is no
// Docker and no Kafka package here, so: `mvn dependency:copy-dependencies` of
// scripts/kafka/pom.xml into a cache directory (once per pom content), format a
// fresh storage directory with a random cluster id, start `kafka.Kafka` on two
// free 127.0.0.1 ports with a small heap, and wait until a kafkajs admin client
// can read cluster metadata (an open TCP port is not enough: the socket accepts
// before the broker is registered).
//
// Run as a script (`node dist/scripts/kafka/kafka-broker.js`) it starts a broker,
// prints `KAFKA_BROKERS=host:port` and keeps it until SIGINT/SIGTERM; handy for
// running one test file repeatedly against the same broker.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const here = dirname(fileURLToPath(import.meta.url));
/** The repo root, whether this runs from scripts/kafka (tsx) or dist/scripts/kafka (tsc). */
const REPO_ROOT = existsSync(join(here, '..', '..', 'package.json'))
  ? resolve(here, '..', '..')
  : resolve(here, '..', '..', '..');
export const KAFKA_POM = join(REPO_ROOT, 'scripts', 'kafka', 'pom.xml');

/** Every failure of the harness, with a message that says what to do about it. */
export class KafkaHarnessError extends Error {
  override name = 'KafkaHarnessError';
}

export interface KafkaStartOptions {
  /** Where resolved jars are kept between runs. Default $TERN_KAFKA_CACHE or ~/.cache/tern-kafka. */
  cacheDir?: string;
  /** JVM max heap. Default 512m. */
  heap?: string;
  /** ms until the broker must answer metadata requests. Default 90 s. */
  startTimeoutMs?: number;
  /** Progress lines (resolving jars, started in N ms). Default: silent. */
  log?: (line: string) => void;
}

export interface RunningKafka {
  /** host:port of the PLAINTEXT listener, for kafkajs `brokers`. */
  brokers: string[];
  pid: number;
  dataDir: string;
  logFile: string;
  /** ms from spawning the JVM until the broker answered metadata. */
  startMs: number;
  /** The last lines of the broker's log (stdout+stderr). */
  logTail(lines?: number): string;
  /** SIGTERM (graceful, the broker flushes and leaves), SIGKILL after 15 s; removes the data dir. */
  stop(): Promise<void>;
  /** SIGKILL at once; removes the data dir. */
  kill(): Promise<void>;
}

const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    let out = '';
    const p = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? 1, out }));
  });
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Kafka 4.x needs Java 17 or newer. */
async function checkJava(): Promise<void> {
  let r: { code: number; out: string };
  try {
    r = await run('java', ['-version']);
  } catch (err) {
    if (isNotFound(err)) {
      throw new KafkaHarnessError(
        'java not found on PATH: the test Kafka needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)',
      );
    }
    throw err;
  }
  const m = /version "(\d+)/.exec(r.out);
  const major = m ? Number(m[1]) : NaN;
  if (r.code !== 0 || !(major >= 17)) {
    throw new KafkaHarnessError(`the test Kafka needs Java 17+, \`java -version\` said:\n${r.out.trim()}`);
  }
}

/**
 * Resolves the broker jars into `<cache>/<pom hash>/libs` once and returns that
 * directory. Copies go to a private temporary directory that is renamed into
 * place, so concurrent test runs never see a half-filled libs directory.
 */
export async function resolveKafkaJars(opts: KafkaStartOptions = {}): Promise<string> {
  const pom = readFileSync(KAFKA_POM);
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const base = join(opts.cacheDir ?? process.env.TERN_KAFKA_CACHE ?? join(homedir(), '.cache', 'tern-kafka'), key);
  const libs = join(base, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;
  mkdirSync(base, { recursive: true });
  const tmp = mkdtempSync(join(base, 'libs.tmp-'));
  opts.log?.(`resolving Kafka jars from Maven Central into ${libs}`);
  let r: { code: number; out: string };
  try {
    r = await run('mvn', [
      '-B',
      '-q',
      '-f',
      KAFKA_POM,
      `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ]);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (isNotFound(err)) {
      throw new KafkaHarnessError('mvn not found on PATH: it resolves the test Kafka jars (Debian: apt-get install maven)');
    }
    throw err;
  }
  if (r.code !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new KafkaHarnessError(`mvn could not resolve the Kafka jars of ${KAFKA_POM} (exit ${r.code}):\n${r.out.trim()}`);
  }
  const jars = readdirSync(tmp).filter((n) => n.endsWith('.jar'));
  if (!jars.some((n) => /^kafka_2\.13-.*\.jar$/.test(n))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new KafkaHarnessError(`mvn finished but no kafka_2.13 jar is in ${tmp}; jars: ${jars.join(', ')}`);
  }
  writeFileSync(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  try {
    renameSync(tmp, libs);
  } catch {
    // Another run finished first: use its copy.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(libs, '.complete'))) throw new KafkaHarnessError(`could not move the Kafka jars into ${libs}`);
  }
  return libs;
}

/** A free TCP port on 127.0.0.1 (released again; Kafka binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Kafka's Uuid text form: 16 random bytes in unpadded base64url, not starting with '-'. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(dataDir: string, port: number, controllerPort: number): string {
  // Single-node settings: every internal topic with replication factor 1 (else
  // __consumer_offsets is never created and groups loop on "coordinator not
  // available"), one offsets partition and no initial rebalance delay (fast
  // first join), static voters (so `format` needs no --standalone).
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(dataDir, 'logs')}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'num.network.threads=2',
    'num.io.threads=2',
    '',
  ].join('\n');
}

// WARN and up, plus the "Kafka Server started" line.
const LOG4J2 = [
  'status = warn',
  'appender.out.type = Console',
  'appender.out.name = OUT',
  'appender.out.layout.type = PatternLayout',
  'appender.out.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = warn',
  'rootLogger.appenderRef.out.ref = OUT',
  'logger.krs.name = kafka.server.KafkaRaftServer',
  'logger.krs.level = info',
  '',
].join('\n');

function tail(file: string, lines = 40): string {
  try {
    const all = readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no broker log)';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Answers once the broker serves metadata to a client. */
async function probe(broker: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [broker],
    clientId: 'tern-kafka-probe',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    if (c.brokers.length === 0 || c.controller === null) return false;
    // Looking up a group coordinator creates __consumer_offsets; doing it here keeps
    // "group coordinator is not available" retries out of the first test's log.
    await admin.describeGroups(['tern-kafka-probe']);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

class PortTaken extends Error {}

async function startOnce(libs: string, opts: KafkaStartOptions): Promise<RunningKafka> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'tern-kafka-'));
  const props = join(dataDir, 'server.properties');
  const log4j = join(dataDir, 'log4j2.properties');
  const logFile = join(dataDir, 'server.out');
  writeFileSync(props, serverProperties(dataDir, port, controllerPort));
  writeFileSync(log4j, LOG4J2);
  const jvm = [
    '-Xms128m',
    `-Xmx${opts.heap ?? '512m'}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExplicitGCInvokesConcurrent',
    // The broker is short-lived: spend no time on JIT tiers it will never reach.
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4j}`,
    `-Dkafka.logs.dir=${dataDir}`,
    '-cp',
    join(libs, '*'), // expanded by the JVM, not a shell
  ];
  const fmt = await run('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props]);
  if (fmt.code !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new KafkaHarnessError(`formatting Kafka storage failed (exit ${fmt.code}):\n${fmt.out.trim()}`);
  }

  const fd = openSync(logFile, 'a');
  const t0 = Date.now();
  const proc: ChildProcess = spawn('java', [...jvm, 'kafka.Kafka', props], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((res) =>
    proc.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      res();
    }),
  );
  const spawnFailed = new Promise<Error>((res) => proc.on('error', res));
  let spawnError: Error | undefined;
  void spawnFailed.then((e) => (spawnError = e));

  const stopWith = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (exitCode === undefined && proc.pid !== undefined) {
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const broker = `127.0.0.1:${port}`;
  const deadline = t0 + (opts.startTimeoutMs ?? 90_000);
  for (;;) {
    if (spawnError) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new KafkaHarnessError(`could not start java: ${spawnError.message}`);
    }
    if (exitCode !== undefined) {
      const log = tail(logFile);
      rmSync(dataDir, { recursive: true, force: true });
      if (/Address already in use|BindException/.test(log)) throw new PortTaken(log);
      throw new KafkaHarnessError(`Kafka exited during startup (exit ${String(exitCode)}); broker log:\n${log}`);
    }
    if (await probe(broker)) break;
    if (Date.now() > deadline) {
      const log = tail(logFile);
      await stopWith('SIGKILL', 0);
      throw new KafkaHarnessError(
        `Kafka did not answer on ${broker} within ${opts.startTimeoutMs ?? 90_000} ms; broker log:\n${log}`,
      );
    }
    await sleep(200);
  }
  const startMs = Date.now() - t0;
  return {
    brokers: [broker],
    pid: proc.pid!,
    dataDir,
    logFile,
    startMs,
    logTail: (lines?: number) => tail(logFile, lines),
    stop: () => stopWith('SIGTERM', 15_000),
    kill: () => stopWith('SIGKILL', 0),
  };
}

/** Resolves the jars (first time only) and starts a fresh broker on free ports. */
export async function startKafka(opts: KafkaStartOptions = {}): Promise<RunningKafka> {
  await checkJava();
  const libs = await resolveKafkaJars(opts);
  // A free port can be taken by someone else between our probe and Kafka's bind: retry on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      const k = await startOnce(libs, opts);
      opts.log?.(`Kafka ready at ${k.brokers.join(',')} in ${k.startMs} ms (pid ${k.pid})`);
      return k;
    } catch (err) {
      if (!(err instanceof PortTaken)) throw err;
      if (attempt >= 3) {
        throw new KafkaHarnessError(`Kafka could not bind its ports after 3 attempts; broker log:\n${err.message}`);
      }
      opts.log?.('Kafka port was taken before the broker bound it; retrying on new ports');
    }
  }
}

async function cli(): Promise<void> {
  const k = await startKafka({ log: (l) => console.error(l) });
  console.log(`KAFKA_BROKERS=${k.brokers.join(',')}`);
  const stop = (): void => {
    void k.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
