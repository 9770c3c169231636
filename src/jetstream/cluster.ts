// JetStream across a Tern cluster, R1: every stream lives on the node whose
// client created it, and any node answers for all of them.
//
// How a request finds its stream:
// - Each node's `$JS.API.>` handler is local-only (never announced to
//   routes), so a client's request is seen by exactly one node: its own.
// - That node serves its own streams, forwards requests for a remote stream
//   to the owner on `$TERN.JS.<owner>.API.<rest>` with the client's reply
//   subject (the owner answers the client directly, once), and answers
//   account-wide requests (INFO, STREAM.NAMES, STREAM.LIST) by asking every
//   peer on `$TERN.JS.<peer>.Q` and merging.
// - Who owns what: each node broadcasts its stream list on
//   `$TERN.JS.OWNERS` whenever it changes and whenever a peer's interest in
//   that subject appears (a route came up, e.g. after a restart). A miss in
//   that table asks every peer ("query on miss"); STREAM.CREATE always asks,
//   so names stay unique (10058 via the owner) and subjects do not overlap
//   (10065) across nodes.
// - A peer is online while its route carries its interest in
//   `$TERN.JS.<peer>.Q`; a forward to an offline owner gets 10118 "stream is
//   offline". Its streams stay in the table, so their names stay taken.
//
// Stream messages, PubAcks, consumer deliveries, acks, flow control and
// direct gets need nothing here: they are ordinary subjects whose interest
// the routes already carry.
import { createHash } from 'node:crypto';
import type { InternalClient } from '../server/internal-client.js';
import type { Server } from '../server/server.js';
import { subjectsOverlap } from '../server/subject.js';
import type { Subscription } from '../server/subscription.js';
import { ResponseType, type StreamInfo } from './api-types.js';
import { JsApiError, JsErr } from './errors.js';
import type { JetStream } from './manager.js';
import { normalizeStreamConfig } from './stream-config.js';

const API = '$JS.API.';
const SYS = '$TERN.JS.';
const OWNERS = `${SYS}OWNERS`;
const QUERY_TIMEOUT_MS = 2000;
const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

type Json = Record<string, unknown>;

/** What each node announces on $TERN.JS.OWNERS. */
interface OwnersAnnouncement {
  node: string;
  streams: Array<{ name: string; subjects: string[] }>;
}

/** Questions one node asks another on $TERN.JS.<node>.Q. */
type NodeQuery =
  | { op: 'check'; name: string; subjects: string[] }
  | { op: 'names'; subject?: string }
  | { op: 'list'; subject?: string }
  | { op: 'info' };

interface NodeReply {
  node: string;
  /** check: the node holds the stream / has a stream whose subjects overlap. */
  owner?: boolean;
  overlap?: boolean;
  names?: string[];
  streams?: StreamInfo[];
  info?: { memory: number; storage: number; streams: number; consumers: number; api: { total: number; errors: number } };
}

interface PendingQuery {
  waiting: Set<string>;
  got: NodeReply[];
  timer: NodeJS.Timeout;
  done: (r: NodeReply[]) => void;
}

/** The subject token naming a node: its server name when that is a safe token, else a hash of it. */
export function nodeToken(serverName: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(serverName)) return serverName;
  return `h${createHash('sha256').update(serverName).digest('hex').slice(0, 16)}`;
}

export const streamOfflineError = (): JsApiError => new JsApiError(500, 10118, 'stream is offline');
export const replicasNotSupportedError = (): JsApiError =>
  new JsApiError(500, 10074, 'replicas > 1 not supported: replicated streams are not supported in a Tern cluster (R1 only)');

