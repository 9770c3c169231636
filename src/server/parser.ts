// The client protocol parser: a byte-level state machine over Buffers, after
// nats-server's parser.go. One switch over named states; verbs are matched
// case-insensitively one byte at a time; argument lines are located with a
// native memchr (indexOf) and split without creating strings; payloads that
// sit whole inside a read are jumped over and handed out as (buffer, offset)
// with no copy.
//
// Split input (any byte boundary) is handled like nats-server:
// - a control line cut by a read is kept in a growable scratch buffer (a
//   SplitLine, shared with the route parser), checked against
//   max_control_line at the end of every read;
// - a payload cut by a read is copied into one right-sized buffer (`msgBuf`)
//   filled across reads (no Buffer.concat per read).
// Every 'data' chunk from a net.Socket is a fresh Buffer, so publish
// arguments may keep pointing into the previous chunk while the payload
// arrives.
//
// Quirks kept on purpose because clients and tests see them:
// - a bare LF ends a line; a CR anywhere in an argument line drops the byte
//   before the LF (nats-server's `drop`);
// - PING/PONG/+OK ignore anything up to the LF;
// - CONNECT and INFO need no space before their argument;
// - MSG, RS+, RMSG, LS+, A+ from a client are 'Unknown Protocol Operation';
//   HMSG from a client is parsed and ignored (as nats-server does).

/** Where the parts of a PUB/HPUB control line are. Reused for every message of a connection. */
export class PubArgs {
  /** Buffer holding the control line (a read chunk or the parser's scratch). */
  buf: Buffer = EMPTY;
  subjStart = 0;
  subjEnd = 0;
  /** replyStart === replyEnd: no reply subject. */
  replyStart = 0;
  replyEnd = 0;
  /** Header size digits (HPUB only). */
  hdbStart = 0;
  hdbEnd = 0;
  /** Total size digits, copied verbatim into MSG/HMSG lines. */
  szbStart = 0;
  szbEnd = 0;
  /** Header bytes, -1 for PUB. */
  hdr = -1;
  /** Total bytes (headers + payload). */
  size = 0;
  subject = '';
  /**
   * The control line's subject bytes are exactly `subject` (the match key).
   * False when a line shows another subject than the one routed on (JetStream
   * deliveries), so literal subscriptions' cached prefixes must not be used.
   */
  shownIsSubject = false;
  // bodyView's cache: one view per message body, shared by all its deliveries.
  private vData: Buffer = EMPTY;
  private vStart = -1;
  private vView: Uint8Array = EMPTY;

  /**
   * data[start, start + n) as a Uint8Array for `target.set(view, pos)`.
   * Buffer.copy makes such a view (and runs argument checks) on every call;
   * a fan-out copies the same body into many outbound buffers, so the view is
   * made once per message. A view is a window, not a copy: it stays correct
   * even if the memory under it is reused.
   */
  bodyView(data: Buffer, start: number, n: number): Uint8Array {
    const v = this.vView;
    if (this.vData === data && this.vStart === start && v.length === n) return v;
    const nv = new Uint8Array(data.buffer, data.byteOffset + start, n);
    this.vData = data;
    this.vStart = start;
    this.vView = nv;
    return nv;
  }

  private seenData: Buffer = EMPTY;
  private seenStart = -1;

  /**
   * True from the second delivery of the same body on. The first delivery
   * copies word-wise (no allocation); a fan-out's later deliveries share one
   * bodyView, whose native set() is then cheaper per copy.
   */
  bodySeen(data: Buffer, start: number): boolean {
    if (this.seenData === data && this.seenStart === start) return true;
    this.seenData = data;
    this.seenStart = start;
    return false;
  }

  private dvData: Buffer = EMPTY;
  private dv: DataView = EMPTY_DV;

  /** A DataView over the whole of `data` (one per read chunk), for word-wise copies of mid-size bodies. */
  dataView(data: Buffer): DataView {
    if (this.dvData === data) return this.dv;
    const dv = new DataView(data.buffer, data.byteOffset, data.length);
    this.dvData = data;
    this.dv = dv;
    return dv;
  }

