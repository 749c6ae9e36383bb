/**
 * Splits a host population into contiguous host ID ranges of about equal
 * size. The first range starts open and the last ends open, and neighbours
 * meet without a gap, so every host ID there is, listed or not (a host added
 * after the list was taken), falls in exactly one range.
 */
import type { HostIdList } from '../qualys/client.js';
import type { RangeSpec } from '../shared/contracts.js';

/** `count` ranges (fewer when there are fewer hosts), with the hosts the list put in each. */
export function splitHostIds(list: HostIdList, count: number): Array<RangeSpec & { listedHosts: number }> {
  const k = Math.max(1, Math.min(count, list.count));
  if (k === 1) return [{ rangeNo: 1, idMin: null, idMax: null, listedHosts: list.count }];
  const ranges: Array<RangeSpec & { listedHosts: number }> = [];
  let seen = 0;
  let rangeStart: number | null = null;
  let nextCut = Math.round(list.count / k);
  for (const [lo, hi] of list.ranges) {
    let from = lo;
    while (from <= hi) {
      // Hosts of this ID run still needed to reach the next cut.
      const need = nextCut - seen;
      const available = hi - from + 1;
      if (ranges.length === k - 1 || available < need) {
        seen += available;
        break;
      }
      const lastId = from + need - 1;
      seen += need;
      ranges.push({ rangeNo: ranges.length + 1, idMin: rangeStart, idMax: lastId, listedHosts: 0 });
      rangeStart = lastId + 1;
      nextCut = Math.round((list.count * (ranges.length + 1)) / k);
      from = lastId + 1;
    }
  }
  ranges.push({ rangeNo: ranges.length + 1, idMin: rangeStart, idMax: null, listedHosts: 0 });
  // Count what the list put in each range.
  for (const range of ranges) range.listedHosts = countIn(list, range.idMin, range.idMax);
  return ranges;
}

function countIn(list: HostIdList, min: number | null, max: number | null): number {
  let n = 0;
  for (const [lo, hi] of list.ranges) {
    const a = Math.max(lo, min ?? lo);
    const b = Math.min(hi, max ?? hi);
    if (b >= a) n += b - a + 1;
  }
  return n;
}
