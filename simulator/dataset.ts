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
import { DEFAULT_SHAPES, type ShapeConfig } from './shapes.js';
import {
  DETECTION_STATUSES,
  DETECTION_TYPES,
  KERNEL_NONE,
  KERNEL_RUNNING,
  type DetectionStatus,
  type DetectionType,
} from './vocabulary.js';

/**
 * Count buckets as the connector's summaries have them: the documented values,
 * `none` for a detection written without the element, `other` for an
 * undocumented value (never written by the simulator, so always 0).
 */
export type SeverityKey = '1' | '2' | '3' | '4' | '5' | 'none' | 'other';
export type StatusKey = DetectionStatus | 'none' | 'other';
export type TypeKey = DetectionType | 'none' | 'other';
const SEVERITY_KEYS: readonly SeverityKey[] = ['1', '2', '3', '4', '5', 'none', 'other'];
const STATUS_KEYS: readonly StatusKey[] = [...DETECTION_STATUSES, 'none', 'other'];
const TYPE_KEYS: readonly TypeKey[] = [...DETECTION_TYPES, 'none', 'other'];

export interface ExpectedDetections {
  hosts: number;
  detections: number;
  severity: Record<SeverityKey, number>;
  status: Record<StatusKey, number>;
  type: Record<TypeKey, number>;
  /** counts[severity][status][type], every combination present (zeros included). */
  bySeverityStatusType: Record<SeverityKey, Record<StatusKey, Record<TypeKey, number>>>;
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
  /** Whether the answer writes SEVERITY / STATUS for this detection (shapes). */
  severityWritten: boolean;
  statusWritten: boolean;
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
  /** '' for a host without IPv6. */
  ipv6: string;
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
  shapes?: Partial<ShapeConfig> | undefined;
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
  private shapesRef: ShapeConfig;
  private readonly startedSec = Math.floor(Date.now() / 1000);

  constructor(options: DatasetOptions) {
    this.seed = options.seed;
    this.hostCount = options.hosts;
    this.clockRef = options.clock;
    this.shapesRef = { ...DEFAULT_SHAPES, ...options.shapes };
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

  /** How answers vary (see shapes.ts); `expected()` counts with the current ones. */
  get shapes(): ShapeConfig {
    return this.shapesRef;
  }

  setShapes(shapes: ShapeConfig): void {
    this.shapesRef = { ...shapes };
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
        const sev = d.noSeverity[k] ? 'none' : (String(catalog.severity[qi]) as SeverityKey);
        const status = d.noStatus[k] ? 'none' : DETECTION_STATUSES[d.status[k]!]!;
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
    d.fill(host, this.catalog, this.shapesRef);
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
        severityWritten: d.noSeverity[k] === 0,
        statusWritten: d.noStatus[k] === 0,
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
      ipv6: host.ipv6,
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
  const byType = () => Object.fromEntries(TYPE_KEYS.map((t) => [t, 0])) as Record<TypeKey, number>;
  const byStatus = <T>(f: () => T) => Object.fromEntries(STATUS_KEYS.map((s) => [s, f()])) as Record<StatusKey, T>;
  const bySeverity = <T>(f: () => T) => Object.fromEntries(SEVERITY_KEYS.map((s) => [s, f()])) as Record<SeverityKey, T>;
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
