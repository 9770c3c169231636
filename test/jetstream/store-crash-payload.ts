// The deterministic 128-byte payload of seq n in the crash test, so the parent
// can verify every recovered message byte for byte.
export function payloadFor(seq: number): Buffer {
  const b = Buffer.alloc(128);
  for (let i = 0; i < 128; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  b.writeUInt32BE(seq, 0);
  return b;
}
