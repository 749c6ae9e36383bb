/**
 * /v1/connections over real HTTP: credentials checked with the simulator
 * before anything is stored, Qualys's refusals reported with their reason,
 * rotation, re-checks, disconnecting (schedules paused in Temporal), the
 * picker lists and their cache, and the password never leaving the server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { createConnection, getConnectionCredentials } from '../db/connections.js';
import { ConnectionDisconnectedError } from '../db/errors.js';
import { getFetcher } from '../db/fetchers.js';
import { createSchedule } from '../db/schedules.js';
import { connections } from '../db/schema.js';
import { DEFAULT_EXTRA_USERS } from '../simulator/server.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

const PASSWORD = `Initial-${randomUUID()}`;
const ROTATED = `Rotated-${randomUUID()}`;
const USERNAME = 'api_manager';

let stack: ApiStack;
/** The API on a database of its own, so row counts see only this file's writes. */
/** Every response body of this file, checked at the end for the passwords. */
const bodies: string[] = [];

async function api(method: string, path: string, options: Parameters<ApiStack['request']>[2] = {}) {
  const res = await stack.request(method, path, options);
  bodies.push(res.text);
  return res;
}

const connectionCount = async () => (await stack.run.database.db.select({ n: count() }).from(connections))[0]!.n;

/** A connection stored without a check, as if its password had changed at Qualys since. */
const storedConnection = (password: string) =>
  createConnection(stack.run.database.db, stack.run.secretBox, { name: 'stale', apiBaseUrl: stack.run.sim.url, username: USERNAME, password });

const newConnectionBody = (overrides: Record<string, unknown> = {}) => ({
  name: 'Simulator',
  apiBaseUrl: stack.run.sim.url,
  username: USERNAME,
  password: PASSWORD,
  ...overrides,
});

function expectProblem(res: Awaited<ReturnType<typeof api>>, status: number, type: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.type).toBe(`/problems/${type}`);
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

