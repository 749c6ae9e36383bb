/**
 * Hostile and malformed request bodies: each one gets a 4xx problem document
 * naming what is wrong, and the database is exactly as it was before. The
 * API runs on a database of its own so that row counts are exact.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { FRAMEWORKS } from '../db/control-catalog.js';
import { findControl } from '../db/controls.js';
import { connections, fetcherControls, fetcherRequests, fetchers, requestControls, requests } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
let connectionId: string;
let fetcherId: string;
let requestId: string;
let controlId: string;

const api = (method: string, path: string, options: Parameters<ApiStack['request']>[2] = {}) => stack.request(method, path, options);

async function rowCounts() {
  const db = stack.run.database.db;
  const tables = { connections, fetchers, requests, fetcherControls, fetcherRequests, requestControls };
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(tables)) counts[name] = (await db.select({ n: count() }).from(table))[0]!.n;
  return counts;
}

const MB = 'x'.repeat(1024 * 1024);

interface HostileCase {
  name: string;
  method?: string;
  path: () => string;
  body?: () => unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
  type: string;
  /** The field the problem must name; absent for problems about the body as a whole (415, 413, 400). */
  field?: string;
  /** Sent with node:http, which reads the answer even when the server stops reading the body early. */
  large?: boolean;
}

/**
 * fetch gives up on the whole exchange when the server answers 413 and
 * closes while the body is still being sent; a plain HTTP client still
 * reads the answer, as real clients do.
 */
function postLarge(path: string, body: unknown): Promise<{ status: number; contentType: string; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      `${stack.baseUrl}${path}`,
      // A connection of its own: the server closes it after refusing the body, so it must not be reused.
      { method: 'POST', agent: false, headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'] ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(JSON.stringify(body));
  });
}

const connectionBody = (overrides: Record<string, unknown>) => ({
  name: 'Hostile',
  apiBaseUrl: stack.run.sim.url,
  username: 'demo',
  password: 'demo-pass',
  ...overrides,
});
const hld = (filters: Record<string, unknown>, overrides: Record<string, unknown> = {}) => ({
  kind: 'host_list_detection',
  connectionId,
  name: 'Hostile HLD',
  filters,
  controlIds: [controlId],
  ...overrides,
});
const custom = (request: Record<string, unknown>) => ({ kind: 'custom', connectionId, name: 'Hostile custom', request, controlIds: [controlId] });
const auditRequest = (overrides: Record<string, unknown>) => ({
  title: 'Hostile request',
  periodStart: '2026-01-01',
  periodEnd: '2026-03-31',
  controlIds: [controlId],
  ...overrides,
});

