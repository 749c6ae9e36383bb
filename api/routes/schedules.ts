/**
 * Schedules: run a fetcher on the cadence a framework asks for, backed by
 * Temporal Schedules and mirrored in the database. Admins create, pause,
 * resume, trigger, backfill and delete; auditors may read.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ScheduleOverlapPolicy, type CalendarSpec } from '@temporalio/client';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { requireRole } from '../auth.js';
import type { AppDatabase } from '../../db/database.js';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, updateSchedule } from '../../db/schedules.js';
import type { ScheduleRow } from '../../db/schema.js';
import { fieldError, notFound } from '../problem.js';
import { loadFetcher, loadRunnableFetcher } from '../runnable-fetcher.js';
import { DEFAULT_CATCHUP_WINDOW, DEFAULT_JITTER, presetCalendar, withRangeEnds } from '../schedule-specs.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery, problemSchema } from '../schemas/common.js';
import { pathId, rowId } from '../schemas/fields.js';
import {
  backfillBody,
  createScheduleBody,
  noteBody,
  scheduleSchema,
  toScheduleView,
  type StoredScheduleSpec,
} from '../schemas/schedule.js';
import {
  createTemporalSchedule,
  deleteTemporalSchedule,
  matchingTimes,
  readTemporalState,
  newTemporalScheduleId,
} from '../temporal-schedules.js';

/** Backfilled runs are real pulls from Qualys: a bounded number per request. */
export const MAX_BACKFILL_RUNS = 100;

const conflict = { description: 'The fetcher or its connection cannot run', content: { 'application/problem+json': { schema: problemSchema } } };
const admin = requireRole('admin');
/** The note is optional, and so is the body carrying it. */
const optionalNote = { required: false, content: { 'application/json': { schema: noteBody } } };

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/fetchers/{id}/schedules',
  tags: ['Schedules'],
  summary: 'Schedule a fetcher',
  description:
    'Admin. Either a `preset` or a custom `calendar`, read in `timezone` (IANA, default UTC). Presets run at 02:00: ' +
    '`pci-quarterly` on the 1st of January, April, July and October (catch-up window 30d), `fedramp-monthly` on the 1st of every month (7d), ' +
    '`weekly` on Mondays (2d); a custom calendar defaults to a 1d catch-up window. Jitter defaults to 10m. Overlapping runs are skipped. ' +
    'Each scheduled run is recorded like an API run, with trigger `schedule`.',
  middleware: admin,
  request: { params: pathId('id', 'fetcher'), body: jsonBody(createScheduleBody) },
  responses: { 201: jsonResponse(scheduleSchema, 'The schedule, as Temporal now holds it'), ...errorResponses, 409: conflict },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/schedules',
  tags: ['Schedules'],
  summary: 'List schedules, newest first',
  request: { query: pageQuery.extend({ fetcherId: rowId('fetcher').optional().openapi({ description: 'Only schedules of this fetcher' }) }) },
  responses: { 200: jsonResponse(pageOf(scheduleSchema).openapi('SchedulePage'), 'A page of schedules'), ...errorResponses },
});

const listForFetcherRoute = createRoute({
  method: 'get',
  path: '/v1/fetchers/{id}/schedules',
  tags: ['Schedules'],
  summary: "A fetcher's schedules",
  request: { params: pathId('id', 'fetcher'), query: pageQuery },
  responses: { 200: jsonResponse(pageOf(scheduleSchema), 'A page of schedules'), ...errorResponses },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/schedules/{id}',
  tags: ['Schedules'],
  summary: 'A schedule with its state in Temporal',
  description: "Includes Temporal's view: the next 5 times it fires, recent actions with their run ids, whether it is paused and its note.",
  request: { params: pathId('id', 'schedule') },
  responses: { 200: jsonResponse(scheduleSchema, 'The schedule'), ...errorResponses },
});

const pauseRoute = createRoute({
  method: 'post',
  path: '/v1/schedules/{id}/pause',
  tags: ['Schedules'],
  summary: 'Pause a schedule',
  description: 'Admin. An optional `note` says why (shown in Temporal too).',
  middleware: admin,
  request: { params: pathId('id', 'schedule'), body: optionalNote },
  responses: { 200: jsonResponse(scheduleSchema, 'The paused schedule'), ...errorResponses },
});

