/**
 * A schema-driven fuzz of the HTTP API, from its own /openapi.json: for every
 * operation, requests generated from what it documents (positive cases) and
 * requests with one part broken against its schema (negative cases, each
 * checked invalid with Ajv first). Every answer must be documented (status,
 * media type, body schema), none may be a 5xx, a negative case must be
 * refused, and a refused request changes nothing any list endpoint shows.
 *
 * Seeded and bounded (a few cases per operation) to fit the suite; FUZZ_RUNS
 * multiplies the cases, FUZZ_SEED picks another seed (README, "Tests").
 * The worker is stopped once the fixtures exist, so nothing changes on its
 * own while the fuzzer compares lists.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { createApp } from '../api/app.js';
import { is, sql } from 'drizzle-orm';
import { PgTable, getTableConfig } from 'drizzle-orm/pg-core';
import { pino } from 'pino';
import * as schema from '../db/schema.js';
import {
  DocumentValidator,
  SchemaArbitraries,
  documentedMediaType,
  invalidTextValues,
  invalidValues,
  operationsOf,
  pointerOf,
  type FuzzRequest,
  type IdPools,
  type OpenApiDocument,
  type OperationRef,
  type Parameter,
  type Schema,
} from './support/openapi-fuzz.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const SEED = Number(process.env.FUZZ_SEED ?? 9);
const POSITIVE = 5 * RUNS;
const NEGATIVE = 5 * RUNS;

/** The document the routes generate, read without a server so that there is one test per operation. */
async function generatedDocument(): Promise<OpenApiDocument> {
  const app = createApp({ logger: pino({ level: 'silent' }), temporal: {} } as never);
  return (await (await app.request('/openapi.json')).json()) as OpenApiDocument;
}

const DOC = await generatedDocument();
/** Deletions last, so the fixtures they remove serve every other operation first. */
const OPERATIONS = operationsOf(DOC).sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE') || a.template.localeCompare(b.template) || a.method.localeCompare(b.method));

let stack: ApiStack;
let validator: DocumentValidator;
let arbitraries: SchemaArbitraries;
/** Path ids by the collection they belong to (`/v1/<collection>/{id}`). */
const pathPools: IdPools = {};
/** Body and query fields that name rows. */
const fieldPools: IdPools = {};

const name = (ref: OperationRef) => `${ref.method} ${ref.template}`;
const collectionOf = (template: string, param: string) => /\/v1\/([^/]+)\/\{[^}]+\}/.exec(template.slice(0, template.indexOf(`{${param}}`) + param.length + 2))?.[1] ?? '';

async function call(req: FuzzRequest, token = stack.adminToken): Promise<{ status: number; contentType: string | null; text: string; headers: Headers }> {
  const url = new URL(`${stack.baseUrl}${req.path}`);
  for (const [key, value] of Object.entries(req.query)) url.searchParams.set(key, value);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...req.headers };
  let body: string | undefined;
  if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: req.method, headers, body });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text(), headers: res.headers };
}

/** What is wrong with an answer, measured against what the operation documents; empty when nothing is. */
function undocumented(ref: OperationRef, res: Awaited<ReturnType<typeof call>>): string[] {
  const problems: string[] = [];
  // 502 (Qualys unreachable) is documented where the API calls Qualys; an internal error never is.
  if (res.status === 500) problems.push(`answered ${res.status}: ${res.text.slice(0, 300)}`);
  const status = String(res.status);
  const response = ref.op.responses[status] ?? ref.op.responses.default;
  if (!response) return [...problems, `status ${status} is not documented (${res.text.slice(0, 200)})`];
  const media = Object.keys(response.content ?? {});
  if (media.length === 0) {
    if (res.text !== '') problems.push(`status ${status} documents no body, got ${res.contentType}: ${res.text.slice(0, 100)}`);
    return problems;
  }
  const matched = documentedMediaType(media, res.contentType);
  if (!matched) return [...problems, `status ${status} answered ${res.contentType}; documented: ${media.join(', ')}`];
  if (/json/.test(matched)) {
    const pointer = `${ref.pointer}/${pointerOf('responses', status, 'content', matched, 'schema')}`;
    const { ok, errors } = validator.check(pointer, JSON.parse(res.text));
    if (!ok) problems.push(`status ${status} body does not fit its schema: ${errors}; body ${res.text.slice(0, 300)}`);
  }
  return problems;
}

