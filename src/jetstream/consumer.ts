// A consumer: a cursor over a stream with per-message delivery state.
//
// Invariants:
//  - `sseq` is the next stream sequence never yet delivered, `dseq` the next
//    consumer (delivery) sequence; delivered = {dseq-1, sseq-1}.
//  - `pending` holds every delivered, unacknowledged message (explicit/all
//    ack), keyed by stream sequence in delivery order, with its delivery
//    count and redelivery deadline; `rdq` holds the ones due for redelivery.
//  - the ack floor is everything below the oldest pending message. While
//    `pendingAscending` holds, `floorQueue` lists the pending keys in order
//    (new deliveries come in stream order), so the floor moves in O(1) per ack.
// Pull consumers serve a queue of waiting requests (CONSUMER.MSG.NEXT, kept
// and answered with nats-server's status messages in pull-requests.ts); push
// consumers publish to deliver_subject with idle heartbeats and flow control.
import type { ConsumerConfig, ConsumerInfo, SequenceInfo } from './api-types.js';
import { consumerFilters } from './consumer-config.js';
import {
  appendHeaders,
  statusHeader,
  NATS_CONSUMER_STALLED,
  NATS_LAST_CONSUMER,
  NATS_LAST_STREAM,
} from '../protocol/headers.js';
import { EMPTY, type JsTransport } from './transport.js';
import type { Stream } from './stream.js';
import type { StoredMessage } from './store/store.js';
import { nowNs, nsToRfc3339 } from './store/time.js';
import { ackStreamSeqAfter, ackSubjectPrefix } from './ack-subject.js';
import { subjectMatchesFilter } from '../server/subject.js';
import { PullRequests, type StatusHeaders, type WaitingRequest } from './pull-requests.js';

const NS_PER_MS = 1_000_000;
/** Push flow control: pending-bytes window, as nats-server (32 MiB limit, starting at 1/16). */
const FC_MAX_PENDING = 32 * 1024 * 1024;

interface PendingEntry {
  cseq: number;
  /** Delivery count so far. */
  dc: number;
  /** Delivery time, ns. */
  ts: bigint;
  /** ms epoch when to redeliver; Infinity while queued in rdq. */
  deadline: number;
}

export interface ConsumerPersistedState {
  dseq: number;
  sseq: number;
  ackFloor: { cseq: number; sseq: number };
  /** [sseq, cseq, dc, ts ns as string] */
  pending: Array<[number, number, number, string]>;
  /** Remaining last-per-subject starting sequences. */
  lps?: number[];
}

export interface ConsumerHost {
  transport: JsTransport;
  /** Persists state (durable consumers of file streams); resolves when written. */
  saveState(c: Consumer): Promise<void> | undefined;
  /** Removes an ephemeral consumer that went inactive. */
  removeInactive(c: Consumer): void;
}

interface Peeked {
  msg: StoredMessage;
  dc: number;
  source: 'rdq' | 'lps' | 'new';
}

export class Consumer {
  private dseq = 1;
  private sseq = 1;
  private ackFloor = { cseq: 0, sseq: 0 };
  private readonly pending = new Map<number, PendingEntry>();
  /** Keys of `pending` were inserted in ascending order (see the invariants above). */
  private pendingAscending = true;
  private lastPendingKey = 0;
  /**
   * While pendingAscending: pending's keys in order, from floorHead on (entries before it,
   * or not in pending any more, were acked). Map.keys().next() would give the oldest too,
   * but it steps over every entry deleted since the Map last rehashed: hundreds per ack
   * when acks come in order.
   */
  private floorQueue: number[] = [];
  private floorHead = 0;
  /** Delivery counts of messages delivered more than once and not acked or terminated (num_redelivered). */
  private readonly rdc = new Map<number, number>();
  /** Stream sequences due for redelivery, ascending. */
  private rdq: number[] = [];
  /** last_per_subject: starting sequences still to deliver. */
  private lps: number[] = [];
  /** Pull requests waiting for messages (pull consumers only). */
  private readonly pulls: PullRequests;
  private readonly filters: string[];
  private subs: unknown[] = [];
  private redeliveryTimer?: NodeJS.Timeout;
  private redeliveryAt = Infinity;
  private hbTimer?: NodeJS.Timeout;
  private interestPoll?: NodeJS.Timeout;
  private inactiveTimer?: NodeJS.Timeout;
  private lastDeliveryMs = Date.now();
  private lastActive: bigint = 0n;
  /** `$JS.ACK.<stream>.<consumer>.` encoded once: every delivery's reply starts with it. */
  private readonly ackPrefix: Buffer;
  /** ackPrefix's length in characters, where the per-message tokens of an ack subject start. */
  private readonly ackPrefixChars: number;
  private ackFloorActive: bigint = 0n;
  private delivering = false;
  private again = false;
  private stopped = false;
  // Push flow control.
  private pbytes = 0;
  private maxpb = FC_MAX_PENDING / 16;
  private fcid = '';
  private fcsz = 0;
  private fcCounter = 0;
  // Replies to acks (double acks) that wait for the state to be persisted.
  private ackReplies: string[] = [];
  private saveScheduled = false;
  /** A saveState() write has not finished yet. */
  private saveInFlight = false;

