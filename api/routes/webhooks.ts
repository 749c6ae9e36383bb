/**
 * Webhooks (admin): where the connector announces finished runs. The secret
 * is stored encrypted and shown once, when it is created or rotated. Each
 * delivery is signed (`X-Qualys-Connector-Signature: t=…,v1=…`, see
 * security/webhook-signature.ts) and retried durably by Temporal; every
 * attempt lands in the delivery log.
 */
import { randomBytes } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { requireRole } from '../auth.js';
import type { AppDatabase } from '../../db/database.js';
import { createWebhook, deleteWebhook, getWebhook, listWebhookDeliveries, listWebhooks, updateWebhook, type Webhook } from '../../db/webhooks.js';
import { assertAllowedTarget, WebhookTargetError, WebhookTargetRules } from '../../security/webhook-target.js';
import { fieldError, notFound } from '../problem.js';
import { errorResponses, jsonBody, jsonResponse, pageOf, pageQuery } from '../schemas/common.js';
import { pathId } from '../schemas/fields.js';
import {
  createWebhookBody,
  toWebhookDeliveryView,
  toWebhookView,
  updateWebhookBody,
  webhookDeliverySchema,
  webhookSchema,
  webhookWithSecretSchema,
} from '../schemas/webhook.js';

const admin = requireRole('admin');

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/webhooks',
  tags: ['Webhooks'],
  summary: 'Register a webhook',
  description:
    'Admin. Deliveries are POSTed as JSON with `X-Qualys-Connector-Event`, `X-Qualys-Connector-Delivery` (same id on every retry) and ' +
    '`X-Qualys-Connector-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Answer 2xx within 10 s; other answers and ' +
    'timeouts are retried for up to 24 hours (5 s, doubling, at most 10 min apart), except 4xx other than 408/429, which stop retries. ' +
    'Redirects are not followed. The secret is shown in this response only.',
  middleware: admin,
  request: { body: jsonBody(createWebhookBody) },
  responses: { 201: jsonResponse(webhookWithSecretSchema, 'The webhook and its secret (shown once)'), ...errorResponses },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks',
  tags: ['Webhooks'],
  summary: 'List webhooks',
  middleware: admin,
  request: { query: pageQuery },
  responses: { 200: jsonResponse(pageOf(webhookSchema).openapi('WebhookPage'), 'A page of webhooks'), ...errorResponses },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks/{id}',
  tags: ['Webhooks'],
  summary: 'A webhook (never its secret)',
  middleware: admin,
  request: { params: pathId('id', 'webhook') },
  responses: { 200: jsonResponse(webhookSchema, 'The webhook'), ...errorResponses },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/v1/webhooks/{id}',
  tags: ['Webhooks'],
  summary: 'Change a webhook or rotate its secret',
  description: 'Admin. With `rotateSecret: true` (or a new `secret`) the response shows the new secret once; deliveries already retrying sign with it.',
  middleware: admin,
  request: { params: pathId('id', 'webhook'), body: jsonBody(updateWebhookBody) },
  responses: { 200: jsonResponse(webhookWithSecretSchema.partial({ secret: true }), 'The webhook, with `secret` only when it changed'), ...errorResponses },
});

const deleteRouteDef = createRoute({
  method: 'delete',
  path: '/v1/webhooks/{id}',
  tags: ['Webhooks'],
  summary: 'Delete a webhook and its delivery log',
  description: 'Admin. Deliveries still retrying stop at their next attempt.',
  middleware: admin,
  request: { params: pathId('id', 'webhook') },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

const deliveriesRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks/{id}/deliveries',
  tags: ['Webhooks'],
  summary: "The webhook's delivery log, newest first",
  description: 'Admin. One entry per attempt: event, run, attempt number, HTTP status, whether it succeeded, and the error.',
  middleware: admin,
  request: { params: pathId('id', 'webhook'), query: pageQuery },
  responses: { 200: jsonResponse(pageOf(webhookDeliverySchema).openapi('WebhookDeliveryPage'), 'A page of delivery attempts'), ...errorResponses },
});

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

async function loadWebhook(db: AppDatabase, id: string): Promise<Webhook> {
  const row = await getWebhook(db, id);
  if (!row) throw notFound('webhook', id);
  return row;
}

export function registerWebhookRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db, secretBox, logger } = deps;

  const rules = new WebhookTargetRules(deps.webhooks);
  const checkTarget = async (url: string) => {
    try {
      await assertAllowedTarget(new URL(url), rules);
    } catch (err) {
      if (err instanceof WebhookTargetError) throw fieldError('url', err.message);
      throw err;
    }
  };

  app.openapi(createRouteDef, async (c) => {
    const body = c.req.valid('json');
    await checkTarget(body.url);
    const secret = body.secret ?? newSecret();
    const row = await createWebhook(db, secretBox, { url: body.url, events: body.events, secret, enabled: body.enabled });
    logger.info({ webhookId: row.id, origin: new URL(row.url).origin, events: row.events, apiKey: c.get('apiKey').name }, 'webhook registered');
    c.header('Location', `/v1/webhooks/${row.id}`);
    return c.json({ ...toWebhookView(row), secret }, 201);
  });

  app.openapi(listRoute, async (c) => {
    const page = await listWebhooks(db, c.req.valid('query'));
    return c.json({ items: page.items.map(toWebhookView), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => c.json(toWebhookView(await loadWebhook(db, c.req.valid('param').id)), 200));

  app.openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    await loadWebhook(db, id);
    if (body.url !== undefined) await checkTarget(body.url);
    const secret = body.rotateSecret ? newSecret() : body.secret;
    const row = await updateWebhook(db, secretBox, id, { url: body.url, events: body.events, enabled: body.enabled, secret });
    if (!row) throw notFound('webhook', id);
    logger.info({ webhookId: id, secretRotated: secret !== undefined, apiKey: c.get('apiKey').name }, 'webhook updated');
    return c.json({ ...toWebhookView(row), ...(secret === undefined ? {} : { secret }) }, 200);
  });

  app.openapi(deleteRouteDef, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await deleteWebhook(db, id))) throw notFound('webhook', id);
    logger.info({ webhookId: id, apiKey: c.get('apiKey').name }, 'webhook deleted');
    return c.body(null, 204);
  });

  app.openapi(deliveriesRoute, async (c) => {
    const { id } = c.req.valid('param');
    await loadWebhook(db, id);
    const page = await listWebhookDeliveries(db, { webhookId: id }, c.req.valid('query'));
    return c.json({ items: page.items.map(toWebhookDeliveryView), nextCursor: page.nextCursor }, 200);
  });
}
