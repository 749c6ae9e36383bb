/**
 * The API's /metrics over real HTTP: requests counted and timed under the
 * route pattern they matched (not the raw path), the API's own Qualys calls
 * counted by answer, and the scrape guarded by METRICS_TOKEN when one is set.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNMATCHED_ROUTE } from '../api/metrics.js';
import { createMetrics } from '../runtime/metrics.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { parseExposition, sumOf } from './support/prometheus-text.js';

const METRICS_TOKEN = 'scrape-token-0123456789';
let stack: ApiStack;

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false, metrics: createMetrics(), metricsToken: METRICS_TOKEN });
});
afterAll(async () => {
  await stack?.close();
});

async function scrape() {
  const res = await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('API metrics', () => {
  it('counts requests by method, route pattern and status, with latency histograms', async () => {
    const before = await scrape();
    const count = (samples: typeof before, labels: Record<string, string>) => sumOf(samples, 'qec_api_requests_total', labels);

    expect((await stack.request('GET', '/v1/connections')).status).toBe(200);
    expect((await stack.request('GET', '/v1/connections', { token: null })).status).toBe(401);
    expect((await stack.request('GET', `/v1/runs/${randomUUID()}`)).status).toBe(404);
    expect((await stack.request('GET', `/v1/runs/${randomUUID()}`)).status).toBe(404);
    expect((await stack.request('GET', `/no/such/${randomUUID()}`)).status).toBe(404);

    const after = await scrape();
    const moved = (labels: Record<string, string>) => count(after, labels) - count(before, labels);
    expect(moved({ method: 'GET', route: '/v1/connections', status: '200' })).toBe(1);
    // Refused before the route's handler ran, yet counted under the route it asked for.
    expect(moved({ method: 'GET', route: '/v1/connections', status: '401' })).toBe(1);
    // Two different ids, one series: the pattern is the label, never the raw path.
    expect(moved({ method: 'GET', route: '/v1/runs/:id', status: '404' })).toBe(2);
    expect(moved({ method: 'GET', route: UNMATCHED_ROUTE, status: '404' })).toBe(1);
    expect(after.some((s) => s.labels.route?.includes('/no/such') || /\/v1\/runs\/[0-9a-f]{8}-/.test(s.labels.route ?? ''))).toBe(false);

    const histogram = (samples: typeof before, suffix: string) => sumOf(samples, `qec_api_request_duration_seconds${suffix}`, { method: 'GET', route: '/v1/runs/:id' });
    expect(histogram(after, '_count') - histogram(before, '_count')).toBe(2);
    expect(histogram(after, '_sum')).toBeGreaterThan(histogram(before, '_sum'));
    expect(sumOf(after, 'qec_api_request_duration_seconds_bucket', { method: 'GET', route: '/v1/runs/:id', le: '+Inf' })).toBe(histogram(after, '_count'));
  });

  it("counts the API's own Qualys calls by answer", async () => {
    const endpoint = '/api/5.0/fo/asset/host/vm/detection/';
    const answers = (samples: Awaited<ReturnType<typeof scrape>>, labels: Record<string, string>) => sumOf(samples, 'qec_qualys_answers_total', { endpoint, ...labels });
    const before = await scrape();

    const body = { name: 'Simulator', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' };
    expect((await stack.request('POST', '/v1/connections', { body })).status).toBe(201);
    const refused = await stack.request('POST', '/v1/connections', { body: { ...body, password: 'wrong-password' } });
    expect(refused.status).toBe(422);

    const after = await scrape();
    expect(answers(after, { http_status: '200', qualys_code: 'none', result: 'ok' }) - answers(before, { http_status: '200', result: 'ok' })).toBe(1);
    expect(answers(after, { http_status: '401', result: 'auth' }) - answers(before, { http_status: '401', result: 'auth' })).toBe(1);
    expect(sumOf(after, 'qec_qualys_answer_duration_seconds_count', { endpoint }) - sumOf(before, 'qec_qualys_answer_duration_seconds_count', { endpoint })).toBe(2);
    expect(sumOf(after, 'qec_api_requests_total', { method: 'POST', route: '/v1/connections', status: '422' })).toBe(1);
  });

  it('serves /metrics only with the metrics token when one is set, and outside API-key auth', async () => {
    const anonymous = await fetch(`${stack.baseUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await anonymous.json()).toMatchObject({ type: '/problems/unauthenticated', status: 401 });
    // An API key is not the metrics token.
    const withApiKey = await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(withApiKey.status).toBe(401);
    const scraped = await scrape();
    expect(sumOf(scraped, 'qec_api_requests_total', { route: '/metrics', status: '401' })).toBeGreaterThanOrEqual(2);
  });
});
