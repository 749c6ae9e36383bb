/**
 * Sends one webhook delivery attempt: loads the webhook and decrypts its
 * secret here (never in workflow input or history), builds the payload from
 * the database, signs it, POSTs it without following redirects, and records
 * the attempt in the delivery log whatever its outcome. A failed attempt
 * throws, so Temporal retries it durably.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps.js';
import { PRODUCT } from '../qualys/product.js';
import { buildWebhookPayload } from './webhook-payload.js';
import { getWebhook, getWebhookSecret, recordWebhookDelivery } from '../db/webhooks.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhookBody } from '../security/webhook-signature.js';
import { allowedTargetLookup, literalTargetRefusal, WebhookTargetError, WebhookTargetRules } from '../security/webhook-target.js';
import {
  WEBHOOK_ERROR_TYPES,
  type WebhookDeliveryInput,
  type WebhookDeliveryResult,
} from '../shared/contracts.js';

/** A receiver should answer at once and do its work later; ten seconds is generous. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Kept in the delivery log to explain a failure; receivers' error pages can be long. */
const MAX_ERROR_LENGTH = 500;

/** 408 and 429 mean "not now"; every other 4xx means the receiver refuses this delivery as such. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function deliverWebhook(deps: ActivityDeps) {
  const timeoutMs = deps.webhooks?.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const rules = new WebhookTargetRules(deps.webhooks);
  const lookup = allowedTargetLookup(rules);

  return async (input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> => {
    const ctx = Context.current();
    const attempt = ctx.info.attempt;
    const webhook = await getWebhook(deps.db, input.webhookId);
    if (!webhook || !webhook.enabled) return { outcome: 'skipped', attempt, httpStatus: null };
    const payload = await buildWebhookPayload(deps.db, input, new Date());
    if (!payload) return { outcome: 'skipped', attempt, httpStatus: null };
    const secret = await getWebhookSecret(deps.db, deps.secretBox, input.webhookId);
    if (secret === null) return { outcome: 'skipped', attempt, httpStatus: null };

    const body = JSON.stringify(payload);
    const bodySha256 = createHash('sha256').update(body).digest('hex');
    const record = (outcome: { httpStatus: number | null; ok: boolean; error: string | null }) =>
      recordWebhookDelivery(deps.db, {
        webhookId: input.webhookId,
        runId: input.runId,
        event: input.event,
        attempt,
        requestBodySha256: bodySha256,
        ...outcome,
      });

    const url = new URL(webhook.url);
    // Literal addresses never go through the resolver, so they are checked here; names are checked as they resolve.
    const refusal = literalTargetRefusal(url, rules);
    if (refusal) {
      await record({ httpStatus: null, ok: false, error: refusal });
      throw ApplicationFailure.create({ message: refusal, type: WEBHOOK_ERROR_TYPES.target, nonRetryable: true });
    }

    // All of undici is loaded only when a webhook is delivered (see qualys/undici-agents.ts for its weight).
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({
      connect: { timeout: timeoutMs, lookup },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    let status: number;
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher,
        signal: ctx.cancellationSignal,
        headers: {
          'content-type': 'application/json',
          'user-agent': `${PRODUCT.name}/${PRODUCT.version}`,
          [EVENT_HEADER.toLowerCase()]: input.event,
          [DELIVERY_HEADER.toLowerCase()]: input.deliveryId,
          [SIGNATURE_HEADER.toLowerCase()]: signWebhookBody(secret, body),
        },
        body,
      });
      status = response.statusCode;
      // The answer's body carries nothing we use; reading a bounded amount frees the socket.
      await response.body.dump({ limit: 64 * 1024 });
    } catch (err) {
      const message = `delivery to ${url.origin} failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, MAX_ERROR_LENGTH);
      await record({ httpStatus: null, ok: false, error: message });
      // The name now resolves somewhere the rules refuse (DNS rebinding, or a changed record): retrying will not make it allowed.
      const refused = err instanceof WebhookTargetError || (err as { cause?: unknown })?.cause instanceof WebhookTargetError;
      throw ApplicationFailure.create({ message, type: refused ? WEBHOOK_ERROR_TYPES.target : WEBHOOK_ERROR_TYPES.failed, nonRetryable: refused });
    } finally {
      await dispatcher.close();
    }

    if (status >= 200 && status < 300) {
      await record({ httpStatus: status, ok: true, error: null });
      return { outcome: 'delivered', attempt, httpStatus: status };
    }
    const retryable = isRetryableStatus(status);
    const message = `${url.origin} answered HTTP ${status}${retryable ? '' : ' (not retried: the receiver refused this delivery)'}`;
    await record({ httpStatus: status, ok: false, error: message });
    throw ApplicationFailure.create({
      message,
      type: retryable ? WEBHOOK_ERROR_TYPES.failed : WEBHOOK_ERROR_TYPES.rejected,
      nonRetryable: !retryable,
    });
  };
}
