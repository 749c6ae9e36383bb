/**
 * The control catalog, read by auditors: per control the latest evidence
 * filed under it and whether that evidence is still fresh for the cadence
 * its framework demands.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { listAttachmentsFor } from '../../db/attachments.js';
import { getControl, listControlsWithLatestEvidence } from '../../db/controls.js';
import { listFetchersForControl } from '../../db/fetchers.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../problem.js';
import { errorResponses, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import { pathId, text } from '../schemas/fields.js';
import {
  attachedEvidencePageSchema,
  attachedEvidenceView,
  controlDetailSchema,
  controlSchema,
  controlView,
  FRESHNESS_STATES,
} from '../schemas/control.js';

const TAG = 'Controls';
const controlId = pathId('id', 'control');

const listControlsRoute = createRoute({
  method: 'get',
  path: '/v1/controls',
  tags: [TAG],
  summary: 'The control catalog with evidence freshness',
  description:
    'Every control of the catalog (a fixed, seeded list, returned whole: `nextCursor` is always null), ordered by framework and code, ' +
    'with its latest evidence and that evidence\'s freshness against the control\'s cadence. Any API key may read controls.',
  request: {
    query: z.object({
      framework: text(200).optional().openapi({ description: 'Exact framework name, e.g. "PCI DSS v3.2.1"' }),
      freshness: z.enum(FRESHNESS_STATES, { error: `must be one of ${FRESHNESS_STATES.join(', ')}` }).optional(),
    }),
  },
  responses: { 200: jsonResponse(pageOf(controlSchema).openapi('ControlList'), 'The controls'), ...errorResponses },
});

const getControlRoute = createRoute({
  method: 'get',
  path: '/v1/controls/{id}',
  tags: [TAG],
  summary: 'A control with its latest evidence and the fetchers mapped to it',
  request: { params: controlId },
  responses: { 200: jsonResponse(controlDetailSchema, 'The control'), ...errorResponses },
});

const controlEvidenceRoute = createRoute({
  method: 'get',
  path: '/v1/controls/{id}/evidence',
  tags: [TAG],
  summary: 'Evidence history of a control',
  description: 'Every piece of evidence filed under the control, most recently attached first.',
  request: { params: controlId, query: pageQuery },
  responses: { 200: jsonResponse(attachedEvidencePageSchema, 'A page of evidence'), ...errorResponses },
});

export function registerControlRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(listControlsRoute, async (c) => {
    const { framework, freshness } = c.req.valid('query');
    const now = new Date();
    const items = (await listControlsWithLatestEvidence(deps.db))
      .filter((control) => framework === undefined || control.framework === framework)
      .map((control) => controlView(control, control.latestEvidence, now))
      .filter((view) => freshness === undefined || view.freshness.state === freshness);
    return c.json({ items, nextCursor: null }, 200);
  });

  app.openapi(getControlRoute, async (c) => {
    const { id } = c.req.valid('param');
    const control = (await listControlsWithLatestEvidence(deps.db)).find((row) => row.id === id);
    if (!control) throw notFound('control', id);
    const fetchers = await listFetchersForControl(deps.db, id);
    return c.json(
      {
        ...controlView(control, control.latestEvidence, new Date()),
        fetchers: fetchers.map((f) => ({ id: f.id, name: f.name, kind: f.kind, enabled: f.enabled })),
      },
      200,
    );
  });

  app.openapi(controlEvidenceRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await getControl(deps.db, id))) throw notFound('control', id);
    const page = await listAttachmentsFor(deps.db, { targetType: 'control', targetId: id }, c.req.valid('query'));
    return c.json({ items: page.items.map(attachedEvidenceView), nextCursor: page.nextCursor }, 200);
  });
}
