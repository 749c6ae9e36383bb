/**
 * Shapes of webhook delivery shared by the fetcher-run workflow, the
 * delivery workflow and its activity. They travel through Temporal history,
 * so they hold ids only: the secret and the payload are loaded inside the
 * activity.
 */

export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';
export type WebhookEventName = 'run.completed' | 'run.failed';

/** One delivery per (run, webhook): a second start for the same pair is refused by Temporal. */
export function webhookDeliveryWorkflowId(runId: string, webhookId: string): string {
  return `webhook-${runId}-${webhookId}`;
}

export interface WebhookDeliveryInput {
  webhookId: string;
  runId: string;
  event: WebhookEventName;
  /** Sent as X-Qualys-Connector-Delivery; the same on every attempt so receivers can de-duplicate. */
  deliveryId: string;
}

export interface WebhookDeliveryResult {
  /** `skipped` when the webhook was deleted or disabled before delivery. */
  outcome: 'delivered' | 'skipped';
  attempt: number;
  httpStatus: number | null;
}

/** Error types of the delivery activity, named in the workflow's retry policy. */
export const WEBHOOK_ERROR_TYPES = {
  /** The receiver answered with a status that retrying cannot change (a 4xx other than 408/429). */
  rejected: 'WebhookRejected',
  /** The target is not allowed (private network blocked) or the URL is unusable. */
  target: 'WebhookTargetRefused',
  /** 5xx, 408, 429, timeouts, refused or reset connections: worth another attempt. */
  failed: 'WebhookDeliveryFailed',
} as const;
