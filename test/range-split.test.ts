/**
 * Host ID ranges for parallel pulls: contiguous, meeting without a gap,
 * open at both ends, and cut at whole pages so no range ends in a nearly
 * empty page; the pages that do not divide evenly go to the first ranges.
 */
import { describe, expect, it } from 'vitest';
import { splitHostIds } from '../activities/range-split.js';
import type { HostIdList } from '../qualys/client.js';

const list = (...ranges: Array<[number, number]>): HostIdList => ({ count: ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0), ranges });

describe('splitHostIds', () => {
  it('cuts 20,000 hosts into 16 ranges of whole 1,000-host pages, the larger ranges first', () => {
    const ranges = splitHostIds(list([1, 20_000]), 16, 1000);
    expect(ranges).toHaveLength(16);
    expect(ranges.map((r) => r.listedHosts)).toEqual([2000, 2000, 2000, 2000, ...Array(12).fill(1000)]);
    expect(ranges[0]).toMatchObject({ rangeNo: 1, idMin: null, idMax: 2000 });
    expect(ranges[15]).toMatchObject({ rangeNo: 16, idMin: 19_001, idMax: null });
  });

  it('follows the gaps between host IDs: counts listed hosts, not IDs, and neighbours meet', () => {
    // 20 listed hosts are 4 pages of 5: ranges of 2, 1 and 1 pages.
    expect(splitHostIds(list([10, 14], [100, 104], [1000, 1009]), 3, 5)).toEqual([
      { rangeNo: 1, idMin: null, idMax: 104, listedHosts: 10 },
      { rangeNo: 2, idMin: 105, idMax: 1004, listedHosts: 5 },
      { rangeNo: 3, idMin: 1005, idMax: null, listedHosts: 5 },
    ]);
  });

  it('never makes more ranges than pages, nor splits a population of one page', () => {
    expect(splitHostIds(list([1, 2500]), 16, 1000).map((r) => r.listedHosts)).toEqual([1000, 1000, 500]);
    expect(splitHostIds(list([1, 900]), 16, 1000)).toEqual([{ rangeNo: 1, idMin: null, idMax: null, listedHosts: 900 }]);
    expect(splitHostIds(list([5, 7]), 8)).toEqual([
      { rangeNo: 1, idMin: null, idMax: 5, listedHosts: 1 },
      { rangeNo: 2, idMin: 6, idMax: 6, listedHosts: 1 },
      { rangeNo: 3, idMin: 7, idMax: null, listedHosts: 1 },
    ]);
  });

  it('puts every listed host in exactly one range', () => {
    const population = list([3, 40], [57, 57], [90, 400], [1200, 1777]);
    for (const [count, pageSize] of [[2, 7], [5, 100], [16, 33], [64, 1]] as const) {
      const ranges = splitHostIds(population, count, pageSize);
      expect(ranges.reduce((n, r) => n + r.listedHosts, 0)).toBe(population.count);
      ranges.slice(1).forEach((r, i) => expect(r.idMin).toBe(ranges[i]!.idMax! + 1));
    }
  });
});
