/**
 * The bookkeeping beside a run's story: its progress for the operators'
 * query, waiting out Qualys's 409s with a timer of exactly the length Qualys
 * asked for (so they never burn retry attempts), recording how the run ended
 * and announcing it to webhooks. Both run workflows (range pulls and the
 * sequential pulls of runs started before them) use it.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  defineQuery,
  isCancellation,
  log,
  ParentClosePolicy,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  uuid4,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ERROR_TYPES,
  PROGRESS_QUERY,
  refusalWaitMs,
  RUN_OUTCOME,
  WEBHOOK_DELIVERY_WORKFLOW,
  webhookDeliveryWorkflowId,
  type LimitFailureDetails,
  type LimitReason,
  type PullTotals,
  type Refusals,
  type RunOutcome,
  type RunProgress,
  type RunStep,
  type RunTuning,
  type WebhookEventName,
} from '../shared/contracts.js';
import { bookkeeping, notifying } from './activity-options.js';
import type { webhookDelivery } from './webhook-delivery.js';

export const progressQuery = defineQuery<RunProgress>(PROGRESS_QUERY);

/** Keep history small on runs that wait a lot: the count and total are exact, the list is a sample. */
const MAX_WAIT_RECORDS = 100;

export interface RunLedger {
  progress: RunProgress;
  refusals: Refusals;
  tuning: RunTuning;
}

/** The progress the query answers, starting from what a continued run carried over. */
export function openLedger(runId: string, tuning: RunTuning, carried?: { totals: PullTotals; refusals: Refusals; retries: number }): RunLedger {
  const refusals = carried?.refusals ?? { waits: [], waitCount: 0, waitedMs: 0 };
  const progress: RunProgress = {
    runId,
    step: carried ? 'pull_pages' : 'prepare',
    outcome: 'running',
    pages: carried?.totals.pages ?? 0,
    hosts: carried?.totals.hosts ?? 0,
    detections: carried?.totals.detections ?? 0,
    records: carried?.totals.records ?? 0,
    bytes: carried?.totals.bytes ?? 0,
    lastError: null,
    waiting: null,
    waits: refusals.waitCount,
    waitedSeconds: Math.round(refusals.waitedMs / 1000),
    retries: carried?.retries ?? 0,
  };
  setHandler(progressQuery, () => progress);
  return { progress, refusals, tuning };
}

export function addTotals(a: PullTotals, b: { hosts: number; detections: number; records: number; bytes: number }): PullTotals {
  return { pages: a.pages + 1, hosts: a.hosts + b.hosts, detections: a.detections + b.detections, records: a.records + b.records, bytes: a.bytes + b.bytes };
}

function limitDetails(err: unknown): (LimitFailureDetails & { reason: LimitReason }) | null {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return null;
  const cause = err.cause;
  if (cause.type !== ERROR_TYPES.rateLimit && cause.type !== ERROR_TYPES.concurrencyLimit) return null;
  const details = (cause.details?.[0] ?? {}) as Partial<LimitFailureDetails>;
  return {
    reason: cause.type === ERROR_TYPES.rateLimit ? 'rate_limit' : 'concurrency_limit',
    retryAfterSeconds: Number(details.retryAfterSeconds ?? 0),
    qualysCode: Number(details.qualysCode ?? 0),
  };
}

export function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function errorType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) return cause.type;
  return cause instanceof Error ? cause.name : 'Error';
}

/**
 * Runs a Qualys-calling activity, waiting out 409 refusals with a timer of
 * exactly the length Qualys asked for (a concurrency refusal without a hint
 * pauses briefly), recording each wait for the progress query and manifest.
 */
export async function waitingOutRefusals<T>(ledger: RunLedger, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const limit = limitDetails(err);
      if (!limit) throw err;
      await waitOutRefusal(ledger, limit, describe(err));
    }
  }
}

