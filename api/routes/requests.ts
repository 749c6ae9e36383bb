/**
 * Audit requests: a period under audit, a due date and the controls whose
 * evidence is asked for. Admins create, change and close them (they define
 * what the audit asks); every API key may read them with their evidence.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { listAttachmentsFor } from '../../db/attachments.js';
import {
  closeRequest,
  createRequest,
  getRequest,
  listRequestControls,
  listRequests,
  setRequestControls,
  updateRequest,
} from '../../db/requests.js';
import type { RequestRow } from '../../db/schema.js';
import type { ApiApp } from '../app.js';
import { requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { fieldError, notFound } from '../problem.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import { pathId } from '../schemas/fields.js';
import { attachedEvidencePageSchema, attachedEvidenceView } from '../schemas/control.js';
import {
  auditRequestDetailSchema,
  auditRequestSchema,
  auditRequestView,
  PERIOD_ORDER_REASON,
  requestControlsBodySchema,
  requestCreateSchema,
  requestPatchSchema,
  type AuditRequestView,
} from '../schemas/request.js';

const TAG = 'Audit requests';
const admin = requireRole('admin');
const requestId = pathId('id', 'audit request');
const requestResponse = (description: string) => jsonResponse(auditRequestSchema, description);

const createRequestRoute = createRoute({
  method: 'post',
  path: '/v1/requests',
  tags: [TAG],
  summary: 'Create an audit request',
  description:
    'Evidence from fetchers mapped to any of its controls (or to the request itself) attaches to it while it is open. ' +
    'Admin only: requests define what an audit asks for.',
  middleware: admin,
  request: { body: jsonBody(requestCreateSchema) },
  responses: { 201: requestResponse('The audit request'), ...errorResponses },
});

const listRequestsRoute = createRoute({
  method: 'get',
  path: '/v1/requests',
  tags: [TAG],
  summary: 'List audit requests',
  description: 'Newest first. Any API key may read requests.',
  request: {
    query: pageQuery.extend({ status: z.enum(['open', 'closed'], { error: 'must be open or closed' }).optional() }),
  },
  responses: { 200: jsonResponse(pageOf(auditRequestSchema).openapi('AuditRequestPage'), 'A page of audit requests'), ...errorResponses },
});

const getRequestRoute = createRoute({
  method: 'get',
  path: '/v1/requests/{id}',
  tags: [TAG],
  summary: 'An audit request with its controls and attached evidence',
  request: { params: requestId },
  responses: { 200: jsonResponse(auditRequestDetailSchema, 'The audit request'), ...errorResponses },
});

const requestEvidenceRoute = createRoute({
  method: 'get',
  path: '/v1/requests/{id}/evidence',
  tags: [TAG],
  summary: 'Evidence attached to an audit request',
  description: 'Most recently attached first.',
  request: { params: requestId, query: pageQuery },
  responses: { 200: jsonResponse(attachedEvidencePageSchema, 'A page of evidence'), ...errorResponses },
});

const patchRequestRoute = createRoute({
  method: 'patch',
  path: '/v1/requests/{id}',
  tags: [TAG],
  summary: 'Change an audit request',
  description: 'The period is checked as a whole: the resulting end may not come before the resulting start. Admin only.',
  middleware: admin,
  request: { params: requestId, body: jsonBody(requestPatchSchema) },
  responses: { 200: requestResponse('The updated audit request'), ...errorResponses },
});

const closeRequestRoute = createRoute({
  method: 'post',
  path: '/v1/requests/{id}/close',
  tags: [TAG],
  summary: 'Close an audit request',
  description: 'A closed request keeps its evidence and receives no new evidence. Closing twice keeps the first close time. Admin only.',
  middleware: admin,
  request: { params: requestId },
  responses: { 200: requestResponse('The closed audit request'), ...errorResponses },
});

const setRequestControlsRoute = createRoute({
  method: 'put',
  path: '/v1/requests/{id}/controls',
  tags: [TAG],
  summary: 'Set the controls of an audit request',
  description: 'Replaces the set of controls. Admin only.',
  middleware: admin,
  request: { params: requestId, body: jsonBody(requestControlsBodySchema) },
  responses: { 200: requestResponse('The audit request with its new controls'), ...errorResponses },
});

async function viewOf(deps: ApiDeps, request: RequestRow): Promise<AuditRequestView> {
  return auditRequestView(request, await listRequestControls(deps.db, request.id));
}

async function existingRequest(deps: ApiDeps, id: string): Promise<RequestRow> {
  const request = await getRequest(deps.db, id);
  if (!request) throw notFound('audit request', id);
  return request;
}

export function registerRequestRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(createRequestRoute, async (c) => {
    const body = c.req.valid('json');
    const request = await createRequest(deps.db, body);
    deps.logger.info({ requestId: request.id, controls: body.controlIds.length, by: c.get('apiKey').name }, 'audit request created');
    return c.json(await viewOf(deps, request), 201, { location: `/v1/requests/${request.id}` });
  });

  app.openapi(listRequestsRoute, async (c) => {
    const { status, cursor, limit } = c.req.valid('query');
    const page = await listRequests(deps.db, { status }, { cursor, limit });
    const items: AuditRequestView[] = [];
    for (const request of page.items) items.push(await viewOf(deps, request));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getRequestRoute, async (c) => {
    const request = await existingRequest(deps, c.req.valid('param').id);
    const evidence = await listAttachmentsFor(deps.db, { targetType: 'request', targetId: request.id });
    return c.json(
      { ...(await viewOf(deps, request)), evidence: evidence.items.map(attachedEvidenceView), evidenceNextCursor: evidence.nextCursor },
      200,
    );
  });

  app.openapi(requestEvidenceRoute, async (c) => {
    const request = await existingRequest(deps, c.req.valid('param').id);
    const page = await listAttachmentsFor(deps.db, { targetType: 'request', targetId: request.id }, c.req.valid('query'));
    return c.json({ items: page.items.map(attachedEvidenceView), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(patchRequestRoute, async (c) => {
    const existing = await existingRequest(deps, c.req.valid('param').id);
    const patch = c.req.valid('json');
    const periodStart = patch.periodStart ?? existing.periodStart;
    const periodEnd = patch.periodEnd ?? existing.periodEnd;
    if (periodEnd < periodStart) {
      throw fieldError(patch.periodEnd === undefined ? 'periodStart' : 'periodEnd', patch.periodEnd === undefined ? `must not be after periodEnd (${periodEnd})` : PERIOD_ORDER_REASON);
    }
    const updated = await updateRequest(deps.db, existing.id, patch);
    return c.json(await viewOf(deps, updated!), 200);
  });

  app.openapi(closeRequestRoute, async (c) => {
    const existing = await existingRequest(deps, c.req.valid('param').id);
    const closed = await closeRequest(deps.db, existing.id);
    deps.logger.info({ requestId: existing.id, by: c.get('apiKey').name }, 'audit request closed');
    return c.json(await viewOf(deps, closed!), 200);
  });

  app.openapi(setRequestControlsRoute, async (c) => {
    const request = await existingRequest(deps, c.req.valid('param').id);
    await setRequestControls(deps.db, request.id, c.req.valid('json').controlIds);
    return c.json(await viewOf(deps, request), 200);
  });
}
