// Wall-clock time in nanoseconds. Date.now() has ms resolution only, so the
// store anchors process.hrtime (monotonic, ns) to the wall clock once: store
// timestamps are then exact-ns, strictly ordered within a process and close to
// the wall clock, like Go's time.Now().UnixNano() in nats-server.

const anchor = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return anchor + process.hrtime.bigint();
}

/** RFC3339 with nanoseconds in UTC, as nats-server writes times in JSON ("0001-01-01T00:00:00Z" for zero). */
export function nsToRfc3339(ns: bigint): string {
  if (ns === 0n) return '0001-01-01T00:00:00Z';
  const ms = ns / 1_000_000n;
  const base = new Date(Number(ms)).toISOString(); // yyyy-mm-ddThh:mm:ss.sssZ
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return frac === '' ? `${base.slice(0, 19)}Z` : `${base.slice(0, 19)}.${frac}Z`;
}