const resumeRoute = createRoute({
  method: 'post',
  path: '/v1/schedules/{id}/resume',
  tags: ['Schedules'],
  summary: 'Resume a paused schedule',
  middleware: admin,
  request: { params: pathId('id', 'schedule'), body: optionalNote },
  responses: { 200: jsonResponse(scheduleSchema, 'The running schedule'), ...errorResponses },
});

const triggerRoute = createRoute({
  method: 'post',
  path: '/v1/schedules/{id}/trigger',
  tags: ['Schedules'],
  summary: 'Run the schedule now',
  description: 'Admin. Starts one run at once, even if an earlier one is still working; it appears in `temporal.recentActions` with its run id.',
  middleware: admin,
  request: { params: pathId('id', 'schedule') },
  responses: { 202: jsonResponse(scheduleSchema, 'The run was requested'), ...errorResponses, 409: conflict },
});

const backfillResponse = z
  .object({
    scheduleId: z.string(),
    runs: z.number().int().openapi({ description: 'How many scheduled times fall in the period; one run each, one after another' }),
    times: z.array(z.string().openapi({ format: 'date-time' })),
  })
  .openapi('ScheduleBackfillResult');

const backfillRoute = createRoute({
  method: 'post',
  path: '/v1/schedules/{id}/backfill',
  tags: ['Schedules'],
  summary: 'Run the times a period missed',
  description:
    `Admin. Takes one run for each time the schedule would have fired in [start, end) (at most ${MAX_BACKFILL_RUNS} runs, period at most 366 days), ` +
    "one after another. Each pulls today's data from Qualys: a backfill fills gaps in the evidence trail, it cannot recover past scan states.",
  middleware: admin,
  request: { params: pathId('id', 'schedule'), body: jsonBody(backfillBody) },
  responses: { 202: jsonResponse(backfillResponse, 'The runs were requested'), ...errorResponses, 409: conflict },
});

