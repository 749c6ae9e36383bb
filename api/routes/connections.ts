/**
 * Qualys connections: created and changed only after Qualys accepted the
 * credentials, disconnected (secret erased, fetchers and schedules stopped)
 * rather than deleted, and the source of the fetcher form's picker lists.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import {
  createConnection,
  disconnectConnection,
  getConnection,
  getConnectionCredentials,
  listConnections,
  markConnectionStatus,
  updateConnection,
  type Connection,
} from '../../db/connections.js';
import { ConnectionDisconnectedError } from '../../db/errors.js';
import { readBudget } from '../../db/qualys-budget.js';
import { subscriptionId } from '../../qualys/subscription.js';
import { listFetchers } from '../../db/fetchers.js';
import type { FetcherRow } from '../../db/schema.js';
import { hostListDetectionFiltersSchema } from '../../qualys/hld-params.js';
import { platformOfUrl, resolveApiBaseUrl } from '../../qualys/platforms.js';
import type { ApiApp } from '../app.js';
import { requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, fieldError, notFound } from '../problem.js';
import { withQualysClient, withStoredConnection, type QualysAccess } from '../qualys-access.js';
import { qualysPickersFor, type PickerKind } from '../qualys-pickers.js';
import { pauseTemporalSchedules } from '../schedule-cleanup.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import { pathId } from '../schemas/fields.js';
import { iso } from '../schemas/common.js';
import {
  connectionCheckResultSchema,
  connectionCheckSchema,
  connectionCreateSchema,
  connectionLimitsSchema,
  connectionPatchSchema,
  connectionSchema,
  connectionView,
  limitsView,
  pickerListSchema,
} from '../schemas/connection.js';
import { FetcherDefinitionError, hostListDetectionParams } from '../schemas/fetcher.js';
import { conflictResponse, qualysResponses } from '../schemas/responses.js';

const TAG = 'Connections';
const admin = requireRole('admin');
const connectionId = pathId('id', 'connection');
const connectionResponse = (description: string) => jsonResponse(connectionSchema, description);

const createConnectionRoute = createRoute({
  method: 'post',
  path: '/v1/connections',
  tags: [TAG],
  summary: 'Connect a Qualys account',
  description:
    'Checks the credentials with Qualys first (one small Host List Detection call) and stores the connection only if Qualys accepts them, ' +
    'with the account\'s rate and concurrency limits. The password is stored encrypted and never returned. Admin only.',
  middleware: admin,
  request: { body: jsonBody(connectionCreateSchema) },
  responses: { 201: connectionResponse('The connection, checked with Qualys'), ...errorResponses, ...qualysResponses },
});

const checkBeforeSavingRoute = createRoute({
  method: 'post',
  path: '/v1/connections/check',
  tags: [TAG],
  summary: 'Check credentials with Qualys without saving them',
  description:
    'The same check as creating a connection (one small Host List Detection call), for a form that shows the outcome before it saves: ' +
    '200 with the account\'s limits when Qualys accepts, a `qualys-rejected` problem with Qualys\'s `reason`, `qualysCode` and `qualysText` when it refuses. ' +
    'Nothing is stored and nothing is logged of the password. Admin only.',
  middleware: admin,
  request: { body: jsonBody(connectionCheckSchema) },
  responses: { 200: jsonResponse(connectionCheckResultSchema, 'Qualys accepted the credentials'), ...errorResponses, ...qualysResponses },
});

const listConnectionsRoute = createRoute({
  method: 'get',
  path: '/v1/connections',
  tags: [TAG],
  summary: 'List connections',
  description: 'Newest first. Any API key may read connections; none of them ever shows a password.',
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(connectionSchema).openapi('ConnectionPage'), 'A page of connections'), ...errorResponses },
});

const getConnectionRoute = createRoute({
  method: 'get',
  path: '/v1/connections/{id}',
  tags: [TAG],
  summary: 'Get a connection',
  request: { params: connectionId },
  responses: { 200: connectionResponse('The connection'), ...errorResponses },
});

const patchConnectionRoute = createRoute({
  method: 'patch',
  path: '/v1/connections/{id}',
  tags: [TAG],
  summary: 'Rename, rotate the password, or change the API version or proxy',
  description:
    'A new username, password, API version or proxy is checked with Qualys before anything is saved; a failed check changes nothing. ' +
    'A disconnected connection is reconnected by giving its credentials again (its fetchers stay disabled until enabled). ' +
    'Changing the API version is refused while a fetcher of the connection uses a filter that version lacks. Admin only.',
  middleware: admin,
  request: { params: connectionId, body: jsonBody(connectionPatchSchema) },
  responses: { 200: connectionResponse('The updated connection'), ...errorResponses, ...qualysResponses },
});

const checkConnectionRoute = createRoute({
  method: 'post',
  path: '/v1/connections/{id}/check',
  tags: [TAG],
  summary: 'Check the stored credentials with Qualys now',
  description:
    'Records the outcome: `valid` with fresh limits, or `invalid` with Qualys\'s reason in `statusReason` (answered with 200: the check itself worked). ' +
    'If Qualys cannot be reached the status is left as it was (502). Admin only.',
  middleware: admin,
  request: { params: connectionId },
  responses: { 200: connectionResponse('The connection with the outcome of the check'), ...errorResponses, ...conflictResponse('The connection is disconnected'), 502: qualysResponses[502] },
});

const disconnectConnectionRoute = createRoute({
  method: 'delete',
  path: '/v1/connections/{id}',
  tags: [TAG],
  summary: 'Disconnect',
  description:
    'Erases the stored password, disables the connection\'s fetchers and pauses their schedules (in Temporal too). ' +
    'Past runs and evidence stay. Disconnecting twice is harmless. Admin only.',
  middleware: admin,
  request: { params: connectionId },
  responses: { 200: connectionResponse('The disconnected connection'), ...errorResponses },
});

const limitsRoute = createRoute({
  method: 'get',
  path: '/v1/connections/{id}/limits',
  tags: [TAG],
  summary: "The subscription's call budget in use",
  description:
    'Qualys counts calls per subscription, so every run and worker using this API server and user shares one budget: ' +
    'slots (the concurrency limit Qualys reports less the configured reserve), calls running and waiting, and the rate window. ' +
    'Read from the connector\'s own records; Qualys is not called. Any API key may read it.',
  request: { params: connectionId },
  responses: { 200: jsonResponse(connectionLimitsSchema, 'The budget'), ...errorResponses },
});

const pickerRoute = (kind: PickerKind, summary: string) =>
  createRoute({
    method: 'get',
    path: `/v1/connections/{id}/${kind}`,
    tags: [TAG],
    summary,
    description: 'Read from Qualys (every page) and kept for a minute per connection. Any API key may read them.',
    request: { params: connectionId },
    responses: {
      200: jsonResponse(pickerListSchema, 'The options'),
      ...errorResponses,
      ...conflictResponse('The connection is disconnected'),
      ...qualysResponses,
    },
  });

/** The Qualys access a create or check body describes (a platform name or a URL). */
function accessOf(body: z.infer<typeof connectionCheckSchema>): QualysAccess {
  const apiBaseUrl = resolveApiBaseUrl(body.platform ?? body.apiBaseUrl!).toString().replace(/\/$/, '');
  return { apiBaseUrl, apiVersion: body.apiVersion, username: body.username, password: body.password, proxyUrl: body.proxyUrl ?? null };
}

