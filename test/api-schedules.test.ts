/**
 * Schedules over real HTTP, checked against Temporal itself: presets and
 * custom calendars land with the right spec and policies, a triggered
 * schedule produces evidence, pause/resume/backfill/delete reach Temporal,
 * and bad input is refused without leaving anything behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleNotFoundError } from '@temporalio/client';
import { listSchedules } from '../db/schedules.js';
import { updateFetcher } from '../db/fetchers.js';
import type { FetcherRow } from '../db/schema.js';
import type { Connection } from '../db/connections.js';
import type { FieldError } from '../api/problem.js';
import type { ScheduleView } from '../api/schemas/schedule.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
let connection: Connection;
let fetcher: FetcherRow;
const created: string[] = [];

async function createSchedule(body: unknown, fetcherId = fetcher.id) {
  const res = await stack.request('POST', `/v1/fetchers/${fetcherId}/schedules`, { body });
  if (res.status === 201) created.push(res.body.temporalScheduleId);
  return res;
}

const describeInTemporal = (temporalScheduleId: string) => stack.run.client.schedule.getHandle(temporalScheduleId).describe();

/** Wall-clock parts of an instant in a time zone. */
function partsIn(zone: string, date: Date) {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'long' }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return { month: Number(get('month')), day: Number(get('day')), hour: Number(get('hour')), minute: Number(get('minute')), weekday: get('weekday') };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  stack = await startApiStack({ simulator: { hosts: 40 } });
  connection = await stack.run.addConnection();
  fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 40, controls: [['PCI DSS v3.2.1', '11.2']] });
});
afterAll(async () => {
  for (const id of created) await stack?.run.client.schedule.getHandle(id).delete().catch(() => {});
  await stack?.close();
});

