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

/**
 * Encode header entries (in order; a repeated name keeps its values together at its first
 * position, as MsgHdrs does) plus `Nats-Msg-Id` when msgId is given (replacing an entry of
 * that exact name). Throws HeaderNameError if a name is not a legal header name.
 */
export function encodeHeaders(entries: readonly HeaderEntry[], msgId: string | undefined): EncodedHeaders {
  let s = PREAMBLE;
  let repeated = false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const name = e[0];
    if (msgId !== undefined && name === MSG_ID) continue;
    checkName(name);
    for (let j = 0; j < i && !repeated; j++) if (entries[j]![0] === name) repeated = true;
    s += name + ': ' + cleanValue(e[1]) + '\r\n';
  }
  if (repeated) s = PREAMBLE + grouped(entries, msgId);
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
