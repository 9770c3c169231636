// JetStream ack subjects, the reply subject of every consumer delivery:
//   $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>            (v1)
//   $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<dc>.<sseq>...       (v2, 11+ tokens)
// Every ack is a publish to one of these, so they are read token by token
// with index arithmetic (no split()), and built from a per-consumer prefix.

const DOT = 46;
const ZERO = 48;
const NINE = 57;

/** `$JS.ACK.<stream>.<consumer>.`: the part of every ack subject that is fixed per consumer. */
export function ackSubjectPrefix(stream: string, consumer: string): string {
  return `$JS.ACK.${stream}.${consumer}.`;
}

/**
 * The stream sequence named by an ack subject, or -1 when the subject is not
 * one (wrong token count, or sseq/cseq not decimal integers).
 */
export function ackStreamSeq(subject: string): number {
  const n = subject.length;
  let dots = 0;
  for (let i = 0; i < n; i++) if (subject.charCodeAt(i) === DOT) dots++;
  let base: number;
  if (dots === 8) base = 4;
  else if (dots >= 10) base = 6;
  else return -1;
  // Skip to the start of token base+1 (sseq).
  let i = 0;
  for (let tok = 0; tok < base + 1; i++) if (subject.charCodeAt(i) === DOT) tok++;
  const sseqEnd = digitsEnd(subject, i);
  if (sseqEnd < 0) return -1;
  if (digitsEnd(subject, sseqEnd + 1) < 0) return -1; // cseq must be a number too
  return Number(subject.slice(i, sseqEnd));
}

/** End (index of the next '.' or the end) of a run of 1-16 digits starting at i, or -1. */
function digitsEnd(s: string, i: number): number {
  let j = i;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === DOT) break;
    if (c < ZERO || c > NINE) return -1;
  }
  return j === i || j - i > 16 ? -1 : j;
}

/**
 * ackStreamSeq() of a subject that starts with a consumer's own v1 prefix of length `from`
 * (ackSubjectPrefix: four dots): one pass over the rest, `<dc>.<sseq>.<cseq>.<ts>.<pending>`,
 * with no string made. Any other shape takes the general path, so the result is the same.
 */
export function ackStreamSeqAfter(subject: string, from: number): number {
  const n = subject.length;
  let dots = 0;
  let sStart = -1;
  let sEnd = -1;
  let cEnd = -1;
  for (let i = from; i < n; i++) {
    if (subject.charCodeAt(i) !== DOT) continue;
    dots++;
    if (dots === 1) sStart = i + 1;
    else if (dots === 2) sEnd = i;
    else if (dots === 3) cEnd = i;
  }
  if (dots !== 4) return ackStreamSeq(subject);
  // sseq and cseq must each be a run of 1-16 digits filling its token.
  if (digitsEnd(subject, sStart) !== sEnd || digitsEnd(subject, sEnd + 1) !== cEnd) return -1;
  // Past 2^53 digit-by-digit sums may round differently from Number(): let it decide.
  if (sEnd - sStart > 15) return Number(subject.slice(sStart, sEnd));
  let v = 0;
  for (let i = sStart; i < sEnd; i++) v = v * 10 + (subject.charCodeAt(i) - ZERO);
  return v;
}