  constructor(
    private readonly host: ConsumerHost,
    readonly stream: Stream,
    readonly name: string,
    public config: ConsumerConfig,
    readonly created: bigint,
    readonly durable: boolean,
  ) {
    this.filters = consumerFilters(config);
    const ackPrefix = ackSubjectPrefix(stream.name, name);
    this.ackPrefix = Buffer.from(ackPrefix, 'utf8');
    this.ackPrefixChars = ackPrefix.length;
    this.pulls = new PullRequests({
      sendStatus: (subject, code, desc, headers) => this.sendStatus(subject, code, desc, headers),
      sendHeartbeat: (subject) => this.sendHeartbeat(subject),
      hasInterest: (subject) => this.hasInterest(subject),
      available: () => this.numPending() + this.rdq.length,
    });
  }

  get isPush(): boolean {
    return this.config.deliver_subject !== undefined;
  }

  /** Positions a new consumer per its deliver policy (nats-server's selectStartingSeqNo). */
  selectStart(): void {
    const store = this.stream.store;
    const st = store.state();
    const cfg = this.config;
    const first = st.messages === 0 ? st.last_seq + 1 : st.first_seq;
    switch (cfg.deliver_policy) {
      case 'all':
        this.sseq = first;
        break;
      case 'new':
        this.sseq = st.last_seq + 1;
        break;
      case 'last': {
        if (this.filters.length === 0) this.sseq = st.messages === 0 ? st.last_seq + 1 : st.last_seq;
        else {
          let last = 0;
          for (const f of this.filters) last = Math.max(last, store.loadLastBySubject(f)?.seq ?? 0);
          this.sseq = last > 0 ? last : st.last_seq + 1;
        }
        break;
      }
      case 'by_start_sequence':
        this.sseq = Math.max(cfg.opt_start_seq ?? 1, first);
        break;
      case 'by_start_time': {
        const ns = BigInt(Date.parse(cfg.opt_start_time ?? '')) * 1_000_000n;
        this.sseq = store.seqFromTime(ns);
        break;
      }
      case 'last_per_subject': {
        const seqs = new Set<number>();
        for (const f of this.filters.length ? this.filters : ['>']) {
          for (const subj of store.subjectsState(f).keys()) {
            const m = store.loadLastBySubject(subj);
            if (m) seqs.add(m.seq);
          }
        }
        this.lps = [...seqs].sort((a, b) => a - b);
        this.sseq = this.lps.length > 0 ? this.lps[0]! : st.last_seq + 1;
        break;
      }
    }
    if (this.sseq < 1) this.sseq = 1;
    this.dseq = 1;
    this.ackFloor = { cseq: 0, sseq: this.sseq - 1 };
  }

  /** Restores persisted state; pending messages are redelivered after ack_wait. */
  restore(s: ConsumerPersistedState): void {
    this.dseq = s.dseq;
    this.sseq = s.sseq;
    this.ackFloor = { ...s.ackFloor };
    this.lps = s.lps ?? [];
    const deadline = Date.now() + this.ackWaitMs(1);
    for (const [sseq, cseq, dc, ts] of s.pending) {
      this.addPending(sseq, { cseq, dc, ts: BigInt(ts), deadline });
      if (dc > 1) this.rdc.set(sseq, dc);
    }
    this.scheduleRedelivery();
  }

