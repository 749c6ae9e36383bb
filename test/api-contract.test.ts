/**
 * The API contract at its edges, one block per defect of issue 9: calendar
 * ranges without an end, text Temporal or Postgres cannot hold, the OpenAPI
 * document saying every rule the API enforces, unsupported methods, header
 * blocks over Node's limit and empty PATCH bodies.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { CONTROL_IDS } from '../api/schemas/fields.js';
import { apiKeys, connections, fetchers, requests, schedules, webhooks } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
let connectionId: string;
let fetcherId: string;
let customFetcherId: string;
let requestId: string;
let scheduleId: string;
let webhookId: string;
const temporalSchedules: string[] = [];

const api = (method: string, path: string, options: Parameters<ApiStack['request']>[2] = {}) => stack.request(method, path, options);

async function rowCounts() {
  const db = stack.run.database.db;
  const tables = { connections, fetchers, requests, schedules, webhooks, apiKeys };
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(tables)) counts[name] = (await db.select({ n: count() }).from(table))[0]!.n;
  return counts;
}

async function createSchedule(body: unknown) {
  const res = await api('POST', `/v1/fetchers/${fetcherId}/schedules`, { body });
  if (res.status === 201) temporalSchedules.push(res.body.temporalScheduleId);
  return res;
}

/** Sends a raw HTTP/1.1 request and reads the raw answer: status line, headers and body. */
function rawExchange(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head!.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false, simulator: { hosts: 20 }, webhookAllowedCidrs: ['127.0.0.1/32'] });
  connectionId = (await api('POST', '/v1/connections', { body: { name: 'sim', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' } })).body.id;
  fetcherId = (await api('POST', '/v1/fetchers', { body: { kind: 'host_list_detection', connectionId, name: 'contract' } })).body.id;
  customFetcherId = (await api('POST', '/v1/fetchers', { body: { kind: 'custom', connectionId, name: 'custom', request: { endpoint: '/api/2.0/fo/scan/', params: { action: 'list' } } } })).body.id;
  requestId = (await api('POST', '/v1/requests', { body: { title: 'contract', periodStart: '2026-01-01', periodEnd: '2026-03-31' } })).body.id;
  scheduleId = (await createSchedule({ preset: 'weekly', paused: true })).body.id;
  webhookId = (await api('POST', '/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['run.failed'], enabled: false } })).body.id;
  expect([connectionId, fetcherId, customFetcherId, requestId, scheduleId, webhookId].every(Boolean)).toBe(true);
});

afterAll(async () => {
  for (const id of temporalSchedules) await stack?.run.client.schedule.getHandle(id).delete().catch(() => {});
  await stack?.close();
});

describe('defect 1: calendar ranges without an end', () => {
  it.each([
    [{ dayOfWeek: [{ start: 'FRIDAY' }], minute: 27 }, 'dayOfWeek', { start: 'FRIDAY', end: 'FRIDAY', step: 1 }],
    [{ hour: [{ start: 22 }] }, 'hour', { start: 22, end: 22, step: 1 }],
    [{ hour: { start: 5, step: 2 }, month: [{ start: 'MARCH' }] }, 'month', { start: 'MARCH', end: 'MARCH', step: 1 }],
  ] as const)('reads %j as the start alone, as Temporal does', async (calendar, field, expected) => {
    const res = await createSchedule({ calendar, paused: true });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const spec = (await stack.run.client.schedule.getHandle(res.body.temporalScheduleId).describe()).spec.calendars![0]!;
    expect(spec[field]).toEqual([expected]);
    // The stored definition says what Temporal holds.
    expect(res.body.calendars[0][field]).toEqual(expect.arrayContaining([expect.objectContaining({ start: expected.start, end: expected.end })]));
    expect(res.body.temporal.nextActionTimes.length).toBeGreaterThan(0);
  });

  it('fires only on the start of such a range', async () => {
    const res = await createSchedule({ calendar: { dayOfWeek: [{ start: 'FRIDAY' }], hour: [{ start: 22 }], minute: 27 }, paused: true });
    expect(res.status).toBe(201);
    for (const time of res.body.temporal.nextActionTimes as string[]) {
      const at = new Date(time);
      expect([at.getUTCDay(), at.getUTCHours()], time).toEqual([5, 22]);
      expect(at.getUTCMinutes()).toBeGreaterThanOrEqual(27);
    }
  });
});

describe('defect 2: NUL and unpaired UTF-16 surrogates in any text field', () => {
  const LONE = 'x\ud800y';
  const cases: Array<[string, string, () => string, () => unknown, string]> = [
    ['a schedule note', 'POST', () => `/v1/fetchers/${fetcherId}/schedules`, () => ({ preset: 'weekly', note: LONE }), 'note'],
    ['a calendar comment', 'POST', () => `/v1/fetchers/${fetcherId}/schedules`, () => ({ calendar: { hour: 3, comment: LONE } }), 'calendar.comment'],
    ['a pause note', 'POST', () => `/v1/schedules/${scheduleId}/pause`, () => ({ note: `why\u0000` }), 'note'],
    ['a fetcher name', 'PATCH', () => `/v1/fetchers/${fetcherId}`, () => ({ name: LONE }), 'name'],
    ['a fetcher name with a low surrogate alone', 'POST', () => '/v1/fetchers', () => ({ kind: 'host_list_detection', connectionId, name: 'a\udc00' }), 'name'],
    ['a custom parameter value', 'PATCH', () => `/v1/fetchers/${customFetcherId}`, () => ({ request: { endpoint: '/api/2.0/fo/scan/', params: { state: LONE } } }), 'request.params.state'],
    ['a custom endpoint', 'PATCH', () => `/v1/fetchers/${customFetcherId}`, () => ({ request: { endpoint: `/api/2.0/fo/${LONE}/` } }), 'request.endpoint'],
    ['a filter value', 'PATCH', () => `/v1/fetchers/${fetcherId}`, () => ({ filters: { extraParams: { qids: LONE } } }), 'filters.extraParams.qids'],
    ['a request title', 'POST', () => '/v1/requests', () => ({ title: LONE, periodStart: '2026-01-01', periodEnd: '2026-01-02' }), 'title'],
    ['a request description', 'PATCH', () => `/v1/requests/${requestId}`, () => ({ description: `d\ud83d` }), 'description'],
    ['an API key name', 'POST', () => '/v1/api-keys', () => ({ name: LONE, role: 'auditor' }), 'name'],
    ['a connection name', 'PATCH', () => `/v1/connections/${connectionId}`, () => ({ name: `c\u0000` }), 'name'],
    ['a connection password', 'POST', () => '/v1/connections', () => ({ name: 'p', apiBaseUrl: stack.run.sim.url, username: 'demo', password: LONE }), 'password'],
    ['a webhook URL', 'POST', () => '/v1/webhooks', () => ({ url: `http://127.0.0.1:9/${LONE}`, events: ['run.failed'] }), 'url'],
    ['a webhook secret', 'PATCH', () => `/v1/webhooks/${webhookId}`, () => ({ secret: `0123456789abcdef${LONE}` }), 'secret'],
  ];

  it.each(cases)('refuses %s with 422 naming the field, and stores nothing', async (_name, method, path, body, field) => {
    const before = await rowCounts();
    const res = await api(method, path(), { body: body() });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors).toContainEqual({ field, reason: expect.stringMatching(/NUL|surrogate/) });
    expect(await rowCounts()).toEqual(before);
  });

  it('accepts paired surrogates (emoji) and keeps them exactly', async () => {
    const res = await api('PATCH', `/v1/requests/${requestId}`, { body: { description: 'Q1 \u{1F512} locked' } });
    expect(res.status).toBe(200);
    expect(res.body.description).toBe('Q1 \u{1F512} locked');
  });

  it('refuses NUL in query values that reach the database', async () => {
    for (const path of ['/v1/runs?fetcherId=%00', '/v1/evidence?fetcherId=a%00', '/v1/schedules?fetcherId=%00', '/v1/controls?framework=%00']) {
      const res = await api('GET', path);
      expect(res.status, path).toBe(422);
      expect(res.body.errors[0].field, path).toMatch(/^query\./);
    }
  });
});

describe('defects 6 and 7: the OpenAPI document says what the API serves and enforces', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a JSON document
  let doc: any;
  beforeAll(async () => {
    doc = (await api('GET', '/openapi.json', { token: null })).body;
  });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

  it('names the evidence list page and the raw page list apart', () => {
    const list = doc.paths['/v1/evidence'].get.responses['200'].content['application/json'].schema;
    expect(list).toEqual(ref('EvidenceListPage'));
    expect(doc.components.schemas.EvidenceListPage.properties.items.items).toEqual(ref('EvidenceListItem'));
    expect(doc.components.schemas.EvidencePageList.properties.items.items).toEqual(ref('EvidencePage'));
    expect(Object.keys(doc.components.schemas.EvidencePage.properties)).toContain('pageNo');
  });

  it('documents downloads with the media types they are served with', () => {
    for (const path of ['/v1/evidence/{id}/content', '/v1/evidence/{id}/pages/{pageNo}/content']) {
      for (const status of ['200', '206']) {
        expect(Object.keys(doc.paths[path].get.responses[status].content), `${path} ${status}`).toEqual(['application/xml', 'text/csv', '*/*']);
      }
    }
  });

  it('expresses each rule as schema', () => {
    const schemas = doc.components.schemas;
    const cursor = doc.paths['/v1/fetchers'].get.parameters.find((p: { name: string }) => p.name === 'cursor').schema;
    expect(cursor.pattern).toBe('^[A-Za-z0-9_-]+$');
    expect(schemas.CustomRequest.properties.endpoint).toMatchObject({ minLength: 1, maxLength: 2048, pattern: expect.stringMatching(/^\^\//) });
    expect(schemas.CustomRequest.properties.params.propertyNames.pattern).toContain('id_min');
    expect(schemas.ScheduleCreate.oneOf).toEqual([{ required: ['preset'] }, { required: ['calendar'] }]);
    expect(schemas.ScheduleBackfill.description).toMatch(/`end` comes after `start`/);
    expect(schemas.AuditRequestControls.properties.controlIds.items.enum).toEqual(CONTROL_IDS);
    expect(schemas.ApiKeyCreate.properties.name.pattern).toContain('\\u0000');
    const pageNo = doc.paths['/v1/evidence/{id}/pages/{pageNo}/content'].get.parameters.find((p: { name: string }) => p.name === 'pageNo').schema;
    expect(pageNo).toMatchObject({ type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
    for (const name of ['ConnectionPatch', 'FetcherPatch', 'AuditRequestPatch', 'WebhookUpdate']) expect(schemas[name].minProperties, name).toBe(1);
  });

  it('accepts what the patterns allow and refuses what they do not', async () => {
    const endpoint = new RegExp(doc.components.schemas.CustomRequest.properties.endpoint.pattern, 'u');
    for (const path of ['/api/2.0/fo/scan/?action=list', '/api/3.0/fo/asset/host/?ids=1-9']) {
      expect(endpoint.test(path), path).toBe(true);
      expect((await api('PATCH', `/v1/fetchers/${customFetcherId}`, { body: { request: { endpoint: path } } })).status, path).toBe(200);
    }
    for (const path of ['', '//evil.example/', '/api/2.0/fo/session/', '/api/2.0/%2e%2e/x', '/api/2.0/./fo/']) {
      expect(endpoint.test(path), path).toBe(false);
      expect((await api('PATCH', `/v1/fetchers/${customFetcherId}`, { body: { request: { endpoint: path } } })).status, path).toBe(422);
    }
  });
});

describe('defect 8: methods, header blocks and empty changes', () => {
  it('answers an unsupported method with 405, a problem document and Allow', async () => {
    const trace = await new Promise<{ status: number; allow: string | undefined; type: string; body: string }>((resolve, reject) => {
      const req = http.request(`${stack.baseUrl}/v1/fetchers`, { method: 'TRACE', headers: { authorization: `Bearer ${stack.adminToken}` } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow, type: res.headers['content-type'] ?? '', body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(trace).toMatchObject({ status: 405, allow: 'GET, HEAD, POST', type: 'application/problem+json' });
    expect(JSON.parse(trace.body)).toMatchObject({ type: '/problems/method-not-allowed', status: 405 });

    for (const [method, path, allow] of [
      ['DELETE', '/v1/fetchers', 'GET, HEAD, POST'],
      ['PUT', `/v1/fetchers/${fetcherId}`, 'DELETE, GET, HEAD, PATCH'],
      ['GET', `/v1/schedules/${scheduleId}/pause`, 'POST'],
      ['OPTIONS', '/v1/runs', 'GET, HEAD'],
      ['POST', '/openapi.json', 'GET, HEAD'],
    ] as const) {
      const res = await api(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(res.body.type).toBe('/problems/method-not-allowed');
    }
    expect((await api('GET', '/v1/nothing-here')).status).toBe(404);
  });

  it('answers a header block over the limit with a 431 problem document', async () => {
    const res = await rawExchange(`GET /v1/fetchers HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ type: '/problems/headers-too-large', status: 431, detail: expect.stringMatching(/headers/) });
    const garbage = await rawExchange('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toMatchObject({ type: '/problems/malformed-request' });
  });

  it('answers an empty PATCH with 422 "nothing to change", changing nothing', async () => {
    for (const path of [`/v1/requests/${requestId}`, `/v1/fetchers/${fetcherId}`, `/v1/connections/${connectionId}`, `/v1/webhooks/${webhookId}`]) {
      const before = (await api('GET', path)).body;
      const res = await api('PATCH', path, { body: {} });
      expect(res.status, path).toBe(422);
      expect(res.body.errors, path).toEqual([{ field: '(body)', reason: 'nothing to change: give at least one field' }]);
      expect((await api('GET', path)).body, path).toEqual(before);
    }
  });
});
