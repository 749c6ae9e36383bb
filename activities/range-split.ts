/**
 * Splits a host population into contiguous host ID ranges of about equal
 * size. The first range starts open and the last ends open, and neighbours
 * meet without a gap, so every host ID there is, listed or not (a host added
 * after the list was taken), falls in exactly one range.
 */
import type { HostIdList } from '../qualys/client.js';
import type { RangeSpec } from '../shared/contracts.js';

/**
 * `count` ranges (fewer when there are fewer hosts), with the hosts the list
 * put in each. Ranges are cut at whole pages of `pageSize` listed hosts: a
 * range of 1,250 hosts would take a second, nearly empty page, which costs
 * almost a whole call's wait. The pages that do not divide evenly go to the
 * first ranges, so the lanes that start them first finish together.
 */
export function splitHostIds(list: HostIdList, count: number, pageSize = 1): Array<RangeSpec & { listedHosts: number }> {
  const unit = Math.max(1, Math.floor(pageSize));
  const units = Math.ceil(list.count / unit);
  const k = Math.max(1, Math.min(count, units));
  if (k === 1) return [{ rangeNo: 1, idMin: null, idMax: null, listedHosts: list.count }];
  // Listed hosts before each cut: range j holds base or base + 1 whole pages.
  const base = Math.floor(units / k);
  const extra = units % k;
  const cuts: number[] = [];
  for (let j = 0, before = 0; j < k - 1; j++) cuts.push((before += (base + (j < extra ? 1 : 0)) * unit));
  const ranges: Array<RangeSpec & { listedHosts: number }> = [];
  let seen = 0;
  let rangeStart: number | null = null;
  for (const [lo, hi] of list.ranges) {
    let from = lo;
    while (from <= hi && ranges.length < k - 1) {
      // Hosts of this ID run still needed to reach the next cut.
      const need = cuts[ranges.length]! - seen;
      const available = hi - from + 1;
      if (available < need) {
        seen += available;
        break;
      }
      const lastId = from + need - 1;
      seen += need;
      ranges.push({ rangeNo: ranges.length + 1, idMin: rangeStart, idMax: lastId, listedHosts: 0 });
      rangeStart = lastId + 1;
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
