/** Figures of several interleaved runs: the median and the range, so one disturbed run cannot pass for the result. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[], digits = 2): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const round = (n: number) => Math.round(n * 10 ** digits) / 10 ** digits;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted.at(-1)!) };
}
