/**
 * Fetcher definitions of both kinds and their mapping to controls and audit
 * requests. Everything Qualys will receive is validated here, against the
 * connection's API version and its actual asset groups and search lists, so
 * a saved fetcher does not fail on its first run because of its definition.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import { getConnection, type Connection } from '../../db/connections.js';
import {
  createFetcher,
  deleteFetcher,
  getFetcher,
  listFetchers,
  listMappingsOfFetchers,
  setFetcherControls,
  setFetcherRequests,
  updateFetcher,
} from '../../db/fetchers.js';
import type { FetcherRow } from '../../db/schema.js';
import { hostListDetectionFiltersSchema, type HostListDetectionFilters } from '../../qualys/hld-params.js';
import type { ApiApp } from '../app.js';
import { requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, fieldError, notFound, type FieldError } from '../problem.js';
import { qualysPickersFor, type PickerKind, type QualysPickers } from '../qualys-pickers.js';
import { deleteTemporalSchedules } from '../schedule-cleanup.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import {
  controlIdsBodySchema,
  FetcherDefinitionError,
  fetcherCreateSchema,
  fetcherPatchSchema,
  fetcherSchema,
  fetcherView,
  hostListDetectionParams,
  requestIdsBodySchema,
  type FetcherView,
} from '../schemas/fetcher.js';
import { pathId, queryBoolean, rowId } from '../schemas/fields.js';
import { qualysResponses } from '../schemas/responses.js';

const TAG = 'Fetchers';
const admin = requireRole('admin');
const fetcherId = pathId('id', 'fetcher');
const fetcherResponse = (description: string) => jsonResponse(fetcherSchema, description);

const createFetcherRoute = createRoute({
  method: 'post',
  path: '/v1/fetchers',
  tags: [TAG],
  summary: 'Create a fetcher (Host List Detection or custom)',
  description:
    'Host List Detection filters are checked against the connection\'s API version, and asset group and search list IDs against the ' +
    'Qualys account (the picker lists). Custom endpoints must be paths on the connection\'s API server. ' +
    '`controlIds` and `requestIds` map the fetcher at once. Admin only.',
  middleware: admin,
  request: { body: jsonBody(fetcherCreateSchema) },
  responses: { 201: fetcherResponse('The fetcher'), ...errorResponses, ...qualysResponses },
});

const listFetchersRoute = createRoute({
  method: 'get',
  path: '/v1/fetchers',
  tags: [TAG],
  summary: 'List fetchers',
  description: 'Newest first; deleted fetchers are not listed. Any API key may read fetchers.',
  request: {
    query: pageQuery.extend({
      connectionId: rowId('connection').optional().openapi({ description: 'Only this connection\'s fetchers' }),
      enabled: queryBoolean.optional().openapi({ description: 'true or false' }),
    }),
  },
  responses: { 200: jsonResponse(pageOf(fetcherSchema).openapi('FetcherPage'), 'A page of fetchers'), ...errorResponses },
});

const getFetcherRoute = createRoute({
  method: 'get',
  path: '/v1/fetchers/{id}',
  tags: [TAG],
  summary: 'Get a fetcher',
  request: { params: fetcherId },
  responses: { 200: fetcherResponse('The fetcher'), ...errorResponses },
});

const patchFetcherRoute = createRoute({
  method: 'patch',
  path: '/v1/fetchers/{id}',
  tags: [TAG],
  summary: 'Change a fetcher',
  description:
    '`filters` (Host List Detection) and `request` (custom) replace the whole definition and are validated like on creation. ' +
    'A fetcher of a disconnected connection cannot be enabled. Admin only.',
  middleware: admin,
  request: { params: fetcherId, body: jsonBody(fetcherPatchSchema) },
  responses: { 200: fetcherResponse('The updated fetcher'), ...errorResponses, ...qualysResponses },
});

const deleteFetcherRoute = createRoute({
  method: 'delete',
  path: '/v1/fetchers/{id}',
  tags: [TAG],
  summary: 'Delete a fetcher',
  description: 'Retires the fetcher and deletes its schedules (in Temporal too). Its past runs and evidence stay. Admin only.',
  middleware: admin,
  request: { params: fetcherId },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

const mappingRoute = <T extends z.ZodType>(target: 'controls' | 'requests', body: T, summary: string) =>
  createRoute({
    method: 'put',
    path: `/v1/fetchers/{id}/${target}`,
    tags: [TAG],
    summary,
    description:
      target === 'controls'
        ? 'Replaces the set of controls. New evidence from the fetcher is filed under these controls and under the open audit requests that cover them. Admin only.'
        : 'Replaces the set of audit requests. New evidence from the fetcher is filed under these requests while they are open. Admin only.',
    middleware: admin,
    request: { params: fetcherId, body: jsonBody(body) },
    responses: { 200: fetcherResponse('The fetcher with its new mapping'), ...errorResponses },
  });

const setControlsRoute = mappingRoute('controls', controlIdsBodySchema, 'Map a fetcher to controls');
const setRequestsRoute = mappingRoute('requests', requestIdsBodySchema, 'Map a fetcher to audit requests');

function definitionProblem(err: unknown): never {
  if (err instanceof FetcherDefinitionError) throw fieldError(err.field, err.reason);
  throw err;
}

/** The connection a fetcher is created on, as a body field: unknown or disconnected ones are the body's fault. */
async function usableConnection(deps: ApiDeps, id: string): Promise<Connection> {
  const connection = await getConnection(deps.db, id);
  if (!connection) throw fieldError('connectionId', `connection ${id} does not exist`);
  if (connection.status === 'disconnected') throw fieldError('connectionId', `connection ${id} is disconnected; reconnect it first`);
  return connection;
}