const CASES: HostileCase[] = [
  // Wrong types
  { name: 'a number for a connection name', path: () => '/v1/connections', body: () => connectionBody({ name: 42 }), status: 422, type: 'validation-failed', field: 'name' },
  { name: 'an object for a password', path: () => '/v1/connections', body: () => connectionBody({ password: { $ne: '' } }), status: 422, type: 'validation-failed', field: 'password' },
  { name: 'text for a page size', path: () => '/v1/fetchers', body: () => hld({}, { pageSize: '1000' }), status: 422, type: 'validation-failed', field: 'pageSize' },
  { name: 'text for the filters', path: () => '/v1/fetchers', body: () => hld({}, { filters: 'all' }), status: 422, type: 'validation-failed', field: 'filters' },
  { name: 'text for severities', path: () => '/v1/fetchers', body: () => hld({ severities: '5' }), status: 422, type: 'validation-failed', field: 'filters.severities' },
  { name: 'numbers for control ids', path: () => '/v1/requests', body: () => auditRequest({ controlIds: [1, 2] }), status: 422, type: 'validation-failed', field: 'controlIds.0' },
  { name: 'an operator object for a date', path: () => '/v1/requests', body: () => auditRequest({ periodStart: { $gt: '' } }), status: 422, type: 'validation-failed', field: 'periodStart' },
  { name: 'null for a title', path: () => '/v1/requests', body: () => auditRequest({ title: null }), status: 422, type: 'validation-failed', field: 'title' },
  { name: 'a list as the body', path: () => '/v1/requests', body: () => [auditRequest({})], status: 422, type: 'validation-failed', field: '(body)' },
  { name: 'a string as the mapping', method: 'PUT', path: () => `/v1/fetchers/${fetcherId}/controls`, body: () => ({ controlIds: 'all' }), status: 422, type: 'validation-failed', field: 'controlIds' },

  // Huge values
  { name: 'a 1 MB password', path: () => '/v1/connections', body: () => connectionBody({ password: MB }), status: 413, type: 'payload-too-large', large: true },
  { name: 'a 1 MB custom parameter', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/', params: { scan_ref: MB } }), status: 413, type: 'payload-too-large', large: true },
  { name: 'a 100 kB name', path: () => '/v1/connections', body: () => connectionBody({ name: 'n'.repeat(100_000) }), status: 422, type: 'validation-failed', field: 'name' },
  { name: 'a 100 kB endpoint', path: () => '/v1/fetchers', body: () => custom({ endpoint: `/api/2.0/fo/${'a'.repeat(100_000)}` }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: '600 control ids', path: () => '/v1/requests', body: () => auditRequest({ controlIds: Array.from({ length: 600 }, (_, i) => `c${i}`) }), status: 422, type: 'validation-failed', field: 'controlIds' },

  // Unknown fields and sneaky keys
  { name: 'an unknown top-level field', path: () => '/v1/connections', body: () => connectionBody({ isAdmin: true }), status: 422, type: 'validation-failed', field: '(body)' },
  { name: 'an unknown filter', path: () => '/v1/fetchers', body: () => hld({ ag_ids: '1' }), status: 422, type: 'validation-failed', field: 'filters' },
  { name: 'a __proto__ key', path: () => '/v1/requests', rawBody: '{"title":"p","periodStart":"2026-01-01","periodEnd":"2026-01-02","__proto__":{"status":"closed"}}', status: 422, type: 'validation-failed', field: '(body)' },
  { name: 'a status on a new request', path: () => '/v1/requests', body: () => auditRequest({ status: 'closed' }), status: 422, type: 'validation-failed', field: '(body)' },
  { name: 'a kind change on an existing fetcher', method: 'PATCH', path: () => `/v1/fetchers/${fetcherId}`, body: () => ({ kind: 'custom' }), status: 422, type: 'validation-failed', field: '(body)' },

  // IP ranges
  { name: 'a reversed IP range', path: () => '/v1/fetchers', body: () => hld({ ips: '10.0.0.9-10.0.0.1' }), status: 422, type: 'validation-failed', field: 'filters.ips' },
  { name: 'an IP with an octet over 255', path: () => '/v1/fetchers', body: () => hld({ ips: '300.1.1.1' }), status: 422, type: 'validation-failed', field: 'filters.ips' },
  { name: 'a /33 prefix', path: () => '/v1/fetchers', body: () => hld({ ips: '10.0.0.1/33' }), status: 422, type: 'validation-failed', field: 'filters.ips' },
  { name: 'an IPv6 range', path: () => '/v1/fetchers', body: () => hld({ ips: '2001:db8::1-2001:db8::9' }), status: 422, type: 'validation-failed', field: 'filters.ips' },
  { name: 'an empty entry between commas', path: () => '/v1/fetchers', body: () => hld({ ips: '10.0.0.1,,10.0.0.2' }), status: 422, type: 'validation-failed', field: 'filters.ips' },

  // Custom endpoints that would leave the connection's API server or its API
  { name: 'a path traversal', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/../../etc/passwd' }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: 'an encoded path traversal', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/%2e%2e/%2e%2e/etc/passwd' }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: 'a full URL', path: () => '/v1/fetchers', body: () => custom({ endpoint: 'https://evil.example/api/2.0/fo/scan/' }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: 'a scheme-relative URL', path: () => '/v1/fetchers', body: () => custom({ endpoint: '//evil.example/api/2.0/fo/scan/' }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: 'a backslash host', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/\\evil.example/api/' }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: 'a newline in the endpoint', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/\r\nHost: evil.example' }), status: 422, type: 'validation-failed', field: 'request.endpoint' },
  { name: 'an endpoint in a fetcher update', method: 'PATCH', path: () => `/v1/fetchers/${fetcherId}`, body: () => ({ filters: { extraParams: { action: 'purge' } } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },

  // Parameter injection into what Qualys receives
  { name: 'action in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { action: 'purge' } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },
  { name: 'output_format in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { output_format: 'CSV_NO_METADATA' } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },
  { name: 'truncation_limit in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { truncation_limit: 0 } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },
  { name: 'id_min in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { id_min: 1 } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },
  { name: 'a name with & and = in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { 'qids&action': 'purge' } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },
  { name: 'a name with a newline in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { 'qids\naction': 'purge' } }), status: 422, type: 'validation-failed', field: 'filters.extraParams' },
  { name: 'a nested object in extraParams', path: () => '/v1/fetchers', body: () => hld({ extraParams: { qids: { $gt: 1 } } }), status: 422, type: 'validation-failed', field: 'filters.extraParams.qids' },
  { name: 'password in custom params', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/', params: { password: 'x' } }), status: 422, type: 'validation-failed', field: 'request.params' },
  { name: 'id_min in custom params', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/', params: { id_min: 5 } }), status: 422, type: 'validation-failed', field: 'request.params' },
  { name: 'a name with & and = in custom params', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/', params: { 'a&action=purge': '1' } }), status: 422, type: 'validation-failed', field: 'request.params' },
  { name: 'a name with a newline in custom params', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/', params: { 'state\r\nX-Evil': '1' } }), status: 422, type: 'validation-failed', field: 'request.params' },
  { name: 'a NUL in custom params', path: () => '/v1/fetchers', body: () => custom({ endpoint: '/api/2.0/fo/scan/', params: { state: 'Finished\u0000' } }), status: 422, type: 'validation-failed', field: 'request.params.state' },
  { name: 'a NUL in a request title', path: () => '/v1/requests', body: () => auditRequest({ title: 'Q1\u0000' }), status: 422, type: 'validation-failed', field: 'title' },
  { name: 'a NUL in a control id', path: () => '/v1/requests', body: () => auditRequest({ controlIds: ['\u0000'] }), status: 422, type: 'validation-failed', field: 'controlIds.0' },
  { name: 'a NUL in a connection id', path: () => '/v1/fetchers', body: () => hld({}, { connectionId: 'a\u0000' }), status: 422, type: 'validation-failed', field: 'connectionId' },
  { name: 'a NUL in a path id', method: 'PATCH', path: () => '/v1/fetchers/%00', body: () => ({ name: 'x' }), status: 422, type: 'validation-failed', field: 'param.id' },
  { name: 'a NUL in a proxy URL', path: () => '/v1/connections', body: () => connectionBody({ proxyUrl: 'http://proxy:3128/\u0000' }), status: 422, type: 'validation-failed', field: 'proxyUrl' },
  { name: 'a NUL in a connection username', path: () => '/v1/connections', body: () => connectionBody({ username: 'demo\u0000' }), status: 422, type: 'validation-failed', field: 'username' },

  // Not JSON
  { name: 'invalid JSON text', path: () => '/v1/requests', rawBody: '{"title": "unterminated', headers: { 'content-type': 'application/json' }, status: 400, type: 'malformed-request' },
  { name: 'a text/plain body', path: () => '/v1/requests', rawBody: 'title=x', headers: { 'content-type': 'text/plain' }, status: 415, type: 'unsupported-media-type' },
  { name: 'a form body', path: () => '/v1/connections', rawBody: 'name=x&password=y', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, type: 'unsupported-media-type' },
  { name: 'JSON labelled as XML', path: () => '/v1/requests', rawBody: '{"title":"x"}', headers: { 'content-type': 'application/xml' }, status: 415, type: 'unsupported-media-type' },
];

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false });
  controlId = (await findControl(stack.run.database.db, FRAMEWORKS.PCI_DSS, '11.2'))!.id;
  connectionId = (await api('POST', '/v1/connections', { body: { name: 'sim', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' } })).body.id;
  fetcherId = (await api('POST', '/v1/fetchers', { body: { kind: 'host_list_detection', connectionId, name: 'existing' } })).body.id;
  requestId = (await api('POST', '/v1/requests', { body: auditRequest({ title: 'existing' }) })).body.id;
  expect([connectionId, fetcherId, requestId].every(Boolean)).toBe(true);
});

afterAll(async () => {
  await stack?.close();
});

describe('hostile input', () => {
  it.each(CASES)('$name: $status problem naming what is wrong, nothing stored', async (c) => {
    const before = await rowCounts();
    const fetcherBefore = (await api('GET', `/v1/fetchers/${fetcherId}`)).body;
    const res = c.large
      ? await postLarge(c.path(), c.body!())
      : await api(c.method ?? 'POST', c.path(), {
          ...(c.body ? { body: c.body() } : {}),
          ...(c.rawBody !== undefined ? { rawBody: c.rawBody } : {}),
          headers: c.headers ?? (c.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
        }).then((r) => ({ status: r.status, contentType: r.headers.get('content-type') ?? '', body: r.body }));
    expect(res.status).toBe(c.status);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: `/problems/${c.type}`, status: c.status });
    expect(res.body.detail).toEqual(expect.any(String));
    if (c.field) {
      const errors = res.body.errors as Array<{ field: string; reason: string }>;
      expect(errors.map((e) => e.field)).toContain(c.field);
      for (const error of errors) expect(error.reason.length).toBeGreaterThan(3);
    }
    expect(await rowCounts()).toEqual(before);
    expect((await api('GET', `/v1/fetchers/${fetcherId}`)).body).toEqual(fetcherBefore);
  });

  it('never echoes a huge value back', async () => {
    const res = await api('POST', '/v1/connections', { body: connectionBody({ name: 'n'.repeat(100_000) }) });
    expect(res.status).toBe(422);
    expect(res.text.length).toBeLessThan(2_000);
  });

  it('keeps values with & and = as data: they reach Qualys encoded, as one parameter', async () => {
    const res = await api('POST', '/v1/fetchers', {
      body: custom({ endpoint: '/api/2.0/fo/scan/?action=list', params: { scan_ref: 'scan/1&action=purge=1' } }),
    });
    expect(res.status).toBe(201);
    expect(res.body.request.params).toEqual({ scan_ref: 'scan/1&action=purge=1' });
  });
});
