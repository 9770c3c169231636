// Value formats of nats-server's monitoring JSON: RFC3339 times with
// nanosecond digits, Go duration strings for rtt, "1d2h3m4s" uptimes.

/** RFC3339 in UTC, like Go's time.Time JSON (fraction trimmed of trailing zeros). */
export function rfc3339(d: Date): string {
  const iso = d.toISOString(); // 2026-11-26T10:26:09.437Z
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? '.' + frac : ''}Z`;
}

/** nats-server's myUptime: whole seconds as [Ny][Nd][Nh][Nm]Ns. */
export function uptimeString(ms: number): string {
  const tsecs = Math.max(0, Math.floor(ms / 1000));
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  const s = tsecs % 60;
  const m = tmins % 60;
  const h = thrs % 24;
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${h}h${m}m${s}s`;
  if (tdays > 0) return `${tdays}d${h}h${m}m${s}s`;
  if (thrs > 0) return `${thrs}h${m}m${s}s`;
  if (tmins > 0) return `${tmins}m${s}s`;
  return `${s}s`;
}

/** Go's time.Duration.String() for a duration given in milliseconds (sub-ms precision kept). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  const ns = Math.round(Math.abs(ms) * 1e6);
  let out: string;
  if (ns < 1000) out = `${ns}ns`;
  else if (ns < 1e6) out = `${trimNum(ns / 1e3)}µs`;
  else if (ns < 1e9) out = `${trimNum(ns / 1e6)}ms`;
  else {
    let rest = ns / 1e9;
    const h = Math.floor(rest / 3600);
    rest -= h * 3600;
    const m = Math.floor(rest / 60);
    rest -= m * 60;
    out = `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${trimNum(rest)}s`;
  }
  return neg ? `-${out}` : out;
}

function trimNum(n: number): string {
  // Go prints up to 9 fractional digits without trailing zeros.
  return String(Number(n.toFixed(9)));
}

/** Milliseconds to integer nanoseconds (Go time.Duration in JSON). */
export function msToNanos(ms: number): number {
  return ms * 1_000_000;
}
