/**
 * Asset groups: each is a set of IP ranges over the host population, as Qualys
 * asset groups are defined by IP_SET. Membership is "the host's IP is in one of
 * the ranges", so an asset group filter costs a few comparisons per host.
 */
import { Rng, hash32 } from './prng.js';
import type { HostLayout } from './host-layout.js';
import type { Ranges } from './int-ranges.js';

export interface AssetGroup {
  readonly id: number;
  readonly title: string;
  readonly businessImpact: string;
  readonly ownerId: number;
  /** Seconds before the data anchor. */
  readonly lastUpdateAgo: number;
  readonly ipRanges: Ranges;
}

const TITLES = [
  'PCI Cardholder Data Environment',
  'DMZ Web & Mail',
  "Finance 'Tier 1'",
  'Rechenzentrum Zürich',
  '<Legacy> Windows Servers',
  'Linux Build Farm',
  'HQ Workstations',
  'Cloud – AWS us-east-1',
];
const IMPACTS = ['Critical', 'High', 'Medium', 'Low', 'Minor'];

export function buildAssetGroups(seed: number, count: number, layout: HostLayout): AssetGroup[] {
  const groups: AssetGroup[] = [];
  let id = 4100;
  for (let k = 0; k < count; k++) {
    const rng = new Rng(hash32(seed, k, 0xa6));
    id += 1 + rng.int(5);
    const base = TITLES[k % TITLES.length]!;
    const title = k < TITLES.length ? base : `${base} ${Math.floor(k / TITLES.length) + 1}`;
    const ranges: Array<readonly [number, number]> = [];
    // The last group is empty: Qualys subscriptions always have one.
    const empty = count > 2 && k === count - 1;
    if (!empty && layout.count > 0) {
      const parts = 1 + rng.int(3);
      for (let p = 0; p < parts; p++) {
        const start = rng.int(layout.count);
        const length = 1 + rng.int(Math.max(1, Math.floor(layout.count * 0.12)));
        const end = Math.min(layout.count - 1, start + length - 1);
        ranges.push([layout.ip(start), layout.ip(end)]);
      }
      ranges.sort((a, b) => a[0] - b[0]);
    }
    groups.push({
      id,
      title: empty ? 'Decommissioned (empty)' : title,
      businessImpact: IMPACTS[rng.int(IMPACTS.length)]!,
      ownerId: 1000 + rng.int(5),
      lastUpdateAgo: rng.int(365 * 86_400),
      ipRanges: ranges,
    });
  }
  return groups;
}
