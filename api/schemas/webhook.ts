/** Webhook requests and views. The secret appears in a response only when it is created or rotated. */
import { z } from '@hono/zod-openapi';
import type { Webhook } from '../../db/webhooks.js';
import { WEBHOOK_EVENTS, type WebhookDeliveryRow } from '../../db/schema.js';
import { iso, isoTime } from './common.js';
import { changes, text } from './fields.js';

const MAX_URL_LENGTH = 2000;
export const MIN_SECRET_LENGTH = 16;
const MAX_SECRET_LENGTH = 200;

const url = text(MAX_URL_LENGTH, 'must be a URL')
  .superRefine((value, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
      return;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `must use http or https, not ${parsed.protocol.replace(':', '')}` });
    if (parsed.username || parsed.password) ctx.addIssue({ code: 'custom', message: 'must not carry credentials; receivers authenticate deliveries by their signature' });
    if (parsed.hash) ctx.addIssue({ code: 'custom', message: 'must not have a #fragment' });
  })
  .openapi({
    format: 'uri',
    description: 'Where deliveries are POSTed (http or https). Its host must resolve to public addresses only, unless WEBHOOK_ALLOWED_CIDRS lists the range',
    example: 'https://grc.example.com/hooks/qualys',
  });

const events = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `each must be one of ${WEBHOOK_EVENTS.join(', ')}` }), { error: 'must be a list of events' })
  .min(1, `name at least one event: ${WEBHOOK_EVENTS.join(', ')}`)
  .max(WEBHOOK_EVENTS.length, `at most ${WEBHOOK_EVENTS.length} events`)
  .refine((list) => new Set(list).size === list.length, 'must not repeat an event')
  .openapi({ description: '`run.completed` (evidence sealed and attached), `run.failed`; cancelled runs are not announced' });

const secret = text(MAX_SECRET_LENGTH)
  .min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`)
  .openapi({ description: 'HMAC-SHA256 signing secret; generated (32 random bytes, base64url) when absent' });

export const createWebhookBody = z
  .strictObject({ url, events, secret: secret.optional(), enabled: z.boolean({ error: 'must be true or false' }).optional() })
  .openapi('WebhookCreate');

export const updateWebhookBody = changes(
  z.strictObject({
    url: url.optional(),
    events: events.optional(),
    enabled: z.boolean({ error: 'must be true or false' }).optional(),
    rotateSecret: z.literal(true, { error: 'must be true when given' }).optional().openapi({ description: 'Generate a new secret; the response shows it once' }),
    secret: secret.optional().openapi({ description: 'Set this secret instead of a generated one' }),
  }),
)
  .refine((body) => !(body.rotateSecret && body.secret !== undefined), { path: ['secret'], message: 'give either secret or rotateSecret, not both' })
  .openapi('WebhookUpdate');

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    enabled: z.boolean(),
    createdAt: isoTime,
    links: z.object({ self: z.string(), deliveries: z.string() }),
  })
  .openapi('Webhook');

export const webhookWithSecretSchema = webhookSchema
  .extend({
    secret: z.string().openapi({ description: 'Shown only in this response: store it in the receiver to verify signatures' }),
  })
  .openapi('WebhookWithSecret');

export const webhookDeliverySchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    event: z.enum(WEBHOOK_EVENTS),
    runId: z.string(),
    attempt: z.number().int().openapi({ description: '1 for the first try, then 2, 3… as Temporal retries' }),
    httpStatus: z.number().int().nullable().openapi({ description: "The receiver's status; null when no answer came" }),
    ok: z.boolean(),
    error: z.string().nullable(),
    requestBodySha256: z.string().nullable(),
    createdAt: isoTime,
  })
  .openapi('WebhookDelivery');

export type WebhookView = z.infer<typeof webhookSchema>;
export type WebhookDeliveryView = z.infer<typeof webhookDeliverySchema>;

export function toWebhookView(row: Webhook): WebhookView {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    enabled: row.enabled,
    createdAt: iso(row.createdAt)!,
    links: { self: `/v1/webhooks/${row.id}`, deliveries: `/v1/webhooks/${row.id}/deliveries` },
  };
}

export function toWebhookDeliveryView(row: WebhookDeliveryRow): WebhookDeliveryView {
  return {
    id: row.id,
    webhookId: row.webhookId,
    event: row.event,
    runId: row.runId,
    attempt: row.attempt,
    httpStatus: row.httpStatus,
    ok: row.ok,
    error: row.error,
    requestBodySha256: row.requestBodySha256,
    createdAt: iso(row.createdAt)!,
  };
}
