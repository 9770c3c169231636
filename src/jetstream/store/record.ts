// The on-disk record of the file store. Every record is self-describing and
// checksummed so recovery can walk a block and stop exactly at the first torn
// or damaged record:
//
//   off  size  field
//     0     4  total record length, including this field and the CRC (LE)
//     4     1  kind: 1 message, 2 tombstone (seq was removed), 3 floor (every seq < seq is removed)
//     5     8  seq (LE; < 2^53)
//    13     8  timestamp ns (LE, signed)
//    21     2  subject length
//    23     4  header length (0 = no header)
//    27     …  subject, header, data
//   len-4   4  CRC-32 of bytes [0, len-4)
//
// Tombstones and floors carry no subject or payload. A floor's timestamp is the
// stream's last store time, so an emptied stream keeps last_ts across restarts.

import * as zlib from 'node:zlib';

export const RECORD_HEADER = 27;
export const RECORD_OVERHEAD = RECORD_HEADER + 4;
export const KIND_MSG = 1;
export const KIND_TOMBSTONE = 2;
export const KIND_FLOOR = 3;
const MAX_SUBJECT = 0xffff;

/** CRC-32 (IEEE). zlib.crc32 exists from Node 20.15; older 20.x get a table version. */
const crc32: (data: Buffer, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (zlib as unknown as { crc32: (d: Buffer, v?: number) => number }).crc32
    : tableCrc32;

let table: Uint32Array | undefined;
function tableCrc32(data: Buffer, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function messageRecordLength(subjectLen: number, hdrLen: number, dataLen: number): number {
  return RECORD_OVERHEAD + subjectLen + hdrLen + dataLen;
}

export function checkSubjectLength(subjectLen: number): boolean {
  return subjectLen <= MAX_SUBJECT;
}

function writeHead(buf: Buffer, off: number, len: number, kind: number, seq: number, ts: bigint, sl: number, hl: number): void {
  buf.writeUInt32LE(len, off);
  buf[off + 4] = kind;
  buf.writeUInt32LE(seq % 0x1_0000_0000, off + 5);
  buf.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), off + 9);
  buf.writeBigInt64LE(ts, off + 13);
  buf.writeUInt16LE(sl, off + 21);
  buf.writeUInt32LE(hl, off + 23);
}

function seal(buf: Buffer, off: number, len: number): void {
  buf.writeUInt32LE(crc32(buf.subarray(off, off + len - 4)), off + len - 4);
}

/** Encode a message record into buf at off (buf must have room); returns the record length. */
export function encodeMessage(
  buf: Buffer,
  off: number,
  seq: number,
  ts: bigint,
  subject: string,
  subjectLen: number,
  hdr: Buffer | null,
  data: Buffer,
): number {
  const hl = hdr === null ? 0 : hdr.length;
  const len = messageRecordLength(subjectLen, hl, data.length);
  writeHead(buf, off, len, KIND_MSG, seq, ts, subjectLen, hl);
  let p = off + RECORD_HEADER;
  p += buf.write(subject, p, subjectLen, 'utf8');
  if (hdr !== null) p += hdr.copy(buf, p);
  data.copy(buf, p);
  seal(buf, off, len);
  return len;
}

/** Encode a tombstone (kind 2) or floor (kind 3) record; returns its length. */
export function encodeMarker(buf: Buffer, off: number, kind: typeof KIND_TOMBSTONE | typeof KIND_FLOOR, seq: number, ts: bigint): number {
  writeHead(buf, off, RECORD_OVERHEAD, kind, seq, ts, 0, 0);
  seal(buf, off, RECORD_OVERHEAD);
  return RECORD_OVERHEAD;
}

export interface DecodedRecord {
  kind: number;
  seq: number;
  ts: bigint;
  /** Total length of the record. */
  len: number;
  subjectLen: number;
  hdrLen: number;
}

/**
 * Read the record at off. Returns undefined when the bytes from off are not a
 * whole valid record (truncated, bad length, bad kind or CRC mismatch): the
 * caller treats everything from off as a damaged tail.
 */
export function decodeRecord(buf: Buffer, off: number, end: number): DecodedRecord | undefined {
  if (end - off < RECORD_OVERHEAD) return undefined;
  const len = buf.readUInt32LE(off);
  if (len < RECORD_OVERHEAD || len > end - off) return undefined;
  const kind = buf[off + 4]!;
  if (kind !== KIND_MSG && kind !== KIND_TOMBSTONE && kind !== KIND_FLOOR) return undefined;
  const subjectLen = buf.readUInt16LE(off + 21);
  const hdrLen = buf.readUInt32LE(off + 23);
  if (RECORD_OVERHEAD + subjectLen + hdrLen > len) return undefined;
  if (crc32(buf.subarray(off, off + len - 4)) !== buf.readUInt32LE(off + len - 4)) return undefined;
  const seq = buf.readUInt32LE(off + 5) + buf.readUInt32LE(off + 9) * 0x1_0000_0000;
  const ts = buf.readBigInt64LE(off + 13);
  return { kind, seq, ts, len, subjectLen, hdrLen };
}

/** The subject of the message record at off. */
export function messageSubject(buf: Buffer, off: number): string {
  const s = off + RECORD_HEADER;
  return buf.toString('utf8', s, s + buf.readUInt16LE(off + 21));
}

/** Header and data of the message record at off, as views into buf (already validated or written by us). */
export function messageBody(buf: Buffer, off: number): { hdr: Buffer | null; data: Buffer } {
  const len = buf.readUInt32LE(off);
  const sl = buf.readUInt16LE(off + 21);
  const hl = buf.readUInt32LE(off + 23);
  const h = off + RECORD_HEADER + sl;
  return { hdr: hl === 0 ? null : buf.subarray(h, h + hl), data: buf.subarray(h + hl, off + len - 4) };
}
