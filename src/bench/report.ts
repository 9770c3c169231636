// Samples and the text/CSV report of `tern bench`, in the format of the classic
// nats-bench (nats.go's bench package), so that output from either tool can be
// read by the same eyes and the same parser (scripts/bench-lib).
//
// Timestamps are milliseconds on the process-wide clock
// (performance.timeOrigin + performance.now()), which is comparable across
// worker threads.

/** What one client (publisher or subscriber) did in one run. */
export interface Sample {
  /** Messages this client was responsible for (published, or received). */
  jobMsgCnt: number;
  /** Payload bytes of those messages. */
  msgBytes: number;
  /** Start and end of the client's activity, ms. */
  start: number;
  end: number;
}

export function sampleDuration(s: Sample): number {
  return (s.end - s.start) / 1000;
}

/** Messages per second, truncated to an integer as nats-bench does. */
export function sampleRate(s: Sample): number {
  const d = sampleDuration(s);
  return d > 0 ? Math.trunc(s.jobMsgCnt / d) : 0;
}

export function sampleThroughput(s: Sample): number {
  const d = sampleDuration(s);
  return d > 0 ? s.msgBytes / d : 0;
}

/** Several clients' samples, plus the aggregate (earliest start to latest end). */
export class SampleGroup implements Sample {
  readonly samples: Sample[] = [];
  jobMsgCnt = 0;
  msgBytes = 0;
  start = 0;
  end = 0;

  add(s: Sample): void {
    if (this.samples.length === 0) {
      this.start = s.start;
      this.end = s.end;
    }
    this.samples.push(s);
    this.jobMsgCnt += s.jobMsgCnt;
    this.msgBytes += s.msgBytes;
    if (s.start < this.start) this.start = s.start;
    if (s.end > this.end) this.end = s.end;
  }

  get hasSamples(): boolean {
    return this.samples.length > 0;
  }

  minRate(): number {
    return this.samples.reduce((m, s, i) => (i === 0 ? sampleRate(s) : Math.min(m, sampleRate(s))), 0);
  }

  maxRate(): number {
    return this.samples.reduce((m, s, i) => (i === 0 ? sampleRate(s) : Math.max(m, sampleRate(s))), 0);
  }

  avgRate(): number {
    if (this.samples.length === 0) return 0;
    return Math.trunc(this.samples.reduce((sum, s) => sum + sampleRate(s), 0) / this.samples.length);
  }

  /** Population standard deviation of the per-client rates. */
  stdDev(): number {
    if (this.samples.length === 0) return 0;
    const avg = this.avgRate();
    const sum = this.samples.reduce((acc, s) => acc + (sampleRate(s) - avg) ** 2, 0);
    return Math.sqrt(sum / this.samples.length);
  }

  statistics(): string {
    return (
      `min ${commaFormat(this.minRate())} | avg ${commaFormat(this.avgRate())} | ` +
      `max ${commaFormat(this.maxRate())} | stddev ${commaFormat(Math.trunc(this.stdDev()))} msgs`
    );
  }
}

/** 1234567 -> "1,234,567". */
export function commaFormat(n: number): string {
  const neg = n < 0;
  const digits = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return neg ? `-${out}` : out;
}

/** Bytes in powers of 1024 with nats-bench's labels ("KB", "MB", ...). */
export function humanBytes(bytes: number): string {
  const base = 1024;
  if (bytes < base) return `${bytes.toFixed(2)} B`;
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  const exp = Math.min(Math.floor(Math.log(bytes) / Math.log(base)), units.length);
  return `${(bytes / base ** exp).toFixed(2)} ${units[exp - 1]}B`;
}

function sampleString(s: Sample): string {
  return `${commaFormat(sampleRate(s))} msgs/sec ~ ${humanBytes(sampleThroughput(s))}/sec`;
}

/** A finished benchmark: publishers' and subscribers' samples. */
export class BenchResult {
  readonly pubs = new SampleGroup();
  readonly subs = new SampleGroup();

  constructor(
    readonly name: string,
    readonly runId: string,
  ) {}

  /** The whole run: pub and sub samples together, from the earliest start to the latest end. */
  overall(): Sample {
    const groups = [this.pubs, this.subs].filter((g) => g.hasSamples);
    return {
      jobMsgCnt: this.pubs.jobMsgCnt + this.subs.jobMsgCnt,
      msgBytes: this.pubs.msgBytes + this.subs.msgBytes,
      start: Math.min(...groups.map((g) => g.start)),
      end: Math.max(...groups.map((g) => g.end)),
    };
  }

  report(): string {
    if (!this.pubs.hasSamples && !this.subs.hasSamples) return 'No publisher or subscribers. Nothing to report.\n';
    let out = '';
    let indent = '';
    if (this.pubs.hasSamples && this.subs.hasSamples) {
      out += `${this.name} Pub/Sub stats: ${sampleString(this.overall())}\n`;
      indent = ' ';
    }
    const group = (label: string, g: SampleGroup): void => {
      if (!g.hasSamples) return;
      out += `${indent}${label} stats: ${sampleString(g)}\n`;
      if (g.samples.length > 1) {
        g.samples.forEach((s, i) => {
          out += `${indent} [${i + 1}] ${sampleString(s)} (${s.jobMsgCnt} msgs)\n`;
        });
        out += `${indent} ${g.statistics()}\n`;
      }
    };
    group('Pub', this.pubs);
    group('Sub', this.subs);
    return out;
  }

  csv(): string {
    const rows = ['#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs'];
    const add = (prefix: string, g: SampleGroup): void => {
      g.samples.forEach((s, i) => {
        rows.push(
          [
            this.runId,
            `${prefix}${i}`,
            s.jobMsgCnt,
            s.msgBytes,
            sampleRate(s),
            sampleThroughput(s).toFixed(6),
            sampleDuration(s).toFixed(6),
          ].join(','),
        );
      });
    };
    add('S', this.subs);
    add('P', this.pubs);
    return rows.join('\n') + '\n';
  }
}

/** Go's time.Duration formatting for the sub-hour range ("31.327µs", "1.5ms", "2.01s"). */
export function formatDuration(ns: number): string {
  const trim = (v: number, decimals: number): string => v.toFixed(decimals).replace(/\.?0+$/, '');
  if (ns < 1_000) return `${Math.round(ns)}ns`;
  if (ns < 1_000_000) return `${trim(ns / 1_000, 3)}µs`;
  if (ns < 1_000_000_000) return `${trim(ns / 1_000_000, 6)}ms`;
  return `${trim(ns / 1_000_000_000, 9)}s`;
}
