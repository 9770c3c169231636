// A raw-socket NATS client connection for the load generator. The official
// nats.js client tops out near 1.3 M msgs/s on this class of machine, far
// below the servers it would measure, so `tern bench` speaks the protocol
// itself: it handshakes (INFO, optional TLS upgrade, CONNECT with auth), then
// exposes the socket for pre-built frames and a light inbound scanner that
// counts MSG/HMSG frames without decoding payloads.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { credsAuth, type CredsAuth } from './creds.js';

export interface ConnectOptions {
  url: string;
  /** Upgrade to TLS even if the server does not require it. */
  tls?: boolean;
  /** PEM file of CAs to trust; without it the system's CAs. */
  tlsCa?: string;
  /** Accept any server certificate (self-signed test servers). */
  tlsInsecure?: boolean;
  /** A NATS .creds file (JWT + NKey seed) or a bare NKey seed file. */
  creds?: string;
  name?: string;
  /** Give up on the handshake after this many ms. */
  timeoutMs?: number;
  /**
   * Ask for 503 "no responders" statuses (CONNECT no_responders), so a
   * request to a subject nobody serves fails at once instead of timing out.
   */
  noResponders?: boolean;
}

export class BenchProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchProtocolError';
  }
}

const CR = 13;
const LF = 10;
const MAX_CONTROL_LINE = 64 * 1024;

/**
 * Called for each MSG/HMSG frame. `reply` is the reply subject (or '') and is
 * only decoded when the connection was opened with `wantReply`.
 */
export type MsgHandler = (reply: string) => void;

/** A whole inbound MSG/HMSG frame, for connections that read payloads (JetStream load). */
export interface InboundFrame {
  /** The message's subject: for JetStream pulls the stream message's own subject, not the inbox. */
  subject: string;
  /** Subscription id the server delivered it for. */
  sid: string;
  reply: string;
  /** Bytes of the header block at the start of `data` (0 for MSG). */
  hdrLen: number;
  /** Headers + payload; a view into the read buffer, valid only during the callback. */
  data: Buffer;
}

export type FrameHandler = (f: InboundFrame) => void;

/**
 * Incremental scanner over inbound bytes. It reads control lines, answers
 * PING, resolves PONG waiters, reports -ERR, and skips payloads by length.
 * A control line split across reads is kept in a small carry buffer; payloads
 * are never copied.
 */
class InboundScanner {
  private carry: Buffer | null = null;
  /** Payload bytes (+ CRLF) still to skip from the previous read. */
  private skip = 0;