const deleteRouteDef = createRoute({
  method: 'delete',
  path: '/v1/schedules/{id}',
  tags: ['Schedules'],
  summary: 'Delete a schedule',
  description: 'Admin. Runs it already started keep going and keep their evidence.',
  middleware: admin,
  request: { params: pathId('id', 'schedule') },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

async function loadSchedule(db: AppDatabase, id: string): Promise<ScheduleRow> {
  const row = await getSchedule(db, id);
  if (!row) throw notFound('schedule', id);
  return row;
}

export function registerScheduleRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db, logger } = deps;
  const { client, taskQueue, namespace } = deps.temporal;

  app.openapi(createRouteDef, async (c) => {
    const { id: fetcherId } = c.req.valid('param');
    const body = c.req.valid('json');
    const fetcher = await loadRunnableFetcher(db, fetcherId);
    const kind = body.preset ?? 'custom';
    const calendars: CalendarSpec[] = body.preset ? [presetCalendar(body.preset)] : [withRangeEnds(body.calendar as CalendarSpec)];
    const spec: StoredScheduleSpec = {
      calendars,
      catchupWindow: body.catchupWindow ?? DEFAULT_CATCHUP_WINDOW[kind],
      jitter: body.jitter ?? DEFAULT_JITTER,
    };
    const timezone = body.timezone ?? 'UTC';
    const temporalScheduleId = newTemporalScheduleId();
    // The mirror row first: a run started by Temporal refers to it, so it must exist before Temporal can fire.
    const row = await createSchedule(db, {
      fetcherId,
      temporalScheduleId,
      preset: body.preset ?? null,
      spec,
      timezone,
      paused: body.paused ?? false,
      note: body.note ?? null,
    });
    try {
      await createTemporalSchedule(client, {
        temporalScheduleId,
        scheduleRowId: row.id,
        fetcher,
        taskQueue,
        calendars,
        timezone,
        catchupWindow: spec.catchupWindow,
        jitter: spec.jitter,
        paused: row.paused,
        note: body.note,
        label: kind,
      });
    } catch (err) {
      await deleteSchedule(db, row.id);
      throw err;
    }
    logger.info({ scheduleId: row.id, fetcherId, preset: kind, timezone, apiKey: c.get('apiKey').name }, 'schedule created');
    c.header('Location', `/v1/schedules/${row.id}`);
    return c.json(toScheduleView(row, await readTemporalState(client, temporalScheduleId)), 201);
  });

  app.openapi(listRoute, async (c) => {
    const { cursor, limit, fetcherId } = c.req.valid('query');
    const page = await listSchedules(db, { fetcherId }, { cursor, limit });
    return c.json({ items: page.items.map((r) => toScheduleView(r)), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(listForFetcherRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { cursor, limit } = c.req.valid('query');
    await loadFetcher(db, id);
    const page = await listSchedules(db, { fetcherId: id }, { cursor, limit });
    return c.json({ items: page.items.map((r) => toScheduleView(r)), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const row = await loadSchedule(db, c.req.valid('param').id);
    return c.json(toScheduleView(row, await readTemporalState(client, row.temporalScheduleId)), 200);
  });

  const setPaused = async (id: string, paused: boolean, note: string | undefined, by: string) => {
    const row = await loadSchedule(db, id);
    const handle = client.schedule.getHandle(row.temporalScheduleId);
    const text = note ?? (paused ? `paused by ${by}` : `resumed by ${by}`);
    if (paused) await handle.pause(text);
    else await handle.unpause(text);
    const updated = (await updateSchedule(db, id, { paused, note: text })) ?? row;
    logger.info({ scheduleId: id, paused, apiKey: by }, paused ? 'schedule paused' : 'schedule resumed');
    return toScheduleView(updated, await readTemporalState(client, row.temporalScheduleId));
  };

  app.openapi(pauseRoute, async (c) => c.json(await setPaused(c.req.valid('param').id, true, c.req.valid('json').note, c.get('apiKey').name), 200));
  app.openapi(resumeRoute, async (c) => c.json(await setPaused(c.req.valid('param').id, false, c.req.valid('json').note, c.get('apiKey').name), 200));

  app.openapi(triggerRoute, async (c) => {
    const row = await loadSchedule(db, c.req.valid('param').id);
    await loadRunnableFetcher(db, row.fetcherId);
    await client.schedule.getHandle(row.temporalScheduleId).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    logger.info({ scheduleId: row.id, apiKey: c.get('apiKey').name }, 'schedule triggered');
    return c.json(toScheduleView(row, await readTemporalState(client, row.temporalScheduleId)), 202);
  });

  app.openapi(backfillRoute, async (c) => {
    const row = await loadSchedule(db, c.req.valid('param').id);
    const body = c.req.valid('json');
    await loadRunnableFetcher(db, row.fetcherId);
    const start = new Date(body.start);
    const end = new Date(body.end);
    const times = await matchingTimes(client, namespace, row.temporalScheduleId, start, end);
    if (times.length === 0) throw fieldError('end', 'the schedule does not fire between start and end; nothing to backfill');
    if (times.length > MAX_BACKFILL_RUNS) {
      throw fieldError('end', `the period holds ${times.length} scheduled times; backfill at most ${MAX_BACKFILL_RUNS} at once`);
    }
    // BUFFER_ALL: every missed time gets its run, one after another, never several pulls at once.
    await client.schedule.getHandle(row.temporalScheduleId).backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
    logger.info({ scheduleId: row.id, runs: times.length, apiKey: c.get('apiKey').name }, 'schedule backfill requested');
    return c.json({ scheduleId: row.id, runs: times.length, times: times.map((t) => t.toISOString()) }, 202);
  });

  app.openapi(deleteRouteDef, async (c) => {
    const row = await loadSchedule(db, c.req.valid('param').id);
    await deleteTemporalSchedule(client, row.temporalScheduleId);
    await deleteSchedule(db, row.id);
    logger.info({ scheduleId: row.id, apiKey: c.get('apiKey').name }, 'schedule deleted');
    return c.body(null, 204);
  });
}