  persistedState(): ConsumerPersistedState {
    const pending: ConsumerPersistedState['pending'] = [];
    for (const [sseq, p] of this.pending) pending.push([sseq, p.cseq, p.dc, p.ts.toString()]);
    const out: ConsumerPersistedState = { dseq: this.dseq, sseq: this.sseq, ackFloor: { ...this.ackFloor }, pending };
    if (this.lps.length > 0) out.lps = [...this.lps];
    return out;
  }

  start(): void {
    const t = this.host.transport;
    const prefix = ackSubjectPrefix(this.stream.name, this.name);
    this.subs.push(t.subscribe(`${prefix}>`, null, (subj, reply, _hdr, payload) => this.processAck(subj, reply, payload)));
    if (this.isPush) {
      if (this.config.flow_control) {
        this.subs.push(t.subscribe(`$JS.FC.${this.stream.name}.${this.name}.*`, null, (subj) => this.processFlowControl(subj)));
      }
      if (this.config.idle_heartbeat) {
        const every = Math.max(1, Math.floor(this.config.idle_heartbeat / NS_PER_MS));
        this.hbTimer = setInterval(() => this.pushHeartbeat(every), every);
        this.hbTimer.unref();
      }
      // Interest in deliver_subject comes and goes without telling us: look again periodically.
      this.interestPoll = setInterval(() => this.deliverMore(), 250);
      this.interestPoll.unref();
    }
    if (!this.durable && this.config.inactive_threshold) {
      const ms = Math.max(100, Math.floor(this.config.inactive_threshold / NS_PER_MS));
      this.inactiveTimer = setInterval(() => this.checkInactive(ms), Math.min(ms, 1000));
      this.inactiveTimer.unref();
    }
    this.lastDeliveryMs = Date.now();
    this.deliverMore();
  }

  // ---- selection -------------------------------------------------------

  /** Whether this consumer's filters select `subject`. */
  wantsSubject(subject: string): boolean {
    if (this.filters.length === 0) return true;
    for (const f of this.filters) if (subjectMatchesFilter(subject, f)) return true;
    return false;
  }

  /** For interest/workqueue retention: has this consumer finished with `seq`? */
  hasAcked(seq: number): boolean {
    if (seq <= this.ackFloor.sseq) return true;
    if (this.config.ack_policy === 'none') return seq < this.sseq;
    return seq < this.sseq && !this.pending.has(seq);
  }

  private nextNew(from: number): StoredMessage | undefined {
    const store = this.stream.store;
    if (this.filters.length <= 1) return store.loadNextMatching(this.filters[0] ?? '>', from);
    let best: StoredMessage | undefined;
    for (const f of this.filters) {
      const m = store.loadNextMatching(f, from);
      if (m && (!best || m.seq < best.seq)) best = m;
    }
    return best;
  }

