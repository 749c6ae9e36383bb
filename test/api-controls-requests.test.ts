/**
 * /v1/controls and /v1/requests over real HTTP, with evidence produced by
 * real fetcher runs (Temporal, worker, simulator): latest evidence and its
 * freshness per control, evidence histories, audit requests reached through
 * controls or mapped explicitly, and closed requests receiving nothing new.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { CONTROL_CATALOG, FRAMEWORKS } from '../db/control-catalog.js';
import { findControl } from '../db/controls.js';
import { getFetcher } from '../db/fetchers.js';
import { evidence, type ControlRow } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { currentPeriod } from './support/period.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let stack: ApiStack;
/** Weekly cadence; chosen because no other test file files evidence under it. */
let weekly: ControlRow;
let unmapped: ControlRow;
let fetcherId: string;
let viaControl: string;
let explicit: string;
let closedBefore: string;
let evidenceIds: string[];

const api = (method: string, path: string, options: Parameters<ApiStack['request']>[2] = {}) => stack.request(method, path, options);

function expectProblem(res: Awaited<ReturnType<typeof api>>, status: number, type: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.type).toBe(`/problems/${type}`);
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

const requestBody = (overrides: Record<string, unknown> = {}) => ({
  title: `Request ${randomUUID().slice(0, 8)}`,
  ...currentPeriod(),
  ...overrides,
});

async function runFetcher(): Promise<string> {
  const { result } = await stack.run.runToEnd((await getFetcher(stack.run.database.db, fetcherId))!);
  expect(result.status).toBe('succeeded');
  return result.evidence.evidenceId;
}

const setEvidenceAge = (id: string, ageMs: number) =>
  stack.run.database.db.update(evidence).set({ createdAt: new Date(Date.now() - ageMs) }).where(eq(evidence.id, id));

