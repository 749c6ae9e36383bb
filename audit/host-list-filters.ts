import { hostListParamsFor } from '../qualys/host-list-params.js';

/**
 * Which Host List Detection parameters choose hosts, and how they translate
 * to the host list call (`/api/2.0/fo/asset/host/?action=list&details=None`)
 * that gives the host population to reconcile the evidence against.
 *
 * Every Host List Detection parameter falls in one of three groups:
 * - host-level filters, which qualys/host-list-params.ts carries over to the
 *   host list (as they are, or `max_days_since_last_vm_scan` as the
 *   `vm_scan_since` it stands for at the time of the call);
 * - detection-level filters (status, severities, QIDs, search lists, kernel
 *   and date filters on detections): they do not narrow the host list, they
 *   only make Host List Detection leave out hosts with no matching detection;
 * - paging and output options, which choose no hosts at all.
 * A parameter in none of the groups could change the host population in a
 * way the host list cannot repeat: reconciliation then does not apply.
 */

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


/**
 * The host list parameters equivalent to a Host List Detection request's
 * host-level filters, or why there are none.
 */
export function hostListFiltersFor(hldParams: Readonly<Record<string, string>>, now: Date): HostListFilters {
  const { params } = hostListParamsFor({ ...hldParams }, now);
  const detectionFilters: string[] = [];
  for (const [name, value] of Object.entries(hldParams)) {
    if (OUTPUT_OPTIONS.has(name)) continue;
    if (DETECTION_FILTERS.has(name)) {
      detectionFilters.push(name);
      continue;
    }
    if (name in params) continue;
    if (name === 'max_days_since_last_vm_scan' && params.vm_scan_since !== undefined) continue;
    return { applies: false, reason: `the parameter ${name}=${value.slice(0, 40)} may choose hosts in a way the host list cannot repeat` };
  }
  return { applies: true, params, detectionFilters: detectionFilters.sort() };
}
