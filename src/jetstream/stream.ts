// A stream: captures messages published on its subjects into a StreamStore,
// answers PubAcks, de-duplicates by Nats-Msg-Id within duplicate_window,
// checks the Nats-Expected-* headers, and applies interest / workqueue
// retention on behalf of its consumers.
//
// PubAcks for file streams are sent only once the store says the message is
// durable (whenDurable), in publish order, so an acknowledged message survives
// a crash of the process.
import type { MsgGetRequest, PurgeRequest, StoredMessageJson, StreamConfig, StreamInfo, StreamState } from './api-types.js';
import { JsApiError, JsErr } from './errors.js';
import { EMPTY, type JsTransport } from './transport.js';
import { writeDecimal } from '../server/internal-client.js';
import {
  DedupWindow,
  StoreError,
  findHeader,
  nsToRfc3339,
  NATS_EXPECTED_LAST_MSG_ID,
  NATS_EXPECTED_LAST_SEQ,
  NATS_EXPECTED_LAST_SUBJECT_SEQ,
  NATS_EXPECTED_STREAM,
  NATS_MSG_ID,
  type StoredMessage,
  type StoreLimits,
  type StreamStore,
} from './store/mod.js';
import { subjectMatchesFilter } from '../server/subject.js';
import { appendHeaders, scanPublishHeaders, statusHeader, type PublishHeaders } from '../protocol/headers.js';
import type { Consumer } from './consumer.js';

export interface StreamHost {
  transport: JsTransport;
  /** Persist the stream's config (file streams); called after create/update. */
  saveMeta(stream: Stream): void;
  /** Account-level limit on message payloads (max_payload). */
  maxPayload: number;
  /** Server log at warn level (problems that must not fail the caller). */
  warn(line: string): void;
}

export function storeLimitsOf(cfg: StreamConfig): StoreLimits {
  return {
    max_msgs: cfg.max_msgs,
    max_bytes: cfg.max_bytes,
    max_age: cfg.max_age,
    max_msgs_per_subject: cfg.max_msgs_per_subject,
    max_msg_size: cfg.max_msg_size,
    discard: cfg.discard,
  };
}

/** PubAcks queued within one read that are sent before the read's end (see sendAck). */
const EARLY_ACK_BATCH = 128;
// Read synchronously at the top of processInbound, before anything can re-enter it.
const publishScan: PublishHeaders = { msgId: undefined, expected: false };
// PubAck bodies are written here and copied by publish before the next one is built.
let ackScratch = Buffer.allocUnsafe(256);

export class Stream {
  readonly consumers = new Map<string, Consumer>();
  private subs: unknown[] = [];
  private dedup: DedupWindow;
  private lastMsgId = '';
  /**
   * PubAcks waiting for the store to be durable, in order: reply subjects, and per reply
   * either the body or, for the common `{"stream":..., "seq":N}`, just N (the body is
   * written at flush into one scratch buffer: publish copies it).
   */
  private ackReplies: string[] = [];
  private ackBodies: Array<Buffer | number> = [];
  private readonly ackPrefix: Buffer;
  private ackFlushScheduled = false;
  private closed = false;

  constructor(
    private readonly host: StreamHost,
    public config: StreamConfig,
    readonly created: bigint,
    readonly store: StreamStore,
  ) {
    this.dedup = new DedupWindow(config.duplicate_window);
    this.ackPrefix = Buffer.from(`{"stream":${JSON.stringify(config.name)}, "seq":`, 'utf8');
  }

  get name(): string {
    return this.config.name;
  }

  /** Subscribes to the stream's subjects and rebuilds the dedup window from stored messages. */
  start(): void {
    this.rebuildDedup();
    this.subscribeSubjects();
  }

