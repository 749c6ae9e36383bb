/**
 * /v1/fetchers over real HTTP: both kinds with every field, validation
 * against the connection's API version and its Qualys asset groups and
 * search lists, updates, retirement (schedules deleted in Temporal), and the
 * mappings to controls and audit requests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleNotFoundError } from '@temporalio/client';
import { count } from 'drizzle-orm';
import { FRAMEWORKS } from '../db/control-catalog.js';
import { findControl } from '../db/controls.js';
import { createSchedule } from '../db/schedules.js';
import { fetcherControls, fetcherRequests, fetchers, type ControlRow } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
/** The API on a database of its own, so row counts see only this file's writes. */
let connectionId: string;
let v2ConnectionId: string;
let pci112: ControlRow;
let fedrampRa5: ControlRow;
let requestId: string;
let groupIds: number[];
let searchListId: number;

const api = (method: string, path: string, options: Parameters<ApiStack['request']>[2] = {}) => stack.request(method, path, options);

function expectProblem(res: Awaited<ReturnType<typeof api>>, status: number, type: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.type).toBe(`/problems/${type}`);
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

async function rowCounts() {
  const db = stack.run.database.db;
  const n = async (table: typeof fetchers | typeof fetcherControls | typeof fetcherRequests) => (await db.select({ n: count() }).from(table))[0]!.n;
  return { fetchers: await n(fetchers), fetcherControls: await n(fetcherControls), fetcherRequests: await n(fetcherRequests) };
}

const hld = (overrides: Record<string, unknown> = {}) => ({ kind: 'host_list_detection', connectionId, name: `HLD ${randomUUID().slice(0, 8)}`, ...overrides });
const custom = (overrides: Record<string, unknown> = {}) => ({
  kind: 'custom',
  connectionId,
  name: `Custom ${randomUUID().slice(0, 8)}`,
  request: { method: 'GET', endpoint: '/api/2.0/fo/scan/?action=list', params: { state: 'Finished', show_ags: true } },
  ...overrides,
});

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false });
  const newConnection = async (apiVersion: string) =>
    (await api('POST', '/v1/connections', { body: { name: `sim ${apiVersion}`, apiBaseUrl: stack.run.sim.url, apiVersion, username: 'demo', password: 'demo-pass' } })).body.id as string;
  connectionId = await newConnection('5.0');
  v2ConnectionId = await newConnection('2.0');
  pci112 = (await findControl(stack.run.database.db, FRAMEWORKS.PCI_DSS, '11.2'))!;
  fedrampRa5 = (await findControl(stack.run.database.db, FRAMEWORKS.FEDRAMP_MODERATE, 'RA-5'))!;
  requestId = (await api('POST', '/v1/requests', { body: { title: 'PCI Q4', periodStart: '2026-10-01', periodEnd: '2026-12-31' } })).body.id;
  groupIds = stack.run.sim.dataset.assetGroups.slice(0, 2).map((g) => g.id);
  searchListId = stack.run.sim.dataset.searchLists[1]!.id;
});

afterAll(async () => {
  await stack?.close();
});

