/**
 * Which Host List Detection parameters choose hosts, and how they translate
 * to the host list call (`/api/2.0/fo/asset/host/?action=list&details=None`)
 * that gives the host population to reconcile the evidence against.
 *
 * Every Host List Detection parameter falls in one of three groups:
 * - host-level filters, passed to the host list as they are (or, for
 *   `max_days_since_last_vm_scan`, as the equivalent `vm_scan_since` at the
 *   time of the call, since the host list has no day count);
 * - detection-level filters (status, severities, QIDs, search lists, kernel
 *   and date filters on detections): they do not narrow the host list, they
 *   only make Host List Detection leave out hosts with no matching detection;
 * - paging and output options, which choose no hosts at all.
 * A parameter in none of the groups could change the host population in a
 * way the host list cannot repeat: reconciliation then does not apply.
 */

const SAME_NAME_HOST_FILTERS = new Set([
  'ids', 'ips', 'ipv6', 'ag_ids', 'ag_titles', 'os_pattern', 'network_ids', 'compliance_enabled', 'no_vm_scan_since',
  'vm_scan_since', 'vm_processed_before', 'vm_processed_after', 'vm_scan_date_before', 'vm_scan_date_after',
  'vm_auth_scan_date_before', 'vm_auth_scan_date_after', 'use_tags', 'tag_set_by', 'tag_include_selector',
  'tag_exclude_selector', 'tag_set_include', 'tag_set_exclude',
]);

const DETECTION_FILTERS = new Set([
  'status', 'severities', 'qids', 'include_vuln_type', 'include_search_list_ids', 'include_search_list_titles',
  'exclude_search_list_ids', 'exclude_search_list_titles', 'include_ignored', 'include_disabled', 'filter_superseded_qids',
  'qds_min', 'qds_max', 'active_kernels_only', 'arf_kernel_filter', 'arf_service_filter', 'arf_config_filter',
  'arf_filter_keys', 'max_days_since_detection_updated', 'detection_updated_since', 'detection_updated_before',
  'detection_processed_after', 'detection_processed_before', 'detection_last_tested_since', 'detection_last_tested_before',
  'detection_last_tested_since_days', 'detection_last_tested_before_days',
]);

const OUTPUT_OPTIONS = new Set([
  'action', 'output_format', 'truncation_limit', 'id_min', 'id_max', 'echo_request', 'suppress_duplicated_data_from_csv',
  'show_tags', 'show_asset_id', 'show_results', 'show_host_services', 'show_igs', 'show_reopened_info', 'show_qds',
  'show_qds_factors', 'host_metadata', 'host_metadata_fields', 'show_cloud_tags', 'cloud_tag_fields', 'show_arf_data',
]);

export type HostListFilters =
  | { applies: true; params: Record<string, string>; detectionFilters: string[] }
  | { applies: false; reason: string };

/** Qualys date-time form accepted by the `*_since` parameters. */
function qualysDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The host list parameters equivalent to a Host List Detection request's
 * host-level filters, or why there are none.
 */
export function hostListFiltersFor(hldParams: Readonly<Record<string, string>>, now: Date): HostListFilters {
  const params: Record<string, string> = {};
  const detectionFilters: string[] = [];
  for (const [name, value] of Object.entries(hldParams)) {
    if (OUTPUT_OPTIONS.has(name)) continue;
    if (DETECTION_FILTERS.has(name)) {
      detectionFilters.push(name);
      continue;
    }
    if (SAME_NAME_HOST_FILTERS.has(name)) {
      params[name] = value;
      continue;
    }
    if (name === 'max_days_since_last_vm_scan') {
      const days = Number(value);
      if (!Number.isInteger(days) || days < 1) return { applies: false, reason: `max_days_since_last_vm_scan=${value} is not a whole number of days` };
      params.vm_scan_since = qualysDateTime(now.getTime() - days * 86_400_000);
      continue;
    }
    return { applies: false, reason: `the parameter ${name} may choose hosts in a way the host list cannot repeat` };
  }
  return { applies: true, params, detectionFilters: detectionFilters.sort() };
}
