/**
 * Host-level filters shared by Host List Detection and the host list:
 * IDs, IPs, asset groups, operating system and last VM scan date.
 */
import type { AssetGroup } from './asset-groups.js';
import type { HostLayout } from './host-layout.js';
import { fillHost, type HostRecord } from './host-record.js';
import { inRanges, inSortedRanges, mergeRanges, parseIntRanges, type Ranges } from './int-ranges.js';
import { parseIpRanges } from './ipv4.js';
import { expandIpv6, parseIpv6List } from './ipv6.js';
import type { Rng } from './prng.js';
import { invalidValue } from './qualys-error.js';
import type { Params } from './request-params.js';

export interface HostData {
  readonly seed: number;
  readonly layout: HostLayout;
  readonly assetGroups: readonly AssetGroup[];
  /** Epoch seconds that "N seconds ago" in the data is relative to. */
  readonly anchorSec: number;
}

export interface HostFilter {
  /** Host index window [startIndex, endIndex) from ids/id_min/id_max. */
  readonly startIndex: number;
  readonly endIndex: number;
  /** Merged and sorted (`mergeRanges`). */
  readonly hostIds: Ranges | null;
  readonly ipRanges: Ranges | null;
  readonly agIpRanges: Ranges | null;
  /**
   * IPv6 addresses in full form; ANDed with `ips` like every other filter (so a
   * host must match both when both are given), as Qualys documents.
   */
  readonly ipv6: ReadonlySet<string> | null;
  readonly osPattern: RegExp | null;
  /** Last VM scan at or after this epoch second. */
  readonly scannedSinceSec: number | null;
  /** Last VM scan before this epoch second. */
  readonly notScannedSinceSec: number | null;
}

export function parseHostFilter(params: Params, data: HostData, nowMs: number): HostFilter {
  params.exclusive('ag_ids', 'ag_titles');
  params.exclusive('max_days_since_last_vm_scan', 'vm_scan_since');
  params.exclusive('max_days_since_last_vm_scan', 'no_vm_scan_since');
  const { layout } = data;
  const idsValue = params.get('ids');
  const hostIds = idsValue ? mergeRanges(parseIntRanges('ids', idsValue)) : null;
  const idMin = params.int('id_min', 0, Number.MAX_SAFE_INTEGER);
  const idMax = params.int('id_max', 0, Number.MAX_SAFE_INTEGER);
  let startIndex = idMin === undefined ? 0 : layout.lowerBound(idMin);
  let endIndex = idMax === undefined ? layout.count : layout.upperBound(idMax);
  if (hostIds) {
    startIndex = Math.max(startIndex, layout.lowerBound(hostIds[0]![0]));
    endIndex = Math.min(endIndex, layout.upperBound(hostIds[hostIds.length - 1]![1]));
  }

  const ipsValue = params.get('ips');
  const ipv6 = params.get('ipv6');

  const maxDays = params.int('max_days_since_last_vm_scan', 1, 100_000);
  const since = params.date('vm_scan_since');

  const osValue = params.get('os_pattern');
  let osPattern: RegExp | null = null;
  if (osValue) {
    try {
      osPattern = new RegExp(osValue);
    } catch {
      throw invalidValue('os_pattern', osValue, 'not a valid regular expression');
    }
  }

  return {
    startIndex,
    endIndex: Math.max(startIndex, endIndex),
    hostIds,
    ipRanges: ipsValue ? parseIpRanges('ips', ipsValue) : null,
    agIpRanges: assetGroupRanges(params, data.assetGroups),
    ipv6: ipv6 ? parseIpv6List('ipv6', ipv6) : null,
    osPattern,
    scannedSinceSec: maxDays !== undefined ? Math.floor(nowMs / 1000) - maxDays * 86_400 : (since ?? null),
    notScannedSinceSec: params.date('no_vm_scan_since') ?? null,
  };
}

function assetGroupRanges(params: Params, groups: readonly AssetGroup[]): Ranges | null {
  const idsValue = params.get('ag_ids');
  const titles = params.get('ag_titles');
  if (!idsValue && !titles) return null;
  let chosen: AssetGroup[];
  if (idsValue) {
    const ids = parseIntRanges('ag_ids', idsValue);
    for (const [lo, hi] of ids) {
      if (lo === hi && !groups.some((g) => g.id === lo)) throw invalidValue('ag_ids', idsValue, `asset group ${lo} does not exist`);
    }
    chosen = groups.filter((g) => inRanges(ids, g.id));
  } else {
    const wanted = titles!.split(',').map((t) => t.trim());
    for (const t of wanted) {
      if (!groups.some((g) => g.title === t)) throw invalidValue('ag_titles', titles!, `asset group "${t}" does not exist`);
    }
    chosen = groups.filter((g) => wanted.includes(g.title));
  }
  return chosen.flatMap((g) => g.ipRanges);
}

/**
 * True when host `index` passes the filter. Cheap checks (ID, IP, group) come
 * first; the host record is generated into `out` only when they pass.
 */
export function hostMatches(filter: HostFilter, data: HostData, index: number, rng: Rng, out: HostRecord): boolean {
  const { layout } = data;
  if (filter.ipv6) {
    const v6 = layout.ipv6(index);
    if (v6 === null || !filter.ipv6.has(expandIpv6(v6)!)) return false;
  }
  if (filter.hostIds && !inSortedRanges(filter.hostIds, layout.hostId(index))) return false;
  const ip = layout.ip(index);
  if (filter.ipRanges && !inRanges(filter.ipRanges, ip)) return false;
  if (filter.agIpRanges && !inRanges(filter.agIpRanges, ip)) return false;
  fillHost(data.seed, layout, index, rng, out);
  const scannedAt = data.anchorSec - out.lastVmScannedAgo;
  if (filter.scannedSinceSec !== null && scannedAt < filter.scannedSinceSec) return false;
  if (filter.notScannedSinceSec !== null && scannedAt >= filter.notScannedSinceSec) return false;
  if (filter.osPattern && !filter.osPattern.test(out.os.name)) return false;
  return true;
}