describe('creating Host List Detection fetchers', () => {
  it('stores every field, maps the fetcher, and shows the parameters Qualys will receive', async () => {
    const filters = {
      assetGroupIds: [groupIds[1], groupIds[0]],
      searchListId,
      format: 'CSV',
      statuses: ['Fixed', 'New'],
      severities: [5, 4],
      runningKernelFilter: 2,
      ips: '10.0.0.1-10.0.0.20, 10.0.1.5, 2001:db8::1',
      maxDaysSinceLastScan: 30,
      extraParams: { show_igs: true, qids: '38170,38173' },
    };
    const res = await api('POST', '/v1/fetchers', {
      body: hld({ name: 'PCI scope', filters, pageSize: 250, controlIds: [pci112.id, fedrampRa5.id], requestIds: [requestId] }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/fetchers/${res.body.id}`);
    expect(res.body).toMatchObject({
      connectionId,
      name: 'PCI scope',
      kind: 'host_list_detection',
      format: 'CSV',
      pageSize: 250,
      enabled: true,
      request: null,
      requestIds: [requestId],
      configProblem: null,
    });
    expect(res.body.filters).toEqual({ ...filters, ips: '10.0.0.1-10.0.0.20, 10.0.1.5, 2001:db8::1' });
    expect(res.body.controls).toEqual(
      expect.arrayContaining([
        { id: pci112.id, framework: pci112.framework, code: '11.2', name: pci112.name },
        { id: fedrampRa5.id, framework: fedrampRa5.framework, code: 'RA-5', name: fedrampRa5.name },
      ]),
    );
    expect(res.body.qualysParams).toEqual({
      action: 'list',
      output_format: 'CSV',
      truncation_limit: '250',
      ag_ids: [...groupIds].sort((a, b) => a - b).join(','),
      include_search_list_ids: String(searchListId),
      status: 'New,Fixed',
      severities: '4,5',
      active_kernels_only: '2',
      // Both address families: looked up as host IDs when the run starts, since Qualys ANDs ips and ipv6.
      max_days_since_last_vm_scan: '30',
      show_igs: '1',
      qids: '38170,38173',
    });
    const got = await api('GET', `/v1/fetchers/${res.body.id}`, { token: stack.auditorToken });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('fills in the defaults', async () => {
    const res = await api('POST', '/v1/fetchers', { body: hld() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      filters: { assetGroupIds: [], format: 'XML', statuses: [], severities: [], extraParams: {} },
      format: 'XML',
      pageSize: 1000,
      enabled: true,
      controls: [],
      requestIds: [],
      qualysParams: { action: 'list', output_format: 'XML', truncation_limit: '1000' },
    });
  });

  it('accepts the running-kernel filter 4 on API 2.0 as its parameter, and on 5.0 as ARF data the connector filters', async () => {
    const res = await api('POST', '/v1/fetchers', { body: hld({ connectionId: v2ConnectionId, filters: { runningKernelFilter: 4 } }) });
    expect(res.status).toBe(201);
    expect(res.body.qualysParams.arf_kernel_filter).toBe('4');
    const current = await api('POST', '/v1/fetchers', { body: hld({ filters: { runningKernelFilter: 4 } }) });
    expect(current.status).toBe(201);
    expect(current.body.qualysParams).toMatchObject({ show_arf_data: '1' });
    expect(current.body.qualysParams.arf_kernel_filter).toBeUndefined();
  });

  it.each([
    ['an asset group the account does not have', () => ({ filters: { assetGroupIds: [groupIds[0], 999_999] } }), 'filters.assetGroupIds'],
    ['a search list the account does not have', () => ({ filters: { searchListId: 999_999 } }), 'filters.searchListId'],
    ['a kernel filter out of range', () => ({ filters: { runningKernelFilter: 5 } }), 'filters.runningKernelFilter'],
    ['a severity out of range', () => ({ filters: { severities: [0] } }), 'filters.severities.0'],
    ['an unknown status', () => ({ filters: { statuses: ['Closed'] } }), 'filters.statuses.0'],
    ['a v2-only extra parameter on API 5.0', () => ({ filters: { extraParams: { arf_service_filter: 1 } } }), 'filters.extraParams'],
    ['an extra parameter owned by a field', () => ({ filters: { extraParams: { severities: '5' } } }), 'filters.extraParams'],
    ['a page size of 0', () => ({ pageSize: 0 }), 'pageSize'],
    ['a page size above Qualys\'s maximum', () => ({ pageSize: 1_000_001 }), 'pageSize'],
    ['an unknown connection', () => ({ connectionId: randomUUID() }), 'connectionId'],
    ['an unknown control', () => ({ controlIds: [pci112.id, randomUUID()] }), 'controlIds'],
    ['an unknown audit request', () => ({ requestIds: [randomUUID()] }), 'requestIds'],
    ['a missing name', () => ({ name: undefined }), 'name'],
    ['a request on a Host List Detection fetcher', () => ({ request: { endpoint: '/api/2.0/fo/scan/' } }), '(body)'],
    ['an unknown kind', () => ({ kind: 'scan_report' }), 'kind'],
    ['enabled as text', () => ({ enabled: 'yes' }), 'enabled'],
  ])('refuses %s with 422 naming the field, storing nothing', async (_case, overrides, field) => {
    const before = await rowCounts();
    const res = await api('POST', '/v1/fetchers', { body: hld(overrides()) });
    expectProblem(res, 422, 'validation-failed', field);
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses a disconnected connection', async () => {
    const { id } = (await api('POST', '/v1/connections', { body: { name: 'gone', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' } })).body;
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(200);
    const res = await api('POST', '/v1/fetchers', { body: hld({ connectionId: id }) });
    expectProblem(res, 422, 'validation-failed', 'connectionId');
    expect(res.body.errors[0].reason).toMatch(/disconnected/);
  });

  it('asks Qualys again before calling a freshly created asset group unknown', async () => {
    // The first create filled the cache; a second create with ids from it must not call Qualys.
    const before = stack.run.sim.stats().byEndpoint.assetGroups ?? 0;
    expect((await api('POST', '/v1/fetchers', { body: hld({ filters: { assetGroupIds: [groupIds[0]] } }) })).status).toBe(201);
    expect(stack.run.sim.stats().byEndpoint.assetGroups ?? 0).toBe(before);
    expectProblem(await api('POST', '/v1/fetchers', { body: hld({ filters: { assetGroupIds: [123_456_789] } }) }), 422, 'validation-failed');
    expect(stack.run.sim.stats().byEndpoint.assetGroups ?? 0).toBe(before + 1);
  });

  it('needs an admin key', async () => {
    expectProblem(await api('POST', '/v1/fetchers', { token: stack.auditorToken, body: hld() }), 403, 'forbidden');
    expectProblem(await api('POST', '/v1/fetchers', { token: null, body: hld() }), 401, 'unauthenticated');
  });
});

describe('creating custom fetchers', () => {
  it('stores the request as RAW evidence, without a page size or parameters preview', async () => {
    const res = await api('POST', '/v1/fetchers', { body: custom({ enabled: false }) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'custom',
      format: 'RAW',
      pageSize: null,
      filters: null,
      qualysParams: null,
      enabled: false,
      request: { method: 'GET', endpoint: '/api/2.0/fo/scan/?action=list', params: { state: 'Finished', show_ags: true } },
    });
  });

  it.each([
    ['a full URL', { endpoint: 'https://evil.example/api/2.0/fo/scan/' }],
    ['another host', { endpoint: '//evil.example/api/2.0/fo/scan/' }],
    ['a traversal', { endpoint: '/api/2.0/../../etc/passwd' }],
    ['an encoded traversal', { endpoint: '/api/2.0/%2e%2e/%2e%2e/etc/passwd' }],
    ['a session call', { endpoint: '/api/2.0/fo/session/?action=login' }],
    ['an unknown method', { method: 'DELETE', endpoint: '/api/2.0/fo/scan/' }],
    ['a credential parameter', { endpoint: '/api/2.0/fo/scan/', params: { password: 'x' } }],
  ])('refuses %s', async (_case, request) => {
    const before = await rowCounts();
    const res = await api('POST', '/v1/fetchers', { body: custom({ request }) });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors[0].field).toMatch(/^request\./);
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses filters on a custom fetcher', async () => {
    expectProblem(await api('POST', '/v1/fetchers', { body: custom({ filters: {} }) }), 422, 'validation-failed', '(body)');
  });
});

describe('reading, changing and deleting fetchers', () => {
  it('lists with filters and pages', async () => {
    const all = await api('GET', `/v1/fetchers?connectionId=${connectionId}&limit=500`, { token: stack.auditorToken });
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThan(3);
    expect(all.body.items.every((f: { connectionId: string }) => f.connectionId === connectionId)).toBe(true);
    const disabled = await api('GET', '/v1/fetchers?enabled=false&limit=500');
    expect(disabled.body.items.length).toBeGreaterThan(0);
    expect(disabled.body.items.every((f: { enabled: boolean }) => !f.enabled)).toBe(true);
    const first = await api('GET', '/v1/fetchers?limit=2');
    const second = await api('GET', `/v1/fetchers?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((f: { id: string }) => f.id)).not.toContain(first.body.items[0].id);
    expectProblem(await api('GET', '/v1/fetchers?enabled=maybe'), 422, 'validation-failed', 'query.enabled');
  });

  it('updates Host List Detection fetchers with re-validated filters', async () => {
    const { id } = (await api('POST', '/v1/fetchers', { body: hld() })).body;
    const res = await api('PATCH', `/v1/fetchers/${id}`, { body: { name: 'renamed', filters: { format: 'CSV', severities: [5] }, pageSize: 10 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'renamed', format: 'CSV', pageSize: 10 });
    expect(res.body.qualysParams).toEqual({ action: 'list', output_format: 'CSV', truncation_limit: '10', severities: '5' });

    const unchanged = (await api('GET', `/v1/fetchers/${id}`)).body;
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { filters: { runningKernelFilter: 5 } } }), 422, 'validation-failed', 'filters.runningKernelFilter');
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { filters: { assetGroupIds: [999_999] } } }), 422, 'validation-failed', 'filters.assetGroupIds');
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { request: { endpoint: '/api/2.0/fo/scan/' } } }), 422, 'validation-failed', 'request');
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { pageSize: -1 } }), 422, 'validation-failed', 'pageSize');
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { kind: 'custom' } }), 422, 'validation-failed', '(body)');
    expect((await api('GET', `/v1/fetchers/${id}`)).body).toEqual(unchanged);

    const disabled = await api('PATCH', `/v1/fetchers/${id}`, { body: { enabled: false } });
    expect(disabled.body.enabled).toBe(false);
    expect(disabled.body.filters).toEqual(unchanged.filters);
  });

  it('updates custom fetchers', async () => {
    const { id } = (await api('POST', '/v1/fetchers', { body: custom() })).body;
    const res = await api('PATCH', `/v1/fetchers/${id}`, { body: { request: { endpoint: '/api/2.0/fo/report/?action=list' } } });
    expect(res.status).toBe(200);
    expect(res.body.request).toEqual({ method: 'POST', endpoint: '/api/2.0/fo/report/?action=list', params: {} });
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { filters: {} } }), 422, 'validation-failed', 'filters');
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { pageSize: 10 } }), 422, 'validation-failed', 'pageSize');
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { body: { request: { endpoint: 'https://evil.example/' } } }), 422, 'validation-failed', 'request.endpoint');
  });

  it('deletes a fetcher together with its Temporal schedules', async () => {
    const { id } = (await api('POST', '/v1/fetchers', { body: hld() })).body;
    const scheduleId = `test-fetcher-delete-${randomUUID()}`;
    await stack.run.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: 'fetcherRun', taskQueue: stack.run.taskQueue, args: [{ fetcherId: id, trigger: 'schedule' }] },
    });
    await createSchedule(stack.run.database.db, { fetcherId: id, temporalScheduleId: scheduleId, spec: {} });
    await createSchedule(stack.run.database.db, { fetcherId: id, temporalScheduleId: `gone-${randomUUID()}`, spec: {} });

    expect((await api('DELETE', `/v1/fetchers/${id}`)).status).toBe(204);
    await expect(stack.run.client.schedule.getHandle(scheduleId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expectProblem(await api('GET', `/v1/fetchers/${id}`), 404, 'not-found');
    expectProblem(await api('DELETE', `/v1/fetchers/${id}`), 404, 'not-found');
    expect((await api('GET', '/v1/fetchers?limit=500')).body.items.map((f: { id: string }) => f.id)).not.toContain(id);
  });

  it('404s for unknown fetchers and keeps writes for admins', async () => {
    const unknown = randomUUID();
    expectProblem(await api('GET', `/v1/fetchers/${unknown}`), 404, 'not-found');
    expectProblem(await api('PATCH', `/v1/fetchers/${unknown}`, { body: { name: 'x' } }), 404, 'not-found');
    const { id } = (await api('GET', '/v1/fetchers?limit=1')).body.items[0];
    expectProblem(await api('PATCH', `/v1/fetchers/${id}`, { token: stack.auditorToken, body: { name: 'x' } }), 403, 'forbidden');
    expectProblem(await api('DELETE', `/v1/fetchers/${id}`, { token: stack.auditorToken }), 403, 'forbidden');
  });
});

