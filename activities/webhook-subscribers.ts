import type { ActivityDeps } from './deps.js';
import { listWebhooksForEvent } from '../db/webhooks.js';
import type { WebhookEventName } from '../shared/contracts.js';

/**
 * The enabled webhooks subscribed to an event, as ids only: the workflow
 * starts one delivery per id and never sees a URL or a secret.
 */
export function listWebhookSubscribers({ db }: ActivityDeps) {
  return async ({ event }: { event: WebhookEventName }): Promise<string[]> => {
    const webhooks = await listWebhooksForEvent(db, event);
    return webhooks.map((w) => w.id);
  };
}
