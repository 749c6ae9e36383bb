/**
 * The Host List Detection fetcher's fields (as the product describes them),
 * validated, and their mapping to Qualys request parameters.
 *
 * Mapping notes (see ../shared/qualys-api.md):
 * - Asset groups → `ag_ids` (OR between groups); the dynamic search list →
 *   `include_search_list_ids` (the product text's `search_list_ids` is not a
 *   real parameter); IP addresses → `ips`, IPv6 singles → `ipv6` (the
 *   product text's `ids` means host IDs).
 * - Running kernels (0–4): API 2.0 takes `arf_kernel_filter` as is. From 3.0
 *   on that parameter is gone: 1 (drop kernel vulnerabilities on non-running
 *   kernels) → `show_arf_data=1&arf_filter_keys=non-running-kernel`; 2 and 3
 *   (only those on non-running / only those on running kernels) →
 *   `active_kernels_only` with the same number; 4 (only kernel-related
 *   vulnerabilities) has no Qualys parameter, so the plan sends
 *   `show_arf_data=1` (AFFECT_RUNNING_KERNEL on every kernel detection) and
 *   asks the client to keep only the detections that carry it (kernel-filter.ts).
 * - IPv4 and IPv6 together: Qualys ANDs `ips` and `ipv6` like every other
 *   filter, so a list mixing both would select only hosts matching one of
 *   each. The plan instead looks the hosts up in the host list (one call per
 *   family, `details=None`) and sends their IDs, which selects hosts matching
 *   any listed address in a single pull.
 * - Extra parameters (the JSON box) are ANDed with the rest. Keys must be
 *   real Host List Detection parameters; keys that a structured field owns,
 *   or that contradict one, and the keys the client controls for paging
 *   (action, output_format, truncation_limit, id_min, id_max) are refused.
 */
import net from 'node:net';
import { z } from 'zod';
import type { DetectionPostFilter } from './kernel-filter.js';
import { formatHostIdRuns } from './host-id-runs.js';

export const HLD_STATUSES = ['New', 'Active', 'Re-Opened', 'Fixed'] as const;
export const HLD_FORMATS = ['XML', 'CSV'] as const;

/** Parameters Qualys accepts for Host List Detection `action=list`, on every API version. */
export const HLD_COMMON_PARAMS = [
  'echo_request', 'ids', 'id_min', 'id_max', 'ips', 'ipv6', 'ag_ids', 'ag_titles', 'os_pattern', 'compliance_enabled',
  'use_tags', 'tag_set_by', 'tag_include_selector', 'tag_exclude_selector', 'tag_set_include', 'tag_set_exclude',
  'truncation_limit', 'output_format', 'suppress_duplicated_data_from_csv', 'show_tags', 'show_asset_id', 'show_results',
  'show_host_services', 'show_igs', 'show_reopened_info', 'show_qds', 'qds_min', 'qds_max', 'show_qds_factors',
  'host_metadata', 'host_metadata_fields', 'show_cloud_tags', 'cloud_tag_fields', 'no_vm_scan_since', 'vm_scan_since',
  'max_days_since_last_vm_scan', 'vm_processed_after', 'vm_processed_before', 'vm_scan_date_before', 'vm_scan_date_after',
  'vm_auth_scan_date_before', 'vm_auth_scan_date_after', 'status', 'include_ignored', 'include_disabled', 'severities', 'qids',
  'include_vuln_type', 'filter_superseded_qids', 'include_search_list_ids', 'include_search_list_titles',
  'exclude_search_list_ids', 'exclude_search_list_titles', 'max_days_since_detection_updated', 'detection_updated_since',
  'detection_updated_before', 'detection_processed_after', 'detection_processed_before', 'detection_last_tested_since',
  'detection_last_tested_before', 'detection_last_tested_since_days', 'detection_last_tested_before_days', 'active_kernels_only',
] as const;
/** API 2.0 only: replaced by show_arf_data / arf_filter_keys from 3.0 on. */
export const HLD_V2_ONLY_PARAMS = ['arf_kernel_filter', 'arf_service_filter', 'arf_config_filter'] as const;
export const HLD_V3_PARAMS = ['show_arf_data', 'arf_filter_keys'] as const;

/** Set by the client for paging; never from user input. */
export const CLIENT_CONTROLLED_PARAMS = ['action', 'output_format', 'truncation_limit', 'id_min', 'id_max'] as const;