  private peek(): Peeked | undefined {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq[0]!;
      const p = this.pending.get(seq);
      const msg = p ? store.load(seq) : undefined;
      if (p && msg) return { msg, dc: p.dc + 1, source: 'rdq' };
      // Gone (acked or removed from the stream): forget it.
      this.rdq.shift();
      if (p) this.dropPending(seq);
    }
    if (this.config.ack_policy !== 'none' && this.config.max_ack_pending !== undefined && this.config.max_ack_pending > 0
      && this.pending.size >= this.config.max_ack_pending) {
      return undefined;
    }
    while (this.lps.length > 0) {
      const seq = this.lps[0]!;
      const msg = store.load(seq);
      if (msg) return { msg, dc: 1, source: 'lps' };
      this.lps.shift();
    }
    const msg = this.nextNew(this.sseq);
    if (!msg) return undefined;
    return { msg, dc: 1, source: 'new' };
  }

  /** Delivers while there is something to deliver and somewhere to deliver it. */
  deliverMore(): void {
    if (this.stopped) return;
    if (this.delivering) {
      this.again = true;
      return;
    }
    this.delivering = true;
    try {
      do {
        this.again = false;
        while (this.deliverOne()) {
          /* keep going */
        }
      } while (this.again);
      if (!this.isPush) this.pulls.finishNoWait();
    } finally {
      this.delivering = false;
    }
  }

  private deliverOne(): boolean {
    if (this.isPush) {
      if (this.fcid !== '' && this.pbytes > this.maxpb) return false;
      if (!this.hasInterest(this.config.deliver_subject!)) return false;
    } else if (this.pulls.size === 0) {
      return false;
    }
    const next = this.peek();
    if (!next) return false;
    const { msg } = next;
    const size = msg.subject.length + (msg.hdr?.length ?? 0) + msg.data.length;
    let target: string;
    let req: WaitingRequest | undefined;
    if (this.isPush) {
      target = this.config.deliver_subject!;
    } else {
      req = this.pulls.next(size);
      if (!req) return false;
      target = req.reply;
    }
    this.commit(next);
    const cseq = this.dseq++;
    const now = nowNs();
    const pendingAfter = this.numPending();
    // The reply is this.ackPrefix's bytes followed by the per-message tokens.
    const replyTail = `${next.dc}.${msg.seq}.${cseq}.${now}.${pendingAfter}`;
    if (this.config.ack_policy === 'none') {
      this.ackFloor = { cseq, sseq: msg.seq };
      this.ackFloorActive = now;
    } else {
      const deadline = Date.now() + this.ackWaitMs(next.dc);
      this.addPending(msg.seq, { cseq, dc: next.dc, ts: now, deadline });
      if (next.dc > 1) this.rdc.set(msg.seq, next.dc);
      this.armRedelivery(deadline);
    }
    this.lastActive = now;
    this.lastDeliveryMs = Date.now();
    const hdr = this.config.headers_only ? this.headersOnly(msg) : msg.hdr;
    const data = this.config.headers_only ? EMPTY : msg.data;
    this.host.transport.deliver(target, msg.subject, replyTail, hdr, data, this.ackPrefix);
    if (req) this.pulls.delivered(req);
    if (this.isPush && this.config.flow_control) {
      this.pbytes += size;
      if (this.fcid === '' && this.pbytes > this.maxpb / 2) this.sendFlowControl();
    }
    if (this.config.ack_policy === 'none') this.stream.ackedBy(msg.seq);
    this.scheduleSave();
    return true;
  }

  private commit(p: Peeked): void {
    if (p.source === 'rdq') {
      this.rdq.shift();
      return;
    }
    if (p.source === 'lps') {
      this.lps.shift();
      if (this.lps.length === 0) {
        // Continue with new messages after the newest of the stream at creation.
        this.sseq = Math.max(this.sseq, p.msg.seq + 1, this.stream.store.state().last_seq + 1);
      } else this.sseq = Math.max(this.sseq, p.msg.seq + 1);
      return;
    }
    this.sseq = p.msg.seq + 1;
  }

  private headersOnly(msg: StoredMessage): Buffer {
    return appendHeaders(msg.hdr, [['Nats-Msg-Size', msg.data.length]]);
  }

  /** Messages matching the filters not yet delivered. */
  numPending(): number {
    const store = this.stream.store;
    let n = 0;
    if (this.lps.length > 0) {
      n += this.lps.length;
      const last = this.lps[this.lps.length - 1]!;
      for (const f of this.filters.length ? this.filters : ['>']) n += store.numPending(f, Math.max(this.sseq, last + 1));
      return n;
    }
    if (this.filters.length === 0) return store.numPending('>', this.sseq);
    for (const f of this.filters) n += store.numPending(f, this.sseq);
    return n;
  }

  private hasInterest(subject: string): boolean {
    const t = this.host.transport;
    return t.hasInterest ? t.hasInterest(subject) : true;
  }

  /** New message stored in the stream. */
  signalNewMessage(_seq: number, subject: string): void {
    if (!this.wantsSubject(subject)) return;
    this.deliverMore();
  }

  /** The stream was purged: skip what is gone. */
  streamPurged(): void {
    const st = this.stream.store.state();
    const first = st.messages === 0 ? st.last_seq + 1 : st.first_seq;
    if (this.sseq < first) this.sseq = first;
    for (const seq of [...this.pending.keys()]) if (seq < first) this.dropPending(seq);
    for (const seq of [...this.rdc.keys()]) if (seq < first) this.rdc.delete(seq);
    this.rdq = this.rdq.filter((s) => this.pending.has(s));
    if (this.ackFloor.sseq < first - 1) this.ackFloor.sseq = first - 1;
    this.updateAckFloor();
    this.scheduleSave();
  }

  // ---- pull requests ----------------------------------------------------

  /** CONSUMER.MSG.NEXT (also +NXT acks). */
  processPullRequest(reply: string, body: Buffer): void {
    if (!reply || this.stopped) return;
    if (this.isPush) return this.sendStatus(reply, 409, 'Consumer is push based');
    if (!this.pulls.add(reply, body, this.config)) return;
    this.lastActive = nowNs();
    this.deliverMore();
  }

  private sendStatus(subject: string, code: number, desc: string, headers: StatusHeaders = []): void {
    this.host.transport.publish(subject, '', statusHeader(code, desc, headers), EMPTY);
  }

  private sendHeartbeat(subject: string): void {
    const headers: StatusHeaders = [[NATS_LAST_CONSUMER, this.dseq - 1], [NATS_LAST_STREAM, this.sseq - 1]];
    if (this.fcid !== '') headers.push([NATS_CONSUMER_STALLED, this.fcid]);
    this.sendStatus(subject, 100, 'Idle Heartbeat', headers);
  }

  // ---- push -------------------------------------------------------------

  private pushHeartbeat(everyMs: number): void {
    if (this.stopped) return;
    if (Date.now() - this.lastDeliveryMs < everyMs - 5) return;
    if (!this.hasInterest(this.config.deliver_subject!)) return;
    this.sendHeartbeat(this.config.deliver_subject!);
  }

  private sendFlowControl(): void {
    this.fcCounter++;
    this.fcid = `$JS.FC.${this.stream.name}.${this.name}.${this.fcCounter.toString(36)}`;
    this.fcsz = this.pbytes;
    this.host.transport.publish(this.config.deliver_subject!, this.fcid, statusHeader(100, 'FlowControl Request'), EMPTY);
  }

  private processFlowControl(subject: string): void {
    if (subject !== this.fcid) return;
    if (this.maxpb < FC_MAX_PENDING) this.maxpb = Math.min(this.maxpb * 2, FC_MAX_PENDING);
    this.pbytes = Math.max(0, this.pbytes - this.fcsz);
    this.fcid = '';
    this.fcsz = 0;
    this.deliverMore();
  }

  // ---- acks -------------------------------------------------------------

  private processAck(subject: string, reply: string, payload: Buffer): void {
    if (this.stopped) return;
    const sseq = ackStreamSeqAfter(subject, this.ackPrefixChars);
    if (sseq < 0) return;
    // The common ack is an empty payload: no string made for it.
    const body = payload.length === 0 ? '' : payload.toString('utf8');
    const kind = body.length === 0 ? '+ACK' : body.slice(0, 4);
    let respond = true;
    switch (kind) {
      case '+ACK':
      case '+OK':
      case '+OK ':
        this.ack(sseq);
        break;
      case '-NAK':
        this.nak(sseq, body.slice(4).trim());
        break;
      case '+WPI':
        this.progress(sseq);
        break;
      case '+TER':
        if (body.startsWith('+TERM')) this.term(sseq);
        break;
      case '+NXT': {
        this.ack(sseq);
        respond = false;
        this.processPullRequest(reply, Buffer.from(body.slice(4).trim()));
        break;
      }
      default:
        if (body.startsWith('+OK')) this.ack(sseq);
        else return;
    }
    this.lastActive = nowNs();
    if (respond && reply) this.replyAfterSave(reply);
    this.deliverMore();
  }

  private ack(sseq: number): void {
    const policy = this.config.ack_policy;
    if (policy === 'none') return;
    if (policy === 'all') {
      // Acking N acknowledges everything delivered up to N.
      for (const seq of [...this.pending.keys()]) if (seq <= sseq) this.dropPending(seq);
    } else {
      if (!this.pending.has(sseq)) return;
      this.dropPending(sseq);
    }
    // dropPending has moved the floor; this covers an 'all' ack that dropped nothing.
    if (policy === 'all') this.updateAckFloor();
    this.ackFloorActive = nowNs();
    this.scheduleSave();
  }

  /** Forget a pending message; `keepCount` keeps it in num_redelivered (max_deliver reached, as nats-server). */
  private dropPending(sseq: number, keepCount = false): void {
    if (!keepCount) this.rdc.delete(sseq);
    if (!this.pending.delete(sseq)) return;
    if (this.pending.size === 0) {
      this.pendingAscending = true;
      this.lastPendingKey = 0;
      this.floorQueue.length = 0;
      this.floorHead = 0;
    }
    const i = this.rdq.length > 0 ? this.rdq.indexOf(sseq) : -1;
    if (i >= 0) this.rdq.splice(i, 1);
    this.updateAckFloor();
    this.stream.ackedBy(sseq);
  }

  private updateAckFloor(): void {
    if (this.pending.size === 0) {
      this.ackFloor = { cseq: this.dseq - 1, sseq: this.sseq - 1 };
      return;
    }
    let minSeq = Infinity;
    let minC = 0;
    const q = this.floorQueue;
    let h = this.floorHead;
    if (this.pendingAscending) {
      // pending is not empty, so some key from h on is in it.
      while (h < q.length && !this.pending.has(q[h]!)) h++;
      if (h >= 1024 && h * 2 >= q.length) {
        q.splice(0, h);
        h = 0;
      }
      this.floorHead = h;
    }
    if (this.pendingAscending && h < q.length) {
      minSeq = q[h]!;
      minC = this.pending.get(minSeq)!.cseq;
    } else {
      for (const [seq, p] of this.pending) {
        if (seq < minSeq) {
          minSeq = seq;
          minC = p.cseq;
        }
      }
    }
    if (minSeq - 1 > this.ackFloor.sseq) this.ackFloor = { cseq: minC - 1, sseq: minSeq - 1 };
  }

  private nak(sseq: number, arg: string): void {
    const p = this.pending.get(sseq);
    if (!p) return;
    let delayMs = 0;
    if (arg.startsWith('{')) {
      try {
        const d = (JSON.parse(arg) as { delay?: number }).delay;
        if (typeof d === 'number' && d > 0) delayMs = d / NS_PER_MS;
      } catch {
        /* malformed delay: redeliver now, as nats-server */
      }
    } else if (arg !== '') {
      delayMs = parseGoDurationMs(arg);
    }
    if (delayMs > 0) {
      this.removeFromRdq(sseq);
      p.deadline = Date.now() + delayMs;
      this.scheduleRedelivery();
    } else {
      this.queueRedelivery(sseq, p);
    }
  }

  private progress(sseq: number): void {
    const p = this.pending.get(sseq);
    if (!p || p.deadline === Infinity) return;
    p.deadline = Date.now() + this.ackWaitMs(p.dc);
    this.scheduleRedelivery();
  }

  private term(sseq: number): void {
    if (!this.pending.has(sseq)) return;
    this.dropPending(sseq);
    this.scheduleSave();
  }

  /** Double-ack replies go out once the state that includes the ack is persisted. */
  private replyAfterSave(reply: string): void {
    this.ackReplies.push(reply);
    this.scheduleSave();
  }

  // ---- redelivery -------------------------------------------------------

  private ackWaitMs(dc: number): number {
    const bo = this.config.backoff;
    if (bo && bo.length > 0) return bo[Math.min(dc - 1, bo.length - 1)]! / NS_PER_MS;
    return (this.config.ack_wait ?? 30_000 * NS_PER_MS) / NS_PER_MS;
  }

  /** Adds a pending entry (or updates one in place, keeping its position). */
  private addPending(seq: number, entry: PendingEntry): void {
    const added = !this.pending.has(seq);
    if (added) {
      if (seq < this.lastPendingKey) {
        this.pendingAscending = false;
        this.floorQueue.length = 0;
        this.floorHead = 0;
      }
      this.lastPendingKey = seq;
      if (this.pendingAscending) this.floorQueue.push(seq);
    }
    this.pending.set(seq, entry);
    // Acked entries leave the queue only at its head: behind a message that stays pending
    // (never acked, redelivered forever) they would pile up. Rebuild once they dominate.
    if (added && this.pendingAscending && this.floorQueue.length - this.floorHead > 2 * this.pending.size + 1024) {
      this.floorQueue = [...this.pending.keys()];
      this.floorHead = 0;
    }
  }

  /**
   * One new deadline: the timer, when armed, is never later than every
   * pending deadline (scheduleRedelivery keeps that), so only an earlier
   * deadline needs a re-arm; no scan per delivery.
   */
  private armRedelivery(deadline: number): void {
    if (this.redeliveryTimer && this.redeliveryAt <= deadline) return;
    if (this.redeliveryTimer) clearTimeout(this.redeliveryTimer);
    this.redeliveryAt = deadline;
    this.redeliveryTimer = setTimeout(() => this.onRedeliveryTimer(), Math.max(0, deadline - Date.now()));
    this.redeliveryTimer.unref();
  }

  private scheduleRedelivery(): void {
    let next = Infinity;
    for (const p of this.pending.values()) if (p.deadline < next) next = p.deadline;
    if (next === Infinity) {
      if (this.redeliveryTimer) clearTimeout(this.redeliveryTimer);
      this.redeliveryTimer = undefined;
      this.redeliveryAt = Infinity;
      return;
    }
    if (this.redeliveryTimer && this.redeliveryAt <= next) return;
    if (this.redeliveryTimer) clearTimeout(this.redeliveryTimer);
    this.redeliveryAt = next;
    this.redeliveryTimer = setTimeout(() => this.onRedeliveryTimer(), Math.max(0, next - Date.now()));
    this.redeliveryTimer.unref();
  }

  private onRedeliveryTimer(): void {
    this.redeliveryTimer = undefined;
    this.redeliveryAt = Infinity;
    if (this.stopped) return;
    const now = Date.now();
    for (const [seq, p] of [...this.pending]) if (p.deadline <= now) this.queueRedelivery(seq, p);
    this.scheduleRedelivery();
    this.deliverMore();
  }

  private queueRedelivery(seq: number, p: PendingEntry): void {
    const max = this.config.max_deliver ?? -1;
    if (max > 0 && p.dc >= max) {
      // Out of attempts: stop tracking it and tell whoever listens.
      this.dropPending(seq, true);
      this.host.transport.publish(
        `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.stream.name}.${this.name}`,
        '',
        null,
        Buffer.from(JSON.stringify({
          type: 'io.nats.jetstream.advisory.v1.max_deliver',
          stream: this.stream.name,
          consumer: this.name,
          stream_seq: seq,
          deliveries: p.dc,
          timestamp: nsToRfc3339(nowNs()),
        })),
      );
      this.scheduleSave();
      return;
    }
    p.deadline = Infinity;
    if (this.rdq.includes(seq)) return;
    let i = this.rdq.length;
    while (i > 0 && this.rdq[i - 1]! > seq) i--;
    this.rdq.splice(i, 0, seq);
  }

  private removeFromRdq(seq: number): void {
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }

  // ---- persistence & lifecycle --------------------------------------------

  private scheduleSave(): void {
    if (this.saveScheduled || this.stopped) return;
    this.saveScheduled = true;
    // While a save is being written, changes only mark the state dirty: the
    // next save starts when it finishes and snapshots everything at once, so
    // the state is encoded once per write instead of once per event-loop turn.
    if (!this.saveInFlight) setImmediate(() => this.saveNow());
  }

  private saveNow(): void {
    this.saveScheduled = false;
    const replies = this.ackReplies;
    this.ackReplies = [];
    const done = this.host.saveState(this);
    const send = (): void => {
      for (const r of replies) this.host.transport.publish(r, '', null, EMPTY);
    };
    if (!done) return send();
    this.saveInFlight = true;
    const after = (): void => {
      this.saveInFlight = false;
      send();
      if (this.saveScheduled) setImmediate(() => this.saveNow());
    };
    done.then(after, after);
  }

  private checkInactive(thresholdMs: number): void {
    if (this.stopped) return;
    const idleMs = Number((nowNs() - this.lastActive) / 1_000_000n);
    const active = this.isPush ? this.hasInterest(this.config.deliver_subject!) : this.pulls.size > 0;
    if (active) {
      this.lastActive = nowNs();
      return;
    }
    if (idleMs >= thresholdMs) this.host.removeInactive(this);
  }

  updateConfig(cfg: ConsumerConfig): void {
    this.config = cfg;
    for (const p of this.pending.values()) if (p.deadline !== Infinity) p.deadline = Math.min(p.deadline, Date.now() + this.ackWaitMs(p.dc));
    this.scheduleRedelivery();
    this.deliverMore();
  }

  info(): ConsumerInfo {
    const seqInfo = (cseq: number, sseq: number, active: bigint): SequenceInfo => {
      const out: SequenceInfo = { consumer_seq: cseq, stream_seq: sseq };
      if (active !== 0n) out.last_active = nsToRfc3339(active);
      return out;
    };
    const redelivered = this.rdc.size;
    const out: ConsumerInfo = {
      stream_name: this.stream.name,
      name: this.name,
      created: nsToRfc3339(this.created),
      config: this.config,
      delivered: seqInfo(this.dseq - 1, this.sseq - 1, this.dseq > 1 ? this.lastActive : 0n),
      ack_floor: seqInfo(this.ackFloor.cseq, this.ackFloor.sseq, this.ackFloor.cseq > 0 ? this.ackFloorActive : 0n),
      num_ack_pending: this.pending.size,
      num_redelivered: redelivered,
      num_waiting: this.pulls.size,
      num_pending: this.numPending(),
    };
    if (this.isPush) out.push_bound = this.hasInterest(this.config.deliver_subject!) && this.host.transport.hasInterest !== undefined ? true : undefined;
    if (out.push_bound === undefined) delete out.push_bound;
    return out;
  }

  private stopTimers(): void {
    if (this.redeliveryTimer) clearTimeout(this.redeliveryTimer);
    if (this.hbTimer) clearInterval(this.hbTimer);
    if (this.interestPoll) clearInterval(this.interestPoll);
    if (this.inactiveTimer) clearInterval(this.inactiveTimer);
    this.pulls.stopTimers();
  }

  /** Stops delivery and persists the final state (server shutdown). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopTimers();
    this.stopped = true;
    for (const s of this.subs) this.host.transport.unsubscribe(s);
    this.subs = [];
    const replies = this.ackReplies;
    this.ackReplies = [];
    await this.host.saveState(this);
    for (const r of replies) this.host.transport.publish(r, '', null, EMPTY);
  }

  /** Consumer deleted: waiting pull requests learn it with 409 Consumer Deleted. */
  async delete(notify = true): Promise<void> {
    this.pulls.deleteAll(notify);
    this.stopTimers();
    this.stopped = true;
    for (const s of this.subs) this.host.transport.unsubscribe(s);
    this.subs = [];
  }

  /** Monitoring counters. */
  stats(): { numPending: number; numAckPending: number; numRedelivered: number; numWaiting: number; delivered: number; ackFloor: number } {
    const i = this.info();
    return {
      numPending: i.num_pending,
      numAckPending: i.num_ack_pending,
      numRedelivered: i.num_redelivered,
      numWaiting: i.num_waiting,
      delivered: i.delivered.stream_seq,
      ackFloor: i.ack_floor.stream_seq,
    };
  }
}

/** Parses a Go duration such as "5s", "250ms", "1m30s" into ms; 0 when malformed. */
export function parseGoDurationMs(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const v = Number(m[1]);
    const unit = m[2]!;
    const factor = unit === 'ns' ? 1e-6 : unit === 'us' || unit === 'µs' ? 1e-3 : unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
    total += v * factor;
    consumed += m[0].length;
  }
  return consumed === s.length ? total : 0;
}