  get hasReply(): boolean {
    return this.replyEnd > this.replyStart;
  }

  replyString(): string {
    return this.replyEnd > this.replyStart ? this.buf.toString('latin1', this.replyStart, this.replyEnd) : '';
  }

  /** The argument line as text, for traces and error messages only. */
  argString(): string {
    const end = this.hdr >= 0 ? this.szbEnd : this.szbEnd;
    return this.buf.toString('latin1', this.subjStart, end);
  }
}

const EMPTY = Buffer.alloc(0);
const EMPTY_DV = new DataView(new ArrayBuffer(0));

/** Buffer's native latin1Slice skips toString()'s argument checks (the subject string is made per message). */
interface FastSlice {
  latin1Slice(start: number, end: number): string;
}

/** What the parser calls back into (a client connection; routes may provide their own). */
export interface ProtocolHandler {
  /** True while auth is required and no CONNECT has been accepted: any other first op is a violation. */
  readonly awaitingAuth: boolean;
  /** Called with parsed PUB/HPUB args (pa.hdr = -1 for PUB). Return false to stop parsing (connection closed). */
  processPub(pa: PubArgs): boolean;
  /** The message body: pa.size bytes at data[start], followed by CRLF at data[start + pa.size]. */
  processMsg(pa: PubArgs, data: Buffer, start: number): void;
  processSub(buf: Buffer, start: number, end: number): boolean;
  processUnsub(buf: Buffer, start: number, end: number): boolean;
  processConnect(buf: Buffer, start: number, end: number): boolean;
  processInfo(buf: Buffer, start: number, end: number): boolean;
  processPing(): void;
  processPong(): void;
  /** `-ERR` from the peer: closes a client connection. */
  processErr(buf: Buffer, start: number, end: number): void;
  /** Bad byte in state: -ERR 'Unknown Protocol Operation' and close. */
  parseError(state: number, snippet: string): void;
  /** Bad arguments: close with no -ERR (as nats-server). */
  protocolViolation(detail: string): void;
  /** Control line longer than max_control_line: -ERR and close. */
  maxControlLineExceeded(len: number): void;
  /** First op not CONNECT while auth is required. */
  authViolation(): void;
}

// Parser states, named as in parser.go.
export const OP_START = 0;
const OP_PLUS = 1;
const OP_PLUS_O = 2;
const OP_PLUS_OK = 3;
const OP_MINUS = 4;
const OP_MINUS_E = 5;
const OP_MINUS_ER = 6;
const OP_MINUS_ERR = 7;
const OP_MINUS_ERR_SPC = 8;
const MINUS_ERR_ARG = 9;
const OP_C = 10;
const OP_CO = 11;
const OP_CON = 12;
const OP_CONN = 13;
const OP_CONNE = 14;
const OP_CONNEC = 15;
const OP_CONNECT = 16;
const CONNECT_ARG = 17;
const OP_H = 18;
const OP_HP = 19;
const OP_HPU = 20;
const OP_HPUB = 21;
const OP_HPUB_SPC = 22;
const HPUB_ARG = 23;
const OP_HM = 24;
const OP_HMS = 25;
const OP_HMSG = 26;
const OP_HMSG_SPC = 27;
const HMSG_ARG = 28;
const OP_P = 29;
const OP_PU = 30;
const OP_PUB = 31;
const OP_PUB_SPC = 32;
const PUB_ARG = 33;
const OP_PI = 34;
const OP_PIN = 35;
const OP_PING = 36;
const OP_PO = 37;
const OP_PON = 38;
const OP_PONG = 39;
const MSG_PAYLOAD = 40;
const MSG_END_R = 41;
// MSG_END_N (42) is folded into MSG_END_R: the CRLF after a payload is checked as a pair.

