/**
 * Host List Detection parameters → a compiled query. The server's renderers and
 * `Dataset.expected()` both use this module, so tests compute expected totals
 * with exactly the simulator's own filter logic.
 */
import { parseHostFilter, type HostData, type HostFilter } from './host-filter.js';
import { inRanges, parseIntRanges, type Ranges } from './int-ranges.js';
import { invalidValue } from './qualys-error.js';
import { CATALOG_SIZE, qdsOf, type QidCatalog } from './qid-catalog.js';
import type { Params } from './request-params.js';
import type { SearchList } from './search-lists.js';
import type { ShapeConfig } from './shapes.js';
import {
  DETECTION_STATUSES,
  KERNEL_NONE,
  KERNEL_NON_RUNNING,
  KERNEL_RUNNING,
  STATUS_ACTIVE,
  STATUS_NEW,
  STATUS_REOPENED,
  TYPE_CONFIRMED,
  TYPE_INFO,
  TYPE_POTENTIAL,
} from './vocabulary.js';

export const API_VERSIONS = ['2.0', '3.0', '4.0', '5.0'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** What the query needs to know about the subscription. */
export interface SubscriptionData extends HostData {
  readonly catalog: QidCatalog;
  readonly searchLists: readonly SearchList[];
  readonly shapes: ShapeConfig;
}

const COMMON_PARAMS = [
  'action', 'echo_request', 'ids', 'id_min', 'id_max', 'ips', 'ipv6', 'ag_ids', 'ag_titles', 'os_pattern',
  'compliance_enabled', 'use_tags', 'tag_set_by', 'tag_include_selector', 'tag_exclude_selector', 'tag_set_include',
  'tag_set_exclude', 'truncation_limit', 'output_format', 'suppress_duplicated_data_from_csv', 'show_tags',
  'show_asset_id', 'show_results', 'show_host_services', 'show_igs', 'show_reopened_info', 'show_qds', 'qds_min',
  'qds_max', 'show_qds_factors', 'host_metadata', 'host_metadata_fields', 'show_cloud_tags', 'cloud_tag_fields',
  'no_vm_scan_since', 'vm_scan_since', 'max_days_since_last_vm_scan', 'vm_processed_after', 'vm_processed_before',
  'vm_scan_date_before', 'vm_scan_date_after', 'vm_auth_scan_date_before', 'vm_auth_scan_date_after', 'status',
  'include_ignored', 'include_disabled', 'severities', 'qids', 'include_vuln_type', 'filter_superseded_qids',
  'include_search_list_ids', 'include_search_list_titles', 'exclude_search_list_ids', 'exclude_search_list_titles',
  'max_days_since_detection_updated', 'detection_updated_since', 'detection_updated_before',
  'detection_processed_after', 'detection_processed_before', 'detection_last_tested_since',
  'detection_last_tested_before', 'detection_last_tested_since_days', 'detection_last_tested_before_days',
  'active_kernels_only',
];
/** API 2.0 filters on running kernels/services/configs directly; 3.0+ replaced them with ARF keys. */
const V2_ONLY_PARAMS = ['arf_kernel_filter', 'arf_service_filter', 'arf_config_filter'];
/**
 * 3.0+: the ARF keys, and MITRE ATT&CK details (accepted, output not
 * simulated). TruRisk parameters belong to the host list, not here: a live
 * 2.0 Host List Detection answers show_trurisk with 1901, so every version
 * here does.
 */
const V3_PARAMS = ['show_arf_data', 'arf_filter_keys', 'mitre_attack_details'];

const allowedByVersion = new Map<ApiVersion, ReadonlySet<string>>();

export function hldAllowedParams(version: ApiVersion): ReadonlySet<string> {
  let allowed = allowedByVersion.get(version);
  if (!allowed) {
    allowed = new Set([...COMMON_PARAMS, ...(version === '2.0' ? V2_ONLY_PARAMS : V3_PARAMS)]);
    allowedByVersion.set(version, allowed);
  }
  return allowed;
}

const FLAG_PARAMS = [
  'compliance_enabled', 'use_tags', 'show_tags', 'show_host_services', 'show_cloud_tags',
  'include_ignored', 'include_disabled', 'filter_superseded_qids', 'mitre_attack_details',
];
const DATE_PARAMS = [
  'vm_processed_after', 'vm_processed_before', 'vm_scan_date_before', 'vm_scan_date_after', 'vm_auth_scan_date_before',
  'vm_auth_scan_date_after', 'detection_updated_since', 'detection_updated_before', 'detection_processed_after',
  'detection_processed_before', 'detection_last_tested_since', 'detection_last_tested_before',
];
const DAY_COUNT_PARAMS = ['max_days_since_detection_updated', 'detection_last_tested_since_days', 'detection_last_tested_before_days'];

export type HldFormat = 'XML' | 'CSV' | 'CSV_NO_METADATA';
const OUTPUT_FORMATS: Readonly<Record<string, HldFormat>> = {
  XML: 'XML',
  CSV: 'CSV',
  CSV_NO_METADATA: 'CSV_NO_METADATA',
  // The Excel variants only differ for spreadsheets; the bytes are the same here.
  CSV_MS_EXCEL: 'CSV',
  CSV_NO_METADATA_MS_EXCEL: 'CSV_NO_METADATA',
};

/** Kernel filter modes, numbered as `arf_kernel_filter` numbers them. */
const KERNEL_DROP_NON_RUNNING = 1;
const KERNEL_ONLY_NON_RUNNING = 2;
const KERNEL_ONLY_RUNNING = 3;
const KERNEL_ONLY_KERNEL = 4;

export interface HldQuery {
  readonly version: ApiVersion;
  readonly params: Params;
  readonly format: HldFormat;
  /** Hosts per answer; 0 means no limit. */
  readonly truncationLimit: number;
  readonly showResults: boolean;
  readonly showReopenedInfo: boolean;
  readonly showQds: boolean;
  readonly showQdsFactors: boolean;
  readonly showAssetId: boolean;
  /** The element order and CSV columns of older answers (API 2.0): TIMES_FOUND after IS_DISABLED, 32 CSV columns. */
  readonly legacyLayout: boolean;
  /**
   * CSV with suppress_duplicated_data_from_csv=1 lists every host the host
   * filters select, a host without matching detections as its host row alone.
   */
  readonly listHostsWithoutDetections: boolean;
  /** AFFECT_RUNNING_KERNEL is printed (always on 2.0, with show_arf_data=1 from 3.0). */
  readonly showArfData: boolean;
  readonly echoRequest: boolean;
  readonly suppressDuplicated: boolean;
  readonly hosts: HostFilter;
  /** Verdict of the severity/type/QID/search-list filters per catalog QID (1 = keep). */
  readonly qidOk: Uint8Array;
  /** Bit i set = DETECTION_STATUSES[i] wanted. */
  readonly statusMask: number;
  readonly kernelModes: readonly number[];
}

export function parseHldQuery(params: Params, version: ApiVersion, data: SubscriptionData, nowMs: number): HldQuery {
  params.requireListAction(hldAllowedParams(version));
  params.exclusive('include_search_list_ids', 'include_search_list_titles');
  params.exclusive('exclude_search_list_ids', 'exclude_search_list_titles');
  for (const name of FLAG_PARAMS) params.flag(name, false);
  for (const name of DATE_PARAMS) params.date(name);
  for (const name of DAY_COUNT_PARAMS) params.int(name, 0, 100_000);
  const qdsMin = params.int('qds_min', 1, 100) ?? 1;
  const qdsMax = params.int('qds_max', 1, 100) ?? 100;
  if (qdsMin > qdsMax) throw invalidValue('qds_min', String(qdsMin), `greater than qds_max ${qdsMax}`);

  const formatName = (params.get('output_format') || 'XML').toUpperCase();
  const format = OUTPUT_FORMATS[formatName];
  if (!format) throw invalidValue('output_format', params.get('output_format')!, `expected one of ${Object.keys(OUTPUT_FORMATS).join(', ')}`);

  const suppressDuplicated = params.flag('suppress_duplicated_data_from_csv', false);
  return {
    version,
    params,
    format,
    truncationLimit: params.int('truncation_limit', 0, 1_000_000) ?? 1000,
    showResults: params.flag('show_results', true),
    showReopenedInfo: params.flag('show_reopened_info', false),
    showQds: params.flag('show_qds', false),
    showQdsFactors: params.flag('show_qds_factors', false),
    showAssetId: params.flag('show_asset_id', false),
    legacyLayout: version === '2.0',
    listHostsWithoutDetections: format !== 'XML' && suppressDuplicated,
    showArfData: version === '2.0' ? true : params.flag('show_arf_data', false),
    echoRequest: params.flag('echo_request', false),
    suppressDuplicated,
    hosts: parseHostFilter(params, data, nowMs),
    qidOk: qidFilter(params, data, qdsMin, qdsMax),
    statusMask: statusMask(params.get('status')),
    kernelModes: kernelModes(params, version),
  };
}

function rangesParam(params: Params, name: string, min?: number, max?: number): Ranges | null {
  const v = params.get(name);
  return v ? parseIntRanges(name, v, min, max) : null;
}

function searchListMembers(params: Params, data: SubscriptionData, idsParam: string, titlesParam: string): Uint8Array | null {
  const ids = params.get(idsParam);
  const titles = params.get(titlesParam);
  if (!ids && !titles) return null;
  const union = new Uint8Array(CATALOG_SIZE);
  const lists = ids
    ? parseIntRanges(idsParam, ids).flatMap(([lo, hi]) => {
        const found = data.searchLists.filter((l) => l.id >= lo && l.id <= hi);
        if (lo === hi && found.length === 0) throw invalidValue(idsParam, ids, `search list ${lo} does not exist`);
        return found;
      })
    : titles!.split(',').map((t) => {
        const found = data.searchLists.find((l) => l.title === t.trim());
        if (!found) throw invalidValue(titlesParam, titles!, `search list "${t.trim()}" does not exist`);
        return found;
      });
  for (const list of lists) for (let i = 0; i < CATALOG_SIZE; i++) union[i] |= list.members[i]!;
  return union;
}

/** Severity, type, QID and search-list filters, folded into one verdict per catalog QID. */
function qidFilter(params: Params, data: SubscriptionData, qdsMin: number, qdsMax: number): Uint8Array {
  const { catalog } = data;
  const severities = rangesParam(params, 'severities', 1, 5);
  const qids = rangesParam(params, 'qids');
  const include = searchListMembers(params, data, 'include_search_list_ids', 'include_search_list_titles');
  const exclude = searchListMembers(params, data, 'exclude_search_list_ids', 'exclude_search_list_titles');
  // Information-gathered detections only appear with show_igs=1.
  const showIgs = params.flag('show_igs', false);
  const vulnType = params.get('include_vuln_type');
  if (vulnType && vulnType !== 'confirmed' && vulnType !== 'potential') {
    throw invalidValue('include_vuln_type', vulnType, 'expected confirmed or potential');
  }
  const ok = new Uint8Array(CATALOG_SIZE);
  for (let i = 0; i < CATALOG_SIZE; i++) {
    const type = catalog.type[i]!;
    const typeOk =
      type === TYPE_INFO
        ? showIgs
        : !vulnType || (vulnType === 'confirmed' ? type === TYPE_CONFIRMED : type === TYPE_POTENTIAL);
    ok[i] =
      typeOk &&
      (!severities || inRanges(severities, catalog.severity[i]!)) &&
      (!qids || inRanges(qids, catalog.qid[i]!)) &&
      (!include || include[i] === 1) &&
      (!exclude || exclude[i] === 0) &&
      qdsOf(catalog, i) >= qdsMin &&
      qdsOf(catalog, i) <= qdsMax
        ? 1
        : 0;
  }
  return ok;
}

function statusMask(value: string | undefined): number {
  if (!value) return (1 << STATUS_NEW) | (1 << STATUS_ACTIVE) | (1 << STATUS_REOPENED);
  let mask = 0;
  for (const raw of value.split(',')) {
    const i = DETECTION_STATUSES.findIndex((s) => s.toLowerCase() === raw.trim().toLowerCase());
    if (i < 0) throw invalidValue('status', value, `"${raw.trim()}" is not one of ${DETECTION_STATUSES.join(', ')}`);
    mask |= 1 << i;
  }
  return mask;
}

function kernelModes(params: Params, version: ApiVersion): number[] {
  const modes: number[] = [];
  const active = params.int('active_kernels_only', 0, 3);
  if (active) modes.push(active);
  if (version === '2.0') {
    const arf = params.int('arf_kernel_filter', 0, 4);
    if (arf) modes.push(arf);
    params.int('arf_service_filter', 0, 4);
    params.int('arf_config_filter', 0, 4);
  } else {
    const keys = params.get('arf_filter_keys');
    if (keys) {
      for (const key of keys.split(',').map((k) => k.trim())) {
        if (!['non-running-kernel', 'non-running-service', 'config-not-exploitable'].includes(key)) {
          throw invalidValue('arf_filter_keys', keys, `"${key}" is not one of non-running-kernel, non-running-service, config-not-exploitable`);
        }
        // Only kernels are simulated; the service and config keys match nothing to drop.
        if (key === 'non-running-kernel') modes.push(KERNEL_DROP_NON_RUNNING);
      }
    }
  }
  return modes;
}

export function kernelAllowed(modes: readonly number[], kernel: number): boolean {
  for (const mode of modes) {
    if (mode === KERNEL_DROP_NON_RUNNING && kernel === KERNEL_NON_RUNNING) return false;
    if (mode === KERNEL_ONLY_NON_RUNNING && kernel !== KERNEL_NON_RUNNING) return false;
    if (mode === KERNEL_ONLY_RUNNING && kernel !== KERNEL_RUNNING) return false;
    if (mode === KERNEL_ONLY_KERNEL && kernel === KERNEL_NONE) return false;
  }
  return true;
}