  private subscribeSubjects(): void {
    const t = this.host.transport;
    for (const s of this.subs) t.unsubscribe(s);
    this.subs = (this.config.subjects ?? []).map((subject) =>
      t.subscribe(subject, null, (subj, reply, hdr, payload) => this.processInbound(subj, reply, hdr, payload)),
    );
    if (this.config.allow_direct) {
      const base = `$JS.API.DIRECT.GET.${this.name}`;
      this.subs.push(t.subscribe(base, null, (_s, reply, _h, payload) => this.directGet(reply, payload, undefined)));
      this.subs.push(t.subscribe(`${base}.>`, null, (subj, reply, _h, payload) => this.directGet(reply, payload, subj.slice(base.length + 1))));
    }
  }

  /** $JS.API.DIRECT.GET: the raw message with Nats-Stream/-Subject/-Sequence/-Time-Stamp headers, or a 404/408 status. */
  private directGet(reply: string, payload: Buffer, lastFor: string | undefined): void {
    if (!reply) return;
    const t = this.host.transport;
    const status = (code: number, desc: string): void => t.publish(reply, '', statusHeader(code, desc), EMPTY);
    let req: MsgGetRequest;
    if (lastFor !== undefined) {
      if (payload.length !== 0) return status(408, 'Bad Request');
      req = { last_by_subj: lastFor };
    } else {
      if (payload.length === 0) return status(408, 'Empty Request');
      try {
        req = JSON.parse(payload.toString('utf8')) as MsgGetRequest;
      } catch {
        return status(408, 'Malformed Request');
      }
      if (!req.seq && !req.last_by_subj && !req.next_by_subj) return status(408, 'Empty Request');
      if ((req.seq && req.last_by_subj) || (req.last_by_subj && req.next_by_subj)) return status(408, 'Bad Request');
    }
    let m: StoredMessage | undefined;
    if (req.next_by_subj) m = this.store.loadNextMatching(req.next_by_subj, req.seq && req.seq > 0 ? req.seq : 1);
    else if (req.seq) m = this.store.load(req.seq);
    else m = this.store.loadLastBySubject(req.last_by_subj!);
    if (!m) return status(404, 'Message Not Found');
    const hdr = appendHeaders(m.hdr, [
      ['Nats-Stream', this.name],
      ['Nats-Subject', m.subject],
      ['Nats-Sequence', m.seq],
      ['Nats-Time-Stamp', nsToRfc3339(m.time)],
    ]);
    t.publish(reply, '', hdr, m.data);
  }

  /** nats-server rebuilds the dedup map from message headers at recovery: the window survives restarts. */
  private rebuildDedup(): void {
    this.dedup = DedupWindow.rebuild(this.store, this.config.duplicate_window);
    const last = this.store.state().last_seq;
    const m = last > 0 ? this.store.load(last) : undefined;
    this.lastMsgId = (m && findHeader(m.hdr, NATS_MSG_ID)) || '';
  }

