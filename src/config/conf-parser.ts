// Parser for nats-server's configuration file format (its conf/ package): a
// relaxed JSON/HOCON-like syntax. The result is a tree of nodes that keep
// their source position, so that the option loader can name file, line and
// column in every error.
//
// Accepted syntax, as nats-server accepts it:
//   key: value   key = value   key value      (';' or ',' optional terminators)
//   { } maps, [ ] arrays (items split by ',' or new lines), # and // comments
//   'raw strings', "strings with \t \n \r \" \\ \xHH escapes", bare strings
//   integers with size suffixes (k=1000, kb/ki/kib=1024, m/mb, g/gb, t/tb, p/pb, e/eb)
//   floats, true/yes/on false/no/off, 2006-01-02T15:04:05Z datetimes
//   bare host:port / IPs (127.0.0.1:4222 stays a string), ( ... ) block strings
//   include 'file'  (relative to the including file; its keys merge in place)
//   $VAR            (a key defined earlier in an enclosing map, else the environment)
// One deliberate difference: ']' ends a bare number (nats-server reads `[1, 2]` as [1, "2"]).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ConfPosition {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly reason: string,
    readonly pos?: ConfPosition,
  ) {
    super(pos ? `${formatPosition(pos)}: ${reason}` : reason);
  }
}

export function formatPosition(pos: ConfPosition): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

interface NodeBase {
  pos: ConfPosition;
}
export interface ConfString extends NodeBase {
  kind: 'string';
  value: string;
}
export interface ConfInteger extends NodeBase {
  kind: 'integer';
  value: number;
  /** Source text, e.g. "64MB" (a suffixed size). */
  raw: string;
}
export interface ConfFloat extends NodeBase {
  kind: 'float';
  value: number;
}
export interface ConfBool extends NodeBase {
  kind: 'bool';
  value: boolean;
}
export interface ConfDatetime extends NodeBase {
  kind: 'datetime';
  value: Date;
}
export interface ConfArray extends NodeBase {
  kind: 'array';
  items: ConfNode[];
}
export interface ConfEntry {
  key: string;
  keyPos: ConfPosition;
  value: ConfNode;
  /** Referenced as $key somewhere: such a key is a variable, not an unknown option. */
  usedAsVariable: boolean;
}
export interface ConfMap extends NodeBase {
  kind: 'map';
  entries: Map<string, ConfEntry>;
}
export type ConfNode = ConfString | ConfInteger | ConfFloat | ConfBool | ConfDatetime | ConfArray | ConfMap;

export interface ParseOptions {
  /** Environment for $VAR lookups; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

const SIZE_SUFFIX: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  kb: 1024n,
  ki: 1024n,
  kib: 1024n,
  m: 1000n ** 2n,
  mb: 1024n ** 2n,
  mi: 1024n ** 2n,
  mib: 1024n ** 2n,
  g: 1000n ** 3n,
  gb: 1024n ** 3n,
  gi: 1024n ** 3n,
  gib: 1024n ** 3n,
  t: 1000n ** 4n,
  tb: 1024n ** 4n,
  ti: 1024n ** 4n,
  tib: 1024n ** 4n,
  p: 1000n ** 5n,
  pb: 1024n ** 5n,
  pi: 1024n ** 5n,
  pib: 1024n ** 5n,
  e: 1000n ** 6n,
  eb: 1024n ** 6n,
  ei: 1024n ** 6n,
  eib: 1024n ** 6n,
};
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const BOOL_WORDS: Record<string, boolean> = { true: true, yes: true, on: true, false: false, no: false, off: false };
const EOF = '';

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isBlank = (c: string): boolean => c === ' ' || c === '\t';
const isNL = (c: string): boolean => c === '\n' || c === '\r';
const isSpace = (c: string): boolean => isBlank(c) || isNL(c) || c === '\v' || c === '\f';
const isSizeLetter = (c: string): boolean => 'kKmMgGtTpPeE'.includes(c) && c !== '';
/** Characters that end a bare value. */
const endsBareValue = (c: string): boolean =>
  c === EOF || isNL(c) || isBlank(c) || c === ';' || c === ',' || c === ']' || c === '}';

/** Shared across a file, its includes and $ENV sub-parses: detects env reference cycles. */
interface ParseSession {
  env: NodeJS.ProcessEnv;
  envInProgress: Set<string>;
  /** Files being parsed, to stop include cycles. */
  includeStack: string[];
}

class Parser {
  private i = 0;
  private readonly lineStarts: number[] = [0];
  /** Enclosing maps, innermost last: the scopes for $VAR lookup. */
  private readonly scopes: ConfMap[] = [];

