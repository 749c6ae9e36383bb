/**
 * Turns a stored fetcher into the request plan of one run: which endpoint,
 * which method, which parameters. Definitions are validated again here
 * because a stored definition may predate today's rules.
 */
import type { FetcherRow } from '../db/schema.js';
import type { Connection } from '../db/connections.js';
import { hostListDetectionFiltersSchema, planHostListDetection } from '../qualys/hld-params.js';
import { customRequestParams, customRequestSchema } from '../qualys/custom-request.js';
import type { RunPlan } from '../shared/contracts.js';

export function hostListDetectionPath(apiVersion: string): string {
  return `/api/${apiVersion}/fo/asset/host/vm/detection/`;
}

export function buildRunPlan(runId: string, fetcher: FetcherRow, connection: Connection, startedAt: Date): RunPlan {
  const common = {
    runId,
    fetcherId: fetcher.id,
    fetcherName: fetcher.name,
    fetcherKind: fetcher.kind,
    connectionId: connection.id,
    startedAt: startedAt.toISOString(),
  };
  if (fetcher.kind === 'host_list_detection') {
    const filters = hostListDetectionFiltersSchema.parse(fetcher.config);
    const { params, addressLookups, postFilter } = planHostListDetection(filters, { apiVersion: connection.apiVersion, truncationLimit: fetcher.pageSize });
    return {
      ...common,
      format: filters.format,
      method: 'POST',
      endpoint: hostListDetectionPath(connection.apiVersion),
      params,
      ...(addressLookups.length > 0 ? { addressLookups } : {}),
      ...(postFilter ? { postFilter } : {}),
    };
  }
  const request = customRequestSchema.parse(fetcher.config);
  // The evidence format of a custom answer is known only once it arrives; sealing decides.
  return { ...common, format: 'RAW', method: request.method, endpoint: request.endpoint, params: customRequestParams(request) };
}