/** Every list endpoint's full answer, without what changes by itself (key use times, freshness by the clock). */
async function listSnapshot(): Promise<string> {
  const lists = OPERATIONS.filter((ref) => ref.method === 'GET' && !ref.template.includes('{') && ref.template.startsWith('/v1/'));
  const pages = await Promise.all(
    lists.map(async (ref) => {
      const limit: Record<string, string> = ref.op.parameters?.some((p) => p.name === 'limit') ? { limit: '500' } : {};
      const res = await call({ method: 'GET', path: ref.template, query: limit, headers: {} });
      return [ref.template, res.status, res.text] as const;
    }),
  );
  return JSON.stringify(pages.map(([path, status, text]) => [path, status, JSON.parse(text, (key, value) => (key === 'lastUsedAt' || key === 'freshness' ? undefined : value))]));
}

const TABLES = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable)).map((table) => getTableConfig(table).name);

/**
 * A digest of every row of every table (key use times left out), taken by the
 * database: what the lists show and more, at a fraction of their cost, so
 * each refused request can be checked on its own.
 */
async function databaseState(): Promise<string> {
  // A start's workflow is launched after the answer; its launch is part of that request, not of the next.
  await stack.deps.runLauncher?.idle();
  const digests = TABLES.map((name) => sql`(select md5(coalesce(string_agg((to_jsonb(t) - 'last_used_at')::text, ',' order by (to_jsonb(t) - 'last_used_at')::text), '')) from ${sql.identifier(name)} t)`);
  // The stack runs on Postgres, whose driver answers with the rows themselves.
  const [row] = (await stack.run.database.db.execute(sql`select concat_ws(',', ${sql.join(digests, sql`, `)}) as state`)) as unknown as Array<{ state: string }>;
  return row!.state;
}

// ------------------------------------------------------------ requests

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_, key: string) => encodeURIComponent(values[key]!));
}

const paramsOf = (ref: OperationRef, where: Parameter['in']) => (ref.op.parameters ?? []).map((p, index) => ({ p, index })).filter(({ p }) => p.in === where);
const bodySchemaOf = (ref: OperationRef): Schema | null => ref.op.requestBody?.content['application/json']?.schema ?? null;
const bodyPointer = (ref: OperationRef) => `${ref.pointer}/${pointerOf('requestBody', 'content', 'application/json', 'schema')}`;

interface Generated {
  path: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

function positiveArb(ref: OperationRef): fc.Arbitrary<Generated> {
  const path = Object.fromEntries(
    paramsOf(ref, 'path').map(({ p }) => {
      const pool = p.name === 'pageNo' ? ['1', '2'] : (pathPools[collectionOf(ref.template, p.name)] ?? []);
      const generated = arbitraries.valid(p.schema).map(textOf);
      return [p.name, pool.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: generated }) : generated];
    }),
  );
  const optional = (where: 'query' | 'header') => {
    const params = paramsOf(ref, where);
    return fc.record(Object.fromEntries(params.map(({ p }) => [p.name, arbitraries.valid(p.schema, p.name).map(textOf)])), {
      requiredKeys: params.filter(({ p }) => p.required).map(({ p }) => p.name),
    }) as fc.Arbitrary<Record<string, string>>;
  };
  const schema = bodySchemaOf(ref);
  const body = schema ? (ref.op.requestBody?.required ? arbitraries.valid(schema) : fc.option(arbitraries.valid(schema), { nil: undefined })) : fc.constant(undefined);
  return fc.record({ path: fc.record(path), query: optional('query'), headers: optional('header'), body });
}

