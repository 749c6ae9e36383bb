/**
 * Authentication and roles over real HTTP: 401 without a valid key, 403 for
 * auditors on every admin-only route, the key lifecycle through the API
 * (token shown once, revocation effective at once, the last admin key kept),
 * and the `keys` command on its own embedded database.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeKeepingAnAdmin } from '../api/api-key-revocation.js';
import { createApiKey } from '../db/api-keys.js';
import { generateApiToken } from '../security/api-tokens.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';
import { freshPgliteDir } from './support/pglite-template.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

let stack: ApiStack;

const api = (method: string, path: string, options: Parameters<ApiStack['request']>[2] = {}) => stack.request(method, path, options);

function expectProblem(res: Awaited<ReturnType<typeof api>>, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.type).toBe(`/problems/${type}`);
}

const ID = '00000000-0000-4000-8000-000000000000';

/**
 * Every route that changes what runs or who may call: connections, fetchers,
 * mappings, schedules, keys, webhooks, and audit request definitions.
 */
const ADMIN_ONLY: Array<[string, string]> = [
  ['POST', '/v1/connections'],
  ['PATCH', `/v1/connections/${ID}`],
  ['POST', `/v1/connections/${ID}/check`],
  ['DELETE', `/v1/connections/${ID}`],
  ['POST', '/v1/fetchers'],
  ['PATCH', `/v1/fetchers/${ID}`],
  ['DELETE', `/v1/fetchers/${ID}`],
  ['PUT', `/v1/fetchers/${ID}/controls`],
  ['PUT', `/v1/fetchers/${ID}/requests`],
  ['POST', '/v1/requests'],
  ['PATCH', `/v1/requests/${ID}`],
  ['POST', `/v1/requests/${ID}/close`],
  ['PUT', `/v1/requests/${ID}/controls`],
  ['POST', `/v1/fetchers/${ID}/schedules`],
  ['POST', `/v1/schedules/${ID}/pause`],
  ['POST', `/v1/schedules/${ID}/resume`],
  ['POST', `/v1/schedules/${ID}/trigger`],
  ['POST', `/v1/schedules/${ID}/backfill`],
  ['DELETE', `/v1/schedules/${ID}`],
  ['POST', '/v1/webhooks'],
  ['GET', '/v1/webhooks'],
  ['GET', `/v1/webhooks/${ID}`],
  ['PATCH', `/v1/webhooks/${ID}`],
  ['DELETE', `/v1/webhooks/${ID}`],
  ['GET', `/v1/webhooks/${ID}/deliveries`],
  ['POST', '/v1/api-keys'],
  ['GET', '/v1/api-keys'],
  ['DELETE', `/v1/api-keys/${ID}`],
];

/** Routes every key may use: reading, and running fetchers. */
const ANY_KEY: Array<[string, string]> = [
  ['GET', '/v1/connections'],
  ['GET', `/v1/connections/${ID}`],
  ['GET', `/v1/connections/${ID}/asset-groups`],
  ['GET', `/v1/connections/${ID}/search-lists`],
  ['GET', '/v1/fetchers'],
  ['GET', `/v1/fetchers/${ID}`],
  ['GET', '/v1/controls'],
  ['GET', `/v1/controls/${ID}`],
  ['GET', `/v1/controls/${ID}/evidence`],
  ['GET', '/v1/requests'],
  ['GET', `/v1/requests/${ID}`],
  ['GET', `/v1/requests/${ID}/evidence`],
  ['POST', `/v1/fetchers/${ID}/runs`],
  ['GET', '/v1/runs'],
  ['GET', `/v1/runs/${ID}`],
  ['GET', '/v1/evidence'],
  ['GET', `/v1/evidence/${ID}`],
];

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false });
});

afterAll(async () => {
  await stack?.close();
});

