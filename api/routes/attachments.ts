/**
 * Manual filing of existing evidence under an audit request or a control,
 * and the history of every attach and detach. Nothing is deleted: a detach
 * keeps the link with its detach time, and each change is an event with who
 * (the API key's name, or the run) and when. Evidence reaches a request only
 * while the request is open and only when it was collected inside the
 * request's period (UTC days); any API key may file evidence.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { attachEvidence, detachEvidence, getAttachment, listAttachmentEvents, utcDate, type AttachmentTarget } from '../../db/attachments.js';
import { getControl } from '../../db/controls.js';
import { getEvidence } from '../../db/evidence.js';
import { getRequest } from '../../db/requests.js';
import type { EvidenceRow } from '../../db/schema.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, fieldError, notFound } from '../problem.js';
import { attachBodySchema, attachmentEventSchema, attachmentEventView, attachmentSchema, attachmentView } from '../schemas/audit.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import { pathId, rowId, text } from '../schemas/fields.js';
import { conflictResponse } from '../schemas/responses.js';

type Kind = 'request' | 'control';
const LABEL: Record<Kind, { tag: string; path: string; what: string }> = {
  request: { tag: 'Audit requests', path: 'requests', what: 'audit request' },
  control: { tag: 'Controls', path: 'controls', what: 'control' },
};

function params(kind: Kind) {
  return z.object({
    id: rowId(LABEL[kind].what).openapi({ param: { name: 'id', in: 'path' }, description: `The ${LABEL[kind].what} id` }),
    evidenceId: rowId('evidence').openapi({ param: { name: 'evidenceId', in: 'path' }, description: 'The evidence id' }),
  });
}

function routes(kind: Kind) {
  const { tag, path, what } = LABEL[kind];
  const rule = kind === 'request' ? ' The request must be open, and the evidence collected inside its period (UTC days).' : '';
  return {
    attach: createRoute({
      method: 'post',
      path: `/v1/${path}/{id}/evidence/{evidenceId}`,
      tags: [tag],
      summary: `File existing evidence under the ${what}`,
      description: `Records an attach event with the API key's name and the optional reason. Attaching again changes nothing (\`changed: false\`).${rule}`,
      request: { params: params(kind), body: { ...jsonBody(attachBodySchema), required: false } },
      responses: { 200: jsonResponse(attachmentSchema, 'The link'), ...errorResponses, ...conflictResponse(`The ${what} is closed`) },
    }),
    detach: createRoute({
      method: 'delete',
      path: `/v1/${path}/{id}/evidence/{evidenceId}`,
      tags: [tag],
      summary: `Take evidence off the ${what}`,
      description: `Nothing is deleted: the link keeps its detach time and a detach event records who and why (\`reason\` query).${kind === 'request' ? ' The request must be open.' : ''}`,
      request: { params: params(kind), query: z.object({ reason: text(1000).optional().openapi({ description: 'Why, for the record' }) }) },
      responses: { 200: jsonResponse(attachmentSchema, 'The link, detached'), ...errorResponses, ...conflictResponse(`The ${what} is closed`) },
    }),
    events: createRoute({
      method: 'get',
      path: `/v1/${path}/{id}/attachment-events`,
      tags: [tag],
      summary: `Every attach and detach on the ${what}`,
      description: 'Newest first, by runs (`source: run`, actor = run id) and people (`source: api`, actor = API key name).',
      request: { params: pathId('id', what), query: pageQuery },
      responses: { 200: jsonResponse(pageOf(attachmentEventSchema).openapi(`AttachmentEventPage${kind === 'request' ? '' : 'ForControl'}`), 'A page of events'), ...errorResponses },
    }),
  };
}

async function evidenceOr404(deps: ApiDeps, id: string): Promise<EvidenceRow> {
  const row = await getEvidence(deps.db, id);
  if (!row) throw notFound('evidence', id);
  return row;
}

/** Checks the target exists and may change; for requests, that the evidence was collected in its period. */
async function checkTarget(deps: ApiDeps, kind: Kind, id: string, evidence: EvidenceRow | null): Promise<AttachmentTarget> {
  if (kind === 'control') {
    if (!(await getControl(deps.db, id))) throw notFound('control', id);
    return { targetType: 'control', targetId: id };
  }
  const request = await getRequest(deps.db, id);
  if (!request) throw notFound('audit request', id);
  if (request.status !== 'open') throw new ApiError('conflict', `audit request ${id} is closed: its evidence can no longer change`);
  if (evidence) {
    const day = utcDate(evidence.collectedAt);
    if (day < request.periodStart || day > request.periodEnd) {
      throw fieldError('evidenceId', `was collected on ${day}, outside the request's period ${request.periodStart} to ${request.periodEnd}`);
    }
  }
  return { targetType: 'request', targetId: id };
}

export function registerAttachmentRoutes(app: ApiApp, deps: ApiDeps): void {
  for (const kind of ['request', 'control'] as const) {
    const r = routes(kind);
    app.openapi(r.attach, async (c) => {
      const { id, evidenceId } = c.req.valid('param');
      const body = (await c.req.text()) ? attachBodySchema.safeParse(await c.req.json().catch(() => null)) : { success: true as const, data: {} };
      if (!body.success) throw fieldError('reason', body.error.issues[0]!.message);
      const evidence = await evidenceOr404(deps, evidenceId);
      const target = await checkTarget(deps, kind, id, evidence);
      const by = { source: 'api' as const, actor: c.get('apiKey').name, reason: body.data.reason ?? null };
      const [changed] = await attachEvidence(deps.db, evidence.id, [target], by);
      deps.logger.info({ evidenceId, ...target, changed: Boolean(changed), by: by.actor }, 'evidence attached by hand');
      return c.json(attachmentView(changed ?? (await getAttachment(deps.db, evidence.id, target))!, Boolean(changed)), 200);
    });

    app.openapi(r.detach, async (c) => {
      const { id, evidenceId } = c.req.valid('param');
      const evidence = await evidenceOr404(deps, evidenceId);
      const target = await checkTarget(deps, kind, id, null);
      const by = { source: 'api' as const, actor: c.get('apiKey').name, reason: c.req.valid('query').reason ?? null };
      const detached = await detachEvidence(deps.db, evidence.id, target, by);
      if (detached) {
        deps.logger.info({ evidenceId, ...target, by: by.actor }, 'evidence detached by hand');
        return c.json(attachmentView(detached, true), 200);
      }
      const link = await getAttachment(deps.db, evidence.id, target);
      if (!link) throw new ApiError('not-found', `evidence ${evidenceId} is not attached to ${LABEL[kind].what} ${id}`);
      return c.json(attachmentView(link, false), 200);
    });

    app.openapi(r.events, async (c) => {
      const { id } = c.req.valid('param');
      if (kind === 'control' ? !(await getControl(deps.db, id)) : !(await getRequest(deps.db, id))) throw notFound(LABEL[kind].what, id);
      const page = await listAttachmentEvents(deps.db, { targetType: kind, targetId: id }, c.req.valid('query'));
      return c.json({ items: page.items.map(attachmentEventView), nextCursor: page.nextCursor }, 200);
    });
  }
}
