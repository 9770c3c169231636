// NATS header blocks: `NATS/1.0[ <status>[ <description>]]\r\n(Key: Value\r\n)*\r\n`.
// findHeader() is the hot-path lookup (the store needs Nats-Msg-Id of every
// published message, the stream needs the Nats-Expected-* headers): one native
// Buffer.indexOf for "\r\nKey:", no parsing of the rest. Like nats-server's
// sliceHeader, keys match case-sensitively. parseHeaders()/buildHeaders() are
// the complete forms for code that needs every header or builds status replies.

export const NATS_MSG_ID = 'Nats-Msg-Id';
export const NATS_EXPECTED_STREAM = 'Nats-Expected-Stream';
export const NATS_EXPECTED_LAST_SEQ = 'Nats-Expected-Last-Sequence';
export const NATS_EXPECTED_LAST_SUBJECT_SEQ = 'Nats-Expected-Last-Subject-Sequence';
export const NATS_EXPECTED_LAST_MSG_ID = 'Nats-Expected-Last-Msg-Id';
export const NATS_ROLLUP = 'Nats-Rollup';

const PREAMBLE = 'NATS/1.0';
const needles = new Map<string, Buffer>();

function needleFor(key: string): Buffer {
  let n = needles.get(key);
  if (n === undefined) {
    n = Buffer.from(`\r\n${key}:`, 'latin1');
    if (needles.size < 256) needles.set(key, n);
  }
  return n;
}

/** The value of the first `key` header in a raw header block, trimmed of leading spaces; undefined if absent. */
export function findHeader(hdr: Buffer | null | undefined, key: string): string | undefined {
  if (hdr === null || hdr === undefined || hdr.length === 0) return undefined;
  const at = hdr.indexOf(needleFor(key));
  if (at < 0) return undefined;
  let i = at + key.length + 3;
  while (i < hdr.length && hdr[i] === 0x20) i++;
  const end = hdr.indexOf('\r\n', i, 'latin1');
  return hdr.toString('utf8', i, end < 0 ? hdr.length : end);
}

export interface ParsedHeaders {
  /** Status code from the first line (e.g. 404), undefined for plain headers. */
  status: number | undefined;
  description: string;
  /** Keys as sent; a key may repeat. */
  headers: Map<string, string[]>;
}

export class HeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderError';
  }
}

/** Parse a whole header block; throws HeaderError on a block that is not `NATS/1.0 ...`. */
export function parseHeaders(hdr: Buffer): ParsedHeaders {
  const text = hdr.toString('utf8');
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  if (!first.startsWith(PREAMBLE)) throw new HeaderError(`bad header block: expected ${PREAMBLE}, got ${JSON.stringify(first.slice(0, 20))}`);
  let status: number | undefined;
  let description = '';
  const rest = first.slice(PREAMBLE.length).trim();
  if (rest !== '') {
    const sp = rest.indexOf(' ');
    const code = sp < 0 ? rest : rest.slice(0, sp);
    if (!/^\d{3}$/.test(code)) throw new HeaderError(`bad header status ${JSON.stringify(code)}`);
    status = Number(code);
    description = sp < 0 ? '' : rest.slice(sp + 1).trim();
  }
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeaderError(`bad header line ${JSON.stringify(line.slice(0, 40))}`);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const list = headers.get(key);
    if (list === undefined) headers.set(key, [value]);
    else list.push(value);
  }
  return { status, description, headers };
}

export type HeaderInput = Map<string, string | string[]> | Record<string, string | string[]> | Iterable<[string, string]>;

/** Build a raw header block; optional status line (e.g. {code: 404, description: 'No Messages'}). */
export function buildHeaders(headers: HeaderInput, status?: { code: number; description?: string }): Buffer {
  let out = PREAMBLE;
  if (status !== undefined) {
    if (!Number.isInteger(status.code) || status.code < 100 || status.code > 999) throw new HeaderError(`bad status code ${status.code}`);
    out += ` ${status.code}`;
    if (status.description) out += ` ${checkValue(status.description)}`;
  }
  out += '\r\n';
  const pairs: Iterable<[string, string | string[]]> =
    headers instanceof Map ? headers : Symbol.iterator in headers ? (headers as Iterable<[string, string]>) : Object.entries(headers);
  for (const [key, v] of pairs) {
    checkKey(key);
    for (const value of Array.isArray(v) ? v : [v]) out += `${key}: ${checkValue(value)}\r\n`;
  }
  out += '\r\n';
  return Buffer.from(out, 'utf8');
}

function checkKey(key: string): void {
  if (key === '' || /[\s:]/.test(key)) throw new HeaderError(`bad header key ${JSON.stringify(key)}`);
}

function checkValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new HeaderError(`header value may not contain CR or LF: ${JSON.stringify(value)}`);
  return value;
}
