// Subject filters as the store sees them. The grammar and the matcher are the
// shared ones (src/server/subject.ts, a pure module with no broker state); what
// is the store's own is that a filter of '' or '>' means "every subject", which
// lets callers skip matching altogether.
import { hasWildcardToken, isValidLiteralSubject, subjectMatchesFilter } from '../../server/subject.js';

export { isValidLiteralSubject };

/** '' and '>' both mean "every subject". */
export function isAll(filter: string): boolean {
  return filter === '' || filter === '>';
}

/** True when filter has no wildcard token (so a per-subject lookup answers it). */
export function isLiteral(filter: string): boolean {
  return filter !== '' && !hasWildcardToken(filter);
}

/** Does a literal subject match a filter ('' matches everything)? */
export function subjectMatches(subject: string, filter: string): boolean {
  return isAll(filter) || subjectMatchesFilter(subject, filter);
}
