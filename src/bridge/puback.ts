// Reading JetStream PubAcks without JSON.parse on the happy path.
//
// A PubAck is small JSON: {"stream":"ORDERS","seq":42} (+ "duplicate":true, "domain":...),
// or {"error":{"code":...,"err_code":...,"description":"..."}} (possibly with "stream").
// The bridge needs seq, duplicate and the stream name of tens of thousands of them per
// second; decoding each to a string and parsing it costs more than the publish itself. So:
// a byte scan for `"seq":<digits>`, `"duplicate": true` and `"stream":"<name>"`; anything
// unusual (an "error" key, escapes, spacing the scan does not expect) goes to JSON.parse.

export interface PubAckOk {
  readonly ok: true;
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

export interface PubAckFailed {
  readonly ok: false;
  /** The JetStream API error's HTTP-like code (e.g. 503, 400). */
  readonly code: number | undefined;
  /** JetStream's err_code (e.g. 10054 message size exceeds maximum allowed). */
  readonly errCode: number | undefined;
  readonly description: string;
  /** True when the body was not a PubAck at all. */
  readonly unparseable: boolean;
}

export type PubAckResult = PubAckOk | PubAckFailed;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const K_ERROR = enc('"error"');
const K_SEQ = enc('"seq":');
const K_STREAM = enc('"stream":');
const K_DUP = enc('"duplicate":');

/** Index just after the first occurrence of key in d, or -1. */
function after(d: Uint8Array, key: Uint8Array): number {
  const last = d.length - key.length;
  const k0 = key[0]!;
  outer: for (let i = 0; i <= last; i++) {
    if (d[i] !== k0) continue;
    for (let j = 1; j < key.length; j++) if (d[i + j] !== key[j]) continue outer;
    return i + key.length;
  }
  return -1;
}

// The stream name repeats on every PubAck of a mapping: keep the last one's bytes and string.
let lastStreamBytes: Uint8Array = new Uint8Array(0);
let lastStream = '';

function streamName(d: Uint8Array, from: number, to: number): string {
  const n = to - from;
  if (n === lastStreamBytes.length) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (d[from + i] !== lastStreamBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastStream;
  }
  lastStreamBytes = d.slice(from, to);
  lastStream = Buffer.from(lastStreamBytes).toString('utf8');
  return lastStream;
}

export function parsePubAck(d: Uint8Array): PubAckResult {
  if (after(d, K_ERROR) !== -1) return parseSlow(d);
  let i = after(d, K_SEQ);
  if (i === -1) return parseSlow(d);
  i = skipSpaces(d, i);
  let seq = 0;
  const start = i;
  for (; i < d.length; i++) {
    const c = d[i]!;
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
  }
  if (i === start || (d[i] !== 0x2c && d[i] !== 0x7d)) return parseSlow(d); // not `digits,` or `digits}`
  let stream = '';
  const key = after(d, K_STREAM);
  if (key !== -1) {
    const q = skipSpaces(d, key);
    if (d[q] !== QUOTE) return parseSlow(d);
    const s = q + 1;
    let e = s;
    while (e < d.length && d[e] !== QUOTE) {
      if (d[e] === BACKSLASH) return parseSlow(d);
      e++;
    }
    if (e === d.length) return parseSlow(d);
    stream = streamName(d, s, e);
  }
  // nats-server writes `"duplicate": true` (with a space); accept any spacing.
  const dup = after(d, K_DUP);
  return { ok: true, stream, seq, duplicate: dup !== -1 && d[skipSpaces(d, dup)] === 0x74 /* t */ };
}

function skipSpaces(d: Uint8Array, i: number): number {
  while (i < d.length && (d[i] === 0x20 || d[i] === 0x09)) i++;
  return i;
}

interface PubAckJson {
  stream?: unknown;
  seq?: unknown;
  duplicate?: unknown;
  error?: { code?: unknown; err_code?: unknown; description?: unknown };
}

function parseSlow(d: Uint8Array): PubAckResult {
  const text = Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('utf8');
  let j: PubAckJson;
  try {
    j = JSON.parse(text) as PubAckJson;
  } catch {
    return { ok: false, code: undefined, errCode: undefined, description: `unparseable PubAck: ${text.slice(0, 200)}`, unparseable: true };
  }
  if (j === null || typeof j !== 'object') {
    return { ok: false, code: undefined, errCode: undefined, description: `unparseable PubAck: ${text.slice(0, 200)}`, unparseable: true };
  }
  if (j.error) {
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    return {
      ok: false,
      code: num(j.error.code),
      errCode: num(j.error.err_code),
      description: typeof j.error.description === 'string' ? j.error.description : 'unknown error',
      unparseable: false,
    };
  }
  if (typeof j.seq !== 'number') {
    return { ok: false, code: undefined, errCode: undefined, description: `unparseable PubAck (no seq): ${text.slice(0, 200)}`, unparseable: true };
  }
  return { ok: true, stream: typeof j.stream === 'string' ? j.stream : '', seq: j.seq, duplicate: j.duplicate === true };
}
