// NATS subject rules the bridge needs: escaping source values into subject tokens,
// translating AMQP binding keys into subject patterns, validating templates' output,
// refusing system subject spaces, and "does pattern A capture pattern B" for preflight.
// The subject grammar itself (validity, subset) is the shared one in src/server/subject.ts,
// a pure module that holds no broker state, so the bridge still works with any NATS server.
import { subjectIsSubsetOf, subjectProblem } from '../server/subject.js';

export { subjectProblem };

/** Subject spaces the bridge never publishes into: JetStream API, system account, inboxes. */
export const RESERVED_PREFIXES = ['$JS', '$SYS', '_INBOX'] as const;

/**
 * Escape a value so it is one legal subject token: whitespace, `.`, `*`, `>`, `%` and
 * control characters become %XX (uppercase hex of each UTF-8 byte), and an empty value
 * becomes `_`. `%` is escaped too so the encoding is reversible.
 */
export function escapeToken(value: string): string {
  if (value === '') return '_';
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x20 || c === 0x7f || ch === '.' || ch === '*' || ch === '>' || ch === '%') {
      for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    } else {
      out += ch;
    }
  }
  return out;
}

/** Escape a dotted value (an AMQP routing key) token by token, keeping the dots. */
export function escapeDotted(value: string): string {
  return value.split('.').map(escapeToken).join('.');
}

/**
 * Translate an AMQP topic binding key to a NATS subject pattern: `*` stays `*`, `#` becomes
 * `>`. `#` is only translatable as the last word (NATS `>` must be last); anything else,
 * like `a.#.b`, is refused with a message saying so. Literal words are escaped.
 */
export function bindingKeyToSubject(key: string): string {
  const words = key.split('.');
  return words
    .map((w, i) => {
      if (w === '*') return '*';
      if (w === '#') {
        if (i !== words.length - 1) {
          throw new Error(`binding key "${key}": "#" is only translatable as the last word (NATS ">" must be last); write an explicit target.subject`);
        }
        return '>';
      }
      return escapeToken(w);
    })
    .join('.');
}

/** True if the subject (or pattern) lies in a reserved space ($JS.>, $SYS.>, _INBOX.>). */
export function isReserved(subject: string): boolean {
  const first = subject.split('.', 1)[0]!;
  return (RESERVED_PREFIXES as readonly string[]).includes(first) || first === '>';
}

/**
 * True if every subject matched by `inner` is matched by `outer` (both may hold wildcards).
 * Used by the preflight: a stream's subjects must capture a mapping's subject pattern.
 */
export function patternCovers(outer: string, inner: string): boolean {
  return subjectIsSubsetOf(inner, outer);
}
