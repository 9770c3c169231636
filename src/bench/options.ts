// Command-line options of `tern bench`, spelled like nats-bench (Go's flag
// package: `-np 2`, `--np 2`, `-np=2`; booleans take no value).

export interface BenchCliOptions {
  servers: string[];
  tls: boolean;
  tlsCa?: string;
  tlsInsecure: boolean;
  creds?: string;
  pubs: number;
  subs: number;
  msgs: number;
  size: number;
  csv?: string;
  queue: string;
  req: boolean;
  timeoutMs: number;
  progress: boolean;
  /** Empty except in --js consume mode, where the subject is an optional filter. */
  subject: string;
  /** JetStream mode (--js pub|consume); undefined for core NATS. */
  js?: JsCliOptions;
}

export interface JsCliOptions {
  mode: 'pub' | 'consume';
  stream: string;
  /** pub: create the stream on the subject first. */
  create: boolean;
  storage: 'file' | 'memory';
  /** pub: PubAcks outstanding at once. */
  window: number;
  /** consume: messages per pull request. */
  batch: number;
  durable: string;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const BENCH_USAGE = `Usage: tern bench [options] <subject>

Measures publish/subscribe throughput (or request/reply latency) against any
NATS-protocol server, with nats-bench's report format.

Options:
  -s <urls>         server URLs, comma separated (default nats://127.0.0.1:4222)
  --tls             upgrade the connection to TLS (tls:// URLs do too)
  --tlsca <file>    PEM CA certificates to trust
  --tlsinsecure     do not verify the server certificate
  --creds <file>    NATS credentials (.creds JWT + seed, or an NKey seed file)
  -np <n>           concurrent publishers (default 1)
  -ns <n>           concurrent subscribers (default 0)
  -n <n>            messages to publish, split across publishers (default 100000)
  -ms <size>        message size in bytes, units allowed: 16, 1KB, 64k (default 128)
  -q <queue>        subscribers join this queue group (each message reaches one)
  -req              request/reply latency: -n sequential requests, one responder
  -csv <file>       save the per-client samples as CSV
  --timeout <dur>   fail when subscribers make no progress this long (default 10s)
  --no-progress     no progress bar
  -h, --help        this help

JetStream (one client; like nats bench js pub async / js consume):
  --js pub          publish -n messages of -ms bytes to <subject>, keeping
                    --window PubAcks outstanding (default 500); only
                    acknowledged messages count, any error or missing ack fails
  --js consume      durable pull consumer on --stream with explicit acks:
                    fetch --batch messages at a time (default 500), ack each,
                    check all -n arrive once; [<subject>] is an optional filter
  --stream <name>   stream (default benchstream)
  --create          pub: create the stream on <subject> first
  --storage <s>     file or memory, with --create (default file)
  --durable <name>  consume: durable consumer name (default tern-bench)`;

const BOOLEAN = new Set(['tls', 'tlsinsecure', 'req', 'no-progress', 'h', 'help', 'create']);
const VALUED = new Set(['s', 'tlsca', 'creds', 'np', 'ns', 'n', 'ms', 'csv', 'q', 'timeout', 'js', 'stream', 'storage', 'window', 'batch', 'durable']);
const JS_ONLY = ['stream', 'storage', 'window', 'batch', 'durable'];

function parseCount(flag: string, v: string, min: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`-${flag}: '${v}' is not a whole number`);
  const n = Number(v);
  if (n < min) throw new UsageError(`-${flag}: must be at least ${min}`);
  return n;
}

