// NATS message headers built straight into wire bytes, once per message.
//
// nats.js's MsgHdrs keeps a Map of arrays, canonicalises and validates every name, and
// re-serialises the whole block as a string on publish: about a third of the bridge's
// per-message CPU. The bridge already holds its headers as an ordered list of entries, so it
// writes the block `NATS/1.0\r\nName: value\r\n...\r\n` itself and hands nats.js an object
// whose encode() returns those bytes. The wire result is what MsgHdrs would produce (same
// grouping of repeated names, values trimmed); the rest of the MsgHdrs interface decodes
// lazily for the rare reader (tests, logs).
import { headers as natsHeaders, type Match, type MsgHdrs } from '@nats-io/transport-node';
import type { HeaderEntry } from './connector.js';

const PREAMBLE = 'NATS/1.0\r\n';

/** A header name that cannot be carried by NATS; the message cannot be published as is. */
export class HeaderNameError extends Error {
  override name = 'HeaderNameError';
}

/** Why a header name cannot go on the wire (printable ASCII minus ':'), or undefined. */
export function headerNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return `has the invalid character ${JSON.stringify(name[i])} (allowed: printable ASCII except ':')`;
  }
  return undefined;
}

/** CR and LF would end the header line early: a value carries them as spaces. */
function cleanValue(v: string): string {
  let s = v;
  if (s.indexOf('\r') !== -1 || s.indexOf('\n') !== -1) s = s.replace(/[\r\n]/g, ' ');
  return s.trim();
}

/**
 * A header block already encoded for the wire. nats.js calls only encode() when it
 * publishes; everything else is served from a MsgHdrs decoded on first use.
 */
export class EncodedHeaders implements MsgHdrs {
  private decoded: MsgHdrs | undefined;

  constructor(
    private readonly entries: readonly HeaderEntry[],
    private readonly msgId: string | undefined,
    private readonly bytes: Uint8Array,
  ) {}

  encode(): Uint8Array {
    return this.bytes;
  }

  /** Bytes on the wire (for size checks before publishing). */
  get length(): number {
    return this.bytes.length;
  }

  private full(): MsgHdrs {
    if (!this.decoded) {
      const h = natsHeaders();
      for (const [k, v] of this.entries) if (this.msgId === undefined || k !== MSG_ID) h.append(k, cleanValue(v));
      if (this.msgId !== undefined) h.set(MSG_ID, cleanValue(this.msgId));
      this.decoded = h;
    }
    return this.decoded;
  }

  get hasError(): boolean {
    return false;
  }
  get status(): string {
    return '';
  }
  get code(): number {
    return 0;
  }
  get description(): string {
    return '';
  }
  get(k: string, match?: Match): string {
    return this.full().get(k, match);
  }
  set(k: string, v: string, match?: Match): void {
    this.mutate().set(k, v, match);
  }
  append(k: string, v: string, match?: Match): void {
    this.mutate().append(k, v, match);
  }
  has(k: string, match?: Match): boolean {
    return this.full().has(k, match);
  }
  keys(): string[] {
    return this.full().keys();
  }
  values(k: string, match?: Match): string[] {
    return this.full().values(k, match);
  }
  delete(k: string, match?: Match): void {
    this.mutate().delete(k, match);
  }
  last(k: string, match?: Match): string {
    return this.full().last(k, match);
  }
  [Symbol.iterator](): Iterator<[string, string[]]> {
    return this.full()[Symbol.iterator]();
  }

  /** A changed block must be re-encoded: from here on encode() serialises the MsgHdrs. */
  private mutate(): MsgHdrs {
    const h = this.full();
    this.encode = () => (h as MsgHdrs & { encode(): Uint8Array }).encode();
    return h;
  }
}

const MSG_ID = 'Nats-Msg-Id';
// Header names repeat on every message: validate each once (bounded set).
const validNames = new Set<string>();

function checkName(name: string): void {
  if (validNames.has(name)) return;
  const problem = headerNameProblem(name);
  if (problem) throw new HeaderNameError(`header name ${JSON.stringify(name)} ${problem}`);
  if (validNames.size >= 4096) validNames.clear();
  validNames.add(name);
}

// Header blocks are written straight into a shared slab, one subarray per message: no
// string concatenation per line and no string-to-bytes pass. A slab is retired when the
// next block does not fit; messages still in flight keep theirs alive.
const SLAB_SIZE = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;
const PREAMBLE_BYTES = Buffer.from(PREAMBLE, 'latin1');
const MSG_ID_LINE = Buffer.from(`${MSG_ID}: `, 'latin1');

/**
 * Encode header entries (in order; a repeated name keeps its values together at its first
 * position, as MsgHdrs does) plus `Nats-Msg-Id` when msgId is given (replacing an entry of
 * that exact name). Throws HeaderNameError if a name is not a legal header name.
 */
export function encodeHeaders(entries: readonly HeaderEntry[], msgId: string | undefined): EncodedHeaders {
  // Upper bound: names are ASCII (checked), a value's UTF-16 unit is at most 3 UTF-8 bytes.
  let bound = PREAMBLE_BYTES.length + 2 + (msgId === undefined ? 0 : MSG_ID_LINE.length + 3 * msgId.length + 2);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    checkName(e[0]);
    for (let j = 0; j < i; j++) if (entries[j]![0] === e[0]) return encodeGrouped(entries, msgId);
    bound += e[0].length + 2 + 3 * e[1].length + 2;
  }
  if (slabUsed + bound > slab.length) {
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, bound));
    slabUsed = 0;
  }
  const b = slab;
  const start = slabUsed;
  let p = start + PREAMBLE_BYTES.copy(b, start);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (msgId !== undefined && e[0] === MSG_ID) continue;
    p += b.write(e[0], p, 'latin1');
    b[p++] = 0x3a; // ':'
    b[p++] = 0x20;
    p += b.write(cleanValue(e[1]), p, 'utf8');
    b[p++] = 0x0d;
    b[p++] = 0x0a;
  }
  if (msgId !== undefined) {
    p += MSG_ID_LINE.copy(b, p);
    p += b.write(cleanValue(msgId), p, 'utf8');
    b[p++] = 0x0d;
    b[p++] = 0x0a;
  }
  b[p++] = 0x0d;
  b[p++] = 0x0a;
  slabUsed = p;
  return new EncodedHeaders(entries, msgId, b.subarray(start, p));
}

/** A name that repeats: its values are gathered at its first position (rare path). */
function encodeGrouped(entries: readonly HeaderEntry[], msgId: string | undefined): EncodedHeaders {
  let s = PREAMBLE + grouped(entries, msgId);
  if (msgId !== undefined) s += MSG_ID + ': ' + cleanValue(msgId) + '\r\n';
  s += '\r\n';
  return new EncodedHeaders(entries, msgId, Buffer.from(s, 'utf8'));
}

/** The header lines with repeated names gathered at their first position (rare path). */
function grouped(entries: readonly HeaderEntry[], msgId: string | undefined): string {
  const groups = new Map<string, string[]>();
  for (const [k, v] of entries) {
    if (msgId !== undefined && k === MSG_ID) continue;
    const g = groups.get(k);
    if (g) g.push(v);
    else groups.set(k, [v]);
  }
  let s = '';
  for (const [k, vs] of groups) for (const v of vs) s += k + ': ' + cleanValue(v) + '\r\n';
  return s;
}
