// Query parameters of the monitoring endpoints, decoded as nats-server's
// decodeBool/decodeInt do; a bad value is an HTTP 400 with the same text.

export class MonitorQueryError extends Error {}

export const DEFAULT_LIMIT = 1024;

export function intParam(q: URLSearchParams, name: string, def: number): number {
  const s = q.get(name);
  if (s === null || s === '') return def;
  if (!/^[+-]?\d+$/.test(s)) throw new MonitorQueryError(`Error decoding int for '${name}': strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
}

/** Go's strconv.ParseBool spellings. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function boolParam(q: URLSearchParams, name: string): boolean {
  const s = q.get(name);
  if (s === null || s === '') return false;
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new MonitorQueryError(`Error decoding boolean for '${name}': strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}
