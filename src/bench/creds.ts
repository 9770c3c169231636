// NATS credentials for the bench client: a .creds file (user JWT + NKey seed)
// or a bare NKey seed. The server's INFO nonce is signed with the seed
// (Ed25519) and sent in CONNECT as `sig`, with `jwt` or, without a JWT, the
// public `nkey`. Encoding rules (base32, prefix bytes, CRC16/XMODEM) follow
// the NKeys specification.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';

export interface CredsAuth {
  jwt?: string;
  nkey?: string;
  sig: string;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const PREFIX_SEED = 18 << 3;
/** Ed25519 PKCS#8 DER header; the 32-byte seed follows it. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

function base32Decode(s: string): Buffer {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of s) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`invalid base32 character '${ch}'`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function base32Encode(b: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Decodes an NKey seed ("S..."): the key type's prefix byte and the 32-byte Ed25519 seed. */
export function decodeSeed(seed: string): { typePrefix: number; raw: Buffer } {
  const b = base32Decode(seed.trim());
  if (b.length !== 36) throw new Error('NKey seed has the wrong length');
  const body = b.subarray(0, 34);
  if (crc16(body) !== b.readUInt16LE(34)) throw new Error('NKey seed checksum mismatch');
  if ((b[0]! & 0xf8) !== PREFIX_SEED) throw new Error('not an NKey seed (must start with S)');
  const typePrefix = ((b[0]! & 7) << 5) | ((b[1]! & 0xf8) >> 3);
  return { typePrefix, raw: Buffer.from(b.subarray(2, 34)) };
}

/** NKey type prefix bytes (first character of the public key). */
export const NKEY_PREFIX = { user: 20 << 3, account: 0, operator: 14 << 3 } as const;

/** Encodes a 32-byte Ed25519 seed as an NKey seed string ("SU..." for users). */
export function encodeSeed(typePrefix: number, raw: Buffer): string {
  if (raw.length !== 32) throw new Error('an NKey seed is 32 bytes');
  const body = Buffer.concat([Buffer.from([PREFIX_SEED | (typePrefix >> 5), (typePrefix & 31) << 3]), raw]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body));
  return base32Encode(Buffer.concat([body, crc]));
}

/** The public key ("U...", "A...") of a seed. */
export function publicKeyOf(seed: string): string {
  const { typePrefix, raw } = decodeSeed(seed);
  const pub = createPublicKey(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, raw]), format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' })
    .subarray(-32);
  const body = Buffer.concat([Buffer.from([typePrefix]), pub]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc16(body));
  return base32Encode(Buffer.concat([body, crc]));
}

/** Signs the server nonce with the seed; base64url without padding, as the server expects. */
export function signNonce(seed: string, nonce: string): string {
  const { raw } = decodeSeed(seed);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, raw]), format: 'der', type: 'pkcs8' });
  return sign(null, Buffer.from(nonce, 'utf8'), key).toString('base64url');
}

/** CONNECT fields for a creds (or seed) file's text. `source` names the file in errors. */
export function credsAuth(text: string, nonce: string, source: string): CredsAuth {
  const jwt = /-----BEGIN NATS USER JWT-----\s*([^\s-][^\s]*)\s*-+END NATS USER JWT-+/.exec(text)?.[1];
  const seedBlock = /-----BEGIN USER NKEY SEED-----\s*(S[A-Z2-7]+)\s*-+END USER NKEY SEED-+/.exec(text)?.[1];
  const seed = seedBlock ?? /^\s*(S[A-Z2-7]{50,})\s*$/m.exec(text)?.[1];
  if (!seed) throw new Error(`${source}: no NKey seed found (expected a .creds file or a seed)`);
  if (!nonce) throw new Error(`${source}: the server sent no nonce to sign; it does not use NKey/JWT auth`);
  try {
    const sig = signNonce(seed, nonce);
    return jwt ? { jwt, sig } : { nkey: publicKeyOf(seed), sig };
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}
