/**
 * The simulated subscription: hosts, detections, asset groups and dynamic
 * search lists, all derived from (seed, host count). Nothing per host is stored;
 * tests use `expected()` to learn what a Host List Detection request returns.
 */
import { buildAssetGroups, type AssetGroup } from './asset-groups.js';
import type { Clock } from './clock.js';
import { formatEpochSeconds } from './clock.js';
import { DetectionSet, NO_PORT, PORTS } from './detections.js';
import { HldMatcher } from './hld-matcher.js';
import { parseHldQuery, type ApiVersion, type SubscriptionData } from './hld-query.js';
import { HostLayout } from './host-layout.js';
import { HostRecord, fillHost } from './host-record.js';
import { Rng } from './prng.js';
import { buildQidCatalog, type QidCatalog } from './qid-catalog.js';
import { Params } from './request-params.js';
import { buildResultsPool, type ResultsPool } from './results-pool.js';
import { buildSearchLists, type SearchList } from './search-lists.js';
import {
  DETECTION_STATUSES,
  DETECTION_TYPES,
  KERNEL_NONE,
  KERNEL_RUNNING,
  type DetectionStatus,
  type DetectionType,
} from './vocabulary.js';

export type SeverityKey = '1' | '2' | '3' | '4' | '5';

export interface ExpectedDetections {
  hosts: number;
  detections: number;
  severity: Record<SeverityKey, number>;
  status: Record<DetectionStatus, number>;
  type: Record<DetectionType, number>;
  /** counts[severity][status][type], every combination present (zeros included). */
  bySeverityStatusType: Record<SeverityKey, Record<DetectionStatus, Record<DetectionType, number>>>;
  /** Host IDs in answer order (ascending). */
  hostIds: number[];
  minHostId: number | null;
  maxHostId: number | null;
  /** Answers a truncation chain takes with the request's truncation_limit (an empty result is one answer). */
  pages: number;
  /** The `id_min` of every answer after the first. */
  pageIdMins: number[];
}

export interface DetectionDetail {
  qid: number;
  type: DetectionType;
  severity: number;
  status: DetectionStatus;
  port: number | null;
  protocol: string | null;
  /** null when the QID is not kernel-related. */
  affectsRunningKernel: boolean | null;
  firstFound: string;
  lastFound: string;
  lastFixed: string | null;
  results: string;
}

export interface HostDetail {
  id: number;
  ip: string;
  trackingMethod: string;
  os: string;
  dns: string;
  netbios: string;
  lastVmScannedDate: string;
  detections: DetectionDetail[];
}

export interface DatasetOptions {
  seed: number;
  hosts: number;
  assetGroups: number;
  searchLists: number;
  clock: Clock;
}

export class Dataset implements SubscriptionData {
  readonly seed: number;
  readonly hostCount: number;
  readonly layout: HostLayout;
  readonly catalog: QidCatalog;
  readonly results: ResultsPool;
  readonly assetGroups: readonly AssetGroup[];
  readonly searchLists: readonly SearchList[];
  private clockRef: Clock;
  private readonly startedSec = Math.floor(Date.now() / 1000);

  constructor(options: DatasetOptions) {
    this.seed = options.seed;
    this.hostCount = options.hosts;
    this.clockRef = options.clock;
    this.layout = new HostLayout(options.seed, options.hosts);
    this.catalog = buildQidCatalog(options.seed);
    this.results = buildResultsPool(options.seed);
    this.assetGroups = buildAssetGroups(options.seed, options.assetGroups, this.layout);
    this.searchLists = buildSearchLists(options.seed, options.searchLists, this.catalog);
  }

  get clock(): Clock {
    return this.clockRef;
  }

  /** Data dates hang off the fixed clock, or off the start time when the clock is live. */
  get anchorSec(): number {
    return this.clockRef.fixed ? Math.floor(this.clockRef.nowMs() / 1000) : this.startedSec;
  }

  setClock(clock: Clock): void {
    this.clockRef = clock;
  }

  /** Every host ID, ascending. */
  hostIds(): number[] {
    const ids = new Array<number>(this.hostCount);
    for (let i = 0; i < this.hostCount; i++) ids[i] = this.layout.hostId(i);
    return ids;
  }

