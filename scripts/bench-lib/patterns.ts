// The traffic patterns bench:compare measures. Each names its load generator
// and arguments; the same arguments run against both servers.
import type { Tool } from './loadgen.js';

export type Metric = 'pub' | 'sub' | 'latency';

/**
 * What each run starts: one server with default settings; one with JetStream
 * (-js and a fresh store directory); or a 2-node cluster (routes between two
 * processes, both measured).
 */
export type Topology = 'single' | 'jetstream' | 'pair';

export interface Pattern {
  id: string;
  title: string;
  tool: Tool;
  metric: Metric;
  /** Default 'single'. */
  topology?: Topology;
  /** Messages (requests, for latency) per measured run: full and --quick. */
  msgs: { full: number; quick: number };
  /**
   * Load generator arguments for `msgs` messages on `subject`, server url.
   * 'pair' patterns: `url` is node A (publisher side), see `subArgs`.
   */
  args(url: string, subject: string, msgs: number): string[];
  /**
   * 'pair' patterns: a second load generator process, started first on node B
   * (`url`), whose report gives the rate: the subscriber.
   */
  subArgs?(url: string, subject: string, msgs: number): string[];
  /** Run once before the warm-up and not measured (e.g. fill the stream a consumer reads). */
  setup?(url: string, subject: string, msgs: number): string[];
  /** Warm-up arguments for `msgs` messages; default: args() on `<subject>.warm`. */
  warm?(url: string, subject: string, msgs: number): string[];
  /** Messages the server delivers (or takes in, pub-only) for `msgs`: the divisor of CPU per message. */
  work(msgs: number): number;
}

const common = (url: string, np: number, ns: number, n: number, ms: number): string[] => [
  '-s', url, '-np', String(np), '-ns', String(ns), '-n', String(n), '-ms', String(ms),
];

/** A stream name for a subject: stream names may not contain '.'. */
export const streamFor = (subject: string): string => subject.replace(/\./g, '_');

/** JetStream generators' window / batch, as `nats bench js` defaults (500). */
const JS_WINDOW = 500;

const jsPub = (url: string, subj: string, n: number): string[] => [
  '-s', url, '--js', 'pub', '--create', '--storage', 'file', '--stream', streamFor(subj),
  '--window', String(JS_WINDOW), '-n', String(n), '-ms', '128', '--timeout', '20s', subj,
];
const jsConsume = (durable: string) => (url: string, subj: string, n: number): string[] => [
  '-s', url, '--js', 'consume', '--stream', streamFor(subj), '--durable', durable,
  '--batch', String(JS_WINDOW), '-n', String(n), '--timeout', '20s',
];

export const PATTERNS: Pattern[] = [
  {
    id: 'pub16',
    title: 'pub only, 16 B',
    tool: 'nats-bench',
    metric: 'pub',
    msgs: { full: 5_000_000, quick: 200_000 },
    args: (url, subj, n) => [...common(url, 1, 0, n, 16), '-timeout', '20s', subj],
    work: (n) => n,
  },
  {
    id: 'pubsub128',
    title: '1:1 pub/sub, 128 B',
    tool: 'nats-bench',
    metric: 'sub',
    msgs: { full: 2_000_000, quick: 100_000 },
    args: (url, subj, n) => [...common(url, 1, 1, n, 128), '-timeout', '20s', subj],
    work: (n) => n,
  },
  {
    id: 'fanout5',
    title: 'fan-out 1:5, 128 B',
    tool: 'nats-bench',
    metric: 'sub',
    msgs: { full: 500_000, quick: 20_000 },
    args: (url, subj, n) => [...common(url, 1, 5, n, 128), '-timeout', '20s', subj],
    work: (n) => 5 * n,
  },
  {
    id: 'fanin5',
    title: 'fan-in 5:1, 128 B',
    tool: 'nats-bench',
    metric: 'sub',
    msgs: { full: 2_000_000, quick: 100_000 },
    args: (url, subj, n) => [...common(url, 5, 1, n, 128), '-timeout', '20s', subj],
    work: (n) => n,
  },
  {
    // The shared Go tool expects each queue member to get exactly n/3 messages,
    // which random queue distribution does not give; tern bench counts the group.
    id: 'queue3',
    title: 'queue group of 3, 128 B',
    tool: 'tern-bench',
    metric: 'sub',
    msgs: { full: 1_000_000, quick: 60_000 },
    args: (url, subj, n) => [...common(url, 1, 3, n, 128), '-q', 'benchq', '--timeout', '10s', subj],
    work: (n) => n,
  },
  {
    id: 'reqrep',
    title: 'request/reply, 128 B, 1 requester',
    tool: 'nats-bench',
    metric: 'latency',
    msgs: { full: 20_000, quick: 500 },
    args: (url, subj, n) => ['-s', url, '-req', '-n', String(n), '-ms', '128', subj],
    // A round trip is two messages through the server: request and reply.
    work: (n) => 2 * n,
  },
  {
    // Every message crosses one route: published on node A, delivered on node B.
    id: 'cross-node',
    title: 'cross-node 1:1 (pub on A, sub on B), 128 B',
    tool: 'nats-bench',
    metric: 'sub',
    topology: 'pair',
    msgs: { full: 2_000_000, quick: 100_000 },
    args: (url, subj, n) => [...common(url, 1, 0, n, 128), '-timeout', '20s', subj],
    subArgs: (url, subj, n) => [...common(url, 0, 1, n, 128), '-timeout', '20s', subj],
    work: (n) => n,
  },
  {
    // `nats bench js pub async --storage file`: only PubAck'd messages count.
    id: 'js-pub',
    title: `JetStream async publish, file, 128 B, ${JS_WINDOW} PubAcks outstanding`,
    tool: 'tern-bench',
    metric: 'pub',
    topology: 'jetstream',
    msgs: { full: 300_000, quick: 20_000 },
    args: jsPub,
    work: (n) => n,
  },
  {
    // `nats bench js consume`: a durable pull consumer, explicit ack of every message.
    // The stream is filled first (not measured); the warm-up consumes its head with another durable.
    id: 'js-consume',
    title: `JetStream durable consume, explicit acks, fetch ${JS_WINDOW}`,
    tool: 'tern-bench',
    metric: 'sub',
    topology: 'jetstream',
    msgs: { full: 300_000, quick: 20_000 },
    setup: jsPub,
    warm: jsConsume('warm'),
    args: jsConsume('bench'),
    work: (n) => n,
  },
];

export const EXTRA_SECTIONS = ['startup', 'memory'] as const;
