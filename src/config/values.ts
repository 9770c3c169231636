// Typed reads of config nodes. Every reader reports a clear error that names
// the key and its position, and returns undefined so that loading can go on
// and report every problem of a file in one run (as nats-server does).
import { ConfigError, type ConfEntry, type ConfMap, type ConfNode, type ConfPosition } from './conf-parser.js';

/** Errors, warnings and notices gathered while loading. */
export class Diagnostics {
  readonly errors: ConfigError[] = [];
  /** nats-server warnings: the server starts, `-t` fails. */
  readonly warnings: ConfigError[] = [];
  /** Accepted for compatibility but ignored by Tern. */
  readonly notices: ConfigError[] = [];

  error(reason: string, pos?: ConfPosition): undefined {
    this.errors.push(new ConfigError(reason, pos));
    return undefined;
  }
  warn(reason: string, pos?: ConfPosition): void {
    this.warnings.push(new ConfigError(reason, pos));
  }
  notice(reason: string, pos?: ConfPosition): void {
    this.notices.push(new ConfigError(reason, pos));
  }
}

export function describeNode(n: ConfNode): string {
  switch (n.kind) {
    case 'string':
      return `string "${n.value}"`;
    case 'integer':
      return `integer ${n.raw}`;
    case 'float':
      return `float ${n.value}`;
    case 'bool':
      return `boolean ${n.value}`;
    case 'datetime':
      return `datetime ${n.value.toISOString()}`;
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
  }
}

/** A key and its value with the path used in messages (e.g. "cluster.port"). */
export interface Field {
  name: string;
  entry: ConfEntry;
  node: ConfNode;
  pos: ConfPosition;
}

export function fieldsOf(map: ConfMap, prefix: string): Field[] {
  return [...map.entries.values()].map((entry) => ({
    name: prefix ? `${prefix}.${entry.key}` : entry.key,
    entry,
    node: entry.value,
    pos: entry.keyPos,
  }));
}

function wrongType(d: Diagnostics, f: Field, want: string): undefined {
  return d.error(`${f.name}: expected ${want}, got ${describeNode(f.node)}`, f.pos);
}

export function readString(d: Diagnostics, f: Field): string | undefined {
  return f.node.kind === 'string' ? f.node.value : wrongType(d, f, 'a string');
}

export function readBool(d: Diagnostics, f: Field): boolean | undefined {
  return f.node.kind === 'bool' ? f.node.value : wrongType(d, f, 'a boolean (true/false, yes/no, on/off)');
}

export function readInt(d: Diagnostics, f: Field, opts: { min?: number; max?: number } = {}): number | undefined {
  if (f.node.kind !== 'integer') return wrongType(d, f, 'an integer');
  const v = f.node.value;
  if (opts.min !== undefined && v < opts.min) return d.error(`${f.name}: ${f.node.raw} is below the minimum ${opts.min}`, f.pos);
  if (opts.max !== undefined && v > opts.max) return d.error(`${f.name}: ${f.node.raw} is too big (maximum ${opts.max})`, f.pos);
  return v;
}

export function readPort(d: Diagnostics, f: Field): number | undefined {
  if (f.node.kind !== 'integer') return wrongType(d, f, 'a port number');
  return checkPort(d, f.name, f.node.value, f.pos);
}

export function checkPort(d: Diagnostics, name: string, port: number, pos?: ConfPosition): number | undefined {
  if (!Number.isInteger(port) || port < -1 || port > 65535) {
    return d.error(`${name}: port ${port} is out of range (0-65535, or -1 for a random port)`, pos);
  }
  return port;
}

/** A size in bytes: an integer (suffixes allowed: 64MB, 1G) or a string such as "64MB". */
export function readSize(d: Diagnostics, f: Field, opts: { max?: number; allowUnlimited?: boolean } = {}): number | undefined {
  let v: number | undefined;
  if (f.node.kind === 'integer') v = f.node.value;
  else if (f.node.kind === 'string') v = parseSizeString(f.node.value);
  if (v === undefined) return wrongType(d, f, 'a size (e.g. 1048576, 64KB, 8MB)');
  if (v < 0 && !(opts.allowUnlimited && v === -1)) return d.error(`${f.name}: size can not be negative (${v})`, f.pos);
  if (opts.max !== undefined && v > opts.max) return d.error(`${f.name} value is too big (${v} > ${opts.max})`, f.pos);
  return v;
}

const SIZE_RE = /^\s*(-?\d+)\s*(k|kb|ki|kib|m|mb|mi|mib|g|gb|gi|gib|t|tb|ti|tib)?\s*$/i;
const SIZE_MULT: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