  /** A message arrived on one of the stream's subjects. */
  processInbound(subject: string, reply: string, hdr: Buffer | null, payload: Buffer): void {
    if (this.closed) return;
    const cfg = this.config;
    const fail = (err: JsApiError): void => {
      if (reply) this.sendAck(reply, Buffer.from(JSON.stringify({ error: err.toJSON(), stream: cfg.name, seq: 0 })));
    };
    if (cfg.sealed) return fail(JsErr.streamSealed());
    const hl = hdr === null ? 0 : hdr.length;
    if (hl > 65536) return fail(JsErr.streamHeaderExceedsMaximum());
    if ((cfg.max_msg_size >= 0 && hl + payload.length > cfg.max_msg_size) || hl + payload.length > this.host.maxPayload) {
      return fail(JsErr.streamMessageExceedsMaximum());
    }
    let msgId: string | undefined;
    if (hdr !== null) {
      // One pass finds Nats-Msg-Id and tells whether the rare Nats-Expected-* headers are there.
      const scan = publishScan;
      scanPublishHeaders(hdr, scan);
      const expected = scan.expected;
      if (expected) {
        const expStream = findHeader(hdr, NATS_EXPECTED_STREAM);
        if (expStream !== undefined && expStream !== cfg.name) return fail(JsErr.streamNotMatch());
      }
      msgId = scan.msgId;
      if (msgId === '') msgId = undefined;
      if (msgId !== undefined) {
        const dupSeq = this.dedup.lookup(msgId);
        if (dupSeq !== undefined) {
          if (reply) this.sendAck(reply, Buffer.from(`{"stream":${JSON.stringify(cfg.name)}, "seq":${dupSeq},"duplicate": true}`));
          return;
        }
      }
      if (expected) {
        const err = this.checkExpectedLast(subject, hdr);
        if (err) return fail(err);
      }
    }

    let seq: number;
    let ts: bigint;
    try {
      ({ seq, ts } = this.store.store(subject, hdr, payload));
    } catch (err) {
      if (err instanceof StoreError) {
        if (err.code === 'max_msg_size') return fail(JsErr.streamMessageExceedsMaximum());
        return fail(JsErr.streamStoreFailed(err.message));
      }
      return fail(JsErr.streamStoreFailed(err instanceof Error ? err.message : String(err)));
    }
    if (msgId !== undefined) {
      this.dedup.record(msgId, seq, ts);
      this.lastMsgId = msgId;
    }
    // Interest retention keeps a message only while some consumer wants it (workqueue keeps it for the future consumer).
    if (cfg.retention === 'interest' && !this.hasInterestIn(subject)) this.store.remove(seq);
    if (reply && !cfg.no_ack) this.sendAck(reply, seq);
    for (const c of this.consumers.values()) c.signalNewMessage(seq, subject);
  }

  /** Nats-Expected-Last-Subject-Sequence, -Last-Sequence, -Last-Msg-Id: the first one violated, if any. */
  private checkExpectedLast(subject: string, hdr: Buffer): JsApiError | undefined {
    const expSubjSeq = findHeader(hdr, NATS_EXPECTED_LAST_SUBJECT_SEQ);
    if (expSubjSeq !== undefined) {
      const want = Number(expSubjSeq);
      const last = this.store.loadLastBySubject(subject)?.seq ?? 0;
      if (!Number.isInteger(want) || want !== last) return JsErr.streamWrongLastSequence(last);
    }
    const expLast = findHeader(hdr, NATS_EXPECTED_LAST_SEQ);
    if (expLast !== undefined) {
      const want = Number(expLast);
      const last = this.store.state().last_seq;
      if (!Number.isInteger(want) || want !== last) return JsErr.streamWrongLastSequence(last);
    }
    const expId = findHeader(hdr, NATS_EXPECTED_LAST_MSG_ID);
    if (expId !== undefined && expId !== this.lastMsgId) return JsErr.streamWrongLastMsgId(this.lastMsgId);
    return undefined;
  }

  private hasInterestIn(subject: string): boolean {
    for (const c of this.consumers.values()) if (c.wantsSubject(subject)) return true;
    return false;
  }

  /** Queues a PubAck (a body, or the seq of a plain one) behind outstanding durability waits, preserving order. */
  private sendAck(reply: string, body: Buffer | number): void {
    if (this.store.kind === 'memory' && this.ackReplies.length === 0) {
      this.publishAck(reply, body);
      return;
    }
    this.ackReplies.push(reply);
    this.ackBodies.push(body);
    // A big read holds hundreds of publishes: acknowledge the first ones while the rest are
    // still being stored, so a publisher with a small window can send more meanwhile.
    if (this.ackReplies.length >= EARLY_ACK_BATCH && this.host.transport.flushNow && this.store.durableNow?.() === true) {
      const replies = this.ackReplies;
      const bodies = this.ackBodies;
      this.ackReplies = [];
      this.ackBodies = [];
      this.publishAcks(replies, bodies);
      return;
    }
    this.scheduleAckFlush();
  }

