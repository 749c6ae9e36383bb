/**
 * The control catalog, read by auditors: per control the latest evidence
 * filed under it and whether that evidence is still fresh for the cadence
 * its framework demands.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { CALENDAR_RULE, cadenceWindows, coverWindows } from '../../audit/coverage.js';
import { listAttachmentsFor, listControlEvidenceCollectedBetween } from '../../db/attachments.js';
import { assessFreshness, freshnessRule } from '../../evidence/freshness.js';
import { getControl, listControlsWithLatestEvidence } from '../../db/controls.js';
import { listFetchersForControl } from '../../db/fetchers.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { fieldError, notFound } from '../problem.js';
import { coverageQuerySchema, coverageSchema } from '../schemas/audit.js';
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

const coverageRoute = createRoute({
  method: 'get',
  path: '/v1/controls/{id}/coverage',
  tags: [TAG],
  summary: 'Evidence per cadence window over a period',
  description:
    "Cuts [from, to] into the control's cadence windows (calendar quarters, months, or ISO weeks; UTC) and lists the evidence collected " +
    'in each, by collection time (a backfill counts for when it collected, never for the time it was scheduled for). A window is ' +
    '`covered` by complete evidence, `unverified` with only incomplete or unknown evidence, `missing` with none; the windows not covered ' +
    'are named. The rolling freshness state is shown beside it, with its rule.',
  request: { params: controlId, query: coverageQuerySchema },
  responses: { 200: jsonResponse(coverageSchema, 'The coverage'), ...errorResponses },
});

/** Longer periods would list thousands of weekly windows; audits cover a year or a few. */
const MAX_COVERAGE_DAYS = 3660;

export function registerControlRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(coverageRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { from, to, cadence: override } = c.req.valid('query');
    const control = await getControl(deps.db, id);
    if (!control) throw notFound('control', id);
    if (to < from) throw fieldError('query.to', 'must not be before from');
    if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > MAX_COVERAGE_DAYS) throw fieldError('query.to', `the period may span at most ${MAX_COVERAGE_DAYS} days`);
    const cadence = override ?? control.cadence;
    if (!cadence) throw fieldError('query.cadence', `control ${id} has no cadence of its own: give one (weekly, monthly or quarterly)`);
    const windows = cadenceWindows(cadence, from, to);
    const evidence = await listControlEvidenceCollectedBetween(deps.db, id, new Date(windows[0]!.startMs), new Date(windows.at(-1)!.endMs));
    const covered = coverWindows(windows, evidence);
    const latest = (await listControlsWithLatestEvidence(deps.db)).find((row) => row.id === id)?.latestEvidence ?? null;
    const freshness = assessFreshness({ cadence: control.cadence, latestEvidenceAt: latest?.createdAt ?? null, now: new Date() });
    return c.json(
      {
        controlId: id,
        cadence,
        rule: CALENDAR_RULE[cadence],
        from,
        to,
        windows: covered,
        windowsWithoutCompleteEvidence: covered.filter((w) => w.status !== 'covered').map((w) => w.label),
        freshness: { rule: freshnessRule(control.cadence), state: freshness.state, latestEvidenceAt: latest?.createdAt.toISOString() ?? null },
      },
      200,
    );
  });

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
