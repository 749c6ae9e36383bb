/**
 * API keys, managed by admins. The token is shown once, when the key is
 * created; a revoked key is refused from the next request on. The last live
 * admin key cannot be revoked, so nobody locks the API away from everyone.
 */
import { createRoute } from '@hono/zod-openapi';
import { createApiKey, listApiKeys } from '../../db/api-keys.js';
import { revokeKeepingAnAdmin } from '../api-key-revocation.js';
import type { ApiApp } from '../app.js';
import { requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, notFound } from '../problem.js';
import { apiKeyCreateSchema, apiKeySchema, apiKeyView, createdApiKeySchema } from '../schemas/api-key.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import { pathId } from '../schemas/fields.js';
import { conflictResponse } from '../schemas/responses.js';

const TAG = 'API keys';
const admin = requireRole('admin');

const createKeyRoute = createRoute({
  method: 'post',
  path: '/v1/api-keys',
  tags: [TAG],
  summary: 'Create an API key',
  description: 'The response holds the token; it is shown only once and cannot be recovered. Admin only.',
  middleware: admin,
  request: { body: jsonBody(apiKeyCreateSchema) },
  responses: { 201: jsonResponse(createdApiKeySchema, 'The key with its token'), ...errorResponses },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/v1/api-keys',
  tags: [TAG],
  summary: 'List API keys',
  description: 'Newest first, revoked keys included; never a token. Admin only.',
  middleware: admin,
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(apiKeySchema).openapi('ApiKeyPage'), 'A page of keys'), ...errorResponses },
});

const currentKeyRoute = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: [TAG],
  summary: 'The API key making this request',
  description: 'Its name and role, so a client (the web console) can show only what the key may do. Any API key.',
  responses: { 200: jsonResponse(apiKeySchema, 'The key (never its token)'), ...errorResponses },
});

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/v1/api-keys/{id}',
  tags: [TAG],
  summary: 'Revoke an API key',
  description: 'Effective at once. Revoking twice is harmless. The last live admin key cannot be revoked (409). Admin only.',
  middleware: admin,
  request: { params: pathId('id', 'API key') },
  responses: { 200: jsonResponse(apiKeySchema, 'The revoked key'), ...errorResponses, ...conflictResponse('It is the last live admin key') },
});

export function registerApiKeyRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(createKeyRoute, async (c) => {
    const { apiKey, token } = await createApiKey(deps.db, c.req.valid('json'));
    deps.logger.info({ apiKeyId: apiKey.id, name: apiKey.name, role: apiKey.role, by: c.get('apiKey').name }, 'API key created');
    const { id, name, role, tokenPrefix, createdAt } = apiKeyView(apiKey);
    return c.json({ id, name, role, tokenPrefix, createdAt, token }, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    const page = await listApiKeys(deps.db, c.req.valid('query'));
    return c.json({ items: page.items.map(apiKeyView), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(currentKeyRoute, (c) => c.json(apiKeyView(c.get('apiKey')), 200));

  app.openapi(revokeKeyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const result = await revokeKeepingAnAdmin(deps.db, id);
    if (result.outcome === 'last-admin') {
      throw new ApiError('conflict', 'this is the last live admin key; create another admin key before revoking it');
    }
    if (result.outcome === 'not-found') throw notFound('API key', id);
    deps.logger.info({ apiKeyId: id, name: result.apiKey.name, by: c.get('apiKey').name }, 'API key revoked');
    return c.json(apiKeyView(result.apiKey), 200);
  });
}
