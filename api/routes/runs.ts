/**
 * Runs: start a fetcher (idempotently), read a run's status and live
 * progress, list runs, cancel one. Auditors may do all of it: running a
 * fetcher is the one-click action the product gives auditors.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { getRunWithLiveCounts } from '../../db/run-activity.js';
import { finishRun, getRun, listRuns } from '../../db/runs.js';
import { FINAL_RUN_STATUSES, RUN_STATUSES } from '../../shared/contracts.js';
import type { RunRow, RunStatus } from '../../db/schema.js';
import { createRunLauncher } from '../run-launcher.js';
import { storeRun } from '../run-starter.js';
import { loadRunnableFetcher } from '../runnable-fetcher.js';
import { ApiError, fieldError, notFound } from '../problem.js';
import { errorResponses, jsonResponse, pageOf, pageQuery, problemSchema } from '../schemas/common.js';
import { pathId, rowId } from '../schemas/fields.js';
import { runSchema, toRunView } from '../schemas/run.js';

const conflict = { description: 'The fetcher, its connection or the run is in a state that forbids this', content: { 'application/problem+json': { schema: problemSchema } } };

/** Visible ASCII only: the key is echoed in logs and compared byte for byte. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const STATUS_LIST = new RegExp(`^(${RUN_STATUSES.join('|')})(,(${RUN_STATUSES.join('|')}))*$`);

const startRoute = createRoute({
  method: 'post',
  path: '/v1/fetchers/{id}/runs',
  tags: ['Runs'],
  summary: 'Start a run of a fetcher',
  description:
    'Starts the fetcher now (auditor or admin). No body is needed. The answer comes once the run is stored (status `queued`); ' +
    'its workflow starts right after, and a start that could not reach Temporal is retried by the API until it does. ' +
    'With an `Idempotency-Key` header, repeating the request ' +
    '(for example after a timeout) returns the run the first request created, with `Idempotent-Replayed: true`, and never starts a second workflow. ' +
    'A disabled or deleted fetcher, or a disconnected connection, gets 409.',
  request: {
    params: pathId('id', 'fetcher'),
    headers: z.object({
      'idempotency-key': z
        .string()
        .regex(IDEMPOTENCY_KEY, 'must be 1–200 visible ASCII characters (no spaces)')
        .optional()
        .openapi({ description: 'Makes the request safe to repeat: the same key returns the same run', example: 'ci-2026-11-01-pci' }),
    }),
  },
  responses: {
    202: {
      ...jsonResponse(runSchema, 'The run (new, or the one created earlier with the same key); follow `Location` to poll it'),
      headers: z.object({
        Location: z.string().openapi({ description: 'The run: /v1/runs/{id}' }),
        'Idempotent-Replayed': z.string().optional().openapi({ description: '`true` when an earlier request with the same key created the run' }),
      }),
    },
    ...errorResponses,
    409: conflict,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/runs/{id}',
  tags: ['Runs'],
  summary: 'A run with its live progress',
  description:
    'Progress as it is recorded while the run works (step, pages, hosts, detections, bytes, host ID ranges, waits for Qualys limits with their end, ' +
    'retries and the failing attempt) and, once finished, its outcome with the error if it failed and links to its evidence. Served from the database: ' +
    'polling never reaches the workflow.',
  request: { params: pathId('id', 'run') },
  responses: { 200: jsonResponse(runSchema, 'The run'), ...errorResponses },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/runs',
  tags: ['Runs'],
  summary: 'List runs, newest first',
  request: {
    query: pageQuery.extend({
      fetcherId: rowId('fetcher').optional().openapi({ description: 'Only runs of this fetcher' }),
      status: z
        .string()
        .regex(STATUS_LIST, `must be one or more of ${RUN_STATUSES.join(', ')}, separated by commas`)
        .optional()
        .openapi({ description: 'One status or a comma-separated list', example: 'running,queued' }),
      from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-11-01T00:00:00Z' }).optional().openapi({ description: 'Created at or after this time' }),
      to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-12-01T00:00:00Z' }).optional().openapi({ description: 'Created before this time' }),
    }),
  },
  responses: { 200: jsonResponse(pageOf(runSchema).openapi('RunPage'), 'A page of runs'), ...errorResponses },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/runs/{id}/cancel',
  tags: ['Runs'],
  summary: 'Cancel a run',
  description:
    'Asks the run to stop (auditor or admin): the request to Qualys in flight is aborted and the run ends as `cancelled` shortly after. ' +
    'Answers 202 at once; poll the run to see it end. A finished run gets 409.',
  request: { params: pathId('id', 'run') },
  responses: { 202: jsonResponse(runSchema, 'Cancellation requested'), ...errorResponses, 409: conflict },
});

function isFinal(status: RunStatus): boolean {
  return (FINAL_RUN_STATUSES as readonly RunStatus[]).includes(status);
}

export function registerRunRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db, logger } = deps;
  const { client, taskQueue } = deps.temporal;
  const view = (row: RunRow, live?: Parameters<typeof toRunView>[2]) => toRunView(row, deps.temporal, live);
  const launcher = deps.runLauncher ?? createRunLauncher({ db, client, taskQueue, logger });

  app.openapi(startRoute, async (c) => {
    const { id } = c.req.valid('param');
    const idempotencyKey = c.req.valid('header')['idempotency-key'] ?? null;
    const fetcher = await loadRunnableFetcher(db, id);
    const apiKey = c.get('apiKey');
    const { run, created } = await storeRun(db, { fetcher, trigger: 'api', triggeredBy: apiKey.name, idempotencyKey });
    // The answer does not wait for Temporal; a replay of a start that never got through starts it again.
    if (run.status === 'queued' && run.launchedAt === null) launcher.launch(run, fetcher);
    if (created) logger.info({ runId: run.id, fetcherId: fetcher.id, apiKey: apiKey.name }, 'run started through the API');
    c.header('Location', `/v1/runs/${run.id}`);
    if (!created) c.header('Idempotent-Replayed', 'true');
    return c.json(view(run), 202);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const found = await getRunWithLiveCounts(db, id);
    if (!found) throw notFound('run', id);
    return c.json(view(found.run, found.live), 200);
  });

  app.openapi(listRoute, async (c) => {
    const { cursor, limit, fetcherId, status, from, to } = c.req.valid('query');
    if (from && to && Date.parse(to) <= Date.parse(from)) throw fieldError('to', 'must be after from');
    const page = await listRuns(
      db,
      {
        fetcherId,
        status: status ? (status.split(',') as RunStatus[]) : undefined,
        createdFrom: from ? new Date(from) : undefined,
        createdBefore: to ? new Date(to) : undefined,
      },
      { cursor, limit },
    );
    return c.json({ items: page.items.map((r) => view(r)), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await getRun(db, id);
    if (!row) throw notFound('run', id);
    if (isFinal(row.status)) throw new ApiError('conflict', `run ${id} has already finished (${row.status})`);
    // A run answered a moment ago may still be on its way to Temporal: cancel the workflow, not the row under it.
    await launcher.settled(id);
    const handle = client.workflow.getHandle(row.workflowId);
    try {
      await handle.cancel();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Either the workflow just closed (its row will say how) or it never started.
      const exists = await handle.describe().then(
        () => true,
        (e: unknown) => (e instanceof WorkflowNotFoundError ? false : Promise.reject(e)),
      );
      if (exists) throw new ApiError('conflict', `run ${id} has already finished`);
      // Nothing runs for this row, so it can be closed here.
      await finishRun(db, id, { status: 'cancelled', error: { type: 'Cancelled', message: 'the run was cancelled before its workflow started' } });
    }
    logger.info({ runId: id, apiKey: c.get('apiKey').name }, 'run cancellation requested');
    return c.json(view((await getRun(db, id)) ?? row), 202);
  });
}
