/**
 * Walks the host population in ID order and stops at each host that has at
 * least one detection matching the query: Host List Detection lists only
 * hosts with matching detections (except CSV with duplicates suppressed,
 * which lists the others too, as their host row alone).
 */
import { DetectionSet, MAX_DETECTIONS } from './detections.js';
import { hostMatches } from './host-filter.js';
import { HostRecord } from './host-record.js';
import { kernelAllowed, type HldQuery, type SubscriptionData } from './hld-query.js';
import { Rng } from './prng.js';

export class HldMatcher {
  readonly host = new HostRecord();
  readonly detections = new DetectionSet();
  /** Indexes into `detections` of the matching ones, in order. */
  readonly matched = new Int32Array(MAX_DETECTIONS);
  matchedCount = 0;
  private index: number;
  private readonly rng = new Rng(0);

  constructor(
    private readonly data: SubscriptionData,
    private readonly query: HldQuery,
  ) {
    this.index = query.hosts.startIndex;
  }

  /** Advances to the next matching host; false when none is left. */
  next(): boolean {
    const { query, data, host, detections } = this;
    const { qidOk, statusMask, kernelModes } = query;
    const end = query.hosts.endIndex;
    while (this.index < end) {
      const index = this.index++;
      if (!hostMatches(query.hosts, data, index, this.rng, host)) continue;
      if (host.detectionCount === 0) {
        if (!query.listHostsWithoutDetections) continue;
        detections.count = 0;
        this.matchedCount = 0;
        return true;
      }
      detections.fill(host, data.catalog, data.shapes);
      let m = 0;
      for (let k = 0; k < detections.count; k++) {
        if (qidOk[detections.qidIndex[k]!] === 0) continue;
        if ((statusMask & (1 << detections.status[k]!)) === 0) continue;
        if (kernelModes.length > 0 && !kernelAllowed(kernelModes, detections.kernel[k]!)) continue;
        this.matched[m++] = k;
      }
      if (m === 0 && !query.listHostsWithoutDetections) continue;
      this.matchedCount = m;
      return true;
    }
    return false;
  }
}
