/**
 * Qualys list parameters (`ids`, `qids`, `ag_ids`, `severities`): comma lists
 * of integers and inclusive ranges such as `1,3-5`.
 */
import { invalidValue } from './qualys-error.js';

export type Ranges = ReadonlyArray<readonly [number, number]>;

const INT = /^\d{1,12}$/;

export function parseIntRanges(name: string, value: string, min = 0, max = Number.MAX_SAFE_INTEGER): Ranges {
  const out: Array<readonly [number, number]> = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    const dash = item.indexOf('-');
    const [a, b] = dash < 0 ? [item, item] : [item.slice(0, dash).trim(), item.slice(dash + 1).trim()];
    if (!INT.test(a) || !INT.test(b)) throw invalidValue(name, value, `"${item}" is not an integer or a range like 3-5`);
    const lo = Number(a);
    const hi = Number(b);
    if (lo > hi) throw invalidValue(name, value, `range "${item}" ends before it starts`);
    if (lo < min || hi > max) throw invalidValue(name, value, `"${item}" is outside ${min}-${max}`);
    out.push([lo, hi]);
  }
  return out;
}

/** Sorted by start, overlapping and touching ranges merged: what `inSortedRanges` searches. */
export function mergeRanges(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Binary search over merged ranges: an `ids` list of thousands of ranges is checked per host. */
export function inSortedRanges(merged: Ranges, n: number): boolean {
  let lo = 0;
  let hi = merged.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const [a, b] = merged[mid]!;
    if (n < a) hi = mid - 1;
    else if (n > b) lo = mid + 1;
    else return true;
  }
  return false;
}

export function inRanges(ranges: Ranges, n: number): boolean {
  for (const [lo, hi] of ranges) if (n >= lo && n <= hi) return true;
  return false;
}

/** Compresses ascending integers into `ID` and `ID_RANGE` style runs. */
export function toRuns(sorted: readonly number[]): Array<readonly [number, number]> {
  const runs: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = runs[runs.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  return runs;
}