  constructor(
    private readonly onMsg: MsgHandler,
    private readonly wantReply: boolean,
    private readonly onPing: () => void,
    private readonly onPong: () => void,
    private readonly onError: (text: string) => void,
    private readonly onInfo: (json: string) => void,
    /** When set, every MSG/HMSG is decoded and handed over whole instead of counted. */
    private readonly onFrame: FrameHandler | null = null,
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    if (this.skip > 0) {
      if (this.skip >= buf.length) {
        this.skip -= buf.length;
        return;
      }
      pos = this.skip;
      this.skip = 0;
    }
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf.subarray(pos)]);
      pos = 0;
      this.carry = null;
    }
    const len = buf.length;
    while (pos < len) {
      const nl = buf.indexOf(LF, pos);
      if (nl < 0) {
        if (len - pos > MAX_CONTROL_LINE) {
          this.onError('control line too long');
          return;
        }
        this.carry = Buffer.from(buf.subarray(pos));
        return;
      }
      const lineEnd = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
      const c0 = buf[pos]! | 0x20;
      if (this.onFrame && (c0 === 0x6d || c0 === 0x68)) {
        const next = this.frame(buf, pos, lineEnd, nl, c0 === 0x68);
        if (next < 0) {
          // Frame not complete yet: keep it from its control line on (frames here are small).
          this.carry = Buffer.from(buf.subarray(pos));
          return;
        }
        pos = next;
        continue;
      }
      if (c0 === 0x6d /* m */ || c0 === 0x68 /* h */) {
        // MSG <subject> <sid> [reply] <#bytes>  |  HMSG <subject> <sid> [reply] <#hdr> <#total>
        let size = 0;
        let mul = 1;
        let i = lineEnd - 1;
        for (; i > pos; i--) {
          const b = buf[i]!;
          if (b < 48 || b > 57) break;
          size += (b - 48) * mul;
          mul *= 10;
        }
        let reply = '';
        if (this.wantReply) reply = this.replyOf(buf, pos, lineEnd, c0 === 0x68);
        pos = nl + 1 + size + 2;
        this.onMsg(reply);
        if (pos > len) {
          this.skip = pos - len;
          return;
        }
        continue;
      }
      const line = buf.toString('latin1', pos, lineEnd);
      pos = nl + 1;
      const op = line.slice(0, 4).toUpperCase();
      if (op === 'PING') this.onPing();
      else if (op === 'PONG') this.onPong();
      else if (op === 'INFO') this.onInfo(line.slice(5));
      else if (op === '-ERR') this.onError(line.slice(5).trim());
      // +OK and anything else: ignored (CONNECT sends verbose=false).
    }
  }

  /** Decodes one MSG/HMSG at `start`; returns the position after it, or -1 if incomplete. */
  private frame(buf: Buffer, start: number, lineEnd: number, nl: number, headers: boolean): number {
    const args = buf.toString('latin1', start, lineEnd).split(' ').filter((a) => a.length > 0);
    // MSG subj sid [reply] size  |  HMSG subj sid [reply] hdr total
    const n = args.length;
    const total = Number(args[n - 1]);
    const hdrLen = headers ? Number(args[n - 2]) : 0;
    const withReply = headers ? n === 6 : n === 5;
    if (!Number.isInteger(total) || !Number.isInteger(hdrLen) || n < (headers ? 5 : 4)) {
      this.onError(`malformed frame header '${args.join(' ').slice(0, 120)}'`);
      return buf.length;
    }
    const dataStart = nl + 1;
    const end = dataStart + total + 2;
    if (end > buf.length) return -1;
    this.onFrame!({ subject: args[1]!, sid: args[2]!, reply: withReply ? args[3]! : '', hdrLen, data: buf.subarray(dataStart, dataStart + total) });
    return end;
  }

  private replyOf(buf: Buffer, start: number, end: number, headers: boolean): string {
    const args = buf.toString('latin1', start, end).split(' ').filter((a) => a.length > 0);
    // MSG subj sid reply size -> 5 tokens; HMSG subj sid reply hdr total -> 6.
    const withReply = headers ? 6 : 5;
    return args.length === withReply ? args[3]! : '';
  }
}

interface ServerInfo {
  tls_required?: boolean;
  tls_available?: boolean;
  nonce?: string;
  headers?: boolean;
  max_payload?: number;
  auth_required?: boolean;
}

/** A handshaken connection: write frames to `socket`, await `flush()` for a round trip. */
export class BenchConnection {
  private pongWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;
  private scanner: InboundScanner | null = null;
  info: ServerInfo = {};
  onMsg: MsgHandler = () => {};
  /** Called after each inbound read has been scanned (one clock read per read, not per message). */
  afterData: () => void = () => {};

  private constructor(public socket: Socket | TLSSocket) {}

