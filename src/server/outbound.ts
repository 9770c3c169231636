// OutboundBuffer: the bytes waiting to be written to one connection.
//
// Delivering a message only copies bytes into `buf` (a growable Buffer); the
// connection is then flushed ONCE at the end of the producer's read callback
// (or by a setImmediate fallback for output produced outside a read), so many
// messages share one socket.write. Large payloads (>= LARGE_PAYLOAD) are not
// copied: the bytes before them are sealed into a chunk and the payload Buffer
// itself is queued, so a fan-out shares one payload.
//
// socket.write() does not copy, so a flushed buffer is handed off and a new
// one is started; its size adapts to what the last flush needed.
import type { Socket } from 'node:net';

export const LARGE_PAYLOAD = 32 * 1024;
const MIN_SIZE = 1024;
const START_SIZE = 4096;
const MAX_KEEP = 1024 * 1024;

export class OutboundBuffer {
  buf: Buffer;
  len = 0;
  /** Sealed chunks waiting in front of `buf` (only when large payloads were queued). */
  private chunks: Buffer[] | null = null;
  private chunkBytes = 0;

  constructor(size = START_SIZE) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private dvBuf: Buffer | null = null;
  private dv: DataView | null = null;

  /** A DataView over `buf` (remade when buf is replaced), for word-wise copies. */
  dataView(): DataView {
    if (this.dvBuf !== this.buf || this.dv === null) {
      this.dvBuf = this.buf;
      this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    }
    return this.dv;
  }

  /** Bytes queued here and not yet handed to the socket. */
  get pending(): number {
    return this.len + this.chunkBytes;
  }

  /** Make room for n more bytes in `buf`. */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** Append bytes [s, e) of src. */
  appendRange(src: Buffer, s: number, e: number): void {
    const n = e - s;
    if (this.len + n > this.buf.length) this.ensure(n);
    src.copy(this.buf, this.len, s, e);
    this.len += n;
  }

  append(src: Buffer): void {
    const n = src.length;
    if (this.len + n > this.buf.length) this.ensure(n);
    src.copy(this.buf, this.len);
    this.len += n;
  }

  appendByte(b: number): void {
    if (this.len + 1 > this.buf.length) this.ensure(1);
    this.buf[this.len++] = b;
  }

  appendCRLF(): void {
    if (this.len + 2 > this.buf.length) this.ensure(2);
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
  }

  /** ASCII text (control lines built outside the hot path). */
  appendString(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (this.len + n > this.buf.length) this.ensure(n);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** Queue a large buffer without copying it (it must not change until written). */
  appendShared(src: Buffer): void {
    if (this.chunks === null) this.chunks = [];
    if (this.len > 0) {
      this.chunks.push(this.buf.subarray(0, this.len));
      this.chunkBytes += this.len;
      this.buf = Buffer.allocUnsafe(Math.max(MIN_SIZE, Math.min(this.buf.length, START_SIZE)));
      this.len = 0;
    }
    this.chunks.push(src);
    this.chunkBytes += src.length;
  }

  /**
   * Hand everything to the socket: one write, or a corked run of writes when
   * large payloads were queued. Returns socket.write's result (false: above
   * the socket's high-water mark).
   */
  flushTo(socket: Socket): boolean {
    let ok = true;
    const used = this.len;
    if (this.chunks !== null) {
      const chunks = this.chunks;
      this.chunks = null;
      this.chunkBytes = 0;
      socket.cork();
      for (let k = 0; k < chunks.length; k++) ok = socket.write(chunks[k]!);
      if (used > 0) ok = socket.write(this.buf.subarray(0, used));
      socket.uncork();
    } else if (used > 0) {
      ok = socket.write(this.buf.subarray(0, used));
    } else {
      return true;
    }
    if (socket.writableLength === 0) {
      // Written synchronously (nothing left queued in the stream): the kernel has the bytes, reuse the buffer.
      this.len = 0;
      return ok;
    }
    // The written bytes now belong to the socket until the write completes: start a fresh buffer sized to recent use.
    let size = this.buf.length;
    if (used < size >> 2 && size > MIN_SIZE) size >>= 1;
    if (size > MAX_KEEP && used < MAX_KEEP) size = MAX_KEEP;
    this.buf = Buffer.allocUnsafe(size);
    this.len = 0;
    return ok;
  }

  /** Drop everything (connection closed). */
  reset(): void {
    this.chunks = null;
    this.chunkBytes = 0;
    this.len = 0;
    if (this.buf.length > START_SIZE) this.buf = Buffer.allocUnsafe(START_SIZE);
  }
}