const OP_S = 43;
const OP_SU = 44;
const OP_SUB = 45;
const OP_SUB_SPC = 46;
const SUB_ARG = 47;
const OP_U = 48;
const OP_UN = 49;
const OP_UNS = 50;
const OP_UNSU = 51;
const OP_UNSUB = 52;
const OP_UNSUB_SPC = 53;
const UNSUB_ARG = 54;
const OP_I = 55;
const OP_IN = 56;
const OP_INF = 57;
const OP_INFO = 58;
const INFO_ARG = 59;
/** After a client's HMSG line: expect CRLF, then ignore (nats-server parses it and drops it). */
const IGNORED_END_R = 60;
const IGNORED_END_N = 61;

const CR = 13;
const LF = 10;
const SPACE = 32;
const TAB = 9;

function isArgState(s: number): boolean {
  return (
    s === PUB_ARG ||
    s === HPUB_ARG ||
    s === SUB_ARG ||
    s === UNSUB_ARG ||
    s === CONNECT_ARG ||
    s === INFO_ARG ||
    s === MINUS_ERR_ARG ||
    s === HMSG_ARG
  );
}

/**
 * A control line cut by a read (both parsers): its bytes so far in a scratch
 * buffer that doubles as needed, and the max_control_line it must stay within.
 */
export class SplitLine {
  buf: Buffer;
  /** Bytes held; -1 while no line is split. */
  len = -1;

  constructor(
    initialSize: number,
    public max: number,
  ) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get active(): boolean {
    return this.len >= 0;
  }

  /** The held bytes pass max_control_line. */
  get tooLong(): boolean {
    return this.len > this.max;
  }

  /** Append src[s, e), starting a split line if none is held. */
  append(src: Buffer, s: number, e: number): void {
    if (this.len < 0) this.len = 0;
    const need = this.len + (e - s);
    if (need > this.buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(nb, 0, 0, this.len);
      this.buf = nb;
    }
    src.copy(this.buf, this.len, s, e);
    this.len = need;
  }

  /** The line is complete: its length (its bytes are buf[0, length)); the scratch is free again. */
  take(): number {
    const n = this.len;
    this.len = -1;
    return n;
  }
}

