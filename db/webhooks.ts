/**
 * Webhooks to GRC tools and the log of their deliveries. The signing secret
 * is stored as secret-box ciphertext bound to the webhook's id and is only
 * returned by `getWebhookSecret`, for the activity that signs deliveries.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { SecretBox } from '../security/secret-box.js';
import type { AppDatabase } from './app-database.js';
import { isEmptyPatch } from './patch.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import { webhookDeliveries, webhooks, type WebhookDeliveryRow, type WebhookEvent, type WebhookRow } from './schema.js';

/** A webhook as it may be shown: everything but the secret. */
export type Webhook = Omit<WebhookRow, 'secretCiphertext'>;

export interface NewWebhook {
  url: string;
  secret: string;
  events: WebhookEvent[];
  enabled?: boolean;
}

export interface WebhookPatch {
  url?: string;
  /** A new secret replaces the stored one. */
  secret?: string;
  events?: WebhookEvent[];
  enabled?: boolean;
}

export interface NewWebhookDelivery {
  webhookId: string;
  runId: string;
  event: WebhookEvent;
  attempt: number;
  httpStatus?: number | null;
  ok: boolean;
  error?: string | null;
  requestBodySha256?: string | null;
}

const { secretCiphertext: _omitted, ...publicColumns } = getTableColumns(webhooks);

/** Associated data binding a webhook secret ciphertext to its webhook row. */
export function webhookSecretAad(webhookId: string): string {
  return `webhook:${webhookId}:secret`;
}

export async function createWebhook(db: AppDatabase, box: SecretBox, input: NewWebhook): Promise<Webhook> {
  const id = randomUUID();
  const { secret, ...fields } = input;
  const [row] = await db
    .insert(webhooks)
    .values({ ...fields, id, secretCiphertext: box.encrypt(secret, webhookSecretAad(id)) })
    .returning(publicColumns);
  return row!;
}

export async function getWebhook(db: AppDatabase, id: string): Promise<Webhook | null> {
  const [row] = await db.select(publicColumns).from(webhooks).where(eq(webhooks.id, id));
  return row ?? null;
}

export async function getWebhookSecret(db: AppDatabase, box: SecretBox, id: string): Promise<string | null> {
  const [row] = await db.select({ secretCiphertext: webhooks.secretCiphertext }).from(webhooks).where(eq(webhooks.id, id));
  return row ? box.decrypt(row.secretCiphertext, webhookSecretAad(id)) : null;
}

export async function listWebhooks(db: AppDatabase, page: PageRequest = {}): Promise<Page<Webhook>> {
  const limit = pageLimit(page.limit);
  const rows = await db
    .select(publicColumns)
    .from(webhooks)
    .where(afterCursor(webhooks.createdAt, webhooks.id, page.cursor))
    .orderBy(...newestFirst(webhooks.createdAt, webhooks.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

/** Enabled webhooks subscribed to the event. */
export async function listWebhooksForEvent(db: AppDatabase, event: WebhookEvent): Promise<Webhook[]> {
  return db
    .select(publicColumns)
    .from(webhooks)
    .where(and(eq(webhooks.enabled, true), sql`${webhooks.events} @> ${JSON.stringify([event])}::jsonb`))
    .orderBy(webhooks.createdAt, webhooks.id);
}

export async function updateWebhook(db: AppDatabase, box: SecretBox, id: string, patch: WebhookPatch): Promise<Webhook | null> {
  if (isEmptyPatch(patch)) return getWebhook(db, id);
  const { secret, ...fields } = patch;
  const [row] = await db
    .update(webhooks)
    .set({ ...fields, ...(secret === undefined ? {} : { secretCiphertext: box.encrypt(secret, webhookSecretAad(id)) }) })
    .where(eq(webhooks.id, id))
    .returning(publicColumns);
  return row ?? null;
}

/** Deletes the webhook and its delivery log. */
export async function deleteWebhook(db: AppDatabase, id: string): Promise<boolean> {
  const deleted = await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
  return deleted.length > 0;
}

export async function recordWebhookDelivery(db: AppDatabase, input: NewWebhookDelivery): Promise<WebhookDeliveryRow> {
  const [row] = await db.insert(webhookDeliveries).values(input).returning();
  return row!;
}

export async function listWebhookDeliveries(
  db: AppDatabase,
  filter: { webhookId?: string; runId?: string } = {},
  page: PageRequest = {},
): Promise<Page<WebhookDeliveryRow>> {
  const limit = pageLimit(page.limit);
  const conditions: (SQL | undefined)[] = [
    filter.webhookId === undefined ? undefined : eq(webhookDeliveries.webhookId, filter.webhookId),
    filter.runId === undefined ? undefined : eq(webhookDeliveries.runId, filter.runId),
    afterCursor(webhookDeliveries.createdAt, webhookDeliveries.id, page.cursor),
  ];
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(and(...conditions))
    .orderBy(...newestFirst(webhookDeliveries.createdAt, webhookDeliveries.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}