  /** Publish PubAcks whose messages are durable and send them at once, not a turn later. */
  private publishAcks(replies: readonly string[], bodies: ReadonlyArray<Buffer | number>): void {
    for (let i = 0; i < replies.length; i++) this.publishAck(replies[i]!, bodies[i]!);
    this.host.transport.flushNow?.();
  }

  private publishAck(reply: string, body: Buffer | number): void {
    if (typeof body !== 'number') {
      this.publishReply(reply, body);
      return;
    }
    const pre = this.ackPrefix;
    if (ackScratch.length < pre.length + 24) ackScratch = Buffer.allocUnsafe(pre.length + 64);
    pre.copy(ackScratch, 0);
    let p = writeDecimal(ackScratch, pre.length, body);
    ackScratch[p++] = 0x7d; // }
    this.publishReply(reply, ackScratch.subarray(0, p));
  }

  /** A PubAck's reply inbox is its request's own: routed once, never again. */
  private publishReply(reply: string, body: Buffer): void {
    const t = this.host.transport;
    if (t.publishOnce) t.publishOnce(reply, '', null, body);
    else t.publish(reply, '', null, body);
  }

  private scheduleAckFlush(): void {
    if (this.ackFlushScheduled) return;
    this.ackFlushScheduled = true;
    // One durability wait per event-loop turn covers every message stored in it.
    setImmediate(() => {
      const replies = this.ackReplies;
      const bodies = this.ackBodies;
      this.ackReplies = [];
      this.ackBodies = [];
      const done = (durable: boolean): void => {
        // Not durable: no PubAck; the publisher times out and retries (dedup makes that safe).
        if (durable) this.publishAcks(replies, bodies);
        this.ackFlushScheduled = false;
        if (this.ackReplies.length > 0) this.scheduleAckFlush();
      };
      if (this.store.durableNow?.() === true) done(true);
      else this.store.whenDurable().then(() => done(true), () => done(false));
    });
  }

  /** A consumer acknowledged (or gave up on) `seq`: drop it when no one else needs it. */
  ackedBy(seq: number): void {
    if (this.config.retention === 'limits') return;
    const m = this.store.load(seq);
    if (!m) return;
    for (const c of this.consumers.values()) {
      if (c.wantsSubject(m.subject) && !c.hasAcked(seq)) return;
    }
    this.store.remove(seq);
  }

  /** After a consumer is removed from an interest stream, messages only it held are dropped. */
  recheckInterest(): void {
    if (this.config.retention === 'limits') return;
    const st = this.store.state();
    for (let m = this.store.loadNextMatching('>', st.first_seq); m; m = this.store.loadNextMatching('>', m.seq + 1)) {
      let keep = false;
      for (const c of this.consumers.values()) {
        if (c.wantsSubject(m.subject) && !c.hasAcked(m.seq)) {
          keep = true;
          break;
        }
      }
      if (!keep) this.store.remove(m.seq);
    }
  }

  update(cfg: StreamConfig): void {
    const subjectsChanged = JSON.stringify(cfg.subjects) !== JSON.stringify(this.config.subjects) || cfg.allow_direct !== this.config.allow_direct;
    this.config = cfg;
    this.store.updateConfig(storeLimitsOf(cfg));
    this.dedup.setWindow(cfg.duplicate_window);
    if (subjectsChanged) this.subscribeSubjects();
    this.host.saveMeta(this);
  }

  state(): StreamState {
    const st = this.store.state();
    const out: StreamState = {
      messages: st.messages,
      bytes: st.bytes,
      // A stream that never held a message reports first_seq 0, as nats-server.
      first_seq: st.last_seq === 0 && st.messages === 0 ? 0 : st.first_seq,
      first_ts: nsToRfc3339(st.first_ts),
      last_seq: st.last_seq,
      last_ts: nsToRfc3339(st.last_ts),
      consumer_count: this.consumers.size,
    };
    if (st.num_subjects > 0) out.num_subjects = st.num_subjects;
    if (st.num_deleted > 0) out.num_deleted = st.num_deleted;
    return out;
  }

