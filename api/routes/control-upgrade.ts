/**
 * Moves a fetcher from controls of older framework versions to their current
 * successors in one call (PCI DSS v3.2.1 11.2.1 → v4.0.1 11.3.1, 11.3.1.1,
 * 11.3.1.2; FedRAMP Moderate RA-5 → FedRAMP Rev 5 RA-5; …). Evidence already
 * filed stays where it is; new evidence files under the new controls.
 */
import { createRoute } from '@hono/zod-openapi';
import { listSuccessors } from '../../db/controls.js';
import { getFetcher, listFetcherControls, setFetcherControls } from '../../db/fetchers.js';
import type { ApiApp } from '../app.js';
import { requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { fieldError, notFound } from '../problem.js';
import { upgradeBodySchema, upgradeResultSchema } from '../schemas/audit.js';
import { errorResponses, jsonBody, jsonResponse } from '../schemas/common.js';
import { pathId } from '../schemas/fields.js';

const upgradeRoute = createRoute({
  method: 'post',
  path: '/v1/fetchers/{id}/controls/upgrade',
  tags: ['Fetchers'],
  summary: "Re-map a fetcher's controls to their current framework versions",
  description:
    'Each mapped control that has successors in the catalog (controls whose `succeeds` names it) is replaced by them, or kept beside ' +
    'them with `keepOld: true`. `controlIds` limits the upgrade to some of the mapped controls. Admin only.',
  middleware: requireRole('admin'),
  request: { params: pathId('id', 'fetcher'), body: { ...jsonBody(upgradeBodySchema), required: false } },
  responses: { 200: jsonResponse(upgradeResultSchema, 'What changed'), ...errorResponses },
});

export function registerControlUpgradeRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(upgradeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const raw = (await c.req.text()) ? await c.req.json().catch(() => undefined) : {};
    const body = upgradeBodySchema.safeParse(raw);
    if (!body.success) throw fieldError(body.error.issues[0]!.path.join('.') || '(body)', body.error.issues[0]!.message);
    const fetcher = await getFetcher(deps.db, id);
    if (!fetcher) throw notFound('fetcher', id);
    const current = (await listFetcherControls(deps.db, id)).map((control) => control.id);
    const chosen = body.data.controlIds ?? current;
    const notMapped = chosen.filter((controlId) => !current.includes(controlId));
    if (notMapped.length > 0) throw fieldError('controlIds', `not mapped to this fetcher: ${notMapped.join(', ')}`);
    const successors = await listSuccessors(deps.db, chosen);
    const upgraded: Array<{ from: string; to: string }> = successors.map((s) => ({ from: s.succeeds!, to: s.id }));
    const replaced = new Set(upgraded.map((u) => u.from));
    const next = [...current.filter((controlId) => body.data.keepOld || !replaced.has(controlId)), ...upgraded.map((u) => u.to)];
    await setFetcherControls(deps.db, id, next);
    deps.logger.info({ fetcherId: id, upgraded, by: c.get('apiKey').name }, 'fetcher controls upgraded');
    return c.json(
      { fetcherId: id, upgraded, unchanged: chosen.filter((controlId) => !replaced.has(controlId)), controlIds: [...new Set(next)].sort() },
      200,
    );
  });
}