beforeAll(async () => {
  stack = await startApiStack({
    simulator: {
      users: [
        { username: USERNAME, password: PASSWORD, role: 'Manager' },
        // The same user after a password change at Qualys: both passwords work, so rotation can be observed.
        { username: USERNAME, password: ROTATED, role: 'Manager' },
        ...DEFAULT_EXTRA_USERS,
      ],
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

describe('creating a connection', () => {
  it('checks the credentials with Qualys, stores the connection as valid with the account limits, and never returns the password', async () => {
    const before = stack.run.sim.stats().byEndpoint.detection ?? 0;
    const res = await api('POST', '/v1/connections', { body: newConnectionBody({ apiVersion: '4.0' }) });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/connections/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: 'Simulator',
      platform: null,
      apiBaseUrl: stack.run.sim.url,
      apiVersion: '4.0',
      username: USERNAME,
      proxyUrl: null,
      status: 'valid',
      statusReason: null,
    });
    expect(res.body).not.toHaveProperty('password');
    expect(res.body).not.toHaveProperty('passwordCiphertext');
    expect(Date.parse(res.body.lastCheckedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.limits.rateLimit).toBeGreaterThan(0);
    expect(res.body.limits.concurrencyLimit).toBeGreaterThan(0);
    expect((stack.run.sim.stats().byEndpoint.detection ?? 0) - before).toBe(1);
    expect(stack.run.sim.stats().log.at(-1)!.path).toBe('/api/4.0/fo/asset/host/vm/detection/');

    const stored = await getConnectionCredentials(stack.run.database.db, stack.run.secretBox, res.body.id);
    expect(stored!.password).toBe(PASSWORD);

    const got = await api('GET', `/v1/connections/${res.body.id}`, { token: stack.auditorToken });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    const list = await api('GET', '/v1/connections?limit=500');
    expect(list.status).toBe(200);
    expect(list.body.items.map((c: { id: string }) => c.id)).toContain(res.body.id);
    expect(list.body).toHaveProperty('nextCursor');
  });

  it('pages through the list with a cursor', async () => {
    for (let i = 0; i < 2; i++) expect((await api('POST', '/v1/connections', { body: newConnectionBody({ name: `page ${i}` }) })).status).toBe(201);
    const first = await api('GET', '/v1/connections?limit=1');
    expect(first.body.items).toHaveLength(1);
    const second = await api('GET', `/v1/connections?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    expectProblem(await api('GET', '/v1/connections?cursor=bogus'), 422, 'validation-failed', 'cursor');
    expectProblem(await api('GET', '/v1/connections?limit=0'), 422, 'validation-failed', 'query.limit');
  });

  it.each([
    ['bad_credentials', { password: 'wrong-password' }, 2000],
    ['account_expired', { username: 'expired', password: 'expired-pass' }, 2001],
    ['user_inactive', { username: 'inactive', password: 'inactive-pass' }, 2002],
    ['insufficient_role', { username: 'auditor', password: 'auditor-pass' }, 2012],
  ])('reports a Qualys refusal (%s) as 422 with the reason, and stores nothing', async (reason, credentials, code) => {
    const before = await connectionCount();
    const res = await api('POST', '/v1/connections', { body: newConnectionBody(credentials) });
    expectProblem(res, 422, 'qualys-rejected');
    expect(res.body).toMatchObject({ reason, qualysCode: code });
    expect(typeof res.body.qualysText).toBe('string');
    if (reason === 'bad_credentials') expect(res.body.detail).toMatch(/wrong platform/);
    expect(await connectionCount()).toBe(before);
  });

  it('answers 502 when Qualys cannot be reached, and stores nothing', async () => {
    const before = await connectionCount();
    const closed = new URL(stack.run.sim.url);
    closed.port = '1';
    const res = await api('POST', '/v1/connections', { body: newConnectionBody({ apiBaseUrl: closed.origin }) });
    expectProblem(res, 502, 'qualys-unavailable');
    expect(await connectionCount()).toBe(before);
  });

  it.each([
    ['neither platform nor apiBaseUrl', { apiBaseUrl: undefined }, 'apiBaseUrl'],
    ['both platform and apiBaseUrl', { platform: 'US1' }, 'platform'],
    ['an unknown platform', { apiBaseUrl: undefined, platform: 'XX9' }, 'platform'],
    ['plain http to a remote host', { apiBaseUrl: 'http://qualysapi.qualys.com' }, 'apiBaseUrl'],
    ['another protocol', { apiBaseUrl: 'ftp://qualysapi.qualys.com' }, 'apiBaseUrl'],
    ['credentials in the URL', { apiBaseUrl: 'https://user:pw@qualysapi.qualys.com' }, 'apiBaseUrl'],
    ['not a URL', { apiBaseUrl: 'qualys api' }, 'apiBaseUrl'],
    ['an unknown API version', { apiVersion: '6.0' }, 'apiVersion'],
    ['no username', { username: undefined }, 'username'],
    ['an empty password', { password: '' }, 'password'],
    ['a name too long', { name: 'n'.repeat(201) }, 'name'],
    ['a proxy with credentials', { proxyUrl: 'http://user:secret@proxy.internal:3128' }, 'proxyUrl'],
    ['a proxy that is not a URL', { proxyUrl: 'proxy:3128' }, 'proxyUrl'],
    ['an unknown field', { region: 'eu' }, '(body)'],
    ['a number for the name', { name: 42 }, 'name'],
  ])('refuses %s with 422 naming the field, without calling Qualys', async (_case, overrides, field) => {
    const before = stack.run.sim.stats().requests;
    const rows = await connectionCount();
    const res = await api('POST', '/v1/connections', { body: newConnectionBody(overrides) });
    expectProblem(res, 422, 'validation-failed', field);
    expect(stack.run.sim.stats().requests).toBe(before);
    expect(await connectionCount()).toBe(rows);
  });

  it('needs an admin key', async () => {
    expectProblem(await api('POST', '/v1/connections', { token: stack.auditorToken, body: newConnectionBody() }), 403, 'forbidden');
    expectProblem(await api('POST', '/v1/connections', { token: null, body: newConnectionBody() }), 401, 'unauthenticated');
  });
});

describe('changing a connection', () => {
  let id: string;

  beforeAll(async () => {
    id = (await api('POST', '/v1/connections', { body: newConnectionBody({ name: 'to change' }) })).body.id;
  });

  it('renames without calling Qualys', async () => {
    const before = stack.run.sim.stats().requests;
    const res = await api('PATCH', `/v1/connections/${id}`, { body: { name: 'renamed' } });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('renamed');
    expect(stack.run.sim.stats().requests).toBe(before);
  });

  it('rotates the password after Qualys accepted it', async () => {
    const res = await api('PATCH', `/v1/connections/${id}`, { body: { password: ROTATED } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('valid');
    expect((await getConnectionCredentials(stack.run.database.db, stack.run.secretBox, id))!.password).toBe(ROTATED);
  });

  it('changes nothing when Qualys refuses the new credentials', async () => {
    const before = (await api('GET', `/v1/connections/${id}`)).body;
    const res = await api('PATCH', `/v1/connections/${id}`, { body: { name: 'must not stick', password: 'not-the-password' } });
    expectProblem(res, 422, 'qualys-rejected');
    expect(res.body.reason).toBe('bad_credentials');
    expect((await api('GET', `/v1/connections/${id}`)).body).toEqual(before);
    expect((await getConnectionCredentials(stack.run.database.db, stack.run.secretBox, id))!.password).toBe(ROTATED);
  });

  it('re-checks a version change with the stored password', async () => {
    const res = await api('PATCH', `/v1/connections/${id}`, { body: { apiVersion: '2.0' } });
    expect(res.status).toBe(200);
    expect(res.body.apiVersion).toBe('2.0');
    expect(stack.run.sim.stats().log.at(-1)!.path).toBe('/api/2.0/fo/asset/host/vm/detection/');
  });

  it('refuses a version change that a fetcher of the connection cannot run on', async () => {
    const fetcher = await api('POST', '/v1/fetchers', {
      // arf_service_filter exists only on Qualys API 2.0.
      body: { kind: 'host_list_detection', connectionId: id, name: 'service filter', filters: { extraParams: { arf_service_filter: 1 } } },
    });
    expect(fetcher.status).toBe(201);
    const res = await api('PATCH', `/v1/connections/${id}`, { body: { apiVersion: '5.0' } });
    expectProblem(res, 422, 'validation-failed', 'apiVersion');
    expect(res.body.errors[0].reason).toContain('service filter');
    expect((await api('GET', `/v1/connections/${id}`)).body.apiVersion).toBe('2.0');
    expect((await api('DELETE', `/v1/fetchers/${fetcher.body.id}`)).status).toBe(204);
    expect((await api('PATCH', `/v1/connections/${id}`, { body: { apiVersion: '5.0' } })).status).toBe(200);
  });

  it.each([
    [{ password: 7 }, 'password'],
    [{ apiBaseUrl: 'https://elsewhere.example' }, '(body)'],
    [{ proxyUrl: 'socks5://proxy:1080' }, 'proxyUrl'],
    [{ name: '   ' }, 'name'],
  ])('refuses %j with 422', async (body, field) => {
    expectProblem(await api('PATCH', `/v1/connections/${id}`, { body }), 422, 'validation-failed', field);
  });

  it('is for admins only and 404s for unknown ids', async () => {
    expectProblem(await api('PATCH', `/v1/connections/${id}`, { token: stack.auditorToken, body: { name: 'x' } }), 403, 'forbidden');
    expectProblem(await api('PATCH', `/v1/connections/${randomUUID()}`, { body: { name: 'x' } }), 404, 'not-found');
  });
});

describe('checking a stored connection', () => {
  it('records valid with fresh limits', async () => {
    const { id } = (await api('POST', '/v1/connections', { body: newConnectionBody({ name: 'to check' }) })).body;
    const before = (await api('GET', `/v1/connections/${id}`)).body.lastCheckedAt;
    const res = await api('POST', `/v1/connections/${id}/check`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('valid');
    expect(Date.parse(res.body.lastCheckedAt)).toBeGreaterThan(Date.parse(before));
    expect(res.body.limits.rateRemaining).toEqual(expect.any(Number));
  });

  it('records invalid with the reason when Qualys now refuses the stored password', async () => {
    const stale = await storedConnection('changed-at-qualys');
    const res = await api('POST', `/v1/connections/${stale.id}/check`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('invalid');
    expect(res.body.statusReason).toMatch(/^bad_credentials: /);
  });

  it('is for admins only and 404s for unknown ids', async () => {
    const { id } = (await api('GET', '/v1/connections?limit=1')).body.items[0];
    expectProblem(await api('POST', `/v1/connections/${id}/check`, { token: stack.auditorToken }), 403, 'forbidden');
    expectProblem(await api('POST', `/v1/connections/${randomUUID()}/check`), 404, 'not-found');
  });
});

describe('picker lists', () => {
  let id: string;

  beforeAll(async () => {
    id = (await api('POST', '/v1/connections', { body: newConnectionBody({ name: 'pickers' }) })).body.id;
  });

  it('lists every asset group and search list of the account, for auditors too', async () => {
    const groups = await api('GET', `/v1/connections/${id}/asset-groups`, { token: stack.auditorToken });
    expect(groups.status).toBe(200);
    expect(groups.body.items).toEqual(stack.run.sim.dataset.assetGroups.map((g) => ({ id: g.id, title: g.title })));
    expect(Date.parse(groups.body.fetchedAt)).toBeGreaterThan(0);
    const lists = await api('GET', `/v1/connections/${id}/search-lists`, { token: stack.auditorToken });
    expect(lists.status).toBe(200);
    expect(lists.body.items).toEqual(stack.run.sim.dataset.searchLists.map((l) => ({ id: l.id, title: l.title })));
  });

  it('serves repeated reads from the cache', async () => {
    const before = stack.run.sim.stats().byEndpoint.assetGroups ?? 0;
    const [a, b] = await Promise.all([api('GET', `/v1/connections/${id}/asset-groups`), api('GET', `/v1/connections/${id}/asset-groups`)]);
    expect(a.body).toEqual(b.body);
    expect(stack.run.sim.stats().byEndpoint.assetGroups ?? 0).toBe(before);
  });

  it('reports Qualys refusing the stored credentials and marks the connection invalid', async () => {
    const stale = await storedConnection('changed-at-qualys');
    const res = await api('GET', `/v1/connections/${stale.id}/search-lists`);
    expectProblem(res, 422, 'qualys-rejected');
    expect(res.body.reason).toBe('bad_credentials');
    expect((await api('GET', `/v1/connections/${stale.id}`)).body.status).toBe('invalid');
  });

  it('404s for unknown connections and needs a key', async () => {
    expectProblem(await api('GET', `/v1/connections/${randomUUID()}/asset-groups`), 404, 'not-found');
    expectProblem(await api('GET', `/v1/connections/${id}/asset-groups`, { token: null }), 401, 'unauthenticated');
  });
});

describe('the subscription\'s budget', () => {
  it('shows the limits runs learned, the reserve, and the calls in use, for auditors too', async () => {
    const connection = await storedConnection(PASSWORD);
    const path = `/v1/connections/${connection.id}/limits`;
    stack.deps.qualys = { concurrencyReserve: 3 };
    const before = await api('GET', path, { token: stack.auditorToken });
    expect(before.status).toBe(200);
    expect(before.body.subscriptionId).toMatch(/^[0-9a-f]{64}$/);
    expect(before.body.concurrency).toEqual({ limit: null, reserve: 3, slots: 1, inUse: 0, waiting: 0 });

    const fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 100 });
    // Pages trickle, so a call is seen holding its slot.
    stack.run.sim.configure({ faults: { slowBodyBytesPerSec: 50_000, endpoints: ['detection'] } });
    const run = await stack.run.startRun(fetcher);
    await expect.poll(async () => (await api('GET', path)).body.concurrency.inUse, { timeout: 20_000, interval: 50 }).toBe(1);
    stack.run.sim.configure({ faults: { slowBodyBytesPerSec: 0 } });
    await stack.run.client.workflow.getHandle(`run-${run.id}`).result();

    const after = await api('GET', path);
    // The simulator's subscription allows 10 calls at once; 3 are left to other tools.
    expect(after.body.concurrency).toEqual({ limit: 10, reserve: 3, slots: 7, inUse: 0, waiting: 0 });
    expect(after.body.rate).toMatchObject({ limit: 100_000, windowSec: 3600, observedAt: expect.any(String) });
    expect(after.body.rate.remaining).toBeGreaterThan(99_000);
    expect(after.body.rate.remaining).toBeLessThan(100_000);
    expect((await api('GET', `/v1/connections/${randomUUID()}/limits`)).status).toBe(404);
  });
});

describe('disconnecting', () => {
  it('erases the secret, disables the fetchers, pauses their schedules in Temporal, and can be undone with new credentials', async () => {
    const { id } = (await api('POST', '/v1/connections', { body: newConnectionBody({ name: 'to disconnect' }) })).body;
    const fetcher = (await api('POST', '/v1/fetchers', { body: { kind: 'host_list_detection', connectionId: id, name: 'scheduled' } })).body;
    const scheduleId = `test-disconnect-${randomUUID()}`;
    await stack.run.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: 'fetcherRun', taskQueue: stack.run.taskQueue, args: [{ fetcherId: fetcher.id, trigger: 'schedule' }] },
    });
    await createSchedule(stack.run.database.db, { fetcherId: fetcher.id, temporalScheduleId: scheduleId, spec: { intervals: ['1 day'] } });
    // A mirror row whose Temporal schedule is already gone must not stop the disconnect.
    await createSchedule(stack.run.database.db, { fetcherId: fetcher.id, temporalScheduleId: `gone-${randomUUID()}`, spec: {} });

    const res = await api('DELETE', `/v1/connections/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'disconnected' });
    const described = await stack.run.client.schedule.getHandle(scheduleId).describe();
    expect(described.state.paused).toBe(true);
    expect(described.state.note).toBe('connection disconnected');
    expect((await getFetcher(stack.run.database.db, fetcher.id))!.enabled).toBe(false);
    await expect(getConnectionCredentials(stack.run.database.db, stack.run.secretBox, id)).rejects.toBeInstanceOf(ConnectionDisconnectedError);

    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(200);
    expectProblem(await api('GET', `/v1/connections/${id}/asset-groups`), 409, 'conflict');
    expectProblem(await api('POST', `/v1/connections/${id}/check`), 409, 'conflict');
    expectProblem(await api('PATCH', `/v1/connections/${id}`, { body: { username: USERNAME } }), 422, 'validation-failed', 'password');
    expectProblem(await api('PATCH', `/v1/fetchers/${fetcher.id}`, { body: { enabled: true } }), 422, 'validation-failed', 'enabled');

    const reconnected = await api('PATCH', `/v1/connections/${id}`, { body: { password: PASSWORD } });
    expect(reconnected.status).toBe(200);
    expect(reconnected.body.status).toBe('valid');
    await stack.run.client.schedule.getHandle(scheduleId).delete();
  });

  it('is for admins only and 404s for unknown ids', async () => {
    const { id } = (await api('GET', '/v1/connections?limit=1')).body.items[0];
    expectProblem(await api('DELETE', `/v1/connections/${id}`, { token: stack.auditorToken }), 403, 'forbidden');
    expectProblem(await api('DELETE', `/v1/connections/${randomUUID()}`), 404, 'not-found');
    expectProblem(await api('GET', `/v1/connections/${randomUUID()}`), 404, 'not-found');
  });
});

describe('secrets', () => {
  it('never shows a password in any response or log line, the worker\'s included', async () => {
    // The worker reads the shared database, so this run's connection lives there.
    const connection = await stack.run.addConnection({ username: USERNAME, password: PASSWORD });
    const { result } = await stack.run.runToEnd(await stack.run.addHldFetcher(connection, { severities: [5] }));
    expect(result.status).toBe('succeeded');
    expect(stack.run.logLines.length).toBeGreaterThan(0);

    expect(bodies.length).toBeGreaterThan(50);
    for (const secret of [PASSWORD, ROTATED]) {
      expect(bodies.filter((b) => b.includes(secret))).toEqual([]);
      expect(stack.logLines.filter((l) => l.includes(secret))).toEqual([]);
      expect(stack.run.logLines.filter((l) => l.includes(secret))).toEqual([]);
    }
    expect(stack.logLines.some((l) => l.includes('Qualys connection created'))).toBe(true);
  });
});