  info(opts: { subjectsFilter?: string; deletedDetails?: boolean } = {}): StreamInfo {
    const state = this.state();
    if (opts.subjectsFilter) {
      const subjects: Record<string, number> = {};
      for (const [k, v] of this.store.subjectsState(opts.subjectsFilter)) subjects[k] = v;
      if (Object.keys(subjects).length > 0) state.subjects = subjects;
    }
    if (opts.deletedDetails) {
      const deleted = this.store.deletedSeqs();
      if (deleted.length > 0) state.deleted = deleted;
    }
    return { config: this.config, created: nsToRfc3339(this.created), state };
  }

  purge(req: PurgeRequest): number {
    if (this.config.deny_purge) throw JsErr.streamPurgeFailed('stream purge not permitted');
    if (this.config.sealed) throw JsErr.streamSealed();
    if (req.seq !== undefined && req.keep !== undefined && req.seq > 0 && req.keep > 0) {
      throw JsErr.badRequest();
    }
    const opts: { filter?: string; seq?: number; keep?: number } = {};
    if (req.filter) opts.filter = req.filter;
    if (req.seq) opts.seq = req.seq;
    if (req.keep) opts.keep = req.keep;
    const n = this.store.purge(opts);
    for (const c of this.consumers.values()) c.streamPurged();
    return n;
  }

  getMessage(req: MsgGetRequest): StoredMessageJson {
    let m: StoredMessage | undefined;
    if (req.last_by_subj) {
      if (req.seq || req.next_by_subj) throw JsErr.badRequest();
      m = this.store.loadLastBySubject(req.last_by_subj);
    } else if (req.next_by_subj) {
      m = this.store.loadNextMatching(req.next_by_subj, req.seq && req.seq > 0 ? req.seq : 1);
    } else if (req.seq !== undefined && req.seq > 0) {
      m = this.store.load(req.seq);
    } else {
      throw JsErr.badRequest();
    }
    if (!m) throw JsErr.noMessageFound();
    return storedToJson(m);
  }

  deleteMessage(seq: number): void {
    if (this.config.deny_delete) throw JsErr.streamMsgDeleteFailed('message delete not permitted');
    if (this.config.sealed) throw JsErr.streamSealed();
    if (!this.store.remove(seq)) throw JsErr.sequenceNotFound(seq);
  }

  /** Stops capturing and closes the store; consumers are stopped by the caller. */
  async stop(): Promise<void> {
    this.closed = true;
    for (const s of this.subs) this.host.transport.unsubscribe(s);
    this.subs = [];
    for (const c of this.consumers.values()) await c.stop();
    // Let queued PubAcks go out once durable; a failure here must not stop the
    // shutdown, but the operator has to see that the tail may not be on disk.
    await this.store.whenDurable().catch((err: unknown) => {
      this.host.warn(`JetStream: stream '${this.name}' could not make its last writes durable on stop: ${err instanceof Error ? err.message : String(err)}`);
    });
    await this.store.stop();
  }

  async delete(): Promise<void> {
    this.closed = true;
    for (const s of this.subs) this.host.transport.unsubscribe(s);
    this.subs = [];
    for (const c of this.consumers.values()) await c.delete(false);
    this.consumers.clear();
    await this.store.delete();
  }

  matchesSubject(subject: string): boolean {
    return (this.config.subjects ?? []).some((s) => subjectMatchesFilter(subject, s));
  }
}

export function storedToJson(m: StoredMessage): StoredMessageJson {
  const out: StoredMessageJson = { subject: m.subject, seq: m.seq, time: nsToRfc3339(m.time) };
  if (m.hdr !== null && m.hdr.length > 0) out.hdrs = m.hdr.toString('base64');
  if (m.data.length > 0) out.data = m.data.toString('base64');
  return out;
}

export { EMPTY };
