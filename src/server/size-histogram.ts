// SizeHistogram: cumulative-bucket counts of sizes observed on a hot path
// (e.g. bytes per outbound flush). observe() is a short loop over a fixed
// array: no allocation, no labels; /metrics reads the numbers on scrape.

/** Bucket upper bounds (bytes) for outbound flush sizes: 64 B .. 4 MiB. */
export const FLUSH_SIZE_BUCKETS: readonly number[] = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];

export class SizeHistogram {
  /** counts[i] = observations <= bounds[i] (not cumulative; the exporter accumulates). */
  readonly counts: number[];
  count = 0;
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(v: number): void {
    this.count++;
    this.sum += v;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}