describe('creating schedules', () => {
  it('creates the PCI quarterly preset in Temporal with its calendar, time zone, policies and action', async () => {
    const res = await createSchedule({ preset: 'pci-quarterly', timezone: 'America/New_York', note: 'PCI 11.2 evidence' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/schedules/${res.body.id}`);
    expect(res.body).toMatchObject({
      fetcherId: fetcher.id,
      temporalScheduleId: expect.stringMatching(/^sched-[0-9a-f-]{36}$/),
      preset: 'pci-quarterly',
      timezone: 'America/New_York',
      catchupWindow: '30d',
      jitter: '10m',
      paused: false,
      note: 'PCI 11.2 evidence',
    });
    expect(res.body.temporal.nextActionTimes).toHaveLength(5);
    for (const time of res.body.temporal.nextActionTimes) {
      const local = partsIn('America/New_York', new Date(time));
      expect([1, 4, 7, 10]).toContain(local.month);
      expect(local.day).toBe(1);
      expect(local.hour).toBe(2);
      expect(local.minute).toBeLessThanOrEqual(10);
    }

    const d = await describeInTemporal(res.body.temporalScheduleId);
    expect(d.spec.timezone).toBe('America/New_York');
    expect(d.spec.jitter).toBe(10 * 60_000);
    const [calendar] = d.spec.calendars!;
    expect(calendar!.month.map((r) => r.start)).toEqual(['JANUARY', 'APRIL', 'JULY', 'OCTOBER']);
    expect(calendar!.dayOfMonth).toEqual([{ start: 1, end: 1, step: 1 }]);
    expect(calendar!.hour).toEqual([{ start: 2, end: 2, step: 1 }]);
    expect(calendar!.comment).toMatch(/PCI DSS 11\.2/);
    expect(d.policies).toEqual({ overlap: 'SKIP', catchupWindow: 30 * 86_400_000, pauseOnFailure: false });
    expect(d.state.note).toBe('PCI 11.2 evidence');
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'fetcherRun',
      workflowId: `run-${res.body.temporalScheduleId}`,
      taskQueue: stack.run.taskQueue,
      args: [{ fetcherId: fetcher.id, trigger: 'schedule', triggeredBy: res.body.id, scheduleId: res.body.id }],
    });
  });

  it('applies each preset its own catch-up window, and explicit durations override them', async () => {
    const monthly = await createSchedule({ preset: 'fedramp-monthly' });
    expect(monthly.status).toBe(201);
    expect(monthly.body).toMatchObject({ timezone: 'UTC', catchupWindow: '7d' });
    const monthlyInTemporal = await describeInTemporal(monthly.body.temporalScheduleId);
    expect(monthlyInTemporal.policies.catchupWindow).toBe(7 * 86_400_000);
    expect(monthlyInTemporal.spec.calendars![0]!.dayOfMonth).toEqual([{ start: 1, end: 1, step: 1 }]);

    const weekly = await createSchedule({ preset: 'weekly', catchupWindow: '45d', jitter: '0s', paused: true });
    expect(weekly.status).toBe(201);
    const weeklyInTemporal = await describeInTemporal(weekly.body.temporalScheduleId);
    expect(weeklyInTemporal.policies.catchupWindow).toBe(45 * 86_400_000);
    expect(weeklyInTemporal.state.paused).toBe(true);

    // Durations are read as Temporal reads them, words included.
    const spelled = await createSchedule({ preset: 'weekly', catchupWindow: '3 days', jitter: '90 seconds' });
    expect(spelled.status).toBe(201);
    const spelledInTemporal = await describeInTemporal(spelled.body.temporalScheduleId);
    expect(spelledInTemporal.policies.catchupWindow).toBe(3 * 86_400_000);
    expect(spelledInTemporal.spec.jitter).toBe(90_000);
    expect(weeklyInTemporal.spec.calendars![0]!.dayOfWeek).toEqual([{ start: 'MONDAY', end: 'MONDAY', step: 1 }]);
    for (const time of weekly.body.temporal.nextActionTimes) {
      expect(partsIn('UTC', new Date(time))).toMatchObject({ weekday: 'Monday', hour: 2, minute: 0 });
    }
  });

  it('creates a custom calendar read in its time zone, with a 1-day catch-up window', async () => {
    const res = await createSchedule({
      calendar: { hour: [{ start: 6, end: 18, step: 6 }], minute: 30, dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY' }], comment: 'weekday scans' },
      timezone: 'Europe/Berlin',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ preset: null, catchupWindow: '1d', timezone: 'Europe/Berlin' });
    const d = await describeInTemporal(res.body.temporalScheduleId);
    const [calendar] = d.spec.calendars!;
    expect(calendar!.hour).toEqual([{ start: 6, end: 18, step: 6 }]);
    expect(calendar!.minute).toEqual([{ start: 30, end: 30, step: 1 }]);
    expect(calendar!.dayOfWeek).toEqual([{ start: 'MONDAY', end: 'FRIDAY', step: 1 }]);
    expect(d.policies.catchupWindow).toBe(86_400_000);
    for (const time of res.body.temporal.nextActionTimes) {
      const local = partsIn('Europe/Berlin', new Date(time));
      expect([6, 12, 18]).toContain(local.hour);
      expect(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday']).toContain(local.weekday);
    }
  });

  it('refuses bad schedules naming the field, and creates nothing', async () => {
    const before = (await listSchedules(stack.run.database.db, { fetcherId: fetcher.id }, { limit: 500 })).items.length;
    const cases: Array<[unknown, string, RegExp]> = [
      [{ preset: 'daily' }, 'preset', /one of pci-quarterly, fedramp-monthly, weekly/],
      [{}, 'preset', /either a preset or a calendar/],
      [{ preset: 'weekly', calendar: { hour: 1 } }, 'calendar', /either a preset or a calendar/],
      [{ preset: 'weekly', timezone: 'Mars/Olympus_Mons' }, 'timezone', /IANA time zone/],
      [{ preset: 'weekly', timezone: '+02:00' }, 'timezone', /IANA time zone/],
      [{ calendar: { hour: 25 } }, 'calendar.hour', /25 must be a whole number from 0 to 23/],
      [{ calendar: { dayOfMonth: 0 } }, 'calendar.dayOfMonth', /from 1 to 31/],
      [{ calendar: { month: 'JAN' } }, 'calendar.month', /"JAN" must be one of JANUARY/],
      [{ calendar: { dayOfWeek: [{ start: 'FRIDAY', end: 'MONDAY' }] } }, 'calendar.dayOfWeek.0', /before its start/],
      [{ calendar: { hour: [] } }, 'calendar.hour', /empty list/],
      [{ calendar: { hour: { start: 1, step: 0 } } }, 'calendar.hour.step', /step/],
      [{ calendar: { minute: '*' } }, 'calendar.minute', /from 0 to 59/],
      [{ calendar: { hour: 3, every: 'day' } }, 'calendar', /unknown field\(s\): every/],
      [{ preset: 'weekly', catchupWindow: 'a week' }, 'catchupWindow', /duration like 7d/],
      [{ preset: 'weekly', catchupWindow: '5s' }, 'catchupWindow', /from 60 s/],
      [{ preset: 'weekly', jitter: '2d' }, 'jitter', /to 1 days/],
      [{ preset: 'weekly', paused: 'yes' }, 'paused', /true or false/],
      [{ preset: 'weekly', note: 'x'.repeat(501) }, 'note', /at most 500/],
      [{ preset: 'weekly', owner: 'me' }, '(body)', /unknown field\(s\): owner/],
    ];
    for (const [body, field, reason] of cases) {
      const res = await createSchedule(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const error = res.body.errors.find((e: FieldError) => e.field === field);
      expect(error, `${JSON.stringify(body)} → ${JSON.stringify(res.body.errors)}`).toBeDefined();
      expect(error.reason).toMatch(reason);
    }
    expect((await listSchedules(stack.run.database.db, { fetcherId: fetcher.id }, { limit: 500 })).items).toHaveLength(before);
  });

  it('answers 409 for a disabled fetcher and 404 for an unknown one', async () => {
    const disabled = await stack.run.addHldFetcher(connection);
    await updateFetcher(stack.run.database.db, disabled.id, { enabled: false });
    expect((await createSchedule({ preset: 'weekly' }, disabled.id)).status).toBe(409);
    expect((await createSchedule({ preset: 'weekly' }, 'no-such-fetcher')).status).toBe(404);
  });
});

describe('running and managing schedules', () => {
  it('a triggered schedule produces a scheduled run with sealed evidence', async () => {
    const schedule = await createSchedule({ preset: 'weekly' });
    expect(schedule.status).toBe(201);
    const trigger = await stack.request('POST', `/v1/schedules/${schedule.body.id}/trigger`);
    expect(trigger.status).toBe(202);

    const action = await until('the triggered action', async () => {
      const res = await stack.request('GET', `/v1/schedules/${schedule.body.id}`, { token: stack.auditorToken });
      return res.body.temporal.recentActions[0];
    });
    expect(action.workflowId).toBe(`run-${action.runId}`);
    expect(action.runId.startsWith(`${schedule.body.temporalScheduleId}-`)).toBe(true);

    const run = await until('the scheduled run to finish', async () => {
      const res = await stack.request('GET', action.links.run, { token: stack.auditorToken });
      return res.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(res.body.status) ? res.body : null;
    });
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'schedule', triggeredBy: schedule.body.id, scheduleId: schedule.body.id, fetcherId: fetcher.id });
    const evidence = await stack.request('GET', run.links.evidence, { token: stack.auditorToken });
    expect(evidence.status).toBe(200);
    expect(evidence.body.runId).toBe(run.id);
    expect(evidence.body.attachedTo.controls.map((c: { code: string }) => c.code)).toEqual(['11.2']);
  });

  it('pauses and resumes in Temporal and in the mirror', async () => {
    const schedule = await createSchedule({ preset: 'fedramp-monthly' });
    const paused = await stack.request('POST', `/v1/schedules/${schedule.body.id}/pause`, { body: { note: 'audit freeze' } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, note: 'audit freeze', temporal: { paused: true, note: 'audit freeze' } });
    expect((await describeInTemporal(schedule.body.temporalScheduleId)).state).toMatchObject({ paused: true, note: 'audit freeze' });

    const resumed = await stack.request('POST', `/v1/schedules/${schedule.body.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ paused: false, note: 'resumed by test-admin' });
    expect((await describeInTemporal(schedule.body.temporalScheduleId)).state.paused).toBe(false);

    const bad = await stack.request('POST', `/v1/schedules/${schedule.body.id}/pause`, { body: { reason: 'x' } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].reason).toMatch(/unknown field\(s\): reason/);
  });

  it('backfills every time a period missed, one run each', async () => {
    const schedule = await createSchedule({ preset: 'weekly', jitter: '0s' });
    // Mondays of January 2026: the 5th, 12th, 19th and 26th.
    const res = await stack.request('POST', `/v1/schedules/${schedule.body.id}/backfill`, {
      body: { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      scheduleId: schedule.body.id,
      runs: 4,
      times: ['2026-01-05T02:00:00.000Z', '2026-01-12T02:00:00.000Z', '2026-01-19T02:00:00.000Z', '2026-01-26T02:00:00.000Z'],
    });
    const actions = await until('the four backfilled runs', async () => {
      const d = await describeInTemporal(schedule.body.temporalScheduleId);
      return d.info.numActionsTaken >= 4 ? d.info.recentActions : null;
    });
    expect(actions.map((a) => a.action.workflow.workflowId).sort()).toEqual(
      res.body.times.map((t: string) => `run-${schedule.body.temporalScheduleId}-${t.replace('.000Z', 'Z')}`),
    );
  });

  it('refuses backfills that are empty, inverted, too long or too many', async () => {
    const weekly = await createSchedule({ preset: 'weekly' });
    const hourly = await createSchedule({ calendar: { hour: '*' } });
    const cases: Array<[string, unknown, string, RegExp]> = [
      [weekly.body.id, { start: '2026-01-06T00:00:00Z', end: '2026-01-07T00:00:00Z' }, 'end', /does not fire/],
      [weekly.body.id, { start: '2026-02-01T00:00:00Z', end: '2026-01-01T00:00:00Z' }, 'end', /after start/],
      [weekly.body.id, { start: '2024-01-01T00:00:00Z', end: '2026-01-01T00:00:00Z' }, 'end', /at most 366 days/],
      [weekly.body.id, { start: 'last monday', end: '2026-01-01T00:00:00Z' }, 'start', /ISO 8601/],
      [hourly.body.id, { start: '2026-01-01T00:00:00Z', end: '2026-01-11T00:00:00Z' }, 'end', /holds \d{3} scheduled times; backfill at most 100/],
    ];
    for (const [id, body, field, reason] of cases) {
      const res = await stack.request('POST', `/v1/schedules/${id}/backfill`, { body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.errors[0].field).toBe(field);
      expect(res.body.errors[0].reason).toMatch(reason);
    }
    expect((await describeInTemporal(hourly.body.temporalScheduleId)).info.numActionsTaken).toBe(0);
  });

  it('lists schedules overall and per fetcher', async () => {
    const all = await stack.request('GET', `/v1/schedules?fetcherId=${fetcher.id}`, { token: stack.auditorToken });
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(5);
    expect(all.body.items[0].temporal).toBeUndefined();
    const perFetcher = await stack.request('GET', `/v1/fetchers/${fetcher.id}/schedules?limit=2`, { token: stack.auditorToken });
    expect(perFetcher.status).toBe(200);
    expect(perFetcher.body.items.map((s: ScheduleView) => s.id)).toEqual(all.body.items.slice(0, 2).map((s: ScheduleView) => s.id));
    expect(perFetcher.body.nextCursor).toEqual(expect.any(String));
  });

  it('deletes from Temporal and from the mirror', async () => {
    const schedule = await createSchedule({ preset: 'weekly' });
    const res = await stack.request('DELETE', `/v1/schedules/${schedule.body.id}`);
    expect(res.status).toBe(204);
    await expect(describeInTemporal(schedule.body.temporalScheduleId)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await stack.request('GET', `/v1/schedules/${schedule.body.id}`)).status).toBe(404);
  });
});

describe('roles and unknown ids', () => {
  it('lets auditors read but not change schedules', async () => {
    const schedule = await createSchedule({ preset: 'weekly', paused: true });
    const token = stack.auditorToken;
    expect((await stack.request('GET', `/v1/schedules/${schedule.body.id}`, { token })).status).toBe(200);
    expect((await stack.request('GET', '/v1/schedules', { token })).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', `/v1/fetchers/${fetcher.id}/schedules`, { preset: 'weekly' }],
      ['POST', `/v1/schedules/${schedule.body.id}/pause`, undefined],
      ['POST', `/v1/schedules/${schedule.body.id}/resume`, undefined],
      ['POST', `/v1/schedules/${schedule.body.id}/trigger`, undefined],
      ['POST', `/v1/schedules/${schedule.body.id}/backfill`, { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' }],
      ['DELETE', `/v1/schedules/${schedule.body.id}`, undefined],
    ] as const) {
      const res = await stack.request(method, path, { token, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.type).toBe('/problems/forbidden');
    }
    expect((await describeInTemporal(schedule.body.temporalScheduleId)).info.numActionsTaken).toBe(0);
  });

  it('answers 404 for unknown schedules and fetchers, 401 without a key', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/schedules/nope', undefined],
      ['POST', '/v1/schedules/nope/pause', undefined],
      ['POST', '/v1/schedules/nope/resume', undefined],
      ['POST', '/v1/schedules/nope/trigger', undefined],
      ['POST', '/v1/schedules/nope/backfill', { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' }],
      ['DELETE', '/v1/schedules/nope', undefined],
      ['GET', '/v1/fetchers/nope/schedules', undefined],
    ] as const) {
      expect((await stack.request(method, path, { body })).status, `${method} ${path}`).toBe(404);
      expect((await stack.request(method, path, { body, token: null })).status, `${method} ${path}`).toBe(401);
    }
  });
});
