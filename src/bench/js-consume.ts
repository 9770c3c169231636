// JetStream durable consume with explicit acks (`tern bench --js consume`):
// a durable pull consumer on an existing stream, fetched in batches with
// up to two pull requests in flight, every message acked (+ACK, an empty
// payload to its reply subject). Acks and the next pull go out in one write
// per socket read. The run counts distinct stream sequences: it fails on a
// duplicate, an out-of-range sequence, an error status, or when messages
// stop arriving for `timeoutMs`; after the last message it checks that the
// server applied every ack (no ack pending, ack floor at the last message).
import { type ConnectOptions, type InboundFrame } from './connection.js';
import { checkStreamName, frameStatus, JsBenchClient, JsBenchError, type ConsumerInfo } from './js-client.js';
import { now } from './clients.js';
import { findHeader, NATS_PENDING_MESSAGES } from '../protocol/headers.js';
import type { Sample } from './report.js';

export interface JsConsumeOptions {
  connect: ConnectOptions;
  stream: string;
  durable: string;
  /** Messages to consume: the first `msgs` of the stream (or of `filter`). */
  msgs: number;
  /** Messages per pull request. */
  batch: number;
  /** Optional filter subject for the consumer. */
  filter?: string;
  timeoutMs: number;
}

export interface JsConsumeResult {
  sample: Sample;
  received: number;
  consumer: ConsumerInfo;
}

/** Pull requests expire after this long; a 408 then just returns their unfilled part. */
const PULL_EXPIRES_MS = 5_000;

export async function runJsConsume(
  opts: JsConsumeOptions,
  onProgress?: (received: number, total: number) => void,
): Promise<JsConsumeResult> {
  if (opts.msgs < 1) throw new JsBenchError('-n must be at least 1');
  if (opts.batch < 1) throw new JsBenchError('--batch must be at least 1');
  checkStreamName(opts.stream);
  checkStreamName(opts.durable, 'durable');
  const client = await JsBenchClient.open({ ...opts.connect, name: 'tern-bench-js-consume' });
  try {
    const info = await client.streamInfo(opts.stream);
    if (!opts.filter && info.state.messages < opts.msgs) {
      throw new JsBenchError(`stream ${opts.stream} holds ${info.state.messages} messages; ${opts.msgs} requested (-n)`);
    }
    const config: Record<string, unknown> & { durable_name: string } = {
      durable_name: opts.durable,
      ack_policy: 'explicit',
      deliver_policy: 'all',
      // Long enough that nothing is redelivered during a run: a redelivery is a failure here.
      ack_wait: 120 * 1e9,
      max_ack_pending: Math.max(1000, 4 * opts.batch),
    };
    if (opts.filter) config.filter_subject = opts.filter;
    const created = await client.createDurable(opts.stream, config);
    if (created.delivered.stream_seq > 0 || created.num_ack_pending > 0) {
      throw new JsBenchError(`durable ${opts.durable} on ${opts.stream} has already delivered messages; use a new --durable name`);
    }
    const pulls = await client.subscribe('p');
    const { sample, received } = await consume(client, pulls, opts, info.state.first_seq, onProgress);
    const consumer = await waitForAcks(client, opts, received);
    return { sample, received, consumer };
  } finally {
    client.close();
  }
}