/** What a credential check needs: the stored settings with the requested changes applied. */
async function accessAfterPatch(deps: ApiDeps, existing: Connection, patch: z.infer<typeof connectionPatchSchema>): Promise<QualysAccess> {
  let password = patch.password;
  if (password === undefined) {
    try {
      password = (await getConnectionCredentials(deps.db, deps.secretBox, existing.id))!.password;
    } catch (err) {
      if (err instanceof ConnectionDisconnectedError) {
        throw fieldError('password', 'is required: the connection is disconnected, so give its password to reconnect it');
      }
      throw err;
    }
  }
  return {
    apiBaseUrl: existing.apiBaseUrl,
    apiVersion: patch.apiVersion ?? existing.apiVersion,
    username: patch.username ?? existing.username,
    password,
    proxyUrl: patch.proxyUrl === undefined ? existing.proxyUrl : patch.proxyUrl,
  };
}

async function liveFetchersOf(deps: ApiDeps, connectionId: string): Promise<FetcherRow[]> {
  const all: FetcherRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await listFetchers(deps.db, { connectionId }, { cursor, limit: 500 });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return all;
}

/** Refuses a version change that would leave a fetcher unable to run (e.g. the kernel filter 4 exists only on 2.0). */
async function assertFetchersSupportVersion(deps: ApiDeps, connectionId: string, apiVersion: string): Promise<void> {
  const problems: string[] = [];
  for (const fetcher of await liveFetchersOf(deps, connectionId)) {
    if (fetcher.kind !== 'host_list_detection') continue;
    const filters = hostListDetectionFiltersSchema.safeParse(fetcher.config);
    if (!filters.success) continue;
    try {
      hostListDetectionParams(filters.data, apiVersion, fetcher.pageSize);
    } catch (err) {
      if (!(err instanceof FetcherDefinitionError)) throw err;
      problems.push(`fetcher "${fetcher.name}" (${fetcher.id}): ${err.message}`);
    }
  }
  if (problems.length > 0) throw fieldError('apiVersion', `API ${apiVersion} cannot run ${problems.join('; ')}`);
}

