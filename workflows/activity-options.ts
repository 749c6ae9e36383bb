/**
 * The activities as the run workflows call them: each group with the
 * timeouts and retry policy its kind of work needs.
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { RunActivities } from '../activities/index.js';
import { LIMIT_ERROR_TYPES, PERMANENT_ERROR_TYPES, type RunTuning } from '../shared/contracts.js';

/** Database work: quick, retried through a database restart. */
export const bookkeeping = proxyActivities<RunActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: PERMANENT_ERROR_TYPES },
});

/** The longest pause between two attempts of a Qualys call. */
export const MAX_RETRY_INTERVAL_MS = 2 * 60_000;

/** Calls to Qualys: long, heartbeating, cancellable; 409s are waited out by the workflow, not retried here. */
export function qualysCalls(tuning: RunTuning) {
  const options: ActivityOptions = {
    startToCloseTimeout: tuning.pageStartToCloseMs,
    heartbeatTimeout: tuning.pageHeartbeatTimeoutMs,
    // Cancelling a run must stop the request in flight before the run is marked cancelled.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: tuning.pageRetryInitialMs,
      backoffCoefficient: 2,
      maximumInterval: MAX_RETRY_INTERVAL_MS,
      maximumAttempts: tuning.pageMaxAttempts,
      nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES, ...LIMIT_ERROR_TYPES],
    },
  };
  return { options, activities: proxyActivities<RunActivities>(options) };
}

/** Sealing streams gigabytes: long, heartbeating. */
export const sealing = proxyActivities<RunActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: PERMANENT_ERROR_TYPES },
});

/** Few quick attempts: notifying must not hold a finished run open for long. */
export const notifying = proxyActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});