function consume(
  client: JsBenchClient,
  pulls: { prefix: string; sid: string },
  opts: JsConsumeOptions,
  firstSeq: number,
  onProgress?: (received: number, total: number) => void,
): Promise<{ sample: Sample; received: number }> {
  const { msgs, batch } = opts;
  const nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${opts.stream}.${opts.durable}`;
  // Without a filter the consumer sees stream sequences firstSeq.. in order; with one, any.
  const seen = opts.filter ? new Set<number>() : null;
  const seenBits = opts.filter ? null : new Uint8Array(msgs);
  // Open pull requests, oldest first, with what each still waits for. Pulled
  // messages carry the stream subject, not the request's inbox, so they are
  // credited to the oldest request (the server fills waiting requests in order);
  // a 408/404 status names its request and says how many it left unfilled.
  const open = new Map<string, number>();
  let pullId = 0;
  let requested = 0; // asked for by requests still open or fulfilled
  let received = 0;
  let bytes = 0;
  let out: string[] = [];
  let start = 0;
  let lastAt = now();

  const pull = (n: number): void => {
    const reply = `${pulls.prefix}${pullId++}`;
    const body = `{"batch":${n},"expires":${PULL_EXPIRES_MS * 1e6}}`;
    open.set(reply, n);
    requested += n;
    out.push(`PUB ${nextSubject} ${reply} ${body.length}\r\n${body}\r\n`);
  };
  /** Keeps up to two batches asked for and not yet delivered. */
  const topUp = (): void => {
    while (requested - received <= batch && requested < msgs) pull(Math.min(batch, msgs - requested));
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (e: Error | null): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      client.detachHandlers();
      if (e) return reject(e);
      // The last acks, then a round trip so the server has read them before the clock stops.
      if (out.length > 0) void client.write(out.join(''));
      out = [];
      client.flush().then(
        () => resolve({ sample: { jobMsgCnt: received, msgBytes: bytes, start, end: now() }, received }),
        reject,
      );
    };

    const onStatus = (f: InboundFrame, code: number, text: string): void => {
      if (code === 100) return; // idle heartbeat
      if (code !== 408 && code !== 404) return finish(new JsBenchError(`pull request failed: ${code} ${text}`));
      // Expired (408) or nothing available (404): the request ends; its unfilled part is asked again.
      const left = open.get(f.subject);
      if (left === undefined) return finish(new JsBenchError(`status ${code} for an unknown pull request '${f.subject}'`));
      open.delete(f.subject);
      const pending = findHeader(f.data.subarray(0, f.hdrLen), NATS_PENDING_MESSAGES)?.trim();
      const unfilled = pending !== undefined && /^\d+$/.test(pending) ? Number(pending) : left;
      requested -= unfilled;
    };

    client.onFrame = (f: InboundFrame) => {
      if (settled || f.sid !== pulls.sid) return;
      const st = frameStatus(f);
      if (st) return onStatus(f, st.code, st.text);
      if (!f.reply.startsWith('$JS.ACK.')) return finish(new JsBenchError(`message without an ack subject (reply '${f.reply}')`));
      // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending> (v1), or v2 with domain and account hash first.
      const t = f.reply.split('.');
      const off = t.length >= 12 ? 4 : 2;
      const delivered = Number(t[off + 2]);
      const sseq = Number(t[off + 3]);
      if (delivered !== 1) return finish(new JsBenchError(`stream message ${sseq} redelivered (delivery ${delivered})`));
      if (seenBits) {
        const i = sseq - firstSeq;
        if (!(i >= 0 && i < msgs)) return finish(new JsBenchError(`unexpected stream sequence ${sseq} (expected ${firstSeq}..${firstSeq + msgs - 1})`));
        if (seenBits[i] === 1) return finish(new JsBenchError(`stream message ${sseq} delivered twice`));
        seenBits[i] = 1;
      } else {
        if (seen!.has(sseq)) return finish(new JsBenchError(`stream message ${sseq} delivered twice`));
        seen!.add(sseq);
      }
      for (const [reply, left] of open) {
        if (left <= 1) open.delete(reply);
        else open.set(reply, left - 1);
        break;
      }
      received++;
      bytes += f.data.length - f.hdrLen;
      out.push(`PUB ${f.reply} 0\r\n\r\n`);
    };
    client.conn.afterData = () => {
      if (settled) return;
      lastAt = now();
      if (received >= msgs) return finish(null);
      topUp();
      if (out.length > 0) {
        void client.write(out.join(''));
        out = [];
      }
    };
    client.onFailure = (e) => finish(e);

    const watchdog = setInterval(() => {
      onProgress?.(received, msgs);
      if (now() - lastAt > opts.timeoutMs) {
        finish(new JsBenchError(`messages stopped for ${opts.timeoutMs} ms: received ${received} of ${msgs}`));
      }
    }, Math.min(250, opts.timeoutMs));
    start = now();
    topUp();
    void client.write(out.join(''));
    out = [];
  });
}

/** nats-server applies acks asynchronously: poll consumer info briefly until every ack shows. */
async function waitForAcks(client: JsBenchClient, opts: JsConsumeOptions, received: number): Promise<ConsumerInfo> {
  const deadline = Date.now() + Math.min(5_000, opts.timeoutMs);
  for (;;) {
    const ci = await client.consumerInfo(opts.stream, opts.durable);
    const done = ci.num_ack_pending === 0 && ci.delivered.consumer_seq === received && ci.ack_floor.consumer_seq === received;
    if (done) return ci;
    if (Date.now() > deadline) {
      throw new JsBenchError(
        `consumer ${opts.durable}: after ${received} messages and acks the server shows ${ci.num_ack_pending} acks pending, ` +
          `delivered ${ci.delivered.consumer_seq}, ack floor ${ci.ack_floor.consumer_seq}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