export class JsCluster {
  readonly token: string;
  /** Streams other nodes hold: name -> owner token and subjects. */
  private readonly remote = new Map<string, { node: string; subjects: string[] }>();
  /** Peers whose JetStream is reachable now (their $TERN.JS.<peer>.Q interest is on a route). */
  private readonly peers = new Set<string>();
  private readonly pending = new Map<number, PendingQuery>();
  private readonly subs: Subscription[] = [];
  private nextQuery = 1;
  private announceTimer: NodeJS.Immediate | null = null;
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly server: Server,
    private readonly js: JetStream,
    private readonly ic: InternalClient,
  ) {
    this.token = nodeToken(server.serverName);
  }

  /** `routes`: the route subscriptions already known (routes that connected before JetStream started). */
  start(routeSubs: Iterable<Subscription>): void {
    const me = `${SYS}${this.token}`;
    const ic = this.ic;
    this.subs.push(
      ic.subscribe(`${me}.API.>`, null, (subject, reply, _hdr, payload) => {
        this.js.handleLocalApi(API + subject.slice(me.length + 5), reply, Buffer.from(payload));
      }),
      ic.subscribe(`${me}.Q`, null, (_s, reply, _h, payload) => this.answerQuery(reply, payload)),
      ic.subscribe(`${me}.R.*`, null, (subject, _r, _h, payload) => this.queryReply(subject.slice(me.length + 3), payload)),
      ic.subscribe(OWNERS, null, (_s, _r, _h, payload) => this.ownersAnnounced(payload)),
    );
    this.stopListening = this.server.onSubscription((sub, change) => this.routeInterest(sub, change));
    for (const sub of routeSubs) this.routeInterest(sub, 'added');
    this.js.apiInterceptor = (subject, reply, hdr, payload) => this.intercept(subject, reply, hdr, payload);
    this.js.onStreamsChanged = () => this.announceSoon();
    this.announceSoon();
  }

  stop(): void {
    this.js.apiInterceptor = undefined;
    this.js.onStreamsChanged = undefined;
    this.stopListening?.();
    if (this.announceTimer !== null) clearImmediate(this.announceTimer);
    for (const s of this.subs) this.ic.unsubscribe(s);
    this.subs.length = 0;
    for (const q of this.pending.values()) {
      clearTimeout(q.timer);
      q.done(q.got);
    }
    this.pending.clear();
  }

  // ---- membership and ownership ------------------------------------------------

  private routeInterest(sub: Subscription, change: 'added' | 'removed'): void {
    if (sub.owner.kind !== 'route') return;
    const s = sub.subject;
    if (s === OWNERS) {
      if (change === 'added') this.announceSoon(); // a peer that can hear us appeared
      return;
    }
    if (!s.startsWith(SYS) || !s.endsWith('.Q')) return;
    const node = s.slice(SYS.length, -2);
    if (node === this.token || node.includes('.')) return;
    if (change === 'added') {
      this.peers.add(node);
      return;
    }
    this.peers.delete(node);
    for (const [id, q] of this.pending) {
      if (q.waiting.delete(node) && q.waiting.size === 0) this.finishQuery(id);
    }
  }

  private announceSoon(): void {
    if (this.announceTimer !== null) return;
    this.announceTimer = setImmediate(() => {
      this.announceTimer = null;
      const a: OwnersAnnouncement = { node: this.token, streams: this.js.localStreams() };
      this.ic.publish(OWNERS, '', null, JSON.stringify(a));
    });
  }

  private ownersAnnounced(payload: Buffer): void {
    const text = payload.toString('utf8');
    let a: OwnersAnnouncement;
    try {
      a = JSON.parse(text) as OwnersAnnouncement;
    } catch (err) {
      // The delivery carries no route identity: the start of the body is the best hint of who sent it.
      this.server.logger.debug(`JetStream: dropped malformed ownership announcement from unknown sender (${(err as Error).message}): ${text.slice(0, 120)}`);
      return;
    }
    if (a !== null && typeof a === 'object' && a.node === this.token) return;
    if (a === null || typeof a !== 'object' || typeof a.node !== 'string' || !Array.isArray(a.streams)) {
      const sender = a !== null && typeof a === 'object' && typeof a.node === 'string' ? `node ${a.node}` : 'unknown sender';
      this.server.logger.debug(`JetStream: dropped malformed ownership announcement from ${sender}: ${text.slice(0, 120)}`);
      return;
    }
    for (const [name, o] of this.remote) if (o.node === a.node) this.remote.delete(name);
    for (const s of a.streams) {
      if (typeof s.name !== 'string') continue;
      if (this.js.hasStream(s.name)) {
        this.server.logger.warn(`JetStream: stream "${s.name}" exists on this node and on ${a.node}; requests here use the local one`);
        continue;
      }
      this.remote.set(s.name, { node: a.node, subjects: Array.isArray(s.subjects) ? s.subjects : [] });
    }
  }

  // ---- node queries -----------------------------------------------------------------

  /** Ask every online peer; resolves with the replies that came (all, or those before the timeout). */
  private ask(q: NodeQuery): Promise<NodeReply[]> {
    const peers = [...this.peers];
    if (peers.length === 0) return Promise.resolve([]);
    const id = this.nextQuery++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finishQuery(id), QUERY_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { waiting: new Set(peers), got: [], timer, done: resolve });
      const body = Buffer.from(JSON.stringify(q));
      const reply = `${SYS}${this.token}.R.${id}`;
      for (const p of peers) this.ic.publish(`${SYS}${p}.Q`, reply, null, body);
    });
  }

  private finishQuery(id: number): void {
    const q = this.pending.get(id);
    if (q === undefined) return;
    this.pending.delete(id);
    clearTimeout(q.timer);
    q.done(q.got);
  }

  private queryReply(idText: string, payload: Buffer): void {
    const id = Number(idText);
    const q = this.pending.get(id);
    if (q === undefined) return;
    let r: NodeReply;
    try {
      r = JSON.parse(payload.toString('utf8')) as NodeReply;
    } catch {
      return;
    }
    if (typeof r.node !== 'string' || !q.waiting.delete(r.node)) return;
    q.got.push(r);
    if (q.waiting.size === 0) this.finishQuery(id);
  }

  private answerQuery(reply: string, payload: Buffer): void {
    if (!reply) return;
    let q: NodeQuery;
    try {
      q = JSON.parse(payload.toString('utf8')) as NodeQuery;
    } catch {
      return;
    }
    const js = this.js;
    const out: NodeReply = { node: this.token };
    switch (q.op) {
      case 'check': {
        out.owner = js.hasStream(q.name);
        const mine = js.localStreams().filter((s) => s.name !== q.name);
        out.overlap = mine.some((s) => s.subjects.some((a) => (q.subjects ?? []).some((b) => subjectsOverlap(a, b))));
        break;
      }
      case 'names':
        out.names = js.streamNames(q.subject);
        break;
      case 'list':
        out.streams = js.streamNames(q.subject).map((n) => js.stream(n).info());
        break;
      case 'info': {
        const ai = js.accountInfo();
        out.info = { memory: ai.memory, storage: ai.storage, streams: ai.streams, consumers: ai.consumers, api: ai.api };
        break;
      }
      default:
        return;
    }
    this.ic.publish(reply, '', null, JSON.stringify(out));
  }

  // ---- the API front door -------------------------------------------------------------

  /** Decides who serves a client's $JS.API request; true = taken care of here. */
  private intercept(subject: string, reply: string, hdr: Buffer | null, payload: Buffer): boolean {
    const rest = subject.slice(API.length);
    const op = rest.split('.');
    const [a, b] = op;
    if (a === 'DIRECT') return false; // served by the owner's own subscriptions
    if (rest === 'INFO' || (a === 'STREAM' && (b === 'NAMES' || b === 'LIST') && op.length === 2)) {
      if (this.peers.size === 0 || !reply) return false;
      const body = Buffer.from(payload);
      void this.aggregate(rest, reply, body);
      return true;
    }
    const stream = streamOfRequest(op);
    if (stream === undefined) return false;
    const type = responseTypeOf(op);
    const isPull = a === 'CONSUMER' && b === 'MSG';
    const replicas = requestedReplicas(op, payload);
    if (replicas > 1) {
      this.replyError(reply, type, replicasNotSupportedError());
      return true;
    }
    if (a === 'STREAM' && b === 'CREATE') {
      if (this.js.hasStream(stream)) return false; // same config: the existing stream; else 10058
      void this.create(stream, subject, reply, hdr, Buffer.from(payload));
      return true;
    }
    if (this.js.hasStream(stream)) {
      if (a === 'STREAM' && b === 'UPDATE') {
        const err = this.remoteOverlap(stream, payload);
        if (err !== null) {
          this.replyError(reply, type, err);
          return true;
        }
      }
      return false;
    }
    if (!reply && !isPull) return true; // nobody to answer
    const known = this.remote.get(stream);
    if (known !== undefined) {
      this.forward(known.node, rest, reply, hdr, payload, isPull ? null : type);
      return true;
    }
    if (this.peers.size === 0) return false;
    const h = hdr === null ? null : Buffer.from(hdr);
    const body = Buffer.from(payload);
    void this.findOwner(stream).then((node) => {
      if (node === undefined) this.js.handleLocalApi(subject, reply, body);
      else this.forward(node, rest, reply, h, body, isPull ? null : type);
    });
    return true;
  }

  private forward(node: string, rest: string, reply: string, hdr: Buffer | null, payload: Buffer, type: string | null): void {
    const delivered = this.ic.publish(`${SYS}${node}.API.${rest}`, reply, hdr, payload);
    if (!delivered && type !== null) this.replyError(reply, type, streamOfflineError());
  }

  private async findOwner(stream: string): Promise<string | undefined> {
    const replies = await this.ask({ op: 'check', name: stream, subjects: [] });
    const owner = replies.find((r) => r.owner === true)?.node;
    if (owner !== undefined && !this.js.hasStream(stream)) {
      const known = this.remote.get(stream);
      this.remote.set(stream, { node: owner, subjects: known?.node === owner ? known.subjects : [] });
    }
    return owner;
  }

  /** STREAM.CREATE for a name this node does not hold: the owner answers, or overlap fails, or it is created here. */
  private async create(name: string, subject: string, reply: string, hdr: Buffer | null, payload: Buffer): Promise<void> {
    const type = ResponseType.streamCreate;
    let subjects: string[];
    try {
      const body = JSON.parse(payload.toString('utf8') || '{}') as Json;
      subjects = normalizeStreamConfig({ ...body, name: typeof body.name === 'string' && body.name !== '' ? body.name : name }).subjects ?? [];
    } catch {
      this.js.handleLocalApi(subject, reply, payload); // the local handler words the error
      return;
    }
    const replies = await this.ask({ op: 'check', name, subjects });
    if (this.js.hasStream(name)) {
      this.js.handleLocalApi(subject, reply, payload);
      return;
    }
    const owner = replies.find((r) => r.owner === true);
    if (owner !== undefined) {
      this.remote.set(name, { node: owner.node, subjects: this.remote.get(name)?.subjects ?? [] });
      this.forward(owner.node, subject.slice(API.length), reply, hdr, payload, type);
      return;
    }
    if (replies.some((r) => r.overlap === true)) {
      this.replyError(reply, type, JsErr.streamSubjectOverlap());
      return;
    }
    // Owners that are offline right now still hold their names and subjects.
    const known = this.remote.get(name);
    if (known !== undefined && !this.peers.has(known.node)) {
      this.replyError(reply, type, streamOfflineError());
      return;
    }
    for (const [other, o] of this.remote) {
      if (other === name || this.peers.has(o.node)) continue;
      if (o.subjects.some((x) => subjects.some((y) => subjectsOverlap(x, y)))) {
        this.replyError(reply, type, JsErr.streamSubjectOverlap());
        return;
      }
    }
    this.remote.delete(name);
    this.js.handleLocalApi(subject, reply, payload);
  }

  /** STREAM.UPDATE of a local stream: its new subjects must not overlap another node's streams. */
  private remoteOverlap(stream: string, payload: Buffer): JsApiError | null {
    let subjects: string[];
    try {
      subjects = normalizeStreamConfig({ ...(JSON.parse(payload.toString('utf8')) as Json), name: stream }).subjects ?? [];
    } catch {
      return null; // the local handler words the error
    }
    for (const [name, o] of this.remote) {
      if (name === stream) continue;
      if (o.subjects.some((x) => subjects.some((y) => subjectsOverlap(x, y)))) return JsErr.streamSubjectOverlap();
    }
    return null;
  }

  /** INFO, STREAM.NAMES and STREAM.LIST over every node. */
  private async aggregate(rest: string, reply: string, payload: Buffer): Promise<void> {
    const js = this.js;
    js.api.total++;
    let req: { offset?: unknown; subject?: unknown } = {};
    const text = payload.toString('utf8').trim();
    if (text !== '') {
      try {
        const v = JSON.parse(text) as unknown;
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) req = v as typeof req;
      } catch {
        // as the single-node API: a bad body is ignored for these requests
      }
    }
    const offset = typeof req.offset === 'number' && req.offset > 0 ? Math.trunc(req.offset) : 0;
    const subject = typeof req.subject === 'string' && req.subject !== '' ? req.subject : undefined;
    let out: Json;
    if (rest === 'INFO') {
      const ai = js.accountInfo();
      const replies = await this.ask({ op: 'info' });
      const sum = { memory: ai.memory, storage: ai.storage, streams: ai.streams, consumers: ai.consumers };
      const api = { total: ai.api.total, errors: ai.api.errors };
      for (const r of replies) {
        if (r.info === undefined) continue;
        sum.memory += r.info.memory;
        sum.storage += r.info.storage;
        sum.streams += r.info.streams;
        sum.consumers += r.info.consumers;
        api.total += r.info.api.total;
        api.errors += r.info.api.errors;
      }
      out = { type: ResponseType.accountInfo, ...ai, ...sum, api };
    } else if (rest === 'STREAM.NAMES') {
      const replies = await this.ask({ op: 'names', subject });
      const names = new Set(js.streamNames(subject));
      for (const r of replies) for (const n of r.names ?? []) names.add(n);
      const all = [...names].sort();
      out = { type: ResponseType.streamNames, total: all.length, offset, limit: NAMES_LIMIT, streams: all.length ? all.slice(offset, offset + NAMES_LIMIT) : null };
    } else {
      const replies = await this.ask({ op: 'list', subject });
      const byName = new Map<string, StreamInfo>();
      for (const n of js.streamNames(subject)) byName.set(n, js.stream(n).info());
      for (const r of replies) for (const s of r.streams ?? []) if (!byName.has(s.config.name)) byName.set(s.config.name, s);
      const names = [...byName.keys()].sort();
      const answered = new Set(replies.map((r) => r.node));
      const missing = [...this.remote].filter(([, o]) => !answered.has(o.node)).map(([n]) => n).sort();
      out = { type: ResponseType.streamList, total: names.length, offset, limit: LIST_LIMIT, streams: names.slice(offset, offset + LIST_LIMIT).map((n) => byName.get(n)!) };
      if (missing.length > 0) out.missing = missing;
    }
    this.ic.publish(reply, '', null, JSON.stringify(out));
  }

  private replyError(reply: string, type: string, err: JsApiError): void {
    if (!reply) return;
    this.js.api.total++;
    this.js.api.errors++;
    const out: Json = { type, error: err.toJSON() };
    if (type === ResponseType.streamInfo) Object.assign(out, { total: 0, offset: 0, limit: 0 });
    this.ic.publish(reply, '', null, JSON.stringify(out));
  }
}