/**
 * Asset group and search list IDs must exist on the Qualys account. A list
 * served from the cache is asked again once before an ID is called unknown,
 * since the user may have just created it in Qualys.
 */
async function assertKnownQualysIds(pickers: QualysPickers, connectionId: string, filters: HostListDetectionFilters): Promise<void> {
  const unknownIn = async (kind: PickerKind, ids: number[]) => {
    if (ids.length === 0) return [];
    const missing = async (refresh: boolean) => {
      const known = new Set((await pickers.list(connectionId, kind, { refresh })).items.map((item) => item.id));
      return [...new Set(ids)].filter((id) => !known.has(id));
    };
    const first = await missing(false);
    return first.length === 0 ? first : missing(true);
  };
  const errors: FieldError[] = [];
  const groups = await unknownIn('asset-groups', filters.assetGroupIds);
  if (groups.length > 0) errors.push({ field: 'filters.assetGroupIds', reason: `no asset group with id ${groups.join(', ')} in this Qualys account` });
  const lists = await unknownIn('search-lists', filters.searchListId === undefined ? [] : [filters.searchListId]);
  if (lists.length > 0) errors.push({ field: 'filters.searchListId', reason: `no dynamic search list with id ${lists[0]} in this Qualys account` });
  if (errors.length > 0) throw new ApiError('validation-failed', errors.map((e) => `${e.field}: ${e.reason}`).join('; '), { errors });
}

/** The stored filters, for a change of page size alone; filters stored under older rules must be given anew. */
function storedFilters(fetcher: FetcherRow): HostListDetectionFilters {
  const stored = hostListDetectionFiltersSchema.safeParse(fetcher.config);
  if (!stored.success) {
    throw fieldError('filters', `the stored filters are no longer valid (${stored.error.issues.map((i) => i.message).join('; ')}); send them again with the change`);
  }
  return stored.data;
}

async function viewOf(deps: ApiDeps, fetcher: FetcherRow): Promise<FetcherView> {
  const [views] = await viewsOf(deps, [fetcher]);
  return views!;
}

async function viewsOf(deps: ApiDeps, fetchers: FetcherRow[]): Promise<FetcherView[]> {
  const mappings = await listMappingsOfFetchers(
    deps.db,
    fetchers.map((f) => f.id),
  );
  const versions = new Map<string, string>();
  for (const connectionId of new Set(fetchers.map((f) => f.connectionId))) {
    versions.set(connectionId, (await getConnection(deps.db, connectionId))!.apiVersion);
  }
  return fetchers.map((f) => fetcherView(f, mappings.get(f.id)!, versions.get(f.connectionId)!));
}

async function liveFetcher(deps: ApiDeps, id: string): Promise<FetcherRow> {
  const fetcher = await getFetcher(deps.db, id);
  if (!fetcher) throw notFound('fetcher', id);
  return fetcher;
}

