// Subject rules shared by the parser, the sublist, permissions, JetStream and
// mappings. They follow nats-server 2.9 (checked against the reference server
// with raw SUB lines):
//   - tokens are separated by '.', and no token may be empty ("", ".a", "a.",
//     "a..b" are invalid);
//   - no whitespace anywhere (space, \t, \r, \n, \f, \v);
//   - '*' (one token) and '>' (one or more trailing tokens) are wildcards only
//     as a whole token: "foo*", "a.*b" and "a.>>" are ordinary literal tokens;
//   - a '>' token must be the last token.
// Every function here scans the string by index; none splits or allocates on
// the common path, because the parser calls them once per SUB/PUB.

const DOT = 0x2e; // '.'
const STAR = 0x2a; // '*'
const GT = 0x3e; // '>'

function isWhitespace(c: number): boolean {
  // space, \t, \n, \v, \f, \r
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Scans a subject and reports whether it is valid and whether it has wildcard
 * tokens. Returns 0 for invalid, 1 for a valid literal, 2 for a valid subject
 * with wildcards.
 */
function classify(s: string): 0 | 1 | 2 {
  const len = s.length;
  if (len === 0) return 0;
  let tokenStart = 0;
  let wild = false;
  let sawFwc = false;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? s.charCodeAt(i) : DOT; // virtual '.' closes the last token
    if (c === DOT) {
      const tlen = i - tokenStart;
      if (tlen === 0 || sawFwc) return 0; // empty token, or anything after '>'
      if (tlen === 1) {
        const t = s.charCodeAt(tokenStart);
        if (t === STAR) wild = true;
        else if (t === GT) {
          wild = true;
          sawFwc = true;
        }
      }
      tokenStart = i + 1;
    } else if (isWhitespace(c)) {
      return 0;
    }
  }
  return wild ? 2 : 1;
}

/** A subject acceptable for SUB: may contain '*' and a final '>'. */
export function isValidSubject(s: string): boolean {
  return classify(s) !== 0;
}

/** A valid subject with no wildcard tokens (what PUB should carry). */
export function isValidLiteralSubject(s: string): boolean {
  return classify(s) === 1;
}

/** True when the subject is valid and has at least one '*' or '>' token. */
export function subjectHasWildcard(s: string): boolean {
  return classify(s) === 2;
}

/**
 * A queue group name. nats-server 2.9 accepts any non-empty name without
 * whitespace (dots and '*' included, they carry no meaning there), so we do
 * the same rather than reject what the reference accepts.
 */
export function isValidQueueName(q: string): boolean {
  if (q.length === 0) return false;
  for (let i = 0; i < q.length; i++) if (isWhitespace(q.charCodeAt(i))) return false;
  return true;
}

/** End index (exclusive) of the token starting at `start`. */
function tokenEnd(s: string, start: number): number {
  const i = s.indexOf('.', start);
  return i === -1 ? s.length : i;
}

function isTok(s: string, start: number, end: number, code: number): boolean {
  return end - start === 1 && s.charCodeAt(start) === code;
}

function tokensEqual(a: string, as: number, ae: number, b: string, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let i = 0; i < ae - as; i++) if (a.charCodeAt(as + i) !== b.charCodeAt(bs + i)) return false;
  return true;
}

/**
 * Does a subject match a filter (a subscription pattern)? Tokens of `subject`
 * are all taken literally, so a '*' in `subject` only matches a '*' or '>'
 * in the filter: this is what the sublist does for a wildcard PUB subject.
 * Neither argument is validated; pass valid subjects.
 */
export function subjectMatchesFilter(subject: string, filter: string): boolean {
  const slen = subject.length;
  const flen = filter.length;
  if (slen === 0 || flen === 0) return false;
  let si = 0;
  let fi = 0;
  for (;;) {
    const fe = tokenEnd(filter, fi);
    const se = tokenEnd(subject, si);
    if (isTok(filter, fi, fe, GT)) return true; // the subject has at least this token left
    if (!isTok(filter, fi, fe, STAR) && !tokensEqual(filter, fi, fe, subject, si, se)) return false;
    const fDone = fe === flen;
    const sDone = se === slen;
    if (fDone || sDone) return fDone && sDone;
    fi = fe + 1;
    si = se + 1;
  }
}

/** Splits once; used only by the pattern-vs-pattern functions (not hot). */
function tokens(s: string): string[] {
  return s.split('.');
}

/**
 * Can two patterns match a common literal subject? JetStream uses this to
 * reject streams whose subjects overlap. Invalid subjects never overlap.
 */
export function subjectsOverlap(a: string, b: string): boolean {
  if (!isValidSubject(a) || !isValidSubject(b)) return false;
  const ta = tokens(a);
  const tb = tokens(b);
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    // '>' consumes this and all later tokens of the other side (at least one exists here).
    if (x === '>' || y === '>') return true;
    if (x !== y && x !== '*' && y !== '*') return false;
  }
  // No '>' was reached: a common subject must have exactly as many tokens as both.
  return ta.length === tb.length;
}

/**
 * Is every subject matched by `sub` also matched by `of`? Used for
 * permissions and stream capture. Invalid subjects are never subsets.
 */
export function subjectIsSubsetOf(sub: string, of: string): boolean {
  if (!isValidSubject(sub) || !isValidSubject(of)) return false;
  const ts = tokens(sub);
  const to = tokens(of);
  for (let i = 0; i < to.length; i++) {
    const o = to[i]!;
    if (o === '>') return i < ts.length; // covers one or more tokens, whatever they are
    if (i >= ts.length) return false;
    const s = ts[i]!;
    if (o === '*') {
      if (s === '>') return false; // '>' can stand for several tokens, '*' for one
      continue;
    }
    if (s !== o) return false; // includes s being a wildcard under a literal
  }
  return ts.length === to.length;
}

/**
 * The `index`-th token of `subject`, counting from 1 as nats-server's subject
 * mappings do ("{{wildcard(1)}}", "$1"). Returns '' when index is < 1 or past
 * the last token.
 */
export function tokenAt(subject: string, index: number): string {
  if (!Number.isInteger(index) || index < 1) return '';
  let start = 0;
  for (let i = 1; i < index; i++) {
    const dot = subject.indexOf('.', start);
    if (dot === -1) return '';
    start = dot + 1;
  }
  if (start > subject.length) return '';
  return subject.slice(start, tokenEnd(subject, start));
}

/** Number of '.'-separated tokens (0 for the empty string). */
export function numTokens(subject: string): number {
  if (subject.length === 0) return 0;
  let n = 1;
  for (let i = 0; i < subject.length; i++) if (subject.charCodeAt(i) === DOT) n++;
  return n;
}