  constructor(
    private readonly src: string,
    private readonly file: string,
    private readonly session: ParseSession,
  ) {
    for (let k = 0; k < src.length; k++) if (src[k] === '\n') this.lineStarts.push(k + 1);
  }

  // --- cursor helpers ---
  private peek(off = 0): string {
    return this.src[this.i + off] ?? EOF;
  }
  private next(): string {
    const c = this.src[this.i] ?? EOF;
    if (c !== EOF) this.i++;
    return c;
  }
  private posAt(offset: number): ConfPosition {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }
  private fail(reason: string, offset = this.i): never {
    throw new ConfigError(reason, this.posAt(offset));
  }
  private describe(c: string): string {
    if (c === EOF) return 'EOF';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return c;
  }

  /** Skips a comment if one starts here; true if it did (stops before the new line). */
  private skipComment(): boolean {
    const c = this.peek();
    if (c === '#' || (c === '/' && this.peek(1) === '/')) {
      while (this.peek() !== EOF && !isNL(this.peek())) this.i++;
      return true;
    }
    return false;
  }
  /** Skips white space, new lines and comments. */
  private skipAll(): void {
    for (;;) {
      if (isSpace(this.peek())) this.i++;
      else if (!this.skipComment()) return;
    }
  }
  private skipBlanks(): void {
    while (isBlank(this.peek())) this.i++;
  }

  // --- document ---
  parseDocument(): ConfMap {
    const root: ConfMap = { kind: 'map', entries: new Map(), pos: this.posAt(0) };
    this.scopes.push(root);
    this.skipAll();
    if (this.peek() === '{') {
      // A JSON-style document: the whole configuration wrapped in braces.
      this.next();
      this.parseMapBody(root, true);
      this.skipAll();
      if (this.peek() !== EOF) this.fail(`Unexpected '${this.describe(this.peek())}' after the closing '}' of the configuration`);
    } else {
      this.parseMapBody(root, false);
    }
    this.scopes.pop();
    return root;
  }

  /** Parses `key value` pairs into map until '}' (closed) or end of input (top level). */
  private parseMapBody(map: ConfMap, closed: boolean): void {
    const top = !closed && this.scopes.length === 1;
    for (;;) {
      this.skipAll();
      const start = this.i;
      const c = this.peek();
      if (c === EOF) {
        if (closed) this.fail('Unexpected EOF processing map, expected \'}\'');
        return;
      }
      if (c === '}') {
        if (!closed) this.fail("Unexpected '}' without a matching '{'");
        this.next();
        return;
      }
      if (c === ':' || c === '=') this.fail(`Unexpected key separator '${c}'`);
      if (c === ']') this.fail("Unexpected array end ']' processing map");
      if (c === ',' || c === ';') this.fail(`Unexpected '${c}': expected a key`);

      const key = this.parseKey();
      const keyPos = this.posAt(start);
      if (key.bare && key.text.toLowerCase() === 'include' && isBlank(this.peek())) {
        this.parseInclude(map);
      } else {
        this.parseKeyValue(map, key.text, keyPos, top);
      }
      this.parseValueEnd(top);
    }
  }

  private parseKey(): { text: string; bare: boolean } {
    const q = this.peek();
    if (q === '"' || q === "'") {
      const open = this.i;
      this.next();
      const from = this.i;
      while (this.peek() !== q) {
        if (this.peek() === EOF) this.fail('Unexpected EOF processing quoted key', open);
        this.next();
      }
      const text = this.src.slice(from, this.i);
      this.next();
      return { text, bare: false };
    }
    const from = this.i;
    while (!isSpace(this.peek()) && this.peek() !== ':' && this.peek() !== '=' && this.peek() !== EOF) this.next();
    return { text: this.src.slice(from, this.i), bare: true };
  }

