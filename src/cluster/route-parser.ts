// RouteParser: the route protocol reader (nats-server's parser.go, route
// side). Control lines are located with a native memchr (indexOf) and
// dispatched on their verb; RMSG/HMSG arguments are split into byte ranges of
// the line (a PubArgs, the same shape the client parser produces, so local
// delivery copies subject/reply/size digits straight from the route's line).
//
// Split input: a control line cut by a read is kept in a growable scratch
// buffer; a payload cut by a read is copied into one right-sized buffer
// filled across reads. Ops understood: INFO, CONNECT, PING, PONG, +OK, -ERR,
// RS+, RS-, LS+, LS-, RMSG, HMSG (LMSG is refused: Tern has no leafnodes).
import { PubArgs, SplitLine, parseSize, splitArgs } from '../server/parser.js';

export interface RouteProtocolHandler {
  onInfo(json: string): void;
  onConnect(json: string): void;
  onPing(): void;
  onPong(): void;
  onErr(text: string): void;
  /** RS+ / LS+ arguments (account subject [queue weight]). */
  onSub(args: string[]): void;
  /** RS- / LS- arguments (account subject [queue]). */
  onUnsub(args: string[]): void;
  /**
   * One routed message: pa as for a client PUB (hdr -1 for RMSG), `queues`
   * the groups this server was chosen for (null: none), the body at
   * data[start .. start + pa.size) followed by CRLF.
   */
  onMsg(pa: PubArgs, account: string, queues: string[] | null, data: Buffer, start: number): void;
  /** Unrecoverable input: the route is closed. */
  onProtocolError(detail: string): void;
}

const CR = 13;
const LF = 10;
const SPACE = 32;
const TAB = 9;
const MAX_ARGS = 256;

/** Upper-cased first bytes of a line as a small number, to switch on verbs without strings. */
function verbOf(buf: Buffer, s: number, e: number): string {
  let k = s;
  while (k < e && buf[k] !== SPACE && buf[k] !== TAB) k++;
  if (k - s > 8) return '';
  return buf.toString('latin1', s, k).toUpperCase();
}

export class RouteParser {
  readonly pa = new PubArgs();
  private account = '';
  private queues: string[] | null = null;
  /** A control line split across reads. */
  private readonly split: SplitLine;
  /** Payload split across reads. */
  private msgBuf: Buffer | null = null;
  private msgLen = 0;
  /** Waiting for pa.size + 2 bytes of body. */
  private inPayload = false;
  private stopped = false;
  private readonly argS = new Int32Array(MAX_ARGS);
  private readonly argE = new Int32Array(MAX_ARGS);

  constructor(
    private readonly h: RouteProtocolHandler,
    maxControlLine: number,
  ) {
    this.split = new SplitLine(4096, maxControlLine);
  }

  /** Stop parsing (the route closed). */
  stop(): void {
    this.stopped = true;
  }

  parse(buf: Buffer): void {
    const len = buf.length;
    let i = 0;
    if (this.inPayload && this.msgBuf !== null) {
      const mb = this.msgBuf;
      const n = Math.min(mb.length - this.msgLen, len);
      buf.copy(mb, this.msgLen, 0, n);
      this.msgLen += n;
      if (this.msgLen < mb.length) return;
      this.msgBuf = null;
      this.msgLen = 0;
      this.inPayload = false;
      if (!this.body(mb, 0)) return;
      i = n;
    }
    while (i < len && !this.stopped) {
      if (this.inPayload) {
        const need = this.pa.size + 2;
        if (len - i >= need) {
          this.inPayload = false;
          if (!this.body(buf, i)) return;
          i += need;
          continue;
        }
        // Body cut by the read: copy what we have into a right-sized buffer.
        const mb = Buffer.allocUnsafe(need);
        buf.copy(mb, 0, i, len);
        this.msgBuf = mb;
        this.msgLen = len - i;
        // The control line may live in this chunk: keep it readable for delivery.
        this.pinArgs();
        return;
      }
      const lf = buf.indexOf(LF, i);
      const split = this.split;
      if (lf < 0) {
        split.append(buf, i, len);
        if (split.tooLong) this.fail(`maximum control line exceeded (${split.len})`);
        return;
      }
      let src = buf;
      let s = i;
      let e = lf;
      if (split.active) {
        split.append(buf, i, lf);
        src = split.buf;
        s = 0;
        e = split.take();
      }
      if (e > s && src[e - 1] === CR) e--;
      i = lf + 1;
      this.line(src, s, e);
    }
  }

  /** Deliver a complete body (checks its CRLF). */
  private body(data: Buffer, start: number): boolean {
    const sz = this.pa.size;
    if (data[start + sz] !== CR || data[start + sz + 1] !== LF) {
      this.fail('message body not followed by CRLF');
      return false;
    }
    this.h.onMsg(this.pa, this.account, this.queues, data, start);
    return !this.stopped;
  }