/** Decimal digits to a number; -1 when empty, not all digits, or absurdly large (as parseSize). */
export function parseSize(buf: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

export class ProtocolParser {
  state = OP_START;
  /** Start of the current argument line in the current chunk. */
  private as = 0;
  /** A control line split across reads. */
  private readonly split: SplitLine;
  /** Payload split across reads. */
  private msgBuf: Buffer | null = null;
  private msgLen = 0;
  readonly pa = new PubArgs();
  // Reused argument-position arrays for PUB/HPUB splitting (max 4 args).
  private readonly argS = new Int32Array(5);
  private readonly argE = new Int32Array(5);

  constructor(
    private readonly h: ProtocolHandler,
    private mcl: number,
  ) {
    this.split = new SplitLine(Math.max(4096, Math.min(mcl, 64 * 1024)), mcl);
  }

  setMaxControlLine(mcl: number): void {
    this.mcl = mcl;
    this.split.max = mcl;
  }

  /** Parse one read. Returns false when a handler stopped the connection. */
  parse(buf: Buffer): boolean {
    const h = this.h;
    const len = buf.length;
    let state = this.state;
    let i = 0;
    let b = 0;

    // Continue a payload split across reads.
    if (state === MSG_PAYLOAD && this.msgBuf !== null) {
      const mb = this.msgBuf;
      const n = Math.min(mb.length - this.msgLen, len);
      buf.copy(mb, this.msgLen, 0, n);
      this.msgLen += n;
      if (this.msgLen < mb.length) return true;
      this.msgBuf = null;
      this.msgLen = 0;
      const sz = this.pa.size;
      if (mb[sz] !== CR || mb[sz + 1] !== LF) {
        this.state = MSG_PAYLOAD;
        h.parseError(MSG_END_R, snippet(mb, sz));
        return false;
      }
      h.processMsg(this.pa, mb, 0);
      state = OP_START;
      i = n;
    }

    for (; i < len; i++) {
      b = buf[i]!;
      switch (state) {
        case OP_START:
          if (b !== 67 && b !== 99 && h.awaitingAuth) {
            this.state = OP_START;
            h.authViolation();
            return false;
          }
          switch (b | 0x20) {
            case 112: // p
              // Fast path for the hottest verb: "PUB " in one step.
              if (
                i + 3 < len &&
                (buf[i + 1]! | 0x20) === 117 &&
                (buf[i + 2]! | 0x20) === 98 &&
                (buf[i + 3] === SPACE || buf[i + 3] === TAB)
              ) {
                i += 3;
                state = OP_PUB_SPC;
              } else state = OP_P;
              break;
            case 104: // h
              state = OP_H;
              break;
            case 115: // s
              state = OP_S;
              break;
            case 117: // u
              state = OP_U;
              break;
            case 99: // c
              state = OP_C;
              break;
            case 105: // i
              state = OP_I;
              break;
            default:
              if (b === 43) state = OP_PLUS;
              else if (b === 45) state = OP_MINUS;
              else return this.fail(state, buf, i);
          }
          break;
        case OP_P:
          switch (b | 0x20) {
            case 117: // u
              state = OP_PU;
              break;
            case 105: // i
              state = OP_PI;
              break;
            case 111: // o
              state = OP_PO;
              break;
            default:
              return this.fail(state, buf, i);
          }
          break;
        case OP_PU:
          if ((b | 0x20) !== 98) return this.fail(state, buf, i);
          state = OP_PUB;
          break;
        case OP_PUB:
          if (b !== SPACE && b !== TAB) return this.fail(state, buf, i);
          state = OP_PUB_SPC;
          break;
        case OP_PUB_SPC:
          if (b === SPACE || b === TAB) break;
          state = PUB_ARG;
          this.as = i;
          break;
        case OP_H:
          switch (b | 0x20) {
            case 112: // p
              state = OP_HP;
              break;
            case 109: // m
              state = OP_HM;
              break;
            default:
              return this.fail(state, buf, i);
          }
          break;
        case OP_HP:
          if ((b | 0x20) !== 117) return this.fail(state, buf, i);
          state = OP_HPU;
          break;
        case OP_HPU:
          if ((b | 0x20) !== 98) return this.fail(state, buf, i);
          state = OP_HPUB;
          break;
        case OP_HPUB:
          if (b !== SPACE && b !== TAB) return this.fail(state, buf, i);
          state = OP_HPUB_SPC;
          break;
        case OP_HPUB_SPC:
          if (b === SPACE || b === TAB) break;
          state = HPUB_ARG;
          this.as = i;
          break;
        case OP_HM:
          if ((b | 0x20) !== 115) return this.fail(state, buf, i);
          state = OP_HMS;
          break;
        case OP_HMS:
          if ((b | 0x20) !== 103) return this.fail(state, buf, i);
          state = OP_HMSG;
          break;
        case OP_HMSG:
          if (b !== SPACE && b !== TAB) return this.fail(state, buf, i);
          state = OP_HMSG_SPC;
          break;
        case OP_HMSG_SPC:
          if (b === SPACE || b === TAB) break;
          state = HMSG_ARG;
          this.as = i;
          break;
        case OP_S:
          if ((b | 0x20) !== 117) return this.fail(state, buf, i);
          state = OP_SU;
          break;
        case OP_SU:
          if ((b | 0x20) !== 98) return this.fail(state, buf, i);
          state = OP_SUB;
          break;
        case OP_SUB:
          if (b !== SPACE && b !== TAB) return this.fail(state, buf, i);
          state = OP_SUB_SPC;
          break;
        case OP_SUB_SPC:
          if (b === SPACE || b === TAB) break;
          state = SUB_ARG;
          this.as = i;
          break;
        case OP_U:
          if ((b | 0x20) !== 110) return this.fail(state, buf, i);
          state = OP_UN;
          break;
        case OP_UN:
          if ((b | 0x20) !== 115) return this.fail(state, buf, i);
          state = OP_UNS;
          break;
        case OP_UNS:
          if ((b | 0x20) !== 117) return this.fail(state, buf, i);
          state = OP_UNSU;
          break;
        case OP_UNSU:
          if ((b | 0x20) !== 98) return this.fail(state, buf, i);
          state = OP_UNSUB;
          break;
        case OP_UNSUB:
          if (b !== SPACE && b !== TAB) return this.fail(state, buf, i);
          state = OP_UNSUB_SPC;
          break;
        case OP_UNSUB_SPC:
          if (b === SPACE || b === TAB) break;
          state = UNSUB_ARG;
          this.as = i;
          break;
        case OP_PI:
          if ((b | 0x20) !== 110) return this.fail(state, buf, i);
          state = OP_PIN;
          break;
        case OP_PIN:
          if ((b | 0x20) !== 103) return this.fail(state, buf, i);
          state = OP_PING;
          break;
        case OP_PING: {
          // Anything up to the LF belongs to PING.
          const j = b === LF ? i : buf.indexOf(LF, i);
          if (j < 0) {
            i = len;
            break;
          }
          i = j;
          state = OP_START;
          h.processPing();
          break;
        }
        case OP_PO:
          if ((b | 0x20) !== 110) return this.fail(state, buf, i);
          state = OP_PON;
          break;
        case OP_PON:
          if ((b | 0x20) !== 103) return this.fail(state, buf, i);
          state = OP_PONG;
          break;
        case OP_PONG: {
          const j = b === LF ? i : buf.indexOf(LF, i);
          if (j < 0) {
            i = len;
            break;
          }
          i = j;
          state = OP_START;
          h.processPong();
          break;
        }
        case OP_C:
          if ((b | 0x20) !== 111) return this.fail(state, buf, i);
          state = OP_CO;
          break;
        case OP_CO:
          if ((b | 0x20) !== 110) return this.fail(state, buf, i);
          state = OP_CON;
          break;
        case OP_CON:
          if ((b | 0x20) !== 110) return this.fail(state, buf, i);
          state = OP_CONN;
          break;
        case OP_CONN:
          if ((b | 0x20) !== 101) return this.fail(state, buf, i);
          state = OP_CONNE;
          break;
        case OP_CONNE:
          if ((b | 0x20) !== 99) return this.fail(state, buf, i);
          state = OP_CONNEC;
          break;
        case OP_CONNEC:
          if ((b | 0x20) !== 116) return this.fail(state, buf, i);
          state = OP_CONNECT;
          break;
        case OP_CONNECT:
          if (b === SPACE || b === TAB) break;
          state = CONNECT_ARG;
          this.as = i;
          break;
        case OP_I:
          if ((b | 0x20) !== 110) return this.fail(state, buf, i);
          state = OP_IN;
          break;
        case OP_IN:
          if ((b | 0x20) !== 102) return this.fail(state, buf, i);
          state = OP_INF;
          break;
        case OP_INF:
          if ((b | 0x20) !== 111) return this.fail(state, buf, i);
          state = OP_INFO;
          break;
        case OP_INFO:
          if (b === SPACE || b === TAB) break;
          state = INFO_ARG;
          this.as = i;
          break;
        case OP_PLUS:
          if ((b | 0x20) !== 111) return this.fail(state, buf, i);
          state = OP_PLUS_O;
          break;
        case OP_PLUS_O:
          if ((b | 0x20) !== 107) return this.fail(state, buf, i);
          state = OP_PLUS_OK;
          break;
        case OP_PLUS_OK: {
          const j = b === LF ? i : buf.indexOf(LF, i);
          if (j < 0) {
            i = len;
            break;
          }
          i = j;
          state = OP_START;
          break;
        }
        case OP_MINUS:
          if ((b | 0x20) !== 101) return this.fail(state, buf, i);
          state = OP_MINUS_E;
          break;
        case OP_MINUS_E:
          if ((b | 0x20) !== 114) return this.fail(state, buf, i);
          state = OP_MINUS_ER;
          break;
        case OP_MINUS_ER:
          if ((b | 0x20) !== 114) return this.fail(state, buf, i);
          state = OP_MINUS_ERR;
          break;
        case OP_MINUS_ERR:
          if (b !== SPACE && b !== TAB) return this.fail(state, buf, i);
          state = OP_MINUS_ERR_SPC;
          break;
        case OP_MINUS_ERR_SPC:
          if (b === SPACE || b === TAB) break;
          state = MINUS_ERR_ARG;
          this.as = i;
          break;

        // All argument states: the byte at `as` starts the argument (even if it
        // is a CR or LF, as in nats-server); look for the LF after it.
        case PUB_ARG:
        case HPUB_ARG:
        case SUB_ARG:
        case UNSUB_ARG:
        case CONNECT_ARG:
        case INFO_ARG:
        case MINUS_ERR_ARG:
        case HMSG_ARG: {
          let src: Buffer;
          let s: number;
          let e: number;
          let j: number;
          const split = this.split;
          if (split.len >= 0) {
            // Continuing a line split across reads: append non-CR bytes.
            j = buf.indexOf(LF, i);
            const stop = j < 0 ? len : j;
            this.appendArg(buf, i, stop);
            if (j < 0) {
              i = len;
              break;
            }
            src = split.buf;
            s = 0;
            e = split.take();
          } else {
            const as = this.as;
            j = i === as ? buf.indexOf(LF, as + 1) : buf.indexOf(LF, i);
            if (j < 0) {
              i = len;
              break; // split: saved after the loop
            }
            src = buf;
            s = as;
            // nats-server drops one byte before the LF if a CR appeared anywhere in the line;
            // the common case (CR right before LF) needs no scan.
            if (j > as + 1 && buf[j - 1] === CR) e = j - 1;
            else {
              const r = buf.indexOf(CR, as + 1);
              e = r >= 0 && r < j ? j - 1 : j;
            }
          }
          i = j;
          if (e - s > this.mcl) {
            this.state = state;
            h.maxControlLineExceeded(e - s);
            return false;
          }
          switch (state) {
            case PUB_ARG:
            case HPUB_ARG: {
              if (!this.splitPubArgs(src, s, e, state === HPUB_ARG)) {
                this.state = state;
                return false;
              }
              if (!h.processPub(this.pa)) {
                this.state = state;
                return false;
              }
              const ps = j + 1;
              const size = this.pa.size;
              if (ps + size + 2 <= len) {
                // The whole payload is in this read: jump over it.
                if (buf[ps + size] !== CR || buf[ps + size + 1] !== LF) {
                  this.state = MSG_END_R;
                  h.parseError(MSG_END_R, snippet(buf, ps + size));
                  return false;
                }
                h.processMsg(this.pa, buf, ps);
                i = ps + size + 1;
                state = OP_START;
              } else {
                // Payload continues in the next read(s).
                const mb = Buffer.allocUnsafe(size + 2);
                const n = len - ps;
                buf.copy(mb, 0, ps, len);
                this.msgBuf = mb;
                this.msgLen = n;
                this.state = MSG_PAYLOAD;
                return true;
              }
              break;
            }
            case SUB_ARG:
              state = OP_START;
              if (!h.processSub(src, s, e)) {
                this.state = state;
                return false;
              }
              break;
            case UNSUB_ARG:
              state = OP_START;
              if (!h.processUnsub(src, s, e)) {
                this.state = state;
                return false;
              }
              break;
            case CONNECT_ARG:
              state = OP_START;
              if (!h.processConnect(src, s, e)) {
                this.state = state;
                return false;
              }
              break;
            case INFO_ARG:
              state = OP_START;
              if (!h.processInfo(src, s, e)) {
                this.state = state;
                return false;
              }
              break;
            case MINUS_ERR_ARG:
              this.state = OP_START;
              h.processErr(src, s, e);
              return false;
            case HMSG_ARG:
              state = IGNORED_END_R;
              break;
          }
          break;
        }

        case IGNORED_END_R:
          if (b !== CR) return this.fail(state, buf, i);
          state = IGNORED_END_N;
          break;
        case IGNORED_END_N:
          if (b !== LF) return this.fail(state, buf, i);
          state = OP_START;
          break;
        default:
          return this.fail(state, buf, i);
      }
    }

    // A control line cut by this read: keep it in the scratch buffer.
    if (isArgState(state)) {
      const split = this.split;
      if (!split.active) {
        const as = this.as;
        const r = buf.indexOf(CR, as + 1);
        split.append(buf, as, r >= 0 ? len - 1 : len);
      }
      if (split.tooLong) {
        this.state = state;
        this.h.maxControlLineExceeded(split.len);
        return false;
      }
    }
    this.state = state;
    return true;
  }

  private fail(state: number, buf: Buffer, i: number): false {
    this.state = state;
    this.h.parseError(state, snippet(buf, i));
    return false;
  }

  /** Continuation bytes of a split line: CRs are not kept (nats-server's '\r' case does not append). */
  private appendArg(buf: Buffer, s: number, e: number): void {
    let k = s;
    while (k < e) {
      let r = buf.indexOf(CR, k);
      if (r < 0 || r >= e) r = e;
      if (r > k) this.split.append(buf, k, r);
      k = r + 1;
    }
  }

  /**
   * The common PUB line `<subject> [reply] <size>` in one pass: size digits
   * read back from the end, subject and reply forward from the start. Returns
   * false (pa untouched) for anything else, which the general splitter then
   * handles or reports.
   */
  private splitPubFast(src: Buffer, s: number, e: number): boolean {
    let d = e;
    let size = 0;
    let mul = 1;
    for (; d > s; d--) {
      const c = src[d - 1]! - 48;
      if (c < 0 || c > 9) break;
      size += c * mul;
      mul *= 10;
    }
    if (d === e || e - d > 15 || d <= s) return false;
    const sep = src[d - 1];
    if (sep !== SPACE && sep !== TAB) return false;
    let j = s;
    for (let c = src[j]!; c !== SPACE && c !== TAB; c = src[++j]!);
    let r = j;
    while (r < d && (src[r] === SPACE || src[r] === TAB)) r++;
    const pa = this.pa;
    if (r < d) {
      let re = r;
      for (let c = src[re]!; c !== SPACE && c !== TAB; c = src[++re]!);
      for (let t = re; t < d; t++) if (src[t] !== SPACE && src[t] !== TAB) return false;
      pa.replyStart = r;
      pa.replyEnd = re;
    } else pa.replyStart = pa.replyEnd = 0;
    pa.buf = src;
    pa.subjStart = s;
    pa.subjEnd = j;
    pa.hdr = -1;
    pa.szbStart = d;
    pa.szbEnd = e;
    pa.size = size;
    pa.subject = internSubject(src, s, j);
    pa.shownIsSubject = true;
    return true;
  }

  /** Split a PUB/HPUB argument line on spaces/tabs into this.pa. */
  private splitPubArgs(src: Buffer, s: number, e: number, hpub: boolean): boolean {
    if (!hpub && this.splitPubFast(src, s, e)) return true;
    const argS = this.argS;
    const argE = this.argE;
    let n = 0;
    let start = -1;
    for (let k = s; k < e; k++) {
      const c = src[k]!;
      if (c === SPACE || c === TAB) {
        if (start >= 0) {
          if (n >= 4) {
            n = 5;
            break;
          }
          argS[n] = start;
          argE[n++] = k;
          start = -1;
        }
      } else if (start < 0) start = k;
    }
    if (start >= 0 && n < 5) {
      if (n >= 4) n = 5;
      else {
        argS[n] = start;
        argE[n++] = e;
      }
    }
    const pa = this.pa;
    pa.buf = src;
    const verb = hpub ? 'processHeaderPub' : 'processPub';
    if (hpub) {
      if (n !== 3 && n !== 4) {
        this.h.protocolViolation(`${verb} Parse Error: '${src.toString('latin1', s, e)}'`);
        return false;
      }
    } else if (n !== 2 && n !== 3) {
      this.h.protocolViolation(`${verb} Parse Error: '${src.toString('latin1', s, e)}'`);
      return false;
    }
    pa.subjStart = argS[0]!;
    pa.subjEnd = argE[0]!;
    let k = 1;
    if ((hpub && n === 4) || (!hpub && n === 3)) {
      pa.replyStart = argS[1]!;
      pa.replyEnd = argE[1]!;
      k = 2;
    } else {
      pa.replyStart = pa.replyEnd = 0;
    }
    if (hpub) {
      pa.hdbStart = argS[k]!;
      pa.hdbEnd = argE[k]!;
      pa.hdr = parseSize(src, pa.hdbStart, pa.hdbEnd);
      k++;
    } else {
      pa.hdr = -1;
    }
    pa.szbStart = argS[k]!;
    pa.szbEnd = argE[k]!;
    pa.size = parseSize(src, pa.szbStart, pa.szbEnd);
    if (hpub && pa.hdr < 0) {
      this.h.protocolViolation(`${verb} Bad or Missing Header Size: '${src.toString('latin1', s, e)}'`);
      return false;
    }
    if (pa.size < 0) {
      this.h.protocolViolation(`${verb} Bad or Missing ${hpub ? 'Total ' : ''}Size: '${src.toString('latin1', s, e)}'`);
      return false;
    }
    if (hpub && pa.hdr > pa.size) {
      this.h.protocolViolation(`${verb} Header Size larger then TotalSize: '${src.toString('latin1', s, e)}'`);
      return false;
    }
    pa.subject = internSubject(src, pa.subjStart, pa.subjEnd);
    pa.shownIsSubject = true;
    return true;
  }
}

// Subject interning. Making the subject string costs a native call, an
// allocation and then a hash on the first Map lookup (~50-60 ns, the largest
// single cost of a 16 B publish); publishers mostly repeat a few subjects. So
// a direct-mapped table keyed by an FNV-1a hash of the subject bytes hands
// back the same string (hash already cached by V8) after a byte compare.
// Shared by every connection (one thread) and of fixed size: INTERN_SLOTS
// keys of at most INTERN_MAX_LEN bytes in one buffer (allocated on first
// use); a collision just replaces the slot.
const INTERN_SLOTS = 1024;
const INTERN_MAX_LEN = 128;
let internKeys: Buffer = EMPTY;
const internLens = new Int32Array(INTERN_SLOTS).fill(-1);
const internStrs: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** buf[start, end) as a latin1 string, the same string object for the same bytes while cached. */
export function internSubject(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n > INTERN_MAX_LEN) return (buf as unknown as FastSlice).latin1Slice(start, end);
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ buf[k]!, 0x01000193);
  const slot = (h ^ (h >>> 16)) & (INTERN_SLOTS - 1);
  const keys = internKeys;
  const at = slot * INTERN_MAX_LEN;
  if (internLens[slot] === n) {
    let k = 0;
    while (k < n && keys[at + k] === buf[start + k]) k++;
    if (k === n) return internStrs[slot]!;
  }
  const str = (buf as unknown as FastSlice).latin1Slice(start, end);
  if (keys.length === 0) internKeys = Buffer.alloc(INTERN_SLOTS * INTERN_MAX_LEN);
  // A copy: the read chunk is not ours to keep.
  buf.copy(internKeys, at, start, end);
  internLens[slot] = n;
  internStrs[slot] = str;
  return str;
}

function snippet(buf: Buffer, i: number): string {
  if (i >= buf.length) return '""';
  return JSON.stringify(buf.toString('latin1', i, Math.min(buf.length, i + 32)));
}

/** Split SUB/UNSUB arguments on spaces, tabs, CR and LF (nats-server's splitArg). */
export function splitArgs(buf: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let s = -1;
  for (let k = start; k < end; k++) {
    const c = buf[k]!;
    if (c === SPACE || c === TAB || c === CR || c === LF) {
      if (s >= 0) {
        out.push(buf.toString('latin1', s, k));
        s = -1;
      }
    } else if (s < 0) s = k;
  }
  if (s >= 0) out.push(buf.toString('latin1', s, end));
  return out;
}