export function registerConnectionRoutes(app: ApiApp, deps: ApiDeps): void {
  const pickers = qualysPickersFor(deps);

  app.openapi(checkBeforeSavingRoute, async (c) => {
    const body = c.req.valid('json');
    const access = accessOf(body);
    const check = await withQualysClient(deps, access, (client) => client.checkConnection());
    return c.json(
      {
        status: 'valid' as const,
        platform: body.platform ?? platformOfUrl(access.apiBaseUrl),
        apiBaseUrl: access.apiBaseUrl,
        apiVersion: access.apiVersion,
        username: access.username,
        limits: limitsView({ ...check.limits })!,
        checkedAt: new Date().toISOString(),
      },
      200,
    );
  });

  app.openapi(createConnectionRoute, async (c) => {
    const body = c.req.valid('json');
    const access = accessOf(body);
    const apiBaseUrl = access.apiBaseUrl;
    const check = await withQualysClient(deps, access, (client) => client.checkConnection());
    const connection = await createConnection(deps.db, deps.secretBox, {
      name: body.name,
      platform: body.platform ?? platformOfUrl(apiBaseUrl),
      apiBaseUrl,
      apiVersion: body.apiVersion,
      username: body.username,
      password: body.password,
      proxyUrl: body.proxyUrl ?? null,
      status: 'valid',
      statusReason: null,
      limits: check.limits,
      lastCheckedAt: new Date(),
    });
    deps.logger.info({ connectionId: connection.id, apiBaseUrl, username: body.username, by: c.get('apiKey').name }, 'Qualys connection created');
    return c.json(connectionView(connection), 201, { location: `/v1/connections/${connection.id}` });
  });

  app.openapi(listConnectionsRoute, async (c) => {
    const page = await listConnections(deps.db, c.req.valid('query'));
    return c.json({ items: page.items.map(connectionView), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getConnectionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const connection = await getConnection(deps.db, id);
    if (!connection) throw notFound('connection', id);
    return c.json(connectionView(connection), 200);
  });

  app.openapi(patchConnectionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const existing = await getConnection(deps.db, id);
    if (!existing) throw notFound('connection', id);
    const checkNeeded = patch.username !== undefined || patch.password !== undefined || patch.apiVersion !== undefined || patch.proxyUrl !== undefined;
    if (!checkNeeded) {
      const renamed = await updateConnection(deps.db, deps.secretBox, id, { name: patch.name });
      return c.json(connectionView(renamed!), 200);
    }
    if (patch.apiVersion !== undefined && patch.apiVersion !== existing.apiVersion) await assertFetchersSupportVersion(deps, id, patch.apiVersion);
    const access = await accessAfterPatch(deps, existing, patch);
    const check = await withQualysClient(deps, access, (client) => client.checkConnection());
    const updated = await updateConnection(deps.db, deps.secretBox, id, {
      name: patch.name,
      username: patch.username,
      password: patch.password,
      apiVersion: patch.apiVersion,
      proxyUrl: patch.proxyUrl,
      status: 'valid',
      statusReason: null,
      limits: check.limits,
      lastCheckedAt: new Date(),
    });
    pickers.forget(id);
    deps.logger.info(
      { connectionId: id, changed: Object.keys(patch).filter((k) => patch[k as keyof typeof patch] !== undefined), by: c.get('apiKey').name },
      'Qualys connection updated after a successful check',
    );
    return c.json(connectionView(updated!), 200);
  });

  app.openapi(checkConnectionRoute, async (c) => {
    const { id } = c.req.valid('param');
    try {
      const check = await withStoredConnection(deps, id, (client) => client.checkConnection());
      const connection = await markConnectionStatus(deps.db, id, 'valid', null, { limits: check.limits });
      return c.json(connectionView(connection!), 200);
    } catch (err) {
      // The refusal is the check's answer, already recorded on the connection.
      if (!(err instanceof ApiError && err.slug === 'qualys-rejected')) throw err;
      pickers.forget(id);
      return c.json(connectionView((await getConnection(deps.db, id))!), 200);
    }
  });

  app.openapi(limitsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const connection = await getConnection(deps.db, id);
    if (!connection) throw notFound('connection', id);
    const subscription = subscriptionId(connection.apiBaseUrl, connection.username);
    const budget = await readBudget(deps.db, subscription, deps.qualys?.concurrencyReserve ?? 0);
    return c.json(
      {
        subscriptionId: subscription,
        concurrency: { limit: budget.concurrencyLimit, reserve: budget.reserve, slots: budget.slots, inUse: budget.inUse, waiting: budget.waiting },
        rate: { ...budget.rate, observedAt: iso(budget.rate.observedAt) },
      },
      200,
    );
  });

  app.openapi(disconnectConnectionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const result = await disconnectConnection(deps.db, id);
    if (!result) throw notFound('connection', id);
    pickers.forget(id);
    await pauseTemporalSchedules(deps.temporal.client, result.pausedTemporalScheduleIds, 'connection disconnected');
    deps.logger.info(
      { connectionId: id, disabledFetchers: result.disabledFetcherIds.length, pausedSchedules: result.pausedTemporalScheduleIds.length, by: c.get('apiKey').name },
      'Qualys connection disconnected',
    );
    return c.json(connectionView(result.connection), 200);
  });

  for (const [kind, summary] of [
    ['asset-groups', 'Asset groups of the Qualys account (the fetcher form\'s picker)'],
    ['search-lists', 'Dynamic search lists of the Qualys account (the fetcher form\'s picker)'],
  ] as const) {
    app.openapi(pickerRoute(kind, summary), async (c) => {
      const { id } = c.req.valid('param');
      const list = await pickers.list(id, kind);
      return c.json({ items: list.items, fetchedAt: list.fetchedAt.toISOString() }, 200);
    });
  }
}
