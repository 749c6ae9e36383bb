/** Fetcher requests (both kinds) and the fetcher as the API shows it. */
import { z } from '@hono/zod-openapi';
import type { FetcherMappings } from '../../db/fetchers.js';
import type { FetcherRow } from '../../db/schema.js';
import { customRequestSchema, MAX_PARAMS, PARAM_NAME_PATTERN, type CustomRequest } from '../../qualys/custom-request.js';
import { ENDPOINT_PATH_PATTERN } from '../../qualys/endpoint-path.js';
import {
  planHostListDetection,
  HostListDetectionParamsError,
  hostListDetectionFiltersSchema,
  type HostListDetectionFilters,
} from '../../qualys/hld-params.js';
import { iso, isoTime } from './common.js';
import { controlRef, controlRefSchema } from './control.js';
import { addTextIssues, changes, controlIdList, enabledField, idList, orNull, requiredText, rowId } from './fields.js';

export const DEFAULT_PAGE_SIZE = 1000;

const filtersField = hostListDetectionFiltersSchema.superRefine((filters, ctx) => addTextIssues(filters, ctx)).openapi('HostListDetectionFilters', {
  description:
    'The Host List Detection filters. Asset groups combine with OR; everything else, extraParams included, with AND. ' +
    'Vulnerability statuses default to New, Active and Re-Opened (Fixed excluded).',
});

/**
 * The custom request's rules, spelled out for the OpenAPI document (qualys/
 * validates them). Its fields are cloned first: a zod schema made before
 * @hono/zod-openapi was loaded (which depends on import order) lacks `.openapi`.
 */
const documentedCustomRequest = customRequestSchema.extend({
  endpoint: customRequestSchema.shape.endpoint.clone().openapi({
    minLength: 1,
    maxLength: 2048,
    pattern: ENDPOINT_PATH_PATTERN,
    description: 'A path on the API server such as /api/2.0/fo/scan/?action=list: no host, no "." or ".." segments, no encoded dots or slashes, no session calls',
  }),
  params: customRequestSchema.shape.params.clone().openapi({
    maxProperties: MAX_PARAMS,
    // OpenAPI 3.1 (JSON Schema) keyword the metadata type, written for 3.0, does not know.
    ...({ propertyNames: { pattern: PARAM_NAME_PATTERN } } as object),
    description: 'Parameters by name (never credentials or id_min); text values without NUL or unpaired UTF-16 surrogates',
  }),
});

const requestField = documentedCustomRequest
  .superRefine((request, ctx) => addTextIssues(request, ctx))
  .openapi('CustomRequest', {
    description: 'Any Qualys API call: a method, a path on the connection\'s API server (never a URL) and parameters.',
  });

const pageSizeField = z
  .number({ error: 'must be a number of hosts' })
  .int('must be a whole number of hosts')
  .min(1, 'must be from 1 to 1000000 hosts')
  .max(1_000_000, 'must be from 1 to 1000000 hosts')
  .openapi({ description: 'Hosts per Qualys page (truncation_limit)' });

const mappingFields = {
  controlIds: controlIdList().optional().openapi({ description: 'Controls whose evidence this fetcher provides' }),
  requestIds: idList('request').optional().openapi({ description: 'Audit requests this fetcher provides evidence for' }),
};

const commonCreateFields = {
  connectionId: rowId('connection'),
  name: requiredText(200).openapi({ description: 'How people find the fetcher when mapping and running it', example: 'PCI scope, severity 4–5' }),
  enabled: enabledField.optional(),
  ...mappingFields,
};

export const hldFetcherCreateSchema = z
  .object({
    kind: z.literal('host_list_detection'),
    ...commonCreateFields,
    filters: filtersField.prefault({}),
    pageSize: pageSizeField.default(DEFAULT_PAGE_SIZE),
  })
  .strict()
  .openapi('HostListDetectionFetcherCreate');

export const customFetcherCreateSchema = z
  .object({ kind: z.literal('custom'), ...commonCreateFields, request: requestField })
  .strict()
  .openapi('CustomFetcherCreate');

export const fetcherCreateSchema = z
  .discriminatedUnion('kind', [hldFetcherCreateSchema, customFetcherCreateSchema], {
    error: 'kind: must be host_list_detection or custom',
  })
  .openapi('FetcherCreate');

export const fetcherPatchSchema = changes(
  z.strictObject({
    name: requiredText(200).optional(),
    filters: filtersField.optional().openapi({ description: 'Host List Detection fetchers only: replaces all filters' }),
    request: requestField.optional().openapi({ description: 'Custom fetchers only: replaces the request' }),
    pageSize: pageSizeField.optional().openapi({ description: 'Host List Detection fetchers only' }),
    enabled: enabledField.optional(),
  }),
).openapi('FetcherPatch');

