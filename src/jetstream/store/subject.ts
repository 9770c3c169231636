// Subject filters as the store needs them: does a literal subject match a
// filter with `*` (one token) and `>` (one or more trailing tokens)? The store
// keeps its own small matcher so that it does not depend on the broker core.

/** '' and '>' both mean "every subject". */
export function isAll(filter: string): boolean {
  return filter === '' || filter === '>';
}

/** True when filter has no wildcard token. */
export function isLiteral(filter: string): boolean {
  if (filter === '') return false;
  let start = 0;
  for (;;) {
    const dot = filter.indexOf('.', start);
    const end = dot === -1 ? filter.length : dot;
    if (end - start === 1) {
      const c = filter.charCodeAt(start);
      if (c === 42 /* * */ || c === 62 /* > */) return false;
    }
    if (dot === -1) return true;
    start = dot + 1;
  }
}

/** Token-by-token match of a literal subject against a filter, without splitting into arrays. */
export function subjectMatches(subject: string, filter: string): boolean {
  if (isAll(filter)) return true;
  let si = 0;
  let fi = 0;
  const sl = subject.length;
  const fl = filter.length;
  for (;;) {
    const fdot = filter.indexOf('.', fi);
    const fend = fdot === -1 ? fl : fdot;
    const ftok1 = fend - fi === 1 ? filter.charCodeAt(fi) : 0;
    if (ftok1 === 62 /* > */) return si < sl; // needs at least one more token
    if (si >= sl) return false;
    const sdot = subject.indexOf('.', si);
    const send = sdot === -1 ? sl : sdot;
    if (ftok1 !== 42 /* * */) {
      if (send - si !== fend - fi) return false;
      if (subject.substring(si, send) !== filter.substring(fi, fend)) return false;
    }
    const sDone = sdot === -1;
    const fDone = fdot === -1;
    if (sDone || fDone) return sDone && fDone;
    si = sdot + 1;
    fi = fdot + 1;
  }
}

/** A subject the store accepts: non-empty tokens, no wildcards, no whitespace. */
export function isValidLiteralSubject(subject: string): boolean {
  if (subject.length === 0) return false;
  let tokenLen = 0;
  for (let i = 0; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    if (c === 46 /* . */) {
      if (tokenLen === 0) return false;
      tokenLen = 0;
      continue;
    }
    if (c === 32 || c === 9 || c === 10 || c === 13) return false;
    if ((c === 42 || c === 62) && tokenLen === 0) {
      const next = subject.charCodeAt(i + 1);
      if (Number.isNaN(next) || next === 46) return false; // a wildcard token
    }
    tokenLen++;
  }
  return tokenLen > 0;
}
