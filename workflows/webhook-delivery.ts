/**
 * Delivers one webhook event for one run, durably: the activity is retried
 * with backoff (5 s, doubling, at most 10 minutes apart) for up to 24 hours,
 * so a receiver that is down for a night still gets the event. A receiver
 * that refuses the delivery outright (a 4xx other than 408/429) or a target
 * the policy forbids is not retried. Started by the fetcher run as an
 * abandoned child, so a slow receiver never holds a run open.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { RunActivities } from '../activities/index.js';
import {
  WEBHOOK_ERROR_TYPES,
  type WebhookDeliveryInput,
  type WebhookDeliveryResult,
} from '../shared/contracts.js';

const { deliverWebhook } = proxyActivities<RunActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [WEBHOOK_ERROR_TYPES.rejected, WEBHOOK_ERROR_TYPES.target],
  },
});

export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  return deliverWebhook.executeWithOptions({ summary: `${input.event} for run ${input.runId}` }, [input]);
}