export const controlIdsBodySchema = z
  .object({ controlIds: controlIdList() })
  .strict()
  .openapi('FetcherControlsMapping', { description: 'Replaces the set of controls' });

export const requestIdsBodySchema = z
  .object({ requestIds: idList('request') })
  .strict()
  .openapi('FetcherRequestsMapping', { description: 'Replaces the set of audit requests' });

export const fetcherSchema = z
  .object({
    id: z.string(),
    connectionId: z.string(),
    name: z.string(),
    kind: z.enum(['host_list_detection', 'custom']),
    filters: orNull(filtersField).openapi({ description: 'Host List Detection fetchers; null for custom ones' }),
    request: orNull(requestField).openapi({ description: 'Custom fetchers; null for Host List Detection ones' }),
    format: z.enum(['XML', 'CSV', 'RAW']).openapi({ description: 'RAW: a custom answer, stored as Qualys sent it' }),
    pageSize: z.number().int().nullable().openapi({ description: 'Hosts per page (Host List Detection); null for custom fetchers' }),
    enabled: z.boolean(),
    controls: z.array(controlRefSchema),
    requestIds: z.array(z.string()),
    qualysParams: z
      .record(z.string(), z.string())
      .nullable()
      .openapi({
        description:
          'The parameters Qualys receives for the first page (Host List Detection). A list of both IPv4 and IPv6 addresses is looked up in the host list ' +
          'when the run starts and sent as `ids` (Qualys would AND `ips` and `ipv6`); running-kernel option 4 on API 3.0+ is `show_arf_data=1` with the ' +
          "connector's own filter applied to every page.",
      }),
    configProblem: z.string().nullable().openapi({ description: 'Why the stored definition cannot run as it is, if it cannot' }),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi('Fetcher');

export type FetcherView = z.infer<typeof fetcherSchema>;

/** A HostListDetectionParamsError names its field first ("runningKernelFilter: …"); point at it in the body. */
function paramsErrorField(message: string): { field: string; reason: string } {
  const colon = message.indexOf(': ');
  const name = colon > 0 ? message.slice(0, colon) : '';
  const reason = colon > 0 ? message.slice(colon + 2) : message;
  if (name === 'truncationLimit') return { field: 'pageSize', reason };
  return { field: name ? `filters.${name}` : 'filters', reason };
}

export class FetcherDefinitionError extends Error {
  override name = 'FetcherDefinitionError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** The Qualys parameters for filters on a connection's API version; throws naming the field that cannot work there. */
export function hostListDetectionParams(filters: HostListDetectionFilters, apiVersion: string, pageSize: number): Record<string, string> {
  try {
    return planHostListDetection(filters, { apiVersion, truncationLimit: pageSize }).params;
  } catch (err) {
    if (!(err instanceof HostListDetectionParamsError)) throw err;
    const { field, reason } = paramsErrorField(err.message);
    throw new FetcherDefinitionError(field, reason);
  }
}

/** A stored definition read back; definitions are validated on write, so failing here means the rules changed since. */
function storedDefinition(row: FetcherRow) {
  if (row.kind === 'host_list_detection') {
    const parsed = hostListDetectionFiltersSchema.safeParse(row.config);
    return parsed.success
      ? { filters: parsed.data, request: null, problem: null }
      : { filters: row.config as HostListDetectionFilters, request: null, problem: parsed.error.issues.map((i) => i.message).join('; ') };
  }
  const parsed = customRequestSchema.safeParse(row.config);
  return parsed.success
    ? { filters: null, request: parsed.data, problem: null }
    : { filters: null, request: row.config as CustomRequest, problem: parsed.error.issues.map((i) => i.message).join('; ') };
}

/** `apiVersion` is the connection's, which decides the Host List Detection parameters. */
export function fetcherView(row: FetcherRow, mappings: FetcherMappings, apiVersion: string): FetcherView {
  const { filters, request, problem } = storedDefinition(row);
  let qualysParams: Record<string, string> | null = null;
  let configProblem = problem;
  if (filters && !problem) {
    try {
      qualysParams = hostListDetectionParams(filters, apiVersion, row.pageSize);
    } catch (err) {
      if (!(err instanceof FetcherDefinitionError)) throw err;
      configProblem = `${err.message} (the connection uses API ${apiVersion})`;
    }
  }
  return {
    id: row.id,
    connectionId: row.connectionId,
    name: row.name,
    kind: row.kind,
    filters,
    request,
    format: row.format,
    pageSize: row.kind === 'host_list_detection' ? row.pageSize : null,
    enabled: row.enabled,
    controls: mappings.controls.map(controlRef),
    requestIds: mappings.requestIds,
    qualysParams,
    configProblem,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}
