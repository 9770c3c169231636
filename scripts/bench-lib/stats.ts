// Order statistics for benchmark rounds: median and interquartile range.

/** Linear-interpolated quantile of unsorted values (q in [0, 1]). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (values: number[]): number => quantile(values, 0.5);

export interface Summary {
  median: number;
  q1: number;
  q3: number;
  /** q3 - q1 */
  iqr: number;
  n: number;
}

export function summarize(values: number[]): Summary {
  const q1 = quantile(values, 0.25);
  const q3 = quantile(values, 0.75);
  return { median: median(values), q1, q3, iqr: q3 - q1, n: values.length };
}