/** Text a path, query or header parameter is compared as, once the API has read it. */
function asParameterValue(schema: Schema, text: string): unknown {
  const types = [schema.type].flat();
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** One part of a valid request broken against its schema, Ajv agreeing it is broken; null when no candidate breaks it. */
function negative(ref: OperationRef, base: Generated, pick: number): { request: Generated; what: string } | null {
  const candidates: Array<() => { request: Generated; what: string } | null> = [];
  const param = (where: 'path' | 'query' | 'header', key: 'path' | 'query' | 'headers') => {
    for (const { p, index } of paramsOf(ref, where)) {
      for (const value of invalidTextValues(arbitraries.resolve(p.schema), where)) {
        candidates.push(() => {
          if (validator.check(`${ref.pointer}/parameters/${index}/schema`, asParameterValue(arbitraries.resolve(p.schema), value)).ok) return null;
          return { request: { ...base, [key]: { ...base[key], [p.name]: value } }, what: `${where} ${p.name} = ${JSON.stringify(value).slice(0, 60)}` };
        });
      }
    }
  };
  param('path', 'path');
  param('query', 'query');
  param('header', 'headers');
  const schema = bodySchemaOf(ref);
  if (schema) {
    const resolved = arbitraries.resolve(schema);
    const body = (base.body ?? {}) as Record<string, unknown>;
    const tryBody = (value: unknown, what: string) => () => (validator.check(bodyPointer(ref), value).ok ? null : { request: { ...base, body: value }, what });
    for (const value of ['text', [body], 42, null]) candidates.push(tryBody(value, `body = ${JSON.stringify(value).slice(0, 40)}`));
    for (const key of (resolved.required ?? []) as string[]) {
      candidates.push(tryBody(Object.fromEntries(Object.entries(body).filter(([k]) => k !== key)), `body without ${key}`));
    }
    if (resolved.additionalProperties === false) candidates.push(tryBody({ ...body, notAField: 1 }, 'body with an unknown field'));
    if (resolved.minProperties) candidates.push(tryBody({}, 'an empty body'));
    for (const [key, property] of Object.entries((resolved.properties ?? {}) as Record<string, Schema>)) {
      for (const value of invalidValues(arbitraries.resolve(property))) candidates.push(tryBody({ ...body, [key]: value }, `body.${key} = ${JSON.stringify(value).slice(0, 60)}`));
    }
  }
  for (let i = 0; i < candidates.length; i++) {
    const found = candidates[(pick + i) % candidates.length]!();
    if (found) return found;
  }
  return null;
}

const toRequest = (ref: OperationRef, g: Generated): FuzzRequest => ({ method: ref.method, path: fill(ref.template, g.path), query: g.query, headers: g.headers, body: g.body });

/** Remembers what positive cases created, so later operations can use it. */
function collect(ref: OperationRef, status: number, text: string): void {
  if (ref.method !== 'POST' || status !== 201 || ref.template.includes('{')) return;
  const id = (JSON.parse(text) as { id?: string }).id;
  const collection = /^\/v1\/([^/]+)$/.exec(ref.template)?.[1];
  if (id && collection && collection !== 'api-keys') (pathPools[collection] ??= []).push(id);
}

// ------------------------------------------------------------ fixtures

beforeAll(async () => {
  stack = await startApiStack({ simulator: { hosts: 30 }, webhookAllowedCidrs: ['127.0.0.1/32'] });
  const post = async (path: string, body: unknown) => {
    const res = await stack.request('POST', path, { body });
    expect(res.status, `${path}: ${res.text}`).toBeLessThan(300);
    return res.body as { id: string };
  };
  const connection = await post('/v1/connections', { name: 'fuzz', apiBaseUrl: stack.run.sim.url, username: 'demo', password: 'demo-pass' });
  const request = await post('/v1/requests', { title: 'fuzz', periodStart: '2026-01-01', periodEnd: '2026-12-31', controlIds: ['pci-dss-v3.2.1:11.2'] });
  const hld = await post('/v1/fetchers', { kind: 'host_list_detection', connectionId: connection.id, name: 'fuzz HLD', pageSize: 10, requestIds: [request.id] });
  const custom = await post('/v1/fetchers', { kind: 'custom', connectionId: connection.id, name: 'fuzz custom', request: { endpoint: '/api/2.0/fo/asset/group/', params: { action: 'list' } } });
  const schedule = await post(`/v1/fetchers/${hld.id}/schedules`, { preset: 'weekly', paused: true });
  const webhook = await post('/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['run.failed'], enabled: false });
  const key = await post('/v1/api-keys', { name: 'fuzz auditor', role: 'auditor' });
  const run = await post(`/v1/fetchers/${hld.id}/runs`, undefined);
  const finished = await vi.waitFor(
    async () => {
      const { body } = await stack.request('GET', `/v1/runs/${run.id}`);
      expect(body.status).toBe('succeeded');
      return body as { evidenceId: string };
    },
    { timeout: 30_000, interval: 200 },
  );
  // From here on nothing changes unless a request changes it.
  await stack.run.stopWorker();

  Object.assign(pathPools, {
    connections: [connection.id],
    requests: [request.id],
    fetchers: [hld.id, custom.id],
    schedules: [schedule.id],
    webhooks: [webhook.id],
    'api-keys': [key.id],
    runs: [run.id],
    evidence: [finished.evidenceId],
    controls: ['pci-dss-v3.2.1:11.2', 'fedramp-moderate:ra-5'],
  });
  Object.assign(fieldPools, { connectionId: pathPools.connections, fetcherId: pathPools.fetchers, requestIds: pathPools.requests, runId: pathPools.runs, evidenceId: pathPools.evidence });

  const served = (await stack.request('GET', '/openapi.json', { token: null })).body as OpenApiDocument;
  expect(served).toEqual(DOC);
  validator = new DocumentValidator(DOC);
  arbitraries = new SchemaArbitraries(DOC, fieldPools);
});

afterAll(async () => {
  if (!stack) return;
  // Schedules the positive cases created would otherwise keep firing in the shared Temporal server.
  const schedules = (await stack.request('GET', '/v1/schedules?limit=500')).body?.items ?? [];
  for (const s of schedules as Array<{ temporalScheduleId: string }>) await stack.run.client.schedule.getHandle(s.temporalScheduleId).delete().catch(() => {});
  for await (const wf of stack.run.client.workflow.list({ query: `TaskQueue="${stack.run.taskQueue}" AND ExecutionStatus="Running"` })) {
    await stack.run.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('fuzz test over').catch(() => {});
  }
  await stack.close();
});

// ---------------------------------------------------------------- tests

describe('schema-driven fuzz of the HTTP API', () => {
  it('covers every operation of the document', () => {
    expect(OPERATIONS.length).toBeGreaterThan(40);
  });

  it.each(OPERATIONS.map((ref, index) => [name(ref), ref, index] as const))('%s', async (_name, ref, index) => {
    const seed = SEED + index * 7919;
    const failures: string[] = [];
    const report = (kind: string, req: FuzzRequest, problems: string[]) => {
      if (problems.length) failures.push(`${kind} ${req.method} ${req.path}?${new URLSearchParams(req.query)} body=${JSON.stringify(req.body)?.slice(0, 300)}\n    ${problems.join('\n    ')}`);
    };

    // Negative cases: each refused with a documented 4xx; together they change nothing in the database or the lists.
    const mutating = ref.method !== 'GET';
    const bases = fc.sample(positiveArb(ref), { seed, numRuns: NEGATIVE });
    const picks = fc.sample(fc.nat(), { seed: seed + 1, numRuns: NEGATIVE });
    const listsBefore = mutating ? await listSnapshot() : null;
    let state = await databaseState();
    let tried = 0;
    for (let i = 0; i < NEGATIVE; i++) {
      const broken = negative(ref, bases[i]!, picks[i]!);
      if (!broken) continue;
      tried++;
      const req = toRequest(ref, broken.request);
      const res = await call(req);
      const problems = undocumented(ref, res);
      if (res.status < 400 || res.status >= 500) problems.push(`${broken.what}: a request its schema refuses was answered ${res.status}`);
      report(`negative (${broken.what})`, req, problems);
    }
    if ((await databaseState()) !== state) failures.push('refused requests changed the database');
    if (listsBefore !== null && (await listSnapshot()) !== listsBefore) failures.push('refused requests changed what the list endpoints show');
    if ((ref.op.parameters ?? []).length > 0 || ref.op.requestBody !== undefined) expect(tried, 'no negative case could be built').toBeGreaterThan(0);

    // Positive cases: answered as documented; one that is refused changes nothing.
    for (const generated of fc.sample(positiveArb(ref), { seed: seed + 2, numRuns: POSITIVE })) {
      const req = toRequest(ref, generated);
      const res = await call(req);
      const problems = undocumented(ref, res);
      if (res.status < 300) collect(ref, res.status, res.text);
      const after = await databaseState();
      if ((res.status >= 400 || !mutating) && after !== state) problems.push(`answered ${res.status}, yet the database changed`);
      report('positive', req, problems);
      state = after;
    }

    // An auditor's key on an admin operation: refused as documented, nothing changed.
    if (mutating) {
      const req = toRequest(ref, fc.sample(positiveArb(ref), { seed: seed + 3, numRuns: 1 })[0]!);
      const res = await call(req, stack.auditorToken);
      const problems = undocumented(ref, res);
      if (res.status >= 400 && (await databaseState()) !== state) problems.push('refused, yet the database changed');
      report('auditor', req, problems);
    }
    expect(failures, `seed ${SEED} (FUZZ_SEED), ${name(ref)}:\n${failures.join('\n')}`).toEqual([]);
  });
});