/** Waits out one refusal, or fails the run when the waits would pass the run's limit. */
export async function waitOutRefusal({ refusals, tuning, progress }: RunLedger, limit: LimitFailureDetails & { reason: LimitReason }, message: string): Promise<void> {
  const waitMs = refusalWaitMs(limit.reason, limit.retryAfterSeconds, tuning.concurrencyPauseMs);
  if (refusals.waitedMs + waitMs > tuning.maxTotalWaitMs) {
    throw ApplicationFailure.nonRetryable(
      `Qualys kept refusing (${limit.reason}, code ${limit.qualysCode}) for more than ${Math.round(tuning.maxTotalWaitMs / 1000)} s in total`,
      limit.reason === 'rate_limit' ? ERROR_TYPES.rateLimit : ERROR_TYPES.concurrencyLimit,
    );
  }
  const at = new Date(Date.now()).toISOString();
  if (refusals.waits.length < MAX_WAIT_RECORDS) refusals.waits.push({ reason: limit.reason, seconds: waitMs / 1000, at });
  refusals.waitCount += 1;
  refusals.waitedMs += waitMs;
  progress.waits = refusals.waitCount;
  progress.waitedSeconds = Math.round(refusals.waitedMs / 1000);
  progress.lastError = message;
  progress.waiting = { reason: limit.reason, seconds: waitMs / 1000, until: new Date(Date.now() + waitMs).toISOString() };
  await sleep(waitMs);
  progress.waiting = null;
}

/**
 * Starts one abandoned delivery workflow per subscribed webhook, after the
 * run's outcome is recorded. Best effort: whatever goes wrong here is logged
 * and never changes the run's outcome.
 */
export async function notifyWebhooks(runId: string, event: WebhookEventName): Promise<void> {
  try {
    const webhookIds = await notifying.listWebhookSubscribers({ event });
    for (const webhookId of webhookIds) {
      try {
        await startChild<typeof webhookDelivery>(WEBHOOK_DELIVERY_WORKFLOW, {
          workflowId: webhookDeliveryWorkflowId(runId, webhookId),
          args: [{ webhookId, runId, event, deliveryId: uuid4() }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          staticSummary: `Webhook ${event} for run ${runId}`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
  } catch (err) {
    log.warn('webhook notification failed', { runId, event, error: describe(err) });
  }
}

export function enterStep(ledger: RunLedger, step: RunStep): void {
  ledger.progress.step = step;
}

/** Records a success: the run row, the RunOutcome search attribute, then webhooks. */
export async function recordSuccess(ledger: RunLedger, evidenceId: string): Promise<void> {
  const { progress } = ledger;
  progress.step = 'done';
  progress.outcome = 'succeeded';
  await bookkeeping.finishRun({ runId: progress.runId, outcome: 'succeeded', evidenceId, progress, error: null });
  upsertSearchAttributes([{ key: RUN_OUTCOME, value: 'succeeded' }]);
  await notifyWebhooks(progress.runId, 'run.completed');
}

/**
 * Records how a run that threw ended (failed or cancelled), announces a
 * failure, and hands the error back for the workflow to rethrow. A
 * continue-as-new is not an end: it passes through untouched.
 */
export async function recordFailure(ledger: RunLedger, err: unknown): Promise<unknown> {
  // continueAsNew() ends this execution by throwing; the run itself goes on.
  if (err instanceof ContinueAsNew) return err;
  const { progress } = ledger;
  const outcome: RunOutcome = isCancellation(err) ? 'cancelled' : 'failed';
  progress.outcome = outcome;
  progress.lastError = outcome === 'cancelled' ? 'cancelled' : describe(err);
  progress.waiting = null;
  // Record the end even though the workflow itself was cancelled.
  await CancellationScope.nonCancellable(async () => {
    await bookkeeping.finishRun({
      runId: progress.runId,
      outcome,
      evidenceId: null,
      progress,
      error: outcome === 'cancelled' ? { type: 'Cancelled', message: 'the run was cancelled' } : { type: errorType(err), message: describe(err) },
    });
  });
  upsertSearchAttributes([{ key: RUN_OUTCOME, value: outcome }]);
  // Whoever cancels a run already knows; only failures are announced.
  if (outcome === 'failed') await notifyWebhooks(progress.runId, 'run.failed');
  return err;
}
