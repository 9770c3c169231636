// nats-server's command-line flags, parsed the way Go's `flag` package does:
// `-name`, `--name`, `-name=value`, `--name value`; boolean flags only take a
// value through `=` (`-T=false`); parsing stops at the first non-flag
// argument or at `--`. Names are whole words (`-DV` is one flag, not -D -V).
// The result records only what was given, so flags can override the file.

export class FlagError extends Error {
  override name = 'FlagError';
}

/** What the command line set; undefined = not given. */
export interface FlagValues {
  help?: boolean;
  version?: boolean;
  checkConfig?: boolean;
  configFile?: string;
  signal?: string;

  host?: string;
  port?: number;
  serverName?: string;
  clientAdvertise?: string;
  httpPort?: number;
  /** --http host:port */
  http?: string;
  pidFile?: string;
  portsFileDir?: string;
  maxPayload?: number;

  logFile?: string;
  logtime?: boolean;
  debug?: boolean;
  trace?: boolean;

  user?: string;
  pass?: string;
  auth?: string;

  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsVerify?: boolean;
  tlsCaCert?: string;

  clusterListen?: string;
  routes?: string;
  clusterName?: string;
  clusterAdvertise?: string;
  noAdvertise?: boolean;
  connectRetries?: number;

  jetstream?: boolean;
  storeDir?: string;
}

export interface ParsedFlags {
  values: FlagValues;
  /** Arguments left after the flags (nats-server accepts `version` and `help`). */
  rest: string[];
}

type Kind = 'bool' | 'string' | 'int' | 'size';

interface FlagSpec {
  names: string[];
  kind: Kind;
  /** Stores the parsed value. */
  set(v: FlagValues, value: string | number | boolean): void;
  /** Usage-text column: argument placeholder. */
  arg?: string;
}

const str = (key: keyof FlagValues) => (v: FlagValues, x: string | number | boolean) => {
  (v as Record<string, unknown>)[key] = x;
};

// The flag table: names are matched without their leading dashes.
const SPECS: FlagSpec[] = [
  { names: ['h', 'help'], kind: 'bool', set: str('help') },
  { names: ['v', 'version'], kind: 'bool', set: str('version') },
  { names: ['t'], kind: 'bool', set: str('checkConfig') },
  { names: ['c', 'config'], kind: 'string', set: str('configFile') },
  { names: ['sl', 'signal'], kind: 'string', set: str('signal') },
  { names: ['a', 'addr', 'net'], kind: 'string', set: str('host') },
  { names: ['p', 'port'], kind: 'int', set: str('port') },
  { names: ['n', 'name', 'server_name'], kind: 'string', set: str('serverName') },
  { names: ['client_advertise'], kind: 'string', set: str('clientAdvertise') },
  { names: ['m', 'http_port'], kind: 'int', set: str('httpPort') },
  { names: ['http'], kind: 'string', set: str('http') },
  { names: ['P', 'pid'], kind: 'string', set: str('pidFile') },
  { names: ['ports_file_dir'], kind: 'string', set: str('portsFileDir') },
  { names: ['max_payload'], kind: 'size', set: str('maxPayload') },
  { names: ['l', 'log'], kind: 'string', set: str('logFile') },
  { names: ['T', 'logtime'], kind: 'bool', set: str('logtime') },
  { names: ['D', 'debug'], kind: 'bool', set: str('debug') },
  { names: ['V', 'trace', 'VV'], kind: 'bool', set: str('trace') },
  {
    names: ['DV', 'DVV'],
    kind: 'bool',
    set: (v, x) => {
      v.debug = x as boolean;
      v.trace = x as boolean;
    },
  },
  { names: ['user'], kind: 'string', set: str('user') },
  { names: ['pass'], kind: 'string', set: str('pass') },
  { names: ['auth'], kind: 'string', set: str('auth') },
  { names: ['tls'], kind: 'bool', set: str('tls') },
  { names: ['tlscert'], kind: 'string', set: str('tlsCert') },
  { names: ['tlskey'], kind: 'string', set: str('tlsKey') },
  { names: ['tlsverify'], kind: 'bool', set: str('tlsVerify') },
  { names: ['tlscacert'], kind: 'string', set: str('tlsCaCert') },
  { names: ['cluster', 'cluster_listen'], kind: 'string', set: str('clusterListen') },
  { names: ['routes'], kind: 'string', set: str('routes') },
  { names: ['cluster_name'], kind: 'string', set: str('clusterName') },
  { names: ['cluster_advertise'], kind: 'string', set: str('clusterAdvertise') },
  { names: ['no_advertise'], kind: 'bool', set: str('noAdvertise') },
  { names: ['connect_retries'], kind: 'int', set: str('connectRetries') },
  { names: ['js', 'jetstream'], kind: 'bool', set: str('jetstream') },
  { names: ['sd', 'store_dir'], kind: 'string', set: str('storeDir') },
];

const BY_NAME = new Map<string, FlagSpec>();
for (const s of SPECS) for (const n of s.names) BY_NAME.set(n, s);

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64) restricted to what fits a JS safe integer. */
export function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9]+)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!.replace(/_/g, '');
  let n: number;
  if (/^0[xXoObB]/.test(body)) n = Number(body.toLowerCase());
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body, 8); // Go: leading 0 = octal
  else n = Number(body);
  if (Number.isNaN(n) || !Number.isSafeInteger(n)) return undefined;
  return m[1] === '-' ? -n : n;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 1000,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1000 ** 4,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** An integer with an optional size suffix as in the config file (1MB, 64k). */
export function parseSize(s: string): number | undefined {
  const m = /^(-?\d+)\s*([a-zA-Z]*)$/.exec(s.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}

function convert(spec: FlagSpec, flag: string, raw: string): string | number | boolean {
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'bool': {
      const b = parseGoBool(raw);
      if (b === undefined) throw new FlagError(`invalid boolean value "${raw}" for flag ${flag}: parse error`);
      return b;
    }
    case 'int': {
      const n = parseGoInt(raw);
      if (n === undefined) throw new FlagError(`invalid value "${raw}" for flag ${flag}: parse error`);
      return n;
    }
    case 'size': {
      const n = parseSize(raw);
      if (n === undefined) throw new FlagError(`invalid value "${raw}" for flag ${flag}: expected a size such as 1048576, 64KB or 8MB`);
      return n;
    }
  }
}

export function parseFlags(argv: readonly string[]): ParsedFlags {
  const values: FlagValues = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) break; // first positional argument
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body.length === 0 || body.startsWith('-') || body.startsWith('=')) {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = BY_NAME.get(name);
    const shown = `-${name}`;
    if (!spec) throw new FlagError(`flag provided but not defined: ${shown}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: ${shown}`);
      raw = argv[++i]!;
    }
    spec.set(values, convert(spec, shown, raw));
  }
  return { values, rest: argv.slice(i) };
}

/** The usage text, in nats-server's layout, for the flags Tern supports. */
export function usage(commandName: string): string {
  const prog = commandName === 'tern' ? 'tern server' : commandName;
  return `
Usage: ${prog} [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for random)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
        --http <host:port>           Use host:port for http monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to ${prog} process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/tern.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports)
        --max_payload <size>         Maximum message payload (default: 1MB; Tern extension)

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries
        --cluster_listen <url>       Cluster url from which members can solicit routes

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
`;
}
