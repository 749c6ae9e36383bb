/**
 * The two routes the console needs beyond the rest of the API, over real
 * HTTP against the simulator: GET /v1/me (the key's own role, so the page
 * shows only what it may do) and POST /v1/connections/check (Qualys's
 * verdict on credentials before anything is saved).
 */
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../db/schema.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
const connectionCount = async () => (await stack.run.database.db.select({ n: count() }).from(connections))[0]!.n;

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false });
});
afterAll(async () => {
  await stack?.close();
});

describe('GET /v1/me', () => {
  it("tells each key its own name and role, never its token", async () => {
    const admin = await stack.request('GET', '/v1/me');
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ name: 'test-admin', role: 'admin', revokedAt: null });
    const auditor = await stack.request('GET', '/v1/me', { token: stack.auditorToken });
    expect(auditor.body).toMatchObject({ name: 'test-auditor', role: 'auditor' });
    expect(auditor.text).not.toContain(stack.auditorToken);
    expect(auditor.body).not.toHaveProperty('token');
    expect(auditor.body).not.toHaveProperty('tokenHash');
  });

  it('needs a key', async () => {
    const res = await stack.request('GET', '/v1/me', { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ type: '/problems/unauthenticated' });
  });
});

describe('POST /v1/connections/check', () => {
  const body = (overrides: Record<string, unknown> = {}) => ({ apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass', ...overrides });

  it("answers Qualys's acceptance with the account's limits and stores nothing", async () => {
    const before = await connectionCount();
    const res = await stack.request('POST', '/v1/connections/check', { body: body({ apiVersion: '2.0' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'valid', platform: null, apiBaseUrl: stack.run.sim.url, apiVersion: '2.0', username: 'demo' });
    expect(res.body.limits.rateLimit).toBeGreaterThan(0);
    expect(res.body.limits.concurrencyLimit).toBeGreaterThan(0);
    expect(Date.parse(res.body.checkedAt)).not.toBeNaN();
    expect(res.text).not.toContain('demo-pass');
    expect(await connectionCount()).toBe(before);
  });

  it("answers a refusal with Qualys's reason, code and text, and stores nothing", async () => {
    const before = await connectionCount();
    const res = await stack.request('POST', '/v1/connections/check', { body: body({ password: 'wrong-password' }) });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: '/problems/qualys-rejected', reason: 'bad_credentials', qualysCode: 2000, qualysText: 'Bad Login/Password' });
    expect(res.text).not.toContain('wrong-password');
    expect(await connectionCount()).toBe(before);
    expect(stack.logLines.join('\n')).not.toContain('wrong-password');
  });

  it('names each bad field, including a name the check does not take', async () => {
    const res = await stack.request('POST', '/v1/connections/check', { body: { platform: 'US9', username: '', password: '', name: 'x', apiVersion: '9.0' } });
    expect(res.status).toBe(422);
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['(body)', 'apiVersion', 'password', 'platform', 'username']);
    const both = await stack.request('POST', '/v1/connections/check', { body: body({ platform: 'US1' }) });
    expect(both.body.errors).toEqual([{ field: 'platform', reason: 'give either platform or apiBaseUrl, not both' }]);
  });

  it('is for administrators only and is in the OpenAPI document', async () => {
    const res = await stack.request('POST', '/v1/connections/check', { token: stack.auditorToken, body: body() });
    expect(res.status).toBe(403);
    const doc = (await stack.request('GET', '/openapi.json', { token: null })).body;
    expect(doc.paths['/v1/connections/check'].post.summary).toBe('Check credentials with Qualys without saving them');
    expect(doc.paths['/v1/me'].get.summary).toBe('The API key making this request');
  });
});
