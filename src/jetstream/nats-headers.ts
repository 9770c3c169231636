// The few NATS header-block operations JetStream needs: read one header
// (case-sensitive key, as nats-server's getHeader), and build status-only
// blocks (`NATS/1.0 408 Request Timeout\r\nK: V\r\n\r\n`) for control messages.

const CRLF = '\r\n';

/** The value of `key` in a raw header block, or undefined. Keys compare case-sensitively. */
export function getHeader(hdr: Buffer | null, key: string): string | undefined {
  if (hdr === null || hdr.length === 0) return undefined;
  const text = hdr.toString('latin1');
  let pos = text.indexOf(CRLF);
  while (pos >= 0 && pos < text.length) {
    const start = pos + 2;
    const end = text.indexOf(CRLF, start);
    if (end < 0 || end === start) return undefined;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end && text.slice(start, colon).trim() === key) {
      return Buffer.from(text.slice(colon + 1, end), 'latin1').toString('utf8').trim();
    }
    pos = end;
  }
  return undefined;
}

/** A header-only status block: `NATS/1.0 <code> <desc>` plus headers. */
export function statusHeader(code: number, description: string, headers: Array<[string, string | number]> = []): Buffer {
  let s = `NATS/1.0 ${code}${description ? ' ' + description : ''}${CRLF}`;
  for (const [k, v] of headers) s += `${k}: ${v}${CRLF}`;
  return Buffer.from(s + CRLF, 'utf8');
}

/** A plain header block (no status) from key/value pairs. */
export function buildHeaders(headers: Array<[string, string | number]>): Buffer {
  let s = `NATS/1.0${CRLF}`;
  for (const [k, v] of headers) s += `${k}: ${v}${CRLF}`;
  return Buffer.from(s + CRLF, 'utf8');
}

export const Hdr = {
  msgId: 'Nats-Msg-Id',
  expectedStream: 'Nats-Expected-Stream',
  expectedLastSeq: 'Nats-Expected-Last-Sequence',
  expectedLastSubjSeq: 'Nats-Expected-Last-Subject-Sequence',
  expectedLastMsgId: 'Nats-Expected-Last-Msg-Id',
  lastConsumer: 'Nats-Last-Consumer',
  lastStream: 'Nats-Last-Stream',
  consumerStalled: 'Nats-Consumer-Stalled',
  pendingMessages: 'Nats-Pending-Messages',
  pendingBytes: 'Nats-Pending-Bytes',
} as const;
