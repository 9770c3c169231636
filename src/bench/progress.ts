// A one-line progress bar on a terminal (stderr), redrawn at most every 100 ms.
// On a pipe or file it prints nothing, so reports stay clean.
import type { WriteStream } from 'node:tty';

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream | WriteStream,
    private readonly enabled: boolean,
  ) {}

  static forStderr(wanted: boolean): ProgressBar {
    return new ProgressBar(process.stderr, wanted && process.stderr.isTTY === true);
  }

  update(label: string, done: number, total: number, force = false): void {
    if (!this.enabled || total <= 0) return;
    const t = Date.now();
    if (!force && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const width = 40;
    const frac = Math.min(1, done / total);
    const fill = Math.round(frac * width);
    const bar = '='.repeat(fill) + ' '.repeat(width - fill);
    this.out.write(`\r${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total}`);
    this.drawn = true;
  }

  /** Clears the line so the report starts at column 0. */
  done(): void {
    if (!this.drawn) return;
    this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
