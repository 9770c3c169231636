// nats-server style logging: `[pid] 2026/11/26 10:00:00.000000 [INF] msg`.
// -D enables [DBG], -V enables [TRC] (protocol lines); with a log file the
// lines go there instead of stderr. Logging is never on the message hot path
// unless tracing is on (tracing is for debugging, not speed).
import { appendFileSync, openSync, closeSync, writeSync } from 'node:fs';

export type LogLevel = 'INF' | 'WRN' | 'ERR' | 'FTL' | 'DBG' | 'TRC';

export interface LoggerOptions {
  debug: boolean;
  trace: boolean;
  logtime: boolean;
  /** '' = stderr. */
  logFile: string;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** `2026/11/26 10:00:00.000000` in local time, microseconds padded from ms. */
export function formatLogTime(d: Date): string {
  return (
    `${d.getFullYear()}/${pad(d.getMonth() + 1, 2)}/${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds() * 1000, 6)}`
  );
}

export class Logger {
  debugEnabled: boolean;
  traceEnabled: boolean;
  private logtime: boolean;
  private readonly prefix: string;
  private fd: number | null = null;

  constructor(opts: LoggerOptions) {
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    this.logtime = opts.logtime;
    this.prefix = `[${process.pid}] `;
    if (opts.logFile) {
      appendFileSync(opts.logFile, '');
      this.fd = openSync(opts.logFile, 'a');
    }
  }

  private write(level: LogLevel, msg: string): void {
    const line = this.logtime
      ? `${this.prefix}${formatLogTime(new Date())} [${level}] ${msg}\n`
      : `${this.prefix}[${level}] ${msg}\n`;
    if (this.fd !== null) writeSync(this.fd, line);
    else process.stderr.write(line);
  }

  info(msg: string): void {
    this.write('INF', msg);
  }
  warn(msg: string): void {
    this.write('WRN', msg);
  }
  error(msg: string): void {
    this.write('ERR', msg);
  }
  fatal(msg: string): void {
    this.write('FTL', msg);
  }
  debug(msg: string): void {
    if (this.debugEnabled) this.write('DBG', msg);
  }
  trace(msg: string): void {
    if (this.traceEnabled) this.write('TRC', msg);
  }

  /** Apply new log settings (config reload, SIGUSR1 reopen): later lines follow them. */
  reconfigure(opts: LoggerOptions): void {
    this.debugEnabled = opts.debug;
    this.traceEnabled = opts.trace;
    this.logtime = opts.logtime;
    this.close();
    if (opts.logFile) {
      appendFileSync(opts.logFile, '');
      this.fd = openSync(opts.logFile, 'a');
    }
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}
