// JetStream async publish (`tern bench --js pub`): like `nats bench js pub
// async`, one publisher keeps a window of W messages awaiting their PubAck.
// Each message carries its own reply subject <inbox>.a.<index>, so every
// PubAck is matched to its message by that token. Only PubAck'd messages
// count; an error PubAck, a duplicate or unknown ack, or acks that stop
// arriving for `timeoutMs` fail the run.
import { type ConnectOptions, type InboundFrame } from './connection.js';
import { frameStatus, JsBenchClient, JsBenchError, checkStreamName } from './js-client.js';
import { now } from './clients.js';
import type { Sample } from './report.js';

export interface JsPubOptions {
  connect: ConnectOptions;
  subject: string;
  stream: string;
  msgs: number;
  size: number;
  /** Messages allowed to await their PubAck at once. */
  window: number;
  /** Create the stream (file or memory storage) on `subject` first. */
  create: boolean;
  storage: 'file' | 'memory';
  /** Fail when no PubAck arrives for this long while some are outstanding. */
  timeoutMs: number;
}

export interface JsPubResult {
  sample: Sample;
  acked: number;
  /** Stream sequence of the first and last PubAck. */
  firstSeq: number;
  lastSeq: number;
}

const SEQ_KEY = Buffer.from('"seq":');
const ERROR_KEY = Buffer.from('"error"');
const DUP_KEY = Buffer.from('"duplicate":true');

export async function runJsPub(opts: JsPubOptions, onProgress?: (acked: number, total: number) => void): Promise<JsPubResult> {
  if (opts.msgs < 1) throw new JsBenchError('-n must be at least 1');
  if (opts.window < 1) throw new JsBenchError('--window must be at least 1');
  checkStreamName(opts.stream);
  const client = await JsBenchClient.open({ ...opts.connect, name: 'tern-bench-js-pub' });
  try {
    let before = 0;
    if (opts.create) {
      const info = await client.createStream({ name: opts.stream, subjects: [opts.subject], storage: opts.storage });
      before = info.state.messages;
    } else {
      const info = await client.streamInfo(opts.stream);
      before = info.state.messages;
    }
    const acks = await client.subscribe('a');
    const result = await publishWindowed(client, acks.prefix, opts, onProgress);
    // Independent of the acks: the stream must hold what was acknowledged
    // (when we own it; a user's stream may have limits that drop old messages).
    if (opts.create) {
      const info = await client.streamInfo(opts.stream);
      if (info.state.messages !== before + result.acked) {
        throw new JsBenchError(
          `stream ${opts.stream} holds ${info.state.messages} messages after ${result.acked} PubAcks (had ${before}): messages lost`,
        );
      }
    }
    return result;
  } finally {
    client.close();
  }
}

function publishWindowed(
  client: JsBenchClient,
  ackPrefix: string,
  opts: JsPubOptions,
  onProgress?: (acked: number, total: number) => void,
): Promise<JsPubResult> {
  const { msgs, size, window } = opts;
  const head = `PUB ${opts.subject} ${ackPrefix}`;
  const tail = ` ${size}\r\n`;
  // Longest frame: head + index digits + tail + payload + CRLF.
  const maxFrame = head.length + String(msgs).length + tail.length + size + 2;
  const batchBuf = Buffer.alloc(maxFrame * window); // zero payloads, written once
  const acked = new Uint8Array(msgs);
  let sent = 0;
  let ackCount = 0;
  let firstSeq = 0;
  let lastSeq = 0;
  let lastAckAt = now();
  let writing = false;
  const start = now();

  return new Promise<JsPubResult>((resolve, reject) => {
    let settled = false;
    const finish = (e: Error | null): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      client.detachHandlers();
      if (e) reject(e);
      else resolve({ sample: { jobMsgCnt: ackCount, msgBytes: ackCount * size, start, end: lastAckAt }, acked: ackCount, firstSeq, lastSeq });
    };

    /** Tops the window up with one write of all the frames that fit. */
    const refill = (): void => {
      if (writing || settled) return;
      const room = Math.min(window - (sent - ackCount), msgs - sent);
      if (room <= 0) return;
      let off = 0;
      for (let k = 0; k < room; k++) {
        off += batchBuf.write(head, off, 'latin1');
        off += batchBuf.write(String(sent + k), off, 'latin1');
        off += batchBuf.write(tail, off, 'latin1');
        batchBuf.fill(0, off, off + size);
        off += size;
        batchBuf[off++] = 13;
        batchBuf[off++] = 10;
      }
      sent += room;
      // The socket may keep a reference to what it could not send yet: write a copy.
      const pending = client.write(Buffer.from(batchBuf.subarray(0, off)));
      if (pending) {
        writing = true;
        pending.then(
          () => {
            writing = false;
            refill();
          },
          (err: Error) => finish(err),
        );
      }
    };

    const onAck = (f: InboundFrame): void => {
      if (!f.subject.startsWith(ackPrefix)) return;
      const idx = Number(f.subject.slice(ackPrefix.length));
      if (!Number.isInteger(idx) || idx < 0 || idx >= sent) return finish(new JsBenchError(`PubAck for unknown message '${f.subject}'`));
      const st = frameStatus(f);
      if (st) {
        const why = st.code === 503 ? `no stream listens on '${opts.subject}'` : `${st.code} ${st.text}`;
        return finish(new JsBenchError(`publish ${idx + 1} failed: ${why}`));
      }
      const body = f.data.subarray(f.hdrLen);
      if (body.indexOf(ERROR_KEY) >= 0) return finish(new JsBenchError(`publish ${idx + 1} failed: ${body.toString('utf8')}`));
      if (body.indexOf(DUP_KEY) >= 0) return finish(new JsBenchError(`publish ${idx + 1} was stored as a duplicate: ${body.toString('utf8')}`));
      const k = body.indexOf(SEQ_KEY);
      if (k < 0) return finish(new JsBenchError(`publish ${idx + 1}: not a PubAck: ${body.toString('utf8').slice(0, 200)}`));
      let seq = 0;
      for (let i = k + SEQ_KEY.length; i < body.length; i++) {
        const c = body[i]!;
        if (c < 48 || c > 57) break;
        seq = seq * 10 + (c - 48);
      }
      if (acked[idx] === 1) return finish(new JsBenchError(`two PubAcks for message ${idx + 1}`));
      acked[idx] = 1;
      firstSeq = ackCount === 0 ? seq : Math.min(firstSeq, seq);
      lastSeq = Math.max(lastSeq, seq);
      ackCount++;
    };

    client.onFrame = onAck;
    // One clock read and one refill per socket read, not per ack.
    client.conn.afterData = () => {
      if (settled) return;
      lastAckAt = now();
      if (ackCount === msgs) {
        // Every message got a PubAck with its own sequence: they must span msgs sequences.
        if (lastSeq - firstSeq + 1 < msgs) {
          return finish(new JsBenchError(`${msgs} PubAcks but only ${lastSeq - firstSeq + 1} stream sequences (${firstSeq}..${lastSeq})`));
        }
        return finish(null);
      }
      refill();
    };
    client.onFailure = (e) => finish(e);

    const watchdog = setInterval(() => {
      onProgress?.(ackCount, msgs);
      if (now() - lastAckAt > opts.timeoutMs) {
        finish(new JsBenchError(`PubAcks stopped for ${opts.timeoutMs} ms: ${ackCount} of ${msgs} acknowledged, ${sent - ackCount} outstanding`));
      }
    }, Math.min(250, opts.timeoutMs));
    refill();
  });
}
