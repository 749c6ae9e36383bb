import { expect } from 'vitest';
import type { RunPageRow } from '../../db/schema.js';

/** Every range's stored pages run 1, 2, 3… once each: nothing lost, nothing doubled. */
export function expectPageChains(pages: RunPageRow[]): void {
  const byRange = new Map<number, number[]>();
  for (const page of pages) byRange.set(page.rangeNo, [...(byRange.get(page.rangeNo) ?? []), page.pageNo]);
  expect(byRange.size).toBeGreaterThan(0);
  for (const [rangeNo, pageNos] of byRange) {
    expect(pageNos, `range ${rangeNo}`).toEqual(Array.from({ length: pageNos.length }, (_, i) => i + 1));
  }
}
