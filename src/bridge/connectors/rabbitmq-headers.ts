// Lossless AMQP 0-9-1 properties and typed header tables <-> NATS string headers.
// Kept apart from rabbitmq.ts (and free of amqplib imports) so the coming RabbitMQ sink can
// decode what the source encoded, and so the codec is testable on its own.
//
// Properties become fixed headers (Amqp-Message-Id, Amqp-Timestamp, ...). Each AMQP header
// becomes `Amqp-Header-<name>`; the name is %XX-escaped where NATS header names cannot carry
// a character. A value that is a plain single-line string is carried verbatim (readable for
// NATS consumers); every other value (numbers, booleans, null, bytes, nested tables, arrays,
// amqplib's {'!': 'timestamp'|'decimal'} forms, and strings that could be misread) is
// `~json:` + JSON, with Buffers as {"!":"bytes","value":"<base64>"}.
import type { HeaderEntry } from '../connector.js';

export const AMQP_PROPERTY_HEADERS = {
  contentType: 'Amqp-Content-Type',
  contentEncoding: 'Amqp-Content-Encoding',
  deliveryMode: 'Amqp-Delivery-Mode',
  priority: 'Amqp-Priority',
  correlationId: 'Amqp-Correlation-Id',
  replyTo: 'Amqp-Reply-To',
  expiration: 'Amqp-Expiration',
  messageId: 'Amqp-Message-Id',
  timestamp: 'Amqp-Timestamp',
  type: 'Amqp-Type',
  userId: 'Amqp-User-Id',
  appId: 'Amqp-App-Id',
  clusterId: 'Amqp-Cluster-Id',
} as const;
export type AmqpPropertyName = keyof typeof AMQP_PROPERTY_HEADERS;
export const HEADER_PREFIX = 'Amqp-Header-';
const JSON_MARK = '~json:';

/** Escape an AMQP header name into NATS header-name characters (printable ASCII minus ':'). */
export function escapeHeaderName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    if (b > 0x20 && b < 0x7f && b !== 0x3a && b !== 0x25) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function unescapeHeaderName(name: string): string {
  return Buffer.from(name.replace(/%([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

function needsJson(s: string): boolean {
  if (s.length === 0) return false;
  // Fast path for the common value: no leading '~', no edge whitespace, no CR/LF/NUL.
  const a = s.charCodeAt(0);
  const z = s.charCodeAt(s.length - 1);
  if (a === 0x7e || a <= 0x20 || z <= 0x20 || a === 0xa0 || z === 0xa0 || a > 0x7f || z > 0x7f) return s.startsWith('~') || /[\r\n\0]/.test(s) || s !== s.trim();
  return /[\r\n\0]/.test(s);
}

function toJson(v: unknown): string {
  return JSON.stringify(v, function (this: unknown, _k, val: unknown) {
    // Buffer's toJSON runs before the replacer; turn its {type:'Buffer',data} into our form.
    if (val && typeof val === 'object' && (val as { type?: unknown }).type === 'Buffer' && Array.isArray((val as { data?: unknown }).data)) {
      return { '!': 'bytes', value: Buffer.from((val as { data: number[] }).data).toString('base64') };
    }
    return val;
  });
}

/** Encode one header value. */
export function encodeHeaderValue(v: unknown): string {
  if (typeof v === 'string' && !needsJson(v)) return v;
  return JSON_MARK + toJson(v);
}

/** Decode one header value (for the sink direction). */
export function decodeHeaderValue(s: string): unknown {
  if (!s.startsWith(JSON_MARK)) return s;
  return JSON.parse(s.slice(JSON_MARK.length), (_k, val: unknown) => {
    if (val && typeof val === 'object' && (val as { '!'?: unknown })['!'] === 'bytes') {
      return Buffer.from(String((val as { value: unknown }).value), 'base64');
    }
    return val;
  });
}

const PROPERTY_LIST = Object.entries(AMQP_PROPERTY_HEADERS) as ReadonlyArray<readonly [AmqpPropertyName, string]>;
// Header names repeat on every message of a queue: escape each once.
const escapedNames = new Map<string, string>();

function headerName(k: string): string {
  let n = escapedNames.get(k);
  if (n === undefined) {
    n = HEADER_PREFIX + escapeHeaderName(k);
    if (escapedNames.size > 10_000) escapedNames.clear(); // bound the cache against unbounded name sets
    escapedNames.set(k, n);
  }
  return n;
}

// Entries are collected in a scratch array and copied out at their exact count: an array
// grown by push() keeps ~17 empty slots, and the engine holds every in-flight message's entries.
const scratch: HeaderEntry[] = [];
// Most (name, value) pairs repeat on every delivery of a queue (exchange, routing key,
// delivery mode, content type...). Entries are immutable, so each fixed slot reuses its
// last one when the value is the same instead of allocating a new pair per message.
const EXCHANGE_SLOT = PROPERTY_LIST.length;
const ROUTING_KEY_SLOT = PROPERTY_LIST.length + 1;
const lastEntry: Array<HeaderEntry | undefined> = new Array<HeaderEntry | undefined>(PROPERTY_LIST.length + 2).fill(undefined);

function entry(slot: number, name: string, value: string): HeaderEntry {
  const last = lastEntry[slot];
  if (last !== undefined && last[1] === value) return last;
  const e: HeaderEntry = [name, value];
  lastEntry[slot] = e;
  return e;
}

/** All properties and headers of a delivery as NATS header entries. */
export function encodeAmqpHeaders(
  properties: Partial<Record<AmqpPropertyName, unknown>> & { headers?: Record<string, unknown> | undefined },
  fields: { exchange: string; routingKey: string },
): HeaderEntry[] {
  const out = scratch;
  out[0] = entry(EXCHANGE_SLOT, 'Amqp-Exchange', encodeHeaderValue(fields.exchange));
  out[1] = entry(ROUTING_KEY_SLOT, 'Amqp-Routing-Key', encodeHeaderValue(fields.routingKey));
  let n = 2;
  for (let i = 0; i < PROPERTY_LIST.length; i++) {
    const [prop, header] = PROPERTY_LIST[i]!;
    const v = properties[prop];
    if (v !== undefined && v !== null) out[n++] = entry(i, header, typeof v === 'number' ? String(v) : encodeHeaderValue(v));
  }
  const headers = properties.headers;
  if (headers) {
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined) out[n++] = [headerName(k), encodeHeaderValue(v)];
    }
  }
  return out.slice(0, n);
}