export function registerFetcherRoutes(app: ApiApp, deps: ApiDeps): void {
  const pickers = qualysPickersFor(deps);

  app.openapi(createFetcherRoute, async (c) => {
    const body = c.req.valid('json');
    const connection = await usableConnection(deps, body.connectionId);
    const definition =
      body.kind === 'host_list_detection'
        ? { config: body.filters, format: body.filters.format, pageSize: body.pageSize }
        : { config: body.request, format: 'RAW' as const, pageSize: undefined };
    if (body.kind === 'host_list_detection') {
      try {
        hostListDetectionParams(body.filters, connection.apiVersion, body.pageSize);
      } catch (err) {
        definitionProblem(err);
      }
      await assertKnownQualysIds(pickers, connection.id, body.filters);
    }
    const fetcher = await deps.db.transaction(async (tx) => {
      const created = await createFetcher(tx, {
        connectionId: connection.id,
        name: body.name,
        kind: body.kind,
        ...definition,
        ...(body.enabled === undefined ? {} : { enabled: body.enabled }),
      });
      if (body.controlIds?.length) await setFetcherControls(tx, created.id, body.controlIds);
      if (body.requestIds?.length) await setFetcherRequests(tx, created.id, body.requestIds);
      return created;
    });
    deps.logger.info({ fetcherId: fetcher.id, kind: fetcher.kind, connectionId: connection.id, by: c.get('apiKey').name }, 'fetcher created');
    return c.json(await viewOf(deps, fetcher), 201, { location: `/v1/fetchers/${fetcher.id}` });
  });

  app.openapi(listFetchersRoute, async (c) => {
    const { cursor, limit, connectionId, enabled } = c.req.valid('query');
    const page = await listFetchers(deps.db, { connectionId, enabled }, { cursor, limit });
    return c.json({ items: await viewsOf(deps, page.items), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getFetcherRoute, async (c) => {
    const fetcher = await liveFetcher(deps, c.req.valid('param').id);
    return c.json(await viewOf(deps, fetcher), 200);
  });

  app.openapi(patchFetcherRoute, async (c) => {
    const existing = await liveFetcher(deps, c.req.valid('param').id);
    const patch = c.req.valid('json');
    const hld = existing.kind === 'host_list_detection';
    if (!hld && patch.filters !== undefined) throw fieldError('filters', 'only Host List Detection fetchers have filters; change a custom fetcher with request');
    if (!hld && patch.pageSize !== undefined) throw fieldError('pageSize', 'only Host List Detection fetchers have a page size');
    if (hld && patch.request !== undefined) throw fieldError('request', 'only custom fetchers have a request; change a Host List Detection fetcher with filters');
    const connection = (await getConnection(deps.db, existing.connectionId))!;
    if (patch.enabled === true && connection.status === 'disconnected') {
      throw fieldError('enabled', 'the connection is disconnected; reconnect it before enabling its fetchers');
    }
    let definition: { config?: object; format?: 'XML' | 'CSV'; pageSize?: number } = {};
    if (hld && (patch.filters !== undefined || patch.pageSize !== undefined)) {
      const filters = patch.filters ?? storedFilters(existing);
      const pageSize = patch.pageSize ?? existing.pageSize;
      try {
        hostListDetectionParams(filters, connection.apiVersion, pageSize);
      } catch (err) {
        definitionProblem(err);
      }
      if (patch.filters !== undefined) await assertKnownQualysIds(pickers, connection.id, patch.filters);
      definition = { config: filters, format: filters.format, pageSize };
    }
    const updated = await updateFetcher(deps.db, existing.id, {
      name: patch.name,
      enabled: patch.enabled,
      ...definition,
      ...(patch.request === undefined ? {} : { config: patch.request }),
    });
    if (!updated) throw notFound('fetcher', existing.id);
    deps.logger.info({ fetcherId: updated.id, by: c.get('apiKey').name }, 'fetcher updated');
    return c.json(await viewOf(deps, updated), 200);
  });

  app.openapi(deleteFetcherRoute, async (c) => {
    const { id } = c.req.valid('param');
    const result = await deleteFetcher(deps.db, id);
    if (!result) throw notFound('fetcher', id);
    await deleteTemporalSchedules(deps.temporal.client, result.removedTemporalScheduleIds);
    deps.logger.info({ fetcherId: id, deletedSchedules: result.removedTemporalScheduleIds.length, by: c.get('apiKey').name }, 'fetcher deleted');
    return c.body(null, 204);
  });

  app.openapi(setControlsRoute, async (c) => {
    const fetcher = await liveFetcher(deps, c.req.valid('param').id);
    await setFetcherControls(deps.db, fetcher.id, c.req.valid('json').controlIds);
    return c.json(await viewOf(deps, fetcher), 200);
  });

  app.openapi(setRequestsRoute, async (c) => {
    const fetcher = await liveFetcher(deps, c.req.valid('param').id);
    await setFetcherRequests(deps.db, fetcher.id, c.req.valid('json').requestIds);
    return c.json(await viewOf(deps, fetcher), 200);
  });
}