/** Each structured field and the parameters it owns or excludes. */
const FIELD_PARAMS: Record<string, { owns: string[]; excludesWhenSet: string[] }> = {
  assetGroupIds: { owns: ['ag_ids'], excludesWhenSet: ['ag_titles'] },
  searchListId: { owns: ['include_search_list_ids'], excludesWhenSet: ['include_search_list_titles'] },
  statuses: { owns: ['status'], excludesWhenSet: [] },
  severities: { owns: ['severities'], excludesWhenSet: [] },
  runningKernelFilter: { owns: ['arf_kernel_filter', 'active_kernels_only'], excludesWhenSet: ['show_arf_data', 'arf_filter_keys'] },
  ips: { owns: ['ips', 'ipv6'], excludesWhenSet: [] },
  maxDaysSinceLastScan: { owns: ['max_days_since_last_vm_scan'], excludesWhenSet: ['vm_scan_since', 'no_vm_scan_since'] },
};

const MAX_LIST_ITEMS = 1000;

/** IPv4 address to a comparable number, or null. */
function ipv4Value(text: string): number | null {
  if (!net.isIPv4(text)) return null;
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Why an `ips` value is refused, or null; reasons name the offending item. */
export function ipListProblem(value: string): string | null {
  const items = value.split(',').map((item) => item.trim());
  if (items.length > MAX_LIST_ITEMS) return `has ${items.length} entries; at most ${MAX_LIST_ITEMS} are allowed`;
  for (const item of items) {
    if (item === '') return 'has an empty entry (check the commas)';
    const dash = item.indexOf('-');
    if (dash < 0) {
      if (ipv4Value(item) == null && !net.isIPv6(item)) return `"${item}" is not an IPv4 or IPv6 address`;
      continue;
    }
    const start = item.slice(0, dash).trim();
    const end = item.slice(dash + 1).trim();
    if (net.isIPv6(start) || net.isIPv6(end)) return `"${item}": IPv6 ranges are not supported, list IPv6 addresses one by one`;
    const a = ipv4Value(start);
    const b = ipv4Value(end);
    if (a == null || b == null) return `"${item}" is not an IPv4 range like 10.0.0.1-10.0.0.100`;
    if (a > b) return `"${item}" is a range whose start is after its end`;
  }
  return null;
}

const positiveId = (field: string) =>
  z
    .number({ error: `${field}: must be a number` })
    .int(`${field}: must be a whole number`)
    .positive(`${field}: must be a positive ID`)
    .max(Number.MAX_SAFE_INTEGER, `${field}: is too large`);

const extraParamValue = z.union([z.string().max(4096, 'extraParams: a value is longer than 4096 characters'), z.number(), z.boolean()], {
  error: 'extraParams: values must be strings, numbers or booleans',
});

export const hostListDetectionFiltersSchema = z
  .object({
    assetGroupIds: z
      .array(positiveId('assetGroupIds'), { error: 'assetGroupIds: must be a list of asset group IDs' })
      .max(MAX_LIST_ITEMS, `assetGroupIds: at most ${MAX_LIST_ITEMS} asset groups`)
      .default([]),
    searchListId: positiveId('searchListId').optional(),
    format: z.enum(HLD_FORMATS, { error: `format: must be one of ${HLD_FORMATS.join(', ')}` }).default('XML'),
    statuses: z
      .array(z.enum(HLD_STATUSES, { error: `statuses: each must be one of ${HLD_STATUSES.join(', ')}` }), { error: 'statuses: must be a list' })
      .max(HLD_STATUSES.length, 'statuses: too many entries')
      .default([]),
    severities: z
      .array(
        z.number({ error: 'severities: each must be a number from 1 to 5' }).int('severities: each must be a whole number').min(1, 'severities: each must be from 1 to 5').max(5, 'severities: each must be from 1 to 5'),
        { error: 'severities: must be a list' },
      )
      .max(5, 'severities: too many entries')
      .default([]),
    runningKernelFilter: z
      .number({ error: 'runningKernelFilter: must be a number from 0 to 4' })
      .int('runningKernelFilter: must be a whole number from 0 to 4')
      .min(0, 'runningKernelFilter: must be from 0 to 4')
      .max(4, 'runningKernelFilter: must be from 0 to 4')
      .optional(),
    ips: z
      .string({ error: 'ips: must be a text of comma-separated addresses and ranges' })
      .max(64 * 1024, 'ips: is too long')
      .transform((value) => value.trim())
      .superRefine((value, ctx) => {
        const problem = value === '' ? null : ipListProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: `ips: ${problem}` });
      })
      .optional(),
    maxDaysSinceLastScan: z
      .number({ error: 'maxDaysSinceLastScan: must be a number of days' })
      .int('maxDaysSinceLastScan: must be a whole number of days')
      .positive('maxDaysSinceLastScan: must be at least 1')
      .max(100_000, 'maxDaysSinceLastScan: must be at most 100000')
      .optional(),
    extraParams: z.record(z.string(), extraParamValue, { error: 'extraParams: must be a JSON object of parameter names to values' }).default({}),
  })
  .strict()
  .superRefine((filters, ctx) => {
    for (const problem of extraParamProblems(filters)) ctx.addIssue({ code: 'custom', path: ['extraParams'], message: problem });
  });