  /** Copy the current control line out of the read chunk (it outlives the chunk when the body is split). */
  private pinArgs(): void {
    const pa = this.pa;
    const src = pa.buf;
    const lo = pa.subjStart;
    const hi = Math.max(pa.szbEnd, pa.hdbEnd, pa.replyEnd, pa.subjEnd);
    const copy = Buffer.from(src.subarray(lo, hi));
    pa.buf = copy;
    pa.subjStart -= lo;
    pa.subjEnd -= lo;
    if (pa.replyEnd > pa.replyStart) {
      pa.replyStart -= lo;
      pa.replyEnd -= lo;
    } else pa.replyStart = pa.replyEnd = 0;
    if (pa.hdr >= 0) {
      pa.hdbStart -= lo;
      pa.hdbEnd -= lo;
    }
    pa.szbStart -= lo;
    pa.szbEnd -= lo;
  }

  private fail(detail: string): void {
    this.stopped = true;
    this.h.onProtocolError(detail);
  }

  private line(src: Buffer, s: number, e: number): void {
    if (e <= s) return; // empty line: tolerated
    const verb = verbOf(src, s, e);
    const argStart = s + verb.length;
    switch (verb) {
      case 'RMSG':
        this.msgArgs(src, argStart, e, false);
        return;
      case 'HMSG':
        this.msgArgs(src, argStart, e, true);
        return;
      case 'RS+':
      case 'LS+':
        this.h.onSub(splitArgs(src, argStart, e));
        return;
      case 'RS-':
      case 'LS-':
        this.h.onUnsub(splitArgs(src, argStart, e));
        return;
      case 'PING':
        this.h.onPing();
        return;
      case 'PONG':
        this.h.onPong();
        return;
      case '+OK':
        return;
      case '-ERR':
        this.h.onErr(src.toString('latin1', argStart, e).trim().replace(/^'|'$/g, ''));
        this.stopped = true;
        return;
      default:
        break;
    }
    // INFO{...} and CONNECT{...} need no space after the verb.
    const head = src.toString('latin1', s, Math.min(e, s + 8)).toUpperCase();
    if (head.startsWith('INFO')) this.h.onInfo(src.toString('utf8', s + 4, e).trim());
    else if (head.startsWith('CONNECT')) this.h.onConnect(src.toString('utf8', s + 7, e).trim());
    else this.fail(`Unknown Protocol Operation: ${JSON.stringify(src.toString('latin1', s, Math.min(e, s + 32)))}`);
  }

  /**
   * RMSG <acc> <subj> [reply] <size>
   * RMSG <acc> <subj> + <reply> <q1..qn> <size> | RMSG <acc> <subj> | <q1..qn> <size>
   * HMSG: the same with <hdr size> before <size>.
   */
  private msgArgs(src: Buffer, s: number, e: number, hmsg: boolean): void {
    const argS = this.argS;
    const argE = this.argE;
    let n = 0;
    let start = -1;
    for (let k = s; k <= e; k++) {
      const c = k < e ? src[k]! : SPACE;
      if (c === SPACE || c === TAB) {
        if (start >= 0) {
          if (n >= MAX_ARGS) {
            this.fail('too many arguments in routed message');
            return;
          }
          argS[n] = start;
          argE[n++] = k;
          start = -1;
        }
      } else if (start < 0) start = k;
    }
    const verb = hmsg ? 'HMSG' : 'RMSG';
    const sizes = hmsg ? 2 : 1;
    if (n < 2 + sizes) {
      this.fail(`processRoutedMsgArgs Parse Error: '${verb}${src.toString('latin1', s, e)}'`);
      return;
    }
    const pa = this.pa;
    pa.buf = src;
    this.account = src.toString('latin1', argS[0]!, argE[0]!);
    pa.subjStart = argS[1]!;
    pa.subjEnd = argE[1]!;
    pa.replyStart = pa.replyEnd = 0;
    this.queues = null;
    const middle = n - 2 - sizes; // args between subject and sizes
    if (middle === 1) {
      pa.replyStart = argS[2]!;
      pa.replyEnd = argE[2]!;
    } else if (middle > 1) {
      const mark = src[argS[2]!];
      const single = argE[2]! - argS[2]! === 1;
      let q = 3;
      if (single && mark === 43 /* + */) {
        pa.replyStart = argS[3]!;
        pa.replyEnd = argE[3]!;
        q = 4;
      } else if (!(single && mark === 124) /* | */) {
        this.fail(`processRoutedMsgArgs Bad or Missing Queue Marker: '${verb}${src.toString('latin1', s, e)}'`);
        return;
      }
      const queues: string[] = [];
      for (; q < n - sizes; q++) queues.push(src.toString('latin1', argS[q]!, argE[q]!));
      this.queues = queues;
    }
    if (hmsg) {
      pa.hdbStart = argS[n - 2]!;
      pa.hdbEnd = argE[n - 2]!;
      pa.hdr = parseSize(src, pa.hdbStart, pa.hdbEnd);
    } else pa.hdr = -1;
    pa.szbStart = argS[n - 1]!;
    pa.szbEnd = argE[n - 1]!;
    pa.size = parseSize(src, pa.szbStart, pa.szbEnd);
    if (pa.size < 0 || (hmsg && (pa.hdr < 0 || pa.hdr > pa.size))) {
      this.fail(`processRoutedMsgArgs Bad or Missing Size: '${verb}${src.toString('latin1', s, e)}'`);
      return;
    }
    pa.subject = src.toString('latin1', pa.subjStart, pa.subjEnd);
    this.inPayload = true;
  }
}
