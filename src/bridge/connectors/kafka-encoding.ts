// Kafka -> NATS message encoding (lossless). Kept apart from kafka.ts (types-only kafkajs
// import) so the codec reads and tests on its own, like rabbitmq-headers.ts.
//
//   body             the value bytes (a null value, i.e. a tombstone, adds Kafka-Tombstone: true)
//   Kafka-Topic / Kafka-Partition / Kafka-Offset / Kafka-Timestamp (ms since epoch)
//   Kafka-Key        the key as UTF-8; keys that are not clean UTF-8 text are base64 with
//                    Kafka-Key-Encoding: base64. No header when the key is null.
//   Kafka headers    same name, one entry per value; values that are not clean UTF-8 text
//                    are base64 and their names listed in Kafka-Base64-Headers (comma separated).
//                    Names that NATS cannot carry (':' , whitespace, control, non-ASCII)
//                    are %XX-escaped (and '%' itself).
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { HeaderEntry } from '../connector.js';

/** Text that can travel as a NATS header value as is: valid UTF-8 without CR/LF/NUL. */
function asHeaderText(b: Buffer): string | undefined {
  const s = b.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(b)) return undefined;
  return /[\r\n\0]/.test(s) ? undefined : s;
}

/** NATS header names are printable ASCII without ':'; escape the rest as %XX of UTF-8. */
export function escapeHeaderName(name: string): string {
  if (name === '') return '%';
  if (/^[!-9;-~]+$/.test(name) && !name.includes('%')) return name;
  let out = '';
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c > 0x20 && c < 0x7f && ch !== ':' && ch !== '%') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export interface EncodedKafkaMessage {
  headers: HeaderEntry[];
  tokens: Record<string, string>;
  body: Uint8Array;
}

export function encodeKafkaMessage(topic: string, partition: number, m: KafkaMessage): EncodedKafkaMessage {
  const headers: HeaderEntry[] = [
    ['Kafka-Topic', topic],
    ['Kafka-Partition', String(partition)],
    ['Kafka-Offset', m.offset],
    ['Kafka-Timestamp', m.timestamp],
  ];
  const tokens: Record<string, string> = {
    topic,
    partition: String(partition),
    offset: m.offset,
    timestamp: m.timestamp,
  };
  if (m.key !== null && m.key !== undefined) {
    const text = asHeaderText(m.key);
    if (text !== undefined) {
      headers.push(['Kafka-Key', text]);
      tokens.key = text;
    } else {
      const b64 = m.key.toString('base64');
      headers.push(['Kafka-Key', b64], ['Kafka-Key-Encoding', 'base64']);
      tokens.key = b64;
    }
  }
  if (m.value === null) headers.push(['Kafka-Tombstone', 'true']);
  const binary: string[] = [];
  const kh: IHeaders = m.headers ?? {};
  for (const [rawName, raw] of Object.entries(kh)) {
    if (raw === undefined) continue;
    const name = escapeHeaderName(rawName);
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      const buf = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      const text = asHeaderText(buf);
      if (text !== undefined) headers.push([name, text]);
      else {
        headers.push([name, buf.toString('base64')]);
        if (!binary.includes(name)) binary.push(name);
      }
    }
  }
  if (binary.length > 0) headers.push(['Kafka-Base64-Headers', binary.join(',')]);
  return { headers, tokens, body: m.value ?? new Uint8Array(0) };
}
