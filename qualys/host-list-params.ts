/**
 * The host ID list call (`/api/2.0/fo/asset/host/?action=list&details=None`)
 * for the hosts a Host List Detection request selects: its host-level
 * filters, carried over where the host list has the same parameter and
 * translated where it has an equivalent. Detection-level filters (status,
 * severities, QIDs, search lists…) have no place there: the list then names
 * every host the detection filters may pick from.
 */

/** Parameters the host list shares with Host List Detection, with the same meaning. */
const SHARED_HOST_FILTERS = new Set([
  'ids',
  'ips',
  'ipv6',
  'ag_ids',
  'ag_titles',
  'os_pattern',
  'network_ids',
  'compliance_enabled',
  'no_vm_scan_since',
  'vm_scan_since',
  'vm_processed_before',
  'vm_processed_after',
  'vm_scan_date_before',
  'vm_scan_date_after',
  'vm_auth_scan_date_before',
  'vm_auth_scan_date_after',
  'use_tags',
  'tag_set_by',
  'tag_include_selector',
  'tag_exclude_selector',
  'tag_set_include',
  'tag_set_exclude',
]);

export interface HostListRequest {
  params: Record<string, string>;
  /**
   * True when the list selects exactly the hosts the detection request may
   * return; false when a host-level filter could only be approximated.
   */
  exact: boolean;
}

const DAY_MS = 86_400_000;

export function hostListParamsFor(detectionParams: Record<string, string>, now: Date): HostListRequest {
  const params: Record<string, string> = {};
  let exact = true;
  for (const [name, value] of Object.entries(detectionParams)) {
    if (SHARED_HOST_FILTERS.has(name)) params[name] = value;
  }
  const maxDays = detectionParams.max_days_since_last_vm_scan;
  if (maxDays !== undefined && /^\d+$/.test(maxDays)) {
    // The host list has no "days since" filter; the date it stands for selects the same hosts, give or take the hour the run starts.
    params.vm_scan_since = new Date(now.getTime() - Number(maxDays) * DAY_MS).toISOString().slice(0, 19) + 'Z';
    exact = false;
  }
  return { params, exact };
}