  private parseKeyValue(map: ConfMap, key: string, keyPos: ConfPosition, top: boolean): void {
    // Between key and separator any white space is allowed; after ':' or '='
    // a top-level value must start on the same line (as nats-server).
    this.skipAllSpaceOnly();
    let sep = false;
    if (this.peek() === ':' || this.peek() === '=') {
      this.next();
      sep = true;
    }
    if (sep && top) this.skipBlanks();
    else this.skipAllSpaceOnly();
    const c = this.peek();
    if (c === EOF || (isNL(c) && sep)) {
      this.fail(c === EOF ? `Expected a value for key '${key}' but found EOF` : `Expected a value for key '${key}' but found new line`);
    }
    if (c === '}' || c === ',' || c === ';' || c === ']' || this.startsComment()) {
      this.fail(`Expected a value for key '${key}' but found '${this.describe(c)}'`);
    }
    const value = this.parseValue();
    // A later definition of the same key replaces the earlier one (nats-server does too).
    map.entries.set(key, { key, keyPos, value, usedAsVariable: false });
  }

  private startsComment(): boolean {
    return this.peek() === '#' || (this.peek() === '/' && this.peek(1) === '/');
  }
  private skipAllSpaceOnly(): void {
    while (isSpace(this.peek())) this.i++;
  }

  /** After a value: blanks and a comment, then a new line, ';', ',', '}' (left unread) or EOF. */
  private parseValueEnd(top: boolean): void {
    this.skipBlanks();
    this.skipComment();
    const c = this.peek();
    if (isNL(c) || c === ';' || c === ',') {
      this.next();
      return;
    }
    if (c === '}' || c === EOF) return;
    if (top) this.fail(`Expected a top-level value to end with a new line, comment or EOF, but got '${this.describe(c)}' instead`);
    this.fail(`Expected a map value terminator ',' or a map terminator '}', but got '${this.describe(c)}' instead`);
  }

  private parseInclude(map: ConfMap): void {
    this.skipBlanks();
    const at = this.i;
    const c = this.peek();
    let name: string;
    if (c === "'" || c === '"') {
      this.next();
      const from = this.i;
      while (this.peek() !== c) {
        if (this.peek() === EOF) this.fail('Unexpected EOF in quoted include', at);
        this.next();
      }
      name = this.src.slice(from, this.i);
      this.next();
    } else {
      if (c === '[') this.fail('Expected include value but found start of an array');
      if (c === '{') this.fail('Expected include value but found start of a map');
      if (c === '(') this.fail('Expected include value but found start of a block');
      if (isDigit(c) || c === '-') this.fail('Expected include value but found start of a number');
      if (c === '\\') this.fail('Expected include value but found escape sequence');
      if (isNL(c) || c === EOF) this.fail('Expected include value but found new line');
      const from = this.i;
      const stop = (ch: string): boolean => ch === EOF || isNL(ch) || isBlank(ch) || ch === ';' || ch === '}';
      while (!stop(this.peek())) this.next();
      name = this.src.slice(from, this.i);
    }
    const path = resolve(dirname(this.file), name);
    if (this.session.includeStack.includes(path)) this.fail(`include cycle: '${name}' includes itself`, at);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      this.fail(`error opening include file '${name}': ${(e as Error).message}`, at);
    }
    this.session.includeStack.push(path);
    try {
      const included = new Parser(text, path, this.session).parseDocument();
      for (const [k, entry] of included.entries) map.entries.set(k, entry);
    } finally {
      this.session.includeStack.pop();
    }
  }

  // --- values ---
  private parseValue(): ConfNode {
    const start = this.i;
    const c = this.peek();
    if (c === '[') return this.parseArray();
    if (c === '{') {
      this.next();
      const m: ConfMap = { kind: 'map', entries: new Map(), pos: this.posAt(start) };
      this.scopes.push(m);
      this.parseMapBody(m, true);
      this.scopes.pop();
      return m;
    }
    if (c === "'") return this.parseRawString();
    if (c === '"') return this.parseQuotedString();
    if (c === '(') return this.parseBlockString();
    if (c === '-') {
      if (!isDigit(this.peek(1))) {
        if (this.peek(1) === '.') this.fail("Floats must start with a digit, not '.'", start + 1);
        this.fail(`Expected a digit but got '${this.describe(this.peek(1))}'`, start + 1);
      }
      return this.parseNumberLike();
    }
    if (isDigit(c)) return this.parseNumberLike();
    if (c === '.') this.fail('Floats must start with a digit');
    if (isNL(c)) this.fail('Expected value but found new line');
    return this.parseBare(start);
  }