beforeAll(async () => {
  stack = await startApiStack();
  const db = stack.run.database.db;
  weekly = (await findControl(db, FRAMEWORKS.CIS_V7, '3.1'))!;
  unmapped = (await findControl(db, FRAMEWORKS.SWIFT_CSF, '2.7'))!;
  expect(weekly.cadence).toBe('weekly');
  const connectionId = (await api('POST', '/v1/connections', { body: { name: 'sim', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' } })).body.id;
  viaControl = (await api('POST', '/v1/requests', { body: requestBody({ title: 'Via control', controlIds: [weekly.id] }) })).body.id;
  explicit = (await api('POST', '/v1/requests', { body: requestBody({ title: 'Explicit', controlIds: [] }) })).body.id;
  closedBefore = (await api('POST', '/v1/requests', { body: requestBody({ title: 'Closed early', controlIds: [weekly.id] }) })).body.id;
  expect((await api('POST', `/v1/requests/${closedBefore}/close`)).status).toBe(200);
  const fetcher = await api('POST', '/v1/fetchers', {
    body: { kind: 'host_list_detection', connectionId, name: 'Weekly CIS scan', filters: { severities: [4, 5] }, controlIds: [weekly.id], requestIds: [explicit, closedBefore] },
  });
  expect(fetcher.status).toBe(201);
  fetcherId = fetcher.body.id;
  evidenceIds = [await runFetcher(), await runFetcher()];
});

afterAll(async () => {
  await stack?.close();
});

describe('controls', () => {
  it('lists the whole catalog with the latest evidence and its freshness', async () => {
    const res = await api('GET', '/v1/controls', { token: stack.auditorToken });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(CONTROL_CATALOG.length);
    expect(res.body.nextCursor).toBeNull();
    const control = res.body.items.find((c: { id: string }) => c.id === weekly.id);
    expect(control).toMatchObject({ framework: FRAMEWORKS.CIS_V7, code: '3.1', name: weekly.name, description: weekly.description, cadence: 'weekly' });
    expect(control.latestEvidence).toMatchObject({ id: evidenceIds[1], fetcherId, format: 'XML', complete: true });
    expect(control.latestEvidence.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(control.freshness).toEqual({
      state: 'fresh',
      ageDays: 0,
      dueAt: new Date(Date.parse(control.latestEvidence.createdAt) + 7 * DAY_MS).toISOString(),
    });
    const none = res.body.items.find((c: { id: string }) => c.id === unmapped.id);
    expect(none.latestEvidence).toBeNull();
    expect(none.freshness).toEqual({ state: 'missing', ageDays: null, dueAt: null });
  });

  it('filters by framework and by freshness', async () => {
    const cis = await api('GET', `/v1/controls?framework=${encodeURIComponent(FRAMEWORKS.CIS_V7)}`);
    expect(cis.body.items.map((c: { code: string }) => c.code)).toEqual(['12.2', '3.1', '3.2', '9.3']);
    expect((await api('GET', '/v1/controls?framework=Nope')).body.items).toEqual([]);
    const missing = await api('GET', '/v1/controls?freshness=missing');
    expect(missing.body.items.map((c: { id: string }) => c.id)).toContain(unmapped.id);
    expect(missing.body.items.every((c: { freshness: { state: string } }) => c.freshness.state === 'missing')).toBe(true);
    expectProblem(await api('GET', '/v1/controls?freshness=old'), 422, 'validation-failed', 'query.freshness');
  });

  it('turns due, then stale, as the latest evidence ages past the weekly cadence', async () => {
    try {
      await setEvidenceAge(evidenceIds[1]!, 6.5 * DAY_MS);
      await setEvidenceAge(evidenceIds[0]!, 6.6 * DAY_MS);
      const due = (await api('GET', `/v1/controls/${weekly.id}`)).body;
      expect(due.freshness).toMatchObject({ state: 'due', ageDays: 6 });
      expect((await api('GET', '/v1/controls?freshness=due')).body.items.map((c: { id: string }) => c.id)).toContain(weekly.id);
      await setEvidenceAge(evidenceIds[1]!, 10 * DAY_MS);
      await setEvidenceAge(evidenceIds[0]!, 11 * DAY_MS);
      expect((await api('GET', `/v1/controls/${weekly.id}`)).body.freshness).toMatchObject({ state: 'stale', ageDays: 10 });
    } finally {
      await setEvidenceAge(evidenceIds[0]!, 1000);
      await setEvidenceAge(evidenceIds[1]!, 0);
    }
  });

  it('shows one control with the fetchers mapped to it', async () => {
    const res = await api('GET', `/v1/controls/${weekly.id}`, { token: stack.auditorToken });
    expect(res.status).toBe(200);
    expect(res.body.fetchers).toEqual([{ id: fetcherId, name: 'Weekly CIS scan', kind: 'host_list_detection', enabled: true }]);
    expect(res.body.latestEvidence.id).toBe(evidenceIds[1]);
    expectProblem(await api('GET', `/v1/controls/${randomUUID()}`), 404, 'not-found');
  });

  it('pages through the evidence history of a control, newest first', async () => {
    const first = await api('GET', `/v1/controls/${weekly.id}/evidence?limit=1`, { token: stack.auditorToken });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ id: evidenceIds[1], fetcherId, format: 'XML', contentUrl: `/v1/evidence/${evidenceIds[1]}/content` });
    expect(first.body.items[0].filename).toMatch(/\.xml$/);
    const second = await api('GET', `/v1/controls/${weekly.id}/evidence?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((e: { id: string }) => e.id)).toEqual([evidenceIds[0]]);
    expect(second.body.nextCursor).toBeNull();
    expect((await api('GET', `/v1/controls/${unmapped.id}/evidence`)).body).toEqual({ items: [], nextCursor: null });
    expectProblem(await api('GET', `/v1/controls/${randomUUID()}/evidence`), 404, 'not-found');
  });

  it('needs a key', async () => {
    expectProblem(await api('GET', '/v1/controls', { token: null }), 401, 'unauthenticated');
  });
});

describe('audit requests', () => {
  it('receive evidence through their controls and through explicit mappings, while open', async () => {
    for (const id of [viaControl, explicit]) {
      const res = await api('GET', `/v1/requests/${id}`, { token: stack.auditorToken });
      expect(res.status).toBe(200);
      expect(res.body.evidence.map((e: { id: string }) => e.id)).toEqual([evidenceIds[1], evidenceIds[0]]);
      expect(res.body.evidenceNextCursor).toBeNull();
    }
    const closed = await api('GET', `/v1/requests/${closedBefore}`);
    expect(closed.body).toMatchObject({ status: 'closed', evidence: [] });
  });

  it('creates a request with its controls', async () => {
    const res = await api('POST', '/v1/requests', {
      body: requestBody({ title: 'FY26 vulnerability management', description: 'All scans', dueDate: '2027-01-15', periodStart: '2026-01-01', periodEnd: '2026-12-31', controlIds: [weekly.id, unmapped.id] }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/requests/${res.body.id}`);
    expect(res.body).toMatchObject({
      title: 'FY26 vulnerability management',
      description: 'All scans',
      periodStart: '2026-01-01',
      periodEnd: '2026-12-31',
      dueDate: '2027-01-15',
      status: 'open',
      closedAt: null,
    });
    expect(res.body.controls.map((c: { id: string }) => c.id).sort()).toEqual([weekly.id, unmapped.id].sort());
    expect(res.body.controls[0]).toEqual(expect.objectContaining({ framework: expect.any(String), code: expect.any(String), name: expect.any(String) }));
  });

  it.each([
    ['an end before the start', { periodStart: '2026-06-01', periodEnd: '2026-05-31' }, 'periodEnd'],
    ['an impossible date', { periodStart: '2026-02-30' }, 'periodStart'],
    ['a timestamp for a date', { dueDate: '2026-12-31T00:00:00Z' }, 'dueDate'],
    ['a missing title', { title: undefined }, 'title'],
    ['a blank title', { title: '  ' }, 'title'],
    ['a huge description', { description: 'x'.repeat(10_001) }, 'description'],
    ['an unknown control', { controlIds: [randomUUID()] }, 'controlIds'],
    ['controls that are not a list', { controlIds: 'all' }, 'controlIds'],
    ['an unknown field', { owner: 'me' }, '(body)'],
  ])('refuses %s with 422 naming the field', async (_case, overrides, field) => {
    // That nothing is stored is checked with exact row counts in api-hostile-input.test.ts, on a database of its own.
    expectProblem(await api('POST', '/v1/requests', { body: requestBody(overrides) }), 422, 'validation-failed', field);
  });

  it('lists by status, newest first', async () => {
    const open = await api('GET', '/v1/requests?status=open&limit=500', { token: stack.auditorToken });
    expect(open.status).toBe(200);
    const openIds = open.body.items.map((r: { id: string }) => r.id);
    expect(openIds).toEqual(expect.arrayContaining([viaControl, explicit]));
    expect(openIds).not.toContain(closedBefore);
    const closed = await api('GET', '/v1/requests?status=closed&limit=500');
    expect(closed.body.items.map((r: { id: string }) => r.id)).toContain(closedBefore);
    const page = await api('GET', '/v1/requests?limit=1');
    expect(page.body.items).toHaveLength(1);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    expectProblem(await api('GET', '/v1/requests?status=pending'), 422, 'validation-failed', 'query.status');
  });

  it('pages through a request\'s evidence', async () => {
    const first = await api('GET', `/v1/requests/${viaControl}/evidence?limit=1`, { token: stack.auditorToken });
    expect(first.body.items.map((e: { id: string }) => e.id)).toEqual([evidenceIds[1]]);
    const second = await api('GET', `/v1/requests/${viaControl}/evidence?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((e: { id: string }) => e.id)).toEqual([evidenceIds[0]]);
    expectProblem(await api('GET', `/v1/requests/${randomUUID()}/evidence`), 404, 'not-found');
  });

  it('changes a request and checks the resulting period as a whole', async () => {
    const { id } = (await api('POST', '/v1/requests', { body: requestBody({ dueDate: '2027-01-31', periodStart: '2026-01-01', periodEnd: '2026-12-31' }) })).body;
    const res = await api('PATCH', `/v1/requests/${id}`, { body: { title: 'Renamed', dueDate: null, periodEnd: '2026-06-30' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ title: 'Renamed', dueDate: null, periodStart: '2026-01-01', periodEnd: '2026-06-30' });
    expectProblem(await api('PATCH', `/v1/requests/${id}`, { body: { periodStart: '2026-07-01' } }), 422, 'validation-failed', 'periodStart');
    expectProblem(await api('PATCH', `/v1/requests/${id}`, { body: { periodStart: '2026-03-01', periodEnd: '2026-02-01' } }), 422, 'validation-failed', 'periodEnd');
    expectProblem(await api('PATCH', `/v1/requests/${id}`, { body: { status: 'closed' } }), 422, 'validation-failed', '(body)');
    expect((await api('GET', `/v1/requests/${id}`)).body).toMatchObject({ title: 'Renamed', periodStart: '2026-01-01', periodEnd: '2026-06-30' });
  });

  it('replaces a request\'s controls', async () => {
    const { id } = (await api('POST', '/v1/requests', { body: requestBody({ controlIds: [weekly.id] }) })).body;
    const res = await api('PUT', `/v1/requests/${id}/controls`, { body: { controlIds: [unmapped.id] } });
    expect(res.status).toBe(200);
    expect(res.body.controls.map((c: { id: string }) => c.id)).toEqual([unmapped.id]);
    expectProblem(await api('PUT', `/v1/requests/${id}/controls`, { body: { controlIds: ['nope'] } }), 422, 'validation-failed', 'controlIds');
    expect((await api('GET', `/v1/requests/${id}`)).body.controls.map((c: { id: string }) => c.id)).toEqual([unmapped.id]);
  });

  it('closes a request: it keeps its evidence and receives no new evidence', async () => {
    const first = await api('POST', `/v1/requests/${explicit}/close`);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('closed');
    const again = await api('POST', `/v1/requests/${explicit}/close`);
    expect(again.body.closedAt).toBe(first.body.closedAt);
    const newest = await runFetcher();
    const closedView = (await api('GET', `/v1/requests/${explicit}`)).body;
    expect(closedView.evidence.map((e: { id: string }) => e.id)).toEqual([evidenceIds[1], evidenceIds[0]]);
    expect((await api('GET', `/v1/requests/${viaControl}`)).body.evidence[0].id).toBe(newest);
  });

  it('keeps writes for admins and 404s for unknown requests', async () => {
    const unknown = randomUUID();
    expectProblem(await api('POST', '/v1/requests', { token: stack.auditorToken, body: requestBody() }), 403, 'forbidden');
    expectProblem(await api('PATCH', `/v1/requests/${viaControl}`, { token: stack.auditorToken, body: { title: 'x' } }), 403, 'forbidden');
    expectProblem(await api('POST', `/v1/requests/${viaControl}/close`, { token: stack.auditorToken }), 403, 'forbidden');
    expectProblem(await api('PUT', `/v1/requests/${viaControl}/controls`, { token: stack.auditorToken, body: { controlIds: [] } }), 403, 'forbidden');
    expectProblem(await api('GET', `/v1/requests/${unknown}`), 404, 'not-found');
    expectProblem(await api('PATCH', `/v1/requests/${unknown}`, { body: { title: 'x' } }), 404, 'not-found');
    expectProblem(await api('POST', `/v1/requests/${unknown}/close`), 404, 'not-found');
    expectProblem(await api('PUT', `/v1/requests/${unknown}/controls`, { body: { controlIds: [] } }), 404, 'not-found');
  });
});
