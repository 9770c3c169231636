// The traffic patterns bench:compare measures. Each names its load generator
// and arguments; the same arguments run against both servers.
import type { Tool } from './loadgen.js';

export type Metric = 'pub' | 'sub' | 'latency';

export interface Pattern {
  id: string;
  title: string;
  tool: Tool;
  metric: Metric;
  /** Messages (requests, for latency) per measured run: full and --quick. */
  msgs: { full: number; quick: number };
  /** Load generator arguments for `msgs` messages on `subject`, server url. */
  args(url: string, subject: string, msgs: number): string[];
  /** Messages the server delivers (or takes in, pub-only) for `msgs`: the divisor of CPU per message. */
  work(msgs: number): number;
}

const common = (url: string, np: number, ns: number, n: number, ms: number): string[] => [
  '-s', url, '-np', String(np), '-ns', String(ns), '-n', String(n), '-ms', String(ms),
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
];

export const EXTRA_SECTIONS = ['startup', 'memory'] as const;
