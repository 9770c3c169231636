// Subject rules shared by the parser, the sublist, permissions, JetStream (the
// stream store too), mappings and the bridge: the one home of the subject
// grammar. They follow nats-server 2.9 (checked against the reference server
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
  // space, \t, \n, \v, \f, \r; the first test lets every printable character out at once
  return c <= 0x20 && (c === 0x20 || (c >= 0x09 && c <= 0x0d));
}

/** 1 for a one-character '*' token, 2 for '>', 0 otherwise. */
function wildcardKind(s: string, start: number, end: number): 0 | 1 | 2 {
  if (end - start !== 1) return 0;
  const c = s.charCodeAt(start);
  return c === STAR ? 1 : c === GT ? 2 : 0;
}

/**
 * Scans a subject and reports whether it is valid and whether it has wildcard
 * tokens. Returns 0 for invalid, 1 for a valid literal, 2 for a valid subject
 * with wildcards. A token is only inspected as a wildcard when it ends, so the
 * per-character work is one '.' test and one whitespace test.
 */
function classify(s: string): 0 | 1 | 2 {
  const len = s.length;
  if (len === 0) return 0;
  let tokenStart = 0;
  let wild = false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      if (i === tokenStart) return 0; // empty token
      const w = wildcardKind(s, tokenStart, i);
      if (w === 2) return 0; // '>' followed by more tokens
      if (w === 1) wild = true;
      tokenStart = i + 1;
    } else if (isWhitespace(c)) {
      return 0;
    }
  }
  if (tokenStart === len) return 0; // trailing '.'
  return wild || wildcardKind(s, tokenStart, len) !== 0 ? 2 : 1;
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

/**
 * True when some token is exactly '*' or '>'. Unlike subjectHasWildcard this
 * does not validate: the stream store asks it of request filters that may be
 * anything, and an invalid filter with a wildcard must still take the
 * matching path rather than the literal lookup.
 */
export function hasWildcardToken(s: string): boolean {
  let start = 0;
  for (;;) {
    const dot = s.indexOf('.', start);
    const end = dot === -1 ? s.length : dot;
    if (wildcardKind(s, start, end) !== 0) return true;
    if (dot === -1) return false;
    start = dot + 1;
  }
}

/** End index (exclusive) of the token starting at `start`. */
function tokenEnd(s: string, start: number): number {
  const i = s.indexOf('.', start);
  return i === -1 ? s.length : i;
}

/**
 * Does a subject match a filter (a subscription pattern)? Tokens of `subject`
 * are all taken literally, so a '*' in `subject` only matches a '*' or '>'
 * in the filter: this is what the sublist does for a wildcard PUB subject.
 * Neither argument is validated; pass valid subjects. Hot for the stream
 * store and consumers: walks both strings by index, splits nothing.
 */
export function subjectMatchesFilter(subject: string, filter: string): boolean {
  const slen = subject.length;
  const flen = filter.length;
  if (slen === 0 || flen === 0) return false;
  let si = 0;
  let fi = 0;
  for (;;) {
    const fdot = filter.indexOf('.', fi);
    const fe = fdot === -1 ? flen : fdot;
    const w = wildcardKind(filter, fi, fe);
    if (w === 2) return si < slen; // '>' needs at least one more subject token
    if (si >= slen) return false;
    const sdot = subject.indexOf('.', si);
    const se = sdot === -1 ? slen : sdot;
    if (w === 0) {
      if (se - si !== fe - fi) return false;
      // Short substrings compare faster than a charCodeAt loop in V8.
      if (subject.substring(si, se) !== filter.substring(fi, fe)) return false;
    }
    if (sdot === -1 || fdot === -1) return sdot === -1 && fdot === -1;
    si = sdot + 1;
    fi = fdot + 1;
  }
}

/** Splits once; used only by the pattern-vs-pattern and error-message functions (not hot). */
function tokens(s: string): string[] {
  return s.split('.');
}

/**
 * Why a subject written by a person (a mapping, a config file) is not
 * acceptable, in words for an error message; undefined when it is. With
 * `allowWildcards` false it must be a literal subject. Stricter than
 * isValidSubject on purpose: it also refuses control characters and tokens
 * that mix a wildcard with other characters ("foo*"), which nats-server takes
 * as literal text but a person almost never means. Not for hot paths.
 */
export function subjectProblem(subject: string, allowWildcards: boolean): string | undefined {
  if (subject.length === 0) return 'is empty';
  const toks = tokens(subject);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.length === 0) return `has an empty token (position ${i})`;
    if (/[\s\x00-\x1f\x7f]/.test(t)) return `token "${t}" contains whitespace or control characters`;
    if (t === '*' || t === '>') {
      if (!allowWildcards) return `contains wildcard "${t}"`;
      if (t === '>' && i !== toks.length - 1) return '">" must be the last token';
    } else if (t.includes('*') || t.includes('>')) {
      return `token "${t}" mixes a wildcard with other characters`;
    }
  }
  return undefined;
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
