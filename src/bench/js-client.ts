// The JetStream side of `tern bench`: a raw-socket connection that reads whole
// frames, one wildcard subscription on a private inbox, and a small
// request/reply helper for the $JS.API calls the generators need (stream and
// consumer create/info). Load itself (PUB frames, pulls, acks) is written by
// js-pub.ts and js-consume.ts directly on the socket, so the same bytes go to
// either server.
import { randomBytes } from 'node:crypto';
import { BenchConnection, type ConnectOptions, type InboundFrame } from './connection.js';
import { headerStatus } from '../protocol/headers.js';

/** A JetStream API error, a missing reply, or a run that lost or corrupted messages. */
export class JsBenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsBenchError';
  }
}

/** The status line of a header block ("NATS/1.0 408 Request Timeout") as code + text, or null. */
export function frameStatus(f: InboundFrame): { code: number; text: string } | null {
  if (f.hdrLen < 12) return null; // shorter than "NATS/1.0 123": no status (most frames)
  const st = headerStatus(f.data.subarray(0, f.hdrLen));
  return st ? { code: st.code, text: st.description } : null;
}

export interface StreamState {
  messages: number;
  first_seq: number;
  last_seq: number;
}

export interface StreamInfo {
  config: { name: string; subjects?: string[]; storage?: string };
  state: StreamState;
}

export interface ConsumerInfo {
  name: string;
  num_ack_pending: number;
  num_pending: number;
  num_redelivered: number;
  ack_floor: { stream_seq: number; consumer_seq: number };
  delivered: { stream_seq: number; consumer_seq: number };
}

interface ApiErrorBody {
  error?: { code?: number; err_code?: number; description?: string };
}

export class JsBenchClient {
  /** Private inbox root; every reply to this client is below it. */
  readonly inbox: string;
  /** Frames of subscriptions made with subscribe(): PubAcks, pulled messages, pull statuses. */
  onFrame: (f: InboundFrame) => void = () => {};
  /** Called once when the connection fails (after pending requests are rejected). */
  onFailure: (e: Error) => void = () => {};
  private readonly pending = new Map<string, { resolve: (f: InboundFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextReq = 0;
  private nextSid = 2;
  private readonly reqPrefix: string;

  private constructor(
    readonly conn: BenchConnection,
    inbox: string,
  ) {
    this.inbox = inbox;
    this.reqPrefix = `${inbox}.r.`;
    conn.onFailure = (e) => {
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(e);
      }
      this.pending.clear();
      this.onFailure(e);
    };
  }

  static async open(connect: ConnectOptions): Promise<JsBenchClient> {
    const inbox = `_INBOX.${randomBytes(11).toString('hex')}`;
    let client: JsBenchClient | null = null;
    const conn = await BenchConnection.open({ ...connect, noResponders: true }, false, (f) => client?.dispatch(f));
    client = new JsBenchClient(conn, inbox);
    conn.socket.write(`SUB ${client.reqPrefix}* ${REQ_SID}\r\n`);
    await conn.flush();
    return client;
  }

  /** Subscribes to <inbox>.<token>.* and returns the prefix to use for reply subjects and the sid its frames carry. */
  async subscribe(token: string): Promise<{ prefix: string; sid: string }> {
    const sid = String(this.nextSid++);
    const prefix = `${this.inbox}.${token}.`;
    this.conn.socket.write(`SUB ${prefix}* ${sid}\r\n`);
    await this.conn.flush();
    return { prefix, sid };
  }

  private dispatch(f: InboundFrame): void {
    if (f.sid === REQ_SID) {
      const p = this.pending.get(f.subject);
      if (!p) return; // a late answer to a request that already timed out
      this.pending.delete(f.subject);
      clearTimeout(p.timer);
      // The frame's buffer is only valid during this callback.
      p.resolve({ ...f, data: Buffer.from(f.data) });
      return;
    }
    this.onFrame(f);
  }

  /** One request with a JSON body (or none); resolves with the reply frame. */
  request(subject: string, body: unknown, timeoutMs: number): Promise<InboundFrame> {
    const reply = `${this.reqPrefix}${this.nextReq++}`;
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    return new Promise<InboundFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reply);
        reject(new JsBenchError(`no reply to ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(reply, { resolve, reject, timer });
      void this.conn.write(Buffer.concat([Buffer.from(`PUB ${subject} ${reply} ${payload.length}\r\n`), payload, CRLF]));
    });
  }

  /** A $JS.API call: the JSON reply, or a JsBenchError with the server's description. */
  async api<T>(subject: string, body: unknown, timeoutMs = 10_000): Promise<T> {
    const f = await this.request(subject, body, timeoutMs);
    const st = frameStatus(f);
    if (st?.code === 503) throw new JsBenchError(`${subject}: no responders (is JetStream enabled on the server?)`);
    if (st) throw new JsBenchError(`${subject}: status ${st.code} ${st.text}`);
    let parsed: T & ApiErrorBody;
    try {
      parsed = JSON.parse(f.data.toString('utf8', f.hdrLen)) as T & ApiErrorBody;
    } catch {
      throw new JsBenchError(`${subject}: reply is not JSON: '${f.data.toString('utf8', f.hdrLen).slice(0, 200)}'`);
    }
    if (parsed.error) {
      const e = parsed.error;
      throw new JsBenchError(`${subject}: ${e.description ?? 'error'} (code ${e.code ?? '?'}, err_code ${e.err_code ?? '?'})`);
    }
    return parsed;
  }

  streamInfo(stream: string): Promise<StreamInfo> {
    return this.api<StreamInfo>(`$JS.API.STREAM.INFO.${stream}`, undefined);
  }

  /** Creates the stream; an existing stream with the same configuration is accepted, as nats-server does. */
  createStream(config: { name: string; subjects: string[]; storage: 'file' | 'memory' }): Promise<StreamInfo> {
    return this.api<StreamInfo>(`$JS.API.STREAM.CREATE.${config.name}`, {
      ...config,
      retention: 'limits',
      discard: 'old',
      num_replicas: 1,
    });
  }

  createDurable(stream: string, config: Record<string, unknown> & { durable_name: string }): Promise<ConsumerInfo> {
    return this.api<ConsumerInfo>(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${config.durable_name}`, {
      stream_name: stream,
      config,
    });
  }

  consumerInfo(stream: string, name: string): Promise<ConsumerInfo> {
    return this.api<ConsumerInfo>(`$JS.API.CONSUMER.INFO.${stream}.${name}`, undefined);
  }

  write(buf: Buffer | string): Promise<void> | undefined {
    return this.conn.write(buf);
  }

  flush(): Promise<void> {
    return this.conn.flush();
  }

  get error(): Error | null {
    return this.conn.error;
  }

  /** Stop handing frames, failures and read-batch ends to a finished generator (the connection stays open). */
  detachHandlers(): void {
    this.onFrame = () => {};
    this.onFailure = () => {};
    this.conn.afterData = () => {};
  }

  close(): void {
    for (const [, p] of this.pending) clearTimeout(p.timer);
    this.pending.clear();
    this.conn.close();
  }
}

const CRLF = Buffer.from('\r\n');
/** Subscription id of the request/reply inbox. */
const REQ_SID = '1';

/** Stream names may not contain '.', '*', '>' or spaces (nats-server's rule). */
export function checkStreamName(name: string, what = 'stream'): void {
  if (name.length === 0 || /[.*>\s/\\]/.test(name)) {
    throw new JsBenchError(`invalid ${what} name '${name}': no '.', '*', '>', '/', '\\' or spaces`);
  }
}