  /**
   * Connects and completes the handshake (CONNECT + PING/PONG). `wantReply`
   * decodes reply subjects for `onMsg`; `onFrame` instead receives every
   * message whole (payload included).
   */
  static async open(opts: ConnectOptions, wantReply = false, onFrame: FrameHandler | null = null): Promise<BenchConnection> {
    const u = parseNatsUrl(opts.url);
    const raw = netConnect({ host: u.host, port: u.port });
    raw.setNoDelay(true);
    const conn = new BenchConnection(raw);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const timer = setTimeout(() => conn.fail(new BenchProtocolError(`${opts.url}: handshake timed out`)), timeoutMs);
    try {
      const firstLine = await readInfoLine(raw, opts.url);
      conn.info = JSON.parse(firstLine) as ServerInfo;
      let sock: Socket | TLSSocket = raw;
      if (opts.tls || conn.info.tls_required || u.tls) {
        if (!conn.info.tls_required && !conn.info.tls_available) {
          throw new BenchProtocolError(`${opts.url}: TLS requested but the server does not offer TLS`);
        }
        sock = await upgrade(raw, u.host, opts);
      }
      conn.socket = sock;
      conn.attach(wantReply, onFrame);
      const connect: Record<string, unknown> = {
        verbose: false,
        pedantic: false,
        tls_required: sock !== raw,
        name: opts.name ?? 'tern-bench',
        lang: 'node-raw',
        version: '0',
        protocol: 1,
        headers: true,
        no_responders: opts.noResponders === true,
      };
      if (u.user !== undefined && u.pass !== undefined) {
        connect.user = u.user;
        connect.pass = u.pass;
      } else if (u.user !== undefined) {
        connect.auth_token = u.user;
      }
      if (opts.creds) {
        const auth: CredsAuth = credsAuth(readFileSync(opts.creds, 'utf8'), conn.info.nonce ?? '', opts.creds);
        Object.assign(connect, auth);
      }
      sock.write(`CONNECT ${JSON.stringify(connect)}\r\n`);
      await conn.flush();
      return conn;
    } catch (e) {
      conn.socket.destroy();
      raw.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private attach(wantReply: boolean, onFrame: FrameHandler | null): void {
    const sock = this.socket;
    this.scanner = new InboundScanner(
      (reply) => this.onMsg(reply),
      wantReply,
      () => sock.write('PONG\r\n'),
      () => this.pongWaiters.shift()?.resolve(),
      (text) => this.fail(new BenchProtocolError(`server error: ${text}`)),
      () => {},
      onFrame,
    );
    sock.on('data', (d: Buffer) => {
      this.scanner!.push(d);
      this.afterData();
    });
    sock.on('error', (e: Error) => this.fail(e));
    sock.on('close', () => this.fail(new BenchProtocolError('connection closed by server')));
    // readInfoLine paused the socket; adding a 'data' listener does not undo an explicit pause.
    sock.resume();
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.pongWaiters.splice(0)) w.reject(e);
    this.onFailure(e);
    this.socket.destroy();
  }

  /** Called once when the connection fails (error, -ERR, or unexpected close). */
  onFailure: (e: Error) => void = () => {};

  get error(): Error | null {
    return this.failure;
  }

  /** PING and wait for the PONG: everything written before has been processed by the server. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.pongWaiters.push({ resolve, reject });
      this.socket.write('PING\r\n');
    });
  }

  /** Writes a buffer, resolving when the socket can take more (honours backpressure). */
  write(buf: Buffer | string): Promise<void> | undefined {
    if (this.socket.write(buf)) return undefined;
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        reject(this.failure ?? new BenchProtocolError('connection closed'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  close(): void {
    this.failure ??= new BenchProtocolError('closed');
    this.socket.end();
  }
}

export interface NatsUrl {
  host: string;
  port: number;
  tls: boolean;
  user?: string;
  pass?: string;
}

/** nats://[user[:pass]@]host[:port], tls://..., or host:port. */
export function parseNatsUrl(s: string): NatsUrl {
  const withScheme = /^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new BenchProtocolError(`invalid server URL '${s}'`);
  }
  if (!['nats:', 'tls:'].includes(u.protocol)) {
    throw new BenchProtocolError(`invalid server URL '${s}': scheme must be nats:// or tls://`);
  }
  const out: NatsUrl = {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 4222,
    tls: u.protocol === 'tls:',
  };
  if (u.username) out.user = decodeURIComponent(u.username);
  if (u.password) out.pass = decodeURIComponent(u.password);
  return out;
}

function readInfoLine(sock: Socket, url: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const cleanup = (): void => {
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('close', onClose);
    };
    const onData = (d: Buffer): void => {
      acc = Buffer.concat([acc, d]);
      const nl = acc.indexOf(LF);
      if (nl < 0) return;
      cleanup();
      sock.pause();
      const line = acc.toString('utf8', 0, nl).replace(/\r$/, '');
      const rest = acc.subarray(nl + 1);
      if (rest.length > 0) sock.unshift(rest);
      if (!line.startsWith('INFO ')) {
        reject(new BenchProtocolError(`${url}: expected INFO from the server, got '${line.slice(0, 80)}'`));
        return;
      }
      resolve(line.slice(5));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new BenchProtocolError(`${url}: ${e.message}`));
    };
    const onClose = (): void => {
      cleanup();
      reject(new BenchProtocolError(`${url}: connection closed before INFO`));
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
  });
}

function upgrade(raw: Socket, host: string, opts: ConnectOptions): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const t = tlsConnect({
      socket: raw,
      servername: /^[\d.:]+$/.test(host) ? undefined : host,
      ca: opts.tlsCa ? readFileSync(opts.tlsCa) : undefined,
      rejectUnauthorized: !opts.tlsInsecure,
    });
    t.setNoDelay(true);
    t.once('secureConnect', () => {
      t.off('error', reject);
      resolve(t);
    });
    t.once('error', (e: Error) => reject(new BenchProtocolError(`TLS handshake: ${e.message}`)));
  });
}