/** "128", "16B", "1KB", "64k", "1MiB" -> bytes. */
export function parseSize(v: string): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`-ms: '${v}' is not a size (e.g. 128, 1KB, 64k)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

/** "10s", "500ms", "2m", "1.5s" -> ms. */
export function parseDurationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) throw new UsageError(`--timeout: '${v}' is not a duration (e.g. 10s, 500ms, 2m)`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * mult;
  if (ms <= 0) throw new UsageError('--timeout: must be positive');
  return ms;
}

/** Returns the options, or null when help was asked for. */
export function parseBenchArgs(argv: string[]): BenchCliOptions | null {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (BOOLEAN.has(name)) {
      if (eq >= 0 && !['true', 'false'].includes(body.slice(eq + 1))) {
        throw new UsageError(`${arg}: a boolean flag takes true or false`);
      }
      if (eq < 0 || body.slice(eq + 1) === 'true') flags.add(name);
      continue;
    }
    if (!VALUED.has(name)) throw new UsageError(`unknown flag ${arg}`);
    let value: string | undefined;
    if (eq >= 0) value = body.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    values.set(name, value);
  }
  if (flags.has('h') || flags.has('help')) return null;
  const js = parseJs(values, flags, positional);
  if (!js) {
    const stray = [...JS_ONLY.filter((f) => values.has(f)), ...(flags.has('create') ? ['create'] : [])];
    if (stray.length > 0) throw new UsageError(`--${stray[0]} is a JetStream option: use it with --js pub|consume`);
  }
  if (js?.mode === 'consume' && positional.length === 0) positional.push('');
  if (positional.length !== 1) {
    throw new UsageError(positional.length === 0 ? 'missing <subject>' : `one subject expected, got: ${positional.join(' ')}`);
  }
  const subject = positional[0]!;
  if (js?.mode === 'consume') {
    if (/\s/.test(subject)) throw new UsageError(`invalid filter subject '${subject}'`);
  } else if (/[\s]/.test(subject) || subject.includes('*') || subject.includes('>')) {
    throw new UsageError(`invalid subject '${subject}': a literal subject without spaces or wildcards is needed`);
  }
  const servers = (values.get('s') ?? 'nats://127.0.0.1:4222')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) throw new UsageError('-s: no server URL given');
  const queue = values.get('q') ?? '';
  if (/\s/.test(queue)) throw new UsageError(`-q: invalid queue name '${queue}'`);
  const opts: BenchCliOptions = {
    servers,
    tls: flags.has('tls'),
    tlsInsecure: flags.has('tlsinsecure'),
    pubs: parseCount('np', values.get('np') ?? '1', 0),
    subs: parseCount('ns', values.get('ns') ?? '0', 0),
    msgs: parseCount('n', values.get('n') ?? '100000', 1),
    size: parseSize(values.get('ms') ?? '128'),
    queue,
    req: flags.has('req'),
    timeoutMs: parseDurationMs(values.get('timeout') ?? '10s'),
    progress: !flags.has('no-progress'),
    subject,
  };
  if (js) {
    opts.js = js;
    if (opts.req || values.has('np') || values.has('ns') || values.has('q') || values.has('csv')) {
      throw new UsageError('--js runs one JetStream client: -req, -np, -ns, -q and -csv do not apply');
    }
  }
  if (values.has('tlsca')) opts.tlsCa = values.get('tlsca')!;
  if (values.has('creds')) opts.creds = values.get('creds')!;
  if (values.has('csv')) opts.csv = values.get('csv')!;
  if (!opts.req && opts.pubs === 0 && opts.subs === 0) throw new UsageError('-np and -ns are both 0: nothing to do');
  if (opts.req && opts.csv) throw new UsageError('-csv is not available in request/reply mode');
  return opts;
}

function parseJs(values: Map<string, string>, flags: Set<string>, positional: string[]): JsCliOptions | undefined {
  const mode = values.get('js');
  if (mode === undefined) return undefined;
  if (mode !== 'pub' && mode !== 'consume') throw new UsageError(`--js: '${mode}' is not pub or consume`);
  const storage = values.get('storage') ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new UsageError(`--storage: '${storage}' is not file or memory`);
  const name = (flag: string, def: string): string => {
    const v = values.get(flag) ?? def;
    if (v.length === 0 || /[.*>\s/\\]/.test(v)) throw new UsageError(`--${flag}: invalid name '${v}' (no '.', '*', '>', '/', '\\' or spaces)`);
    return v;
  };
  const js: JsCliOptions = {
    mode,
    stream: name('stream', 'benchstream'),
    create: flags.has('create'),
    storage,
    window: parseCount('window', values.get('window') ?? '500', 1),
    batch: parseCount('batch', values.get('batch') ?? '500', 1),
    durable: name('durable', 'tern-bench'),
  };
  if (mode === 'consume' && (js.create || values.has('storage') || values.has('window'))) {
    throw new UsageError('--create, --storage and --window are for --js pub');
  }
  if (mode === 'pub' && (values.has('batch') || values.has('durable'))) {
    throw new UsageError('--batch and --durable are for --js consume');
  }
  if (mode === 'pub' && positional.length === 0) throw new UsageError('--js pub: missing <subject> to publish to');
  return js;
}
