// NATS header blocks: `NATS/1.0[ <status>[ <description>]]\r\n(Key: Value\r\n)*\r\n`.
// The one module that reads and writes them, for the stream store, streams,
// consumers and the bench client. findHeader() is the hot-path lookup (the
// store needs Nats-Msg-Id of every published message, the stream needs the
// Nats-Expected-* headers): one native Buffer.indexOf for "\r\nKey:", no
// parsing of the rest. Like nats-server's sliceHeader, keys match
// case-sensitively. parseHeaders()/buildHeaders() are the complete forms for
// code that needs every header or builds status replies.

export const NATS_MSG_ID = 'Nats-Msg-Id';
export const NATS_EXPECTED_STREAM = 'Nats-Expected-Stream';
export const NATS_EXPECTED_LAST_SEQ = 'Nats-Expected-Last-Sequence';
export const NATS_EXPECTED_LAST_SUBJECT_SEQ = 'Nats-Expected-Last-Subject-Sequence';
export const NATS_EXPECTED_LAST_MSG_ID = 'Nats-Expected-Last-Msg-Id';
export const NATS_ROLLUP = 'Nats-Rollup';
// Set by the server on consumer deliveries and status messages.
export const NATS_LAST_CONSUMER = 'Nats-Last-Consumer';
export const NATS_LAST_STREAM = 'Nats-Last-Stream';
export const NATS_CONSUMER_STALLED = 'Nats-Consumer-Stalled';
export const NATS_PENDING_MESSAGES = 'Nats-Pending-Messages';
export const NATS_PENDING_BYTES = 'Nats-Pending-Bytes';

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

/** What a stream reads from every published message's headers (see scanPublishHeaders). */
export interface PublishHeaders {
  /** The first Nats-Msg-Id value, as findHeader returns it; undefined if absent. */
  msgId: string | undefined;
  /** A Nats-Expected-* header is present (rare: the stream then looks each one up). */
  expected: boolean;
}

const NATS_DASH = [0x4e, 0x61, 0x74, 0x73, 0x2d]; // "Nats-"
const MSG_ID_COLON = [0x4d, 0x73, 0x67, 0x2d, 0x49, 0x64, 0x3a]; // "Msg-Id:"
const EXPECTED_DASH = [0x45, 0x78, 0x70, 0x65, 0x63, 0x74, 0x65, 0x64, 0x2d]; // "Expected-"

function bytesAt(b: Buffer, i: number, want: readonly number[]): boolean {
  if (i + want.length > b.length) return false;
  for (let k = 0; k < want.length; k++) if (b[i + k] !== want[k]) return false;
  return true;
}

/** Index of the next CRLF at or after i, or b.length. */
function crlf(b: Buffer, i: number): number {
  const n = b.length - 1;
  while (i < n && (b[i] !== 0x0d || b[i + 1] !== 0x0a)) i++;
  return i < n ? i : b.length;
}

/**
 * One pass over a published message's header block for what every stream publish needs:
 * Nats-Msg-Id and whether any Nats-Expected-* header is there. Matches exactly as
 * findHeader does (a key at a line start, case-sensitive), in a byte loop: the two native
 * Buffer.indexOf calls it replaces cost 2-3x as much on the ~150-byte blocks a bridge sends.
 */
export function scanPublishHeaders(hdr: Buffer, out: PublishHeaders): void {
  out.msgId = undefined;
  out.expected = false;
  const n = hdr.length;
  for (let i = crlf(hdr, 0) + 2; i < n; ) {
    const end = crlf(hdr, i);
    if (bytesAt(hdr, i, NATS_DASH)) {
      const k = i + NATS_DASH.length;
      if (out.msgId === undefined && bytesAt(hdr, k, MSG_ID_COLON)) {
        let v = k + MSG_ID_COLON.length;
        while (v < end && hdr[v] === 0x20) v++;
        out.msgId = hdr.toString('utf8', v, end);
      } else if (bytesAt(hdr, k, EXPECTED_DASH)) out.expected = true;
    }
    i = end + 2;
  }
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
  const { status, description } = parseStatusLine(first);
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

/** Status and description of a first line known to start with `NATS/1.0`; throws HeaderError on a bad code. */
function parseStatusLine(first: string): { status: number | undefined; description: string } {
  const rest = first.slice(PREAMBLE.length).trim();
  if (rest === '') return { status: undefined, description: '' };
  const sp = rest.indexOf(' ');
  const code = sp < 0 ? rest : rest.slice(0, sp);
  if (!/^\d{3}$/.test(code)) throw new HeaderError(`bad header status ${JSON.stringify(code)}`);
  return { status: Number(code), description: sp < 0 ? '' : rest.slice(sp + 1).trim() };
}

/**
 * The status of a header block (`NATS/1.0 408 Request Timeout` gives 408 and
 * 'Request Timeout') reading only its first line; undefined for a plain block
 * or one that is not a NATS header block.
 */
export function headerStatus(hdr: Buffer): { code: number; description: string } | undefined {
  const nl = hdr.indexOf('\r\n', 0, 'latin1');
  const first = hdr.toString('utf8', 0, nl < 0 ? hdr.length : nl);
  if (!first.startsWith(PREAMBLE)) return undefined;
  try {
    const { status, description } = parseStatusLine(first);
    return status === undefined ? undefined : { code: status, description };
  } catch {
    return undefined;
  }
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

/** A header-only status block, `NATS/1.0 <code> <description>` plus headers, for control messages. */
export function statusHeader(code: number, description: string, headers: Array<[string, string | number]> = []): Buffer {
  return buildHeaders(
    headers.map(([k, v]): [string, string] => [k, String(v)]),
    { code, description },
  );
}

/**
 * A copy of a message's header block (or a new plain one when it has none) with
 * `headers` appended: how the server decorates stored messages it hands out
 * (direct get, headers-only deliveries). The original bytes are kept as they are.
 */
export function appendHeaders(hdr: Buffer | null, headers: Array<[string, string | number]>): Buffer {
  // A block shorter than the preamble's CRLF pair cannot hold headers worth keeping.
  const head = hdr !== null && hdr.length > 4 ? hdr.subarray(0, hdr.length - 2) : Buffer.from(PREAMBLE + '\r\n', 'latin1');
  let extra = '';
  for (const [k, v] of headers) extra += `${k}: ${v}\r\n`;
  return Buffer.concat([head, Buffer.from(extra + '\r\n', 'utf8')]);
}

function checkKey(key: string): void {
  if (key === '' || /[\s:]/.test(key)) throw new HeaderError(`bad header key ${JSON.stringify(key)}`);
}

function checkValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new HeaderError(`header value may not contain CR or LF: ${JSON.stringify(value)}`);
  return value;
}