export function parseSizeString(s: string): number | undefined {
  const m = SIZE_RE.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  if (unit === '') return n;
  const base = unit[0]!;
  const binary = unit.length > 1;
  const power = 'kmgt'.indexOf(base) + 1;
  const v = binary ? n * 1024 ** power : n * SIZE_MULT[base]!;
  return Number.isSafeInteger(v) ? v : undefined;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds ("1h30m", "500ms", "1.5s", "-2m"). */
export function parseGoDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/** Formats ms the way Go prints a time.Duration (2m0s, 1h30m0s, 500ms). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let v = Math.abs(ms);
  let out: string;
  if (v < 1000) out = `${+v.toFixed(6)}ms`;
  else {
    const h = Math.floor(v / 3_600_000);
    v -= h * 3_600_000;
    const m = Math.floor(v / 60_000);
    v -= m * 60_000;
    const s = +(v / 1000).toFixed(9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

/**
 * A duration key: a string with units ("2m", "10s"). A bare number is read as
 * seconds with a warning, as nats-server does (note that an unquoted `2m` is
 * the size-suffixed integer 2000000 to nats-server, hence seconds too).
 */
export function readDuration(d: Diagnostics, f: Field): number | undefined {
  if (f.node.kind === 'string') {
    const ms = parseGoDuration(f.node.value);
    if (ms === undefined) return d.error(`error parsing ${f.name}: time: invalid duration "${f.node.value}"`, f.pos);
    return ms;
  }
  if (f.node.kind === 'integer' || f.node.kind === 'float') {
    const raw = f.node.kind === 'integer' ? f.node.raw : String(f.node.value);
    d.warn(
      `invalid use of field "${f.entry.key}": ${f.entry.key} should be converted to a duration (the bare number ${raw} is read as ${f.node.value} seconds; write e.g. "2m" in quotes)`,
      f.pos,
    );
    return f.node.value * 1000;
  }
  return wrongType(d, f, 'a duration such as "2m" or "10s"');
}

/** A timeout given in seconds (number) or as a duration string; returns ms. */
export function readSecondsOrDuration(d: Diagnostics, f: Field): number | undefined {
  if (f.node.kind === 'integer' || f.node.kind === 'float') {
    if (f.node.value < 0) return d.error(`${f.name}: timeout can not be negative`, f.pos);
    return f.node.value * 1000;
  }
  if (f.node.kind === 'string') {
    const ms = parseGoDuration(f.node.value);
    if (ms === undefined || ms < 0) return d.error(`${f.name}: invalid duration "${f.node.value}"`, f.pos);
    return ms;
  }
  return wrongType(d, f, 'a number of seconds or a duration such as "2s"');
}

/** A string or a list of strings. */
export function readStringList(d: Diagnostics, f: Field): string[] | undefined {
  if (f.node.kind === 'string') return [f.node.value];
  if (f.node.kind !== 'array') return wrongType(d, f, 'a string or a list of strings');
  const out: string[] = [];
  for (const item of f.node.items) {
    if (item.kind !== 'string') {
      return d.error(`${f.name}: expected a list of strings, found ${describeNode(item)}`, item.pos);
    }
    out.push(item.value);
  }
  return out;
}

export function readMap(d: Diagnostics, f: Field): ConfMap | undefined {
  return f.node.kind === 'map' ? f.node : wrongType(d, f, 'a map { ... }');
}

export interface HostPort {
  host: string;
  port: number;
}

/** Go's net.SplitHostPort: "host:port", "[::1]:port", ":port". */
export function splitHostPort(s: string): HostPort | undefined {
  let host: string;
  let portStr: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') return undefined;
    host = s.slice(1, end);
    portStr = s.slice(end + 2);
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) return undefined;
    host = s.slice(0, i);
    if (host.includes(':')) return undefined; // IPv6 needs brackets
    portStr = s.slice(i + 1);
  }
  if (!/^-?\d+$/.test(portStr)) return undefined;
  return { host, port: Number(portStr) };
}

/** `listen`/`http`: a port number or "host:port". */
export function readListen(d: Diagnostics, f: Field): Partial<HostPort> | undefined {
  if (f.node.kind === 'integer') {
    const port = checkPort(d, f.name, f.node.value, f.pos);
    return port === undefined ? undefined : { port };
  }
  if (f.node.kind === 'string') {
    const hp = splitHostPort(f.node.value);
    if (!hp) return d.error(`${f.name}: could not parse address string "${f.node.value}" (expected host:port)`, f.pos);
    if (checkPort(d, f.name, hp.port, f.pos) === undefined) return undefined;
    return hp;
  }
  return wrongType(d, f, 'a port or host:port');
}