  private parseArray(): ConfArray {
    const start = this.i;
    this.next(); // [
    const arr: ConfArray = { kind: 'array', items: [], pos: this.posAt(start) };
    for (;;) {
      this.skipAll();
      const c = this.peek();
      if (c === ']') {
        this.next();
        return arr;
      }
      if (c === EOF) this.fail("Unexpected EOF processing array, expected ']'", start);
      if (c === ',') this.fail("Unexpected array value terminator ','");
      if (c === '}' || c === ';') this.fail(`Unexpected '${c}' in array`);
      arr.items.push(this.parseValue());
      this.skipBlanks();
      this.skipComment();
      const e = this.peek();
      if (e === ',' || isNL(e)) {
        this.next();
      } else if (e !== ']') {
        this.fail(`Expected an array value terminator ',' or an array terminator ']', but got '${this.describe(e)}' instead`);
      }
    }
  }

  private parseRawString(): ConfString {
    const start = this.i;
    this.next();
    const from = this.i;
    while (this.peek() !== "'") {
      if (this.peek() === EOF) this.fail('Unexpected EOF in quoted string', start);
      this.next();
    }
    const value = this.src.slice(from, this.i);
    this.next();
    return { kind: 'string', value, pos: this.posAt(start) };
  }

  private parseQuotedString(): ConfString {
    const start = this.i;
    this.next();
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === EOF) this.fail('Unexpected EOF in quoted string', start);
      if (c === '"') break;
      if (c === '\\') out += this.parseEscape();
      else out += c;
    }
    return { kind: 'string', value: out, pos: this.posAt(start) };
  }

  private parseEscape(): string {
    const at = this.i;
    const c = this.next();
    switch (c) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case '"':
        return '"';
      case '\\':
        return '\\';
      case 'x': {
        const hex = this.src.slice(this.i, this.i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail(`Expected two hexadecimal digits after '\\x', but got '${hex}'`);
        this.i += 2;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        this.fail(
          `Invalid escape character '${this.describe(c)}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\`,
          at,
        );
    }
  }

  /** `( ... )`: raw text up to a ')' alone at the start of a line. */
  private parseBlockString(): ConfString {
    const start = this.i;
    this.next();
    const from = this.i;
    for (;;) {
      const c = this.peek();
      if (c === EOF) this.fail("Unexpected EOF processing block, expected ')' on a line of its own", start);
      if (c === ')' && this.src[this.i - 1] === '\n' && (this.peek(1) === '\n' || this.peek(1) === EOF)) {
        const value = this.src.slice(from, this.i - 1);
        this.next();
        return { kind: 'string', value, pos: this.posAt(start) };
      }
      this.next();
    }
  }

  /** Integers (with size suffixes), floats, datetimes, IP addresses, or strings that start with a digit. */
  private parseNumberLike(): ConfNode {
    const start = this.i;
    if (this.peek() === '-') this.next();
    while (isDigit(this.peek())) this.next();
    const c = this.peek();
    const negative = this.src[start] === '-';
    if (c === '-' && !negative) {
      if (this.i - start !== 4) this.fail('All ISO8601 dates must be in full Zulu form', start);
      return this.parseDatetime(start);
    }
    if (c === '.') {
      this.next();
      if (!isDigit(this.peek())) {
        this.fail(`Floats must have a digit after the '.', but got '${this.describe(this.peek())}' instead`);
      }
      while (isDigit(this.peek())) this.next();
      if (this.peek() === '.' && !negative) {
        // 127.0.0.1 or 127.0.0.1:4222: an address, kept as a string.
        while (isDigit(this.peek()) || this.peek() === '.' || this.peek() === ':' || this.peek() === '-') this.next();
        return { kind: 'string', value: this.src.slice(start, this.i), pos: this.posAt(start) };
      }
      const raw = this.src.slice(start, this.i);
      return { kind: 'float', value: Number(raw), pos: this.posAt(start) };
    }
    if (isSizeLetter(c)) {
      const save = this.i;
      this.next();
      while ('bBiI'.includes(this.peek()) && this.peek() !== EOF) this.next();
      if (endsBareValue(this.peek())) return this.makeInteger(start, this.src.slice(start, save), this.src.slice(save, this.i));
      if (negative) this.fail(`Invalid number '${this.src.slice(start, this.i + 1)}'`, start);
      this.i = start;
      return this.parseBare(start);
    }
    if (endsBareValue(c)) return this.makeInteger(start, this.src.slice(start, this.i), '');
    if (negative) return this.makeInteger(start, this.src.slice(start, this.i), ''); // junk after it fails at value end
    // 10s, 1h30m, 4222abc: a bare string that happens to start with a digit.
    this.i = start;
    return this.parseBare(start);
  }

  private makeInteger(start: number, digits: string, suffix: string): ConfInteger {
    const raw = digits + suffix;
    const mult = SIZE_SUFFIX[suffix.toLowerCase()];
    if (mult === undefined) this.fail(`invalid size suffix '${suffix}' in '${raw}'`, start);
    const big = BigInt(digits) * mult;
    if (big > INT64_MAX || big < INT64_MIN) this.fail(`integer '${raw}' is out of the range`, start);
    return { kind: 'integer', value: Number(big), raw, pos: this.posAt(start) };
  }

  private parseDatetime(start: number): ConfDatetime {
    // YYYY-MM-DDTHH:MM:SSZ, Zulu only.
    const shape = '0000-00-00T00:00:00Z';
    for (let k = 4; k < shape.length; k++) {
      const want = shape[k]!;
      const got = this.peek();
      if (want === '0' ? !isDigit(got) : got !== want) {
        const what = want === '0' ? 'digit' : `'${want}'`;
        this.fail(`Expected ${what} in ISO8601 datetime, but found '${this.describe(got)}' instead`);
      }
      this.next();
    }
    const text = this.src.slice(start, this.i);
    const d = new Date(text);
    if (Number.isNaN(d.getTime())) this.fail(`expected Zulu formatted DateTime, but got '${text}'`, start);
    return { kind: 'datetime', value: d, pos: this.posAt(start) };
  }

  /** Bare word: a string, a boolean or a $variable. Backslash escapes apply. */
  private parseBare(start: number): ConfNode {
    let out = '';
    let escaped = false;
    while (!endsBareValue(this.peek())) {
      const c = this.next();
      if (c === '\\') {
        out += this.parseEscape();
        escaped = true;
      } else out += c;
    }
    const pos = this.posAt(start);
    if (!escaped) {
      const b = BOOL_WORDS[out.toLowerCase()];
      if (b !== undefined) return { kind: 'bool', value: b, pos };
      if (out.startsWith('$') && out.length > 1) return this.lookupVariable(out.slice(1), start);
    }
    return { kind: 'string', value: out, pos };
  }

  private lookupVariable(name: string, start: number): ConfNode {
    const pos = this.posAt(start);
    // Unquoted bcrypt hashes ($2a$11$...) are strings, not variables.
    if (/^2[aby]\$/.test(name)) return { kind: 'string', value: `$${name}`, pos };
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const entry = this.scopes[k]!.entries.get(name);
      if (entry) {
        entry.usedAsVariable = true;
        return { ...entry.value, pos };
      }
    }
    const { env, envInProgress } = this.session;
    const raw = env[name];
    if (raw === undefined) this.fail(`variable reference for '${name}' can not be found`, start);
    if (envInProgress.has(name)) this.fail(`variable reference cycle for '${name}'`, start);
    envInProgress.add(name);
    try {
      // An environment value is read as a config value would be: numbers, sizes, booleans...
      const sub = new Parser(`pk=${raw}`, `$${name}`, this.session).parseDocument();
      const v = sub.entries.get('pk');
      if (!v) this.fail(`variable reference for '${name}' has no value`, start);
      return { ...v.value, pos };
    } catch (e) {
      if (e instanceof ConfigError && e.pos?.file !== `$${name}`) throw e;
      const why = e instanceof ConfigError ? e.reason : String(e);
      this.fail(`variable reference for '${name}' could not be parsed: ${why}`, start);
    } finally {
      envInProgress.delete(name);
    }
  }
}

/** Parses configuration text; `file` names it in errors and anchors relative includes. */
export function parseConfString(text: string, file: string, opts: ParseOptions = {}): ConfMap {
  const session: ParseSession = { env: opts.env ?? process.env, envInProgress: new Set(), includeStack: [resolve(file)] };
  return new Parser(text, file, session).parseDocument();
}

/** Reads and parses a config file. Errors name the file as given. */
export function parseConfFile(path: string, opts: ParseOptions = {}): ConfMap {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new ConfigError(`error opening config file ${path}: ${why}`);
  }
  return parseConfString(text, path, opts);
}

/** The node tree as plain JS values (maps become objects). */
export function toPlain(node: ConfNode): unknown {
  switch (node.kind) {
    case 'array':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, e] of node.entries) out[k] = toPlain(e.value);
      return out;
    }
    default:
      return node.value;
  }
}
