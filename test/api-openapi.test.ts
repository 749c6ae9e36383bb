/**
 * The OpenAPI document: version 3.1.0, every /v1 route described with the
 * bearer scheme and its responses, and no response able to carry a secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
}

interface Operation {
  summary?: string;
  responses?: Record<string, { content?: Record<string, { schema?: SchemaNode }> }>;
  requestBody?: { content?: Record<string, { schema?: SchemaNode }> };
}

interface OpenApiDocument {
  openapi: string;
  security?: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, SchemaNode>; securitySchemes: Record<string, { type: string; scheme: string }> };
}

/** Every method and path of the API, so that a route added or lost without its description shows up here. */
const V1_OPERATIONS = [
  'GET /v1/api-keys',
  'POST /v1/api-keys',
  'DELETE /v1/api-keys/{id}',
  'GET /v1/connections',
  'POST /v1/connections',
  'POST /v1/connections/check',
  'GET /v1/connections/{id}',
  'PATCH /v1/connections/{id}',
  'DELETE /v1/connections/{id}',
  'GET /v1/connections/{id}/asset-groups',
  'GET /v1/connections/{id}/limits',
  'POST /v1/connections/{id}/check',
  'GET /v1/connections/{id}/search-lists',
  'GET /v1/controls',
  'GET /v1/controls/{id}',
  'GET /v1/controls/{id}/evidence',
  'GET /v1/controls/{id}/coverage',
  'POST /v1/controls/{id}/evidence/{evidenceId}',
  'DELETE /v1/controls/{id}/evidence/{evidenceId}',
  'GET /v1/controls/{id}/attachment-events',
  'GET /v1/evidence',
  'GET /v1/evidence/{id}',
  'GET /v1/evidence/{id}/content',
  'GET /v1/evidence/{id}/pages',
  'GET /v1/evidence/{id}/pages/{pageNo}/content',
  'GET /v1/evidence/{id}/verification',
  'GET /v1/evidence/{id}/sla',
  'GET /v1/evidence/{id}/diff/{other}',
  'GET /v1/fetchers',
  'POST /v1/fetchers',
  'GET /v1/fetchers/{id}',
  'PATCH /v1/fetchers/{id}',
  'DELETE /v1/fetchers/{id}',
  'PUT /v1/fetchers/{id}/controls',
  'POST /v1/fetchers/{id}/controls/upgrade',
  'PUT /v1/fetchers/{id}/requests',
  'POST /v1/fetchers/{id}/runs',
  'GET /v1/fetchers/{id}/schedules',
  'POST /v1/fetchers/{id}/schedules',
  'GET /v1/me',
  'GET /v1/requests',
  'POST /v1/requests',
  'GET /v1/requests/{id}',
  'PATCH /v1/requests/{id}',
  'POST /v1/requests/{id}/close',
  'PUT /v1/requests/{id}/controls',
  'GET /v1/requests/{id}/evidence',
  'POST /v1/requests/{id}/evidence/{evidenceId}',
  'DELETE /v1/requests/{id}/evidence/{evidenceId}',
  'GET /v1/requests/{id}/attachment-events',
  'GET /v1/requests/{id}/export',
  'GET /v1/runs',
  'GET /v1/runs/{id}',
  'POST /v1/runs/{id}/cancel',
  'GET /v1/schedules',
  'GET /v1/schedules/{id}',
  'DELETE /v1/schedules/{id}',
  'POST /v1/schedules/{id}/backfill',
  'POST /v1/schedules/{id}/pause',
  'POST /v1/schedules/{id}/resume',
  'POST /v1/schedules/{id}/trigger',
  'GET /v1/webhooks',
  'POST /v1/webhooks',
  'GET /v1/webhooks/{id}',
  'PATCH /v1/webhooks/{id}',
  'DELETE /v1/webhooks/{id}',
  'GET /v1/webhooks/{id}/deliveries',
];

/** Names a response must never carry. */
const SECRET_FIELDS = new Set(['password', 'passwordCiphertext', 'tokenHash']);

let doc: OpenApiDocument;

function operations(): Array<[string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]));
}

/** Property names reachable from a schema, following $refs into the components once each. */
function propertyNames(node: SchemaNode | undefined, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  const visit = (n: SchemaNode | boolean | undefined) => {
    if (!n || typeof n === 'boolean') return;
    if (n.$ref) {
      const name = n.$ref.replace('#/components/schemas/', '');
      expect(doc.components.schemas, `unresolved $ref ${n.$ref}`).toHaveProperty([name]);
      if (seen.has(name)) return;
      seen.add(name);
      visit(doc.components.schemas[name]);
      return;
    }
    for (const [key, child] of Object.entries(n.properties ?? {})) {
      names.add(key);
      visit(child);
    }
    visit(n.items);
    visit(n.additionalProperties);
    for (const child of [...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])]) visit(child);
  };
  visit(node);
  return names;
}

beforeAll(async () => {
  stack = await startApiStack({ startWorker: false });
  const res = await stack.request('GET', '/openapi.json', { token: null });
  expect(res.status).toBe(200);
  doc = res.body as OpenApiDocument;
});

afterAll(async () => {
  await stack?.close();
});

describe('/openapi.json', () => {
  it('is OpenAPI 3.1.0 with the bearer scheme required everywhere', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('describes every /v1 route, and nothing else', () => {
    expect(operations().map(([name]) => name).sort()).toEqual([...V1_OPERATIONS].sort());
  });

  it('gives every operation a summary, a success response and the authentication failure', () => {
    for (const [name, op] of operations()) {
      expect(op.summary, name).toEqual(expect.any(String));
      const codes = Object.keys(op.responses ?? {});
      expect(codes.some((code) => code.startsWith('2')), `${name} has no 2xx response`).toBe(true);
      expect(codes, name).toContain('401');
    }
  });

  it('lets no response carry a password, ciphertext or token hash', () => {
    for (const [name, op] of operations()) {
      for (const [code, response] of Object.entries(op.responses ?? {})) {
        for (const media of Object.values(response.content ?? {})) {
          const leaked = [...propertyNames(media.schema)].filter((field) => SECRET_FIELDS.has(field));
          expect(leaked, `${name} ${code}`).toEqual([]);
        }
      }
    }
  });

  it('documents the password as a write-only request field', () => {
    const create = doc.paths['/v1/connections']!.post!.requestBody!.content!['application/json']!.schema!;
    expect(propertyNames(create)).toContain('password');
    expect(doc.components.schemas.ConnectionCreate!.properties!.password).toMatchObject({ writeOnly: true, format: 'password' });
  });

  it('keeps shared components non-nullable where they are used as request bodies', () => {
    for (const name of ['HostListDetectionFilters', 'CustomRequest', 'QualysLimits', 'LatestEvidence']) {
      expect((doc.components.schemas[name] as { type?: unknown }).type, name).toBe('object');
    }
  });
});