  /** What a Host List Detection request with these parameters returns, over all its pages. */
  expected(params: Readonly<Record<string, string>>, version: ApiVersion = '5.0'): ExpectedDetections {
    const query = parseHldQuery(Params.fromRecord({ action: 'list', ...params }), version, this, this.clockRef.nowMs());
    const result = emptyExpected();
    const matcher = new HldMatcher(this, query);
    const { catalog } = this;
    while (matcher.next()) {
      result.hosts++;
      result.hostIds.push(matcher.host.id);
      const d = matcher.detections;
      for (let m = 0; m < matcher.matchedCount; m++) {
        const k = matcher.matched[m]!;
        const qi = d.qidIndex[k]!;
        const sev = String(catalog.severity[qi]) as SeverityKey;
        const status = DETECTION_STATUSES[d.status[k]!]!;
        const type = DETECTION_TYPES[catalog.type[qi]!]!;
        result.detections++;
        result.severity[sev]++;
        result.status[status]++;
        result.type[type]++;
        result.bySeverityStatusType[sev][status][type]++;
      }
    }
    result.minHostId = result.hostIds[0] ?? null;
    result.maxHostId = result.hostIds[result.hostIds.length - 1] ?? null;
    const limit = query.truncationLimit;
    if (limit > 0) {
      for (let i = limit; i < result.hostIds.length; i += limit) result.pageIdMins.push(result.hostIds[i]!);
    }
    result.pages = 1 + result.pageIdMins.length;
    return result;
  }

  /** One host with all its detections (unfiltered), for assertions on content. */
  hostDetail(id: number): HostDetail | undefined {
    const index = this.layout.lowerBound(id);
    if (index >= this.hostCount || this.layout.hostId(index) !== id) return undefined;
    const host = new HostRecord();
    fillHost(this.seed, this.layout, index, new Rng(0), host);
    const d = new DetectionSet();
    d.fill(host, this.catalog);
    const at = (ago: number) => formatEpochSeconds(this.anchorSec - ago);
    const detections: DetectionDetail[] = [];
    for (let k = 0; k < d.count; k++) {
      const qi = d.qidIndex[k]!;
      const port = d.port[k] === NO_PORT ? null : PORTS[d.port[k]!]!;
      detections.push({
        qid: this.catalog.qid[qi]!,
        type: DETECTION_TYPES[this.catalog.type[qi]!]!,
        severity: this.catalog.severity[qi]!,
        status: DETECTION_STATUSES[d.status[k]!]!,
        port: port ? port[0] : null,
        protocol: port ? port[1] : null,
        affectsRunningKernel: d.kernel[k] === KERNEL_NONE ? null : d.kernel[k] === KERNEL_RUNNING,
        firstFound: at(d.firstFoundAgo[k]!),
        lastFound: at(d.lastFoundAgo[k]!),
        lastFixed: d.lastFixedAgo[k]! < 0 ? null : at(d.lastFixedAgo[k]!),
        results: this.results.text[d.variant[k]!]!,
      });
    }
    return {
      id: host.id,
      ip: host.ip,
      trackingMethod: host.trackingMethod,
      os: host.os.name,
      dns: host.fqdn,
      netbios: host.netbios,
      lastVmScannedDate: at(host.lastVmScannedAgo),
      detections,
    };
  }
}

function emptyExpected(): ExpectedDetections {
  const byType = () => Object.fromEntries(DETECTION_TYPES.map((t) => [t, 0])) as Record<DetectionType, number>;
  const byStatus = <T>(f: () => T) => Object.fromEntries(DETECTION_STATUSES.map((s) => [s, f()])) as Record<DetectionStatus, T>;
  const bySeverity = <T>(f: () => T) => Object.fromEntries(['1', '2', '3', '4', '5'].map((s) => [s, f()])) as Record<SeverityKey, T>;
  return {
    hosts: 0,
    detections: 0,
    severity: bySeverity(() => 0),
    status: byStatus(() => 0),
    type: byType(),
    bySeverityStatusType: bySeverity(() => byStatus(byType)),
    hostIds: [],
    minHostId: null,
    maxHostId: null,
    pages: 1,
    pageIdMins: [],
  };
}