export type HostListDetectionFilters = z.infer<typeof hostListDetectionFiltersSchema>;
export type HostListDetectionFiltersInput = z.input<typeof hostListDetectionFiltersSchema>;

const ALL_HLD_PARAMS = new Set<string>([...HLD_COMMON_PARAMS, ...HLD_V2_ONLY_PARAMS, ...HLD_V3_PARAMS]);

function fieldIsSet(filters: HostListDetectionFilters, field: string): boolean {
  const value = (filters as Record<string, unknown>)[field];
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'string') return value !== '';
  return value != null && !(field === 'runningKernelFilter' && value === 0);
}

/** Version-independent problems with the extra parameters, each naming its key. */
function extraParamProblems(filters: HostListDetectionFilters): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(filters.extraParams)) {
    if ((CLIENT_CONTROLLED_PARAMS as readonly string[]).includes(key)) {
      problems.push(`extraParams: "${key}" is set by the connector (paging and format); ${key === 'output_format' ? 'use the format field' : 'remove it'}`);
      continue;
    }
    if (!ALL_HLD_PARAMS.has(key)) {
      problems.push(`extraParams: "${key}" is not a Host List Detection parameter`);
      continue;
    }
    for (const [field, { owns, excludesWhenSet }] of Object.entries(FIELD_PARAMS)) {
      if (owns.includes(key)) problems.push(`extraParams: "${key}" conflicts with the ${field} field; use that field instead`);
      else if (excludesWhenSet.includes(key) && fieldIsSet(filters, field)) problems.push(`extraParams: "${key}" cannot be combined with the ${field} field`);
    }
  }
  return problems;
}

export class HostListDetectionParamsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostListDetectionParamsError';
  }
}

function paramValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function sortedUnique<T extends string | number>(values: readonly T[]): T[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** How a fetcher's filters become requests on one connection. */
export interface HostListDetectionPlan {
  /** Host List Detection parameters; with address lookups, complete only after `withResolvedHostIds`. */
  params: Record<string, string>;
  /**
   * Host list calls (`/api/2.0/fo/asset/host/`, `client.listHostIds(params)`)
   * whose IDs, merged, select the hosts; empty when the filters need none.
   */
  addressLookups: Array<Record<string, string>>;
  /** What the client must filter out of each page (`fetchDetectionPage({ postFilter })`); null for nothing. */
  postFilter: DetectionPostFilter | null;
}

interface BuildOptions {
  apiVersion: string;
  truncationLimit?: number;
}

/**
 * The requests for a validated set of filters, so that every field means
 * what the product says on every API version: the parameters, the host
 * lookups a mixed IPv4/IPv6 list needs, and the client-side filter
 * running-kernel option 4 needs from API 3.0 on.
 */
export function planHostListDetection(filters: HostListDetectionFilters, opts: BuildOptions): HostListDetectionPlan {
  const params = buildParams(filters, opts, true);
  const kernel = filters.runningKernelFilter ?? 0;
  const postFilter: DetectionPostFilter | null = kernel === 4 && opts.apiVersion !== '2.0' ? 'kernel-related' : null;
  const { v4, v6 } = splitAddresses(filters.ips);
  const addressLookups: Array<Record<string, string>> = v4.length > 0 && v6.length > 0 ? [{ ips: v4.join(',') }, { ipv6: v6.join(',') }] : [];
  return { params, addressLookups, postFilter };
}

type IdRanges = ReadonlyArray<readonly [number, number]>;

/** The union of host ID range lists, as ascending, merged [first, last] ranges. */
export function unionHostIdRanges(lists: readonly IdRanges[]): Array<[number, number]> {
  const all = lists.flatMap((list) => list.map(([lo, hi]) => [lo, hi] as [number, number])).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of all) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/**
 * The plan's parameters with the looked-up hosts in place of the mixed
 * address list: `ids` with the union of what each lookup found (one range
 * list per `addressLookups` entry, e.g. `client.listHostIds(lookup).ranges`).
 * When no host matched any address, the IPv4 part alone is sent, so Qualys
 * still answers the (empty) result itself instead of an unfiltered one.
 */
export function withResolvedHostIds(plan: HostListDetectionPlan, found: readonly IdRanges[]): Record<string, string> {
  if (plan.addressLookups.length === 0) return plan.params;
  const ranges = unionHostIdRanges(found);
  const params = { ...plan.params };
  if (ranges.length === 0) {
    Object.assign(params, plan.addressLookups[0]);
    return params;
  }
  params.ids = formatHostIdRuns(ranges);
  return params;
}

/** The IPv4 items (addresses and ranges) and IPv6 addresses of the IP field. */
function splitAddresses(ips: string | undefined): { v4: string[]; v6: string[] } {
  if (!ips) return { v4: [], v6: [] };
  const items = ips.split(',').map((item) => item.trim());
  return { v4: items.filter((item) => !net.isIPv6(item)), v6: items.filter((item) => net.isIPv6(item)) };
}

/**
 * The Qualys parameters alone, for callers that cannot look hosts up or
 * filter pages: refuses running-kernel option 4 after API 2.0 (it needs the
 * client-side filter), and sends a mixed address list as `ips` plus `ipv6`,
 * which Qualys ANDs. Fetcher runs use `planHostListDetection`.
 * `truncationLimit` is the page size in hosts (Qualys's default 1000 when omitted).
 */
export function buildHostListDetectionParams(filters: HostListDetectionFilters, opts: BuildOptions): Record<string, string> {
  return buildParams(filters, opts, false);
}

function buildParams(filters: HostListDetectionFilters, opts: BuildOptions, planned: boolean): Record<string, string> {
  const v2 = opts.apiVersion === '2.0';
  const params: Record<string, string> = { action: 'list', output_format: filters.format };
  if (opts.truncationLimit !== undefined) {
    if (!Number.isInteger(opts.truncationLimit) || opts.truncationLimit < 1 || opts.truncationLimit > 1_000_000) {
      throw new HostListDetectionParamsError(`truncationLimit: must be a whole number of hosts from 1 to 1000000, got ${opts.truncationLimit}`);
    }
    params.truncation_limit = String(opts.truncationLimit);
  }
  if (filters.assetGroupIds.length > 0) params.ag_ids = sortedUnique(filters.assetGroupIds).join(',');
  if (filters.searchListId !== undefined) params.include_search_list_ids = String(filters.searchListId);
  if (filters.statuses.length > 0) params.status = HLD_STATUSES.filter((s) => filters.statuses.includes(s)).join(',');
  if (filters.severities.length > 0) params.severities = sortedUnique(filters.severities).join(',');
  const kernel = filters.runningKernelFilter ?? 0;
  if (kernel > 0) {
    if (v2) params.arf_kernel_filter = String(kernel);
    else {
      if (kernel === 4 && !planned) {
        throw new HostListDetectionParamsError(
          `runningKernelFilter: 4 (only kernel-related vulnerabilities) on Qualys API ${opts.apiVersion} needs the connector's client-side kernel filter; exists only on Qualys API 2.0 as a parameter`,
        );
      }
      if (kernel === 2 || kernel === 3) params.active_kernels_only = String(kernel);
      else {
        params.show_arf_data = '1';
        if (kernel === 1) params.arf_filter_keys = 'non-running-kernel';
      }
    }
  }
  const { v4, v6 } = splitAddresses(filters.ips);
  const mixed = v4.length > 0 && v6.length > 0;
  // A planned mixed list is sent as looked-up host IDs instead (withResolvedHostIds).
  if (!(planned && mixed)) {
    if (v4.length > 0) params.ips = v4.join(',');
    if (v6.length > 0) params.ipv6 = v6.join(',');
  }
  if (filters.maxDaysSinceLastScan !== undefined) params.max_days_since_last_vm_scan = String(filters.maxDaysSinceLastScan);

  const problems = extraParamProblems(filters);
  if (problems.length > 0) throw new HostListDetectionParamsError(problems.join('; '));
  for (const [key, value] of Object.entries(filters.extraParams)) {
    const versionOnly = (HLD_V2_ONLY_PARAMS as readonly string[]).includes(key) ? '2.0' : (HLD_V3_PARAMS as readonly string[]).includes(key) ? '3.0' : null;
    if (versionOnly === '2.0' && !v2) throw new HostListDetectionParamsError(`extraParams: "${key}" exists only on Qualys API 2.0, not ${opts.apiVersion}`);
    if (versionOnly === '3.0' && v2) throw new HostListDetectionParamsError(`extraParams: "${key}" exists only from Qualys API 3.0 on, not 2.0`);
    params[key] = paramValue(value);
  }
  return params;
}