describe('mapping fetchers', () => {
  let id: string;

  beforeAll(async () => {
    id = (await api('POST', '/v1/fetchers', { body: hld({ controlIds: [pci112.id] }) })).body.id;
  });

  it('replaces the controls', async () => {
    const res = await api('PUT', `/v1/fetchers/${id}/controls`, { body: { controlIds: [fedrampRa5.id, fedrampRa5.id] } });
    expect(res.status).toBe(200);
    expect(res.body.controls.map((c: { id: string }) => c.id)).toEqual([fedrampRa5.id]);
    const before = await rowCounts();
    expectProblem(await api('PUT', `/v1/fetchers/${id}/controls`, { body: { controlIds: [pci112.id, 'nope'] } }), 422, 'validation-failed', 'controlIds');
    expect(await rowCounts()).toEqual(before);
    expect((await api('PUT', `/v1/fetchers/${id}/controls`, { body: { controlIds: [] } })).body.controls).toEqual([]);
  });

  it('replaces the audit requests', async () => {
    const res = await api('PUT', `/v1/fetchers/${id}/requests`, { body: { requestIds: [requestId] } });
    expect(res.status).toBe(200);
    expect(res.body.requestIds).toEqual([requestId]);
    expectProblem(await api('PUT', `/v1/fetchers/${id}/requests`, { body: { requestIds: ['nope'] } }), 422, 'validation-failed', 'requestIds');
    expect((await api('GET', `/v1/fetchers/${id}`)).body.requestIds).toEqual([requestId]);
    expectProblem(await api('PUT', `/v1/fetchers/${id}/requests`, { body: { requestIds: 'all' } }), 422, 'validation-failed', 'requestIds');
    expectProblem(await api('PUT', `/v1/fetchers/${id}/requests`, { body: {} }), 422, 'validation-failed', 'requestIds');
  });

  it('is for admins only and 404s for unknown fetchers', async () => {
    expectProblem(await api('PUT', `/v1/fetchers/${id}/controls`, { token: stack.auditorToken, body: { controlIds: [] } }), 403, 'forbidden');
    expectProblem(await api('PUT', `/v1/fetchers/${id}/requests`, { token: stack.auditorToken, body: { requestIds: [] } }), 403, 'forbidden');
    expectProblem(await api('PUT', `/v1/fetchers/${randomUUID()}/controls`, { body: { controlIds: [] } }), 404, 'not-found');
    expectProblem(await api('PUT', `/v1/fetchers/${randomUUID()}/requests`, { body: { requestIds: [] } }), 404, 'not-found');
  });
});