describe('authentication', () => {
  it('answers 401 with a Bearer challenge when no key is sent', async () => {
    for (const [method, route] of [...ADMIN_ONLY, ...ANY_KEY]) {
      const res = await api(method, route, { token: null, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expectProblem(res, 401, 'unauthenticated');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="qualys-connector"');
    }
  });

  it('answers 401 for a malformed header, an unknown key and a revoked key', async () => {
    expectProblem(await api('GET', '/v1/controls', { token: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, 'unauthenticated');
    const unknown = await api('GET', '/v1/controls', { token: generateApiToken() });
    expectProblem(unknown, 401, 'unauthenticated');
    expect(unknown.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expectProblem(await api('GET', '/v1/controls', { token: 'qec_short' }), 401, 'unauthenticated');

    const { apiKey, token } = await createApiKey(stack.run.database.db, { name: 'soon revoked', role: 'auditor' });
    expect((await api('GET', '/v1/controls', { token })).status).toBe(200);
    expect((await api('DELETE', `/v1/api-keys/${apiKey.id}`)).status).toBe(200);
    expectProblem(await api('GET', '/v1/controls', { token }), 401, 'unauthenticated');
  });
});

describe('roles', () => {
  it.each(ADMIN_ONLY)('%s %s refuses auditors with 403 and lets admins through', async (method, route) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : {};
    const auditor = await api(method, route, { token: stack.auditorToken, body });
    expectProblem(auditor, 403, 'forbidden');
    expect(auditor.body.detail).toContain('admin');
    // Past the role check the admin meets the route itself: a 404 for the made-up id, a 422 for the empty body…
    const admin = await api(method, route, { token: stack.adminToken, body });
    expect([401, 403]).not.toContain(admin.status);
    expect(admin.body.detail ?? '').not.toMatch(/no route/);
  });

  it.each(ANY_KEY)('%s %s is open to auditors', async (method, route) => {
    const res = await api(method, route, { token: stack.auditorToken, body: method === 'POST' ? {} : undefined });
    expect([401, 403]).not.toContain(res.status);
    expect(res.body.detail ?? '').not.toMatch(/no route/);
  });
});

describe('API keys through the API', () => {
  it('creates a key whose token is shown once, lists keys without tokens, and revokes at once', async () => {
    const created = await api('POST', '/v1/api-keys', { body: { name: 'grc-sync', role: 'auditor' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'grc-sync', role: 'auditor' });
    expect(created.body.token).toMatch(/^qec_[A-Za-z0-9_-]{43}$/);
    expect(created.body.token.startsWith(created.body.tokenPrefix)).toBe(true);
    const { id, token } = created.body;
    expect((await api('GET', '/v1/requests', { token })).status).toBe(200);
    expectProblem(await api('POST', '/v1/api-keys', { token, body: { name: 'escalate', role: 'admin' } }), 403, 'forbidden');

    const list = await api('GET', '/v1/api-keys?limit=500');
    expect(list.status).toBe(200);
    const listed = list.body.items.find((k: { id: string }) => k.id === id);
    expect(listed).toEqual({ id, name: 'grc-sync', role: 'auditor', tokenPrefix: created.body.tokenPrefix, createdAt: created.body.createdAt, lastUsedAt: expect.any(String), revokedAt: null });
    expect(list.text).not.toContain(token);
    expect(list.text).not.toMatch(/tokenHash|token_hash/);

    const revoked = await api('DELETE', `/v1/api-keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    expect(revoked.text).not.toContain(token);
    expectProblem(await api('GET', '/v1/requests', { token }), 401, 'unauthenticated');
    expect((await api('DELETE', `/v1/api-keys/${id}`)).body.revokedAt).toBe(revoked.body.revokedAt);
    expect(stack.logLines.filter((line) => line.includes(token))).toEqual([]);
  });

  it.each([
    [{ name: 'x', role: 'owner' }, 'role'],
    [{ role: 'admin' }, 'name'],
    [{ name: '', role: 'admin' }, 'name'],
    [{ name: 'n'.repeat(101), role: 'admin' }, 'name'],
    [{ name: 'x', role: 'admin', token: 'mine' }, '(body)'],
  ])('refuses %j with 422', async (body, field) => {
    const res = await api('POST', '/v1/api-keys', { body });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('404s for unknown keys', async () => {
    expectProblem(await api('DELETE', `/v1/api-keys/${randomUUID()}`), 404, 'not-found');
  });
});

describe('the last admin key', () => {
  // A stack of its own: earlier tests here create more admin keys.
  let own: ApiStack;

  beforeAll(async () => {
    own = await startApiStack({ startWorker: false });
  });

  afterAll(async () => {
    await own?.close();
  });

  it('cannot be revoked, by itself or by another admin', async () => {
    const [only] = (await own.request('GET', '/v1/api-keys')).body.items.filter((k: { role: string }) => k.role === 'admin');
    const lonely = await own.request('DELETE', `/v1/api-keys/${only.id}`);
    expectProblem(lonely, 409, 'conflict');
    expect(lonely.body.detail).toMatch(/last live admin key/);

    const second = await own.request('POST', '/v1/api-keys', { body: { name: 'second admin', role: 'admin' } });
    expect(second.status).toBe(201);
    expect((await own.request('DELETE', `/v1/api-keys/${only.id}`, { token: second.body.token })).status).toBe(200);
    expectProblem(await own.request('DELETE', `/v1/api-keys/${second.body.id}`, { token: second.body.token }), 409, 'conflict');
    expect((await own.request('GET', '/v1/api-keys', { token: second.body.token })).status).toBe(200);
  });

  it('survives two admins revoking each other at the same moment', async () => {
    const db = own.run.database.db;
    const a = await createApiKey(db, { name: 'racer a', role: 'admin' });
    const b = await createApiKey(db, { name: 'racer b', role: 'admin' });
    // Revoke every other live admin first, so a and b are the only two.
    const others = (await own.request('GET', '/v1/api-keys?limit=500', { token: a.token })).body.items.filter(
      (k: { id: string; role: string; revokedAt: string | null }) => k.role === 'admin' && !k.revokedAt && k.id !== a.apiKey.id && k.id !== b.apiKey.id,
    );
    for (const other of others) expect((await own.request('DELETE', `/v1/api-keys/${other.id}`, { token: a.token })).status).toBe(200);
    const outcomes = await Promise.all([revokeKeepingAnAdmin(db, a.apiKey.id), revokeKeepingAnAdmin(db, b.apiKey.id)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['last-admin', 'revoked']);
  });
});

describe('npm run keys', () => {
  it('creates a key on its own embedded database, prints the token once, and lists it', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'qec-keys-'));
    await freshPgliteDir(path.join(dataDir, 'pglite'));
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    delete env.DATABASE_URL;
    try {
      const created = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'create', '--role', 'admin', '--name', 'ci'], { cwd: ROOT, env });
      const token = created.stdout.trim();
      expect(token).toMatch(/^qec_[A-Za-z0-9_-]{43}$/);
      expect(created.stderr).toMatch(/Created admin key "ci" .*shown only once/);

      const listed = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'list'], { cwd: ROOT, env });
      expect(listed.stdout).toMatch(/admin\s+ci\s+qec_/);
      expect(listed.stdout).toContain('active');
      expect(listed.stdout).not.toContain(token);

      const usage = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'create', '--role', 'root', '--name', 'x'], { cwd: ROOT, env }).catch((e: { code: number; stderr: string }) => e);
      expect(usage).toMatchObject({ code: 2 });
      expect((usage as { stderr: string }).stderr).toMatch(/--role must be admin or auditor/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