/** The stream a $JS.API request (split after "$JS.API.") is about, if it names one. */
export function streamOfRequest(op: string[]): string | undefined {
  const [a, b, c] = op;
  if (a === 'STREAM') {
    if (op.length === 3 && b !== 'NAMES' && b !== 'LIST') return c; // CREATE UPDATE INFO DELETE PURGE
    if (op.length === 4 && b === 'MSG') return op[3]; // MSG.GET / MSG.DELETE
    return undefined;
  }
  if (a === 'CONSUMER') {
    if (b === 'CREATE' && op.length >= 3) return c;
    if (b === 'DURABLE' && c === 'CREATE' && op.length === 5) return op[3];
    if ((b === 'NAMES' || b === 'LIST') && op.length === 3) return c;
    if ((b === 'INFO' || b === 'DELETE') && op.length === 4) return c;
    if (b === 'MSG' && c === 'NEXT' && op.length === 5) return op[3];
  }
  return undefined;
}

function responseTypeOf(op: string[]): string {
  const [a, b, c] = op;
  if (a === 'STREAM') {
    if (b === 'MSG') return c === 'GET' ? ResponseType.streamMsgGet : ResponseType.streamMsgDelete;
    const t: Record<string, string> = {
      CREATE: ResponseType.streamCreate,
      UPDATE: ResponseType.streamUpdate,
      INFO: ResponseType.streamInfo,
      DELETE: ResponseType.streamDelete,
      PURGE: ResponseType.streamPurge,
    };
    return t[b ?? ''] ?? ResponseType.error;
  }
  const t: Record<string, string> = {
    CREATE: ResponseType.consumerCreate,
    DURABLE: ResponseType.consumerCreate,
    NAMES: ResponseType.consumerNames,
    LIST: ResponseType.consumerList,
    INFO: ResponseType.consumerInfo,
    DELETE: ResponseType.consumerDelete,
  };
  return t[b ?? ''] ?? ResponseType.error;
}

/** num_replicas asked for by a stream or consumer create/update (0 when none or unreadable). */
function requestedReplicas(op: string[], payload: Buffer): number {
  const [a, b] = op;
  const isStream = a === 'STREAM' && (b === 'CREATE' || b === 'UPDATE');
  const isConsumer = a === 'CONSUMER' && (b === 'CREATE' || b === 'DURABLE');
  if (!isStream && !isConsumer || payload.length === 0) return 0;
  try {
    const body = JSON.parse(payload.toString('utf8')) as Json;
    const cfg = isStream ? body : (body.config as Json | undefined);
    const n = cfg?.num_replicas;
    return typeof n === 'number' ? n : 0;
  } catch {
    return 0;
  }
}
