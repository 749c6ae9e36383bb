/**
 * One fetcher execution: prepare → check connection → pull pages → seal →
 * attach → notify. Pages live in the blob store; history only sees their
 * small records. Qualys's 409 answers are waited out here, with a timer of
 * exactly the length Qualys asked for, so they never burn retry attempts.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
  WorkflowIdReusePolicy,
  type ActivityOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RunActivities } from '../activities/index.js';
import {
  CONNECTION_ID,
  DEFAULT_RUN_TUNING,
  ERROR_TYPES,
  FETCHER_ID,
  FETCHER_KIND,
  LIMIT_ERROR_TYPES,
  PERMANENT_ERROR_TYPES,
  RUN_OUTCOME,
  WEBHOOK_DELIVERY_WORKFLOW,
  webhookDeliveryWorkflowId,
  type WebhookEventName,
  PROGRESS_QUERY,
  runIdOfWorkflowId,
  type FetcherRunInput,
  type FetcherRunResult,
  type LimitFailureDetails,
  type PullState,
  type Refusals,
  type RunOutcome,
  type RunProgress,
  type RunTuning,
  type WaitRecord,
} from '../shared/contracts.js';
import type { webhookDelivery } from './webhook-delivery.js';

export const progressQuery = defineQuery<RunProgress>(PROGRESS_QUERY);

/** Keep history small on runs that wait a lot: the count and total are exact, the list is a sample. */
const MAX_WAIT_RECORDS = 100;

const bookkeeping = proxyActivities<RunActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: PERMANENT_ERROR_TYPES },
});

function pageActivities(tuning: RunTuning) {
  const options: ActivityOptions = {
    startToCloseTimeout: tuning.pageStartToCloseMs,
    heartbeatTimeout: tuning.pageHeartbeatTimeoutMs,
    // Cancelling a run must stop the request in flight before the run is marked cancelled.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '2 minutes',
      maximumAttempts: tuning.pageMaxAttempts,
      nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES, ...LIMIT_ERROR_TYPES],
    },
  };
  return { options, activities: proxyActivities<RunActivities>(options) };
}

const sealing = proxyActivities<RunActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: PERMANENT_ERROR_TYPES },
});

/** Few quick attempts: notifying must not hold a finished run open for long. */
const notifying = proxyActivities<RunActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/**
 * Starts one abandoned delivery workflow per subscribed webhook, after the
 * run's outcome is recorded. Best effort: whatever goes wrong here is logged
 * and never changes the run's outcome.
 */
async function notifyWebhooks(runId: string, event: WebhookEventName): Promise<void> {
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

function limitDetails(err: unknown): (LimitFailureDetails & { reason: WaitRecord['reason'] }) | null {
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

function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function errorType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type) return cause.type;
  return cause instanceof Error ? cause.name : 'Error';
}

export async function fetcherRun(input: FetcherRunInput): Promise<FetcherRunResult> {
  const info = workflowInfo();
  const runId = input.runId ?? runIdOfWorkflowId(info.workflowId);
  const tuning: RunTuning = { ...DEFAULT_RUN_TUNING, ...input.tuning };
  const pages = pageActivities(tuning);

  const progress: RunProgress = {
    runId,
    step: input.resume ? 'pull_pages' : 'prepare',
    outcome: 'running',
    pages: input.resume?.totals.pages ?? 0,
    hosts: input.resume?.totals.hosts ?? 0,
    detections: input.resume?.totals.detections ?? 0,
    records: input.resume?.totals.records ?? 0,
    bytes: input.resume?.totals.bytes ?? 0,
    lastError: null,
    waiting: null,
    waits: input.resume?.refusals.waitCount ?? 0,
    waitedSeconds: Math.round((input.resume?.refusals.waitedMs ?? 0) / 1000),
    retries: input.resume?.retries ?? 0,
  };
  setHandler(progressQuery, () => progress);

  let state: PullState | undefined = input.resume;
  const refusals: Refusals = input.resume?.refusals ?? { waits: [], waitCount: 0, waitedMs: 0 };
  const limits = { refusals, tuning, progress };
  try {
    if (!state) {
      const plan = await bookkeeping.prepareRun({
        runId,
        fetcherId: input.fetcherId,
        trigger: input.trigger,
        triggeredBy: input.triggeredBy ?? null,
        scheduleId: input.scheduleId ?? null,
        workflowId: info.workflowId,
      });
      upsertSearchAttributes([
        { key: FETCHER_ID, value: plan.fetcherId },
        { key: CONNECTION_ID, value: plan.connectionId },
        { key: FETCHER_KIND, value: plan.fetcherKind },
        { key: RUN_OUTCOME, value: 'running' },
      ]);
      progress.step = 'check_connection';
      await waitingOutRefusals(limits, () => bookkeeping.checkConnection({ runId, connectionId: plan.connectionId }));
      state = {
        plan,
        nextPageNo: 1,
        idMin: null,
        totals: { pages: 0, hosts: 0, detections: 0, records: 0, bytes: 0 },
        refusals,
        retries: 0,
      };
    }

    progress.step = 'pull_pages';
    let pagesThisExecution = 0;
    for (;;) {
      const current = state;
      const summary = current.idMin === null ? `page ${current.nextPageNo}` : `page ${current.nextPageNo} from host id ${current.idMin}`;
      const record = await waitingOutRefusals(limits, () =>
        pages.activities.pullPage.executeWithOptions({ ...pages.options, summary }, [
          { plan: current.plan, pageNo: current.nextPageNo, idMin: current.idMin, totalsBefore: current.totals },
        ]),
      );
      state.retries += record.attempt - 1;
      progress.retries = state.retries;
      state.totals = {
        pages: state.totals.pages + 1,
        hosts: state.totals.hosts + record.hosts,
        detections: state.totals.detections + record.detections,
        records: state.totals.records + record.records,
        bytes: state.totals.bytes + record.bytes,
      };
      Object.assign(progress, state.totals, { lastError: null });
      pagesThisExecution += 1;
      if (!record.truncated) break;
      if (record.nextIdMin === null) {
        throw ApplicationFailure.nonRetryable(`page ${record.pageNo} says it was truncated but names no next id_min`, ERROR_TYPES.invalidState);
      }
      state.nextPageNo = record.pageNo + 1;
      state.idMin = record.nextIdMin;
      if (pagesThisExecution >= tuning.pagesPerExecution || workflowInfo().continueAsNewSuggested) {
        log.info('continuing as new', { runId, nextPageNo: state.nextPageNo });
        await continueAsNew<typeof fetcherRun>({ ...input, runId, resume: state });
      }
    }

    progress.step = 'seal';
    const evidence = await sealing.sealEvidence({
      plan: state.plan,
      trigger: input.trigger,
      triggeredBy: input.triggeredBy ?? null,
      workflowId: info.workflowId,
      refusals: state.refusals,
      retries: state.retries,
    });

    progress.step = 'attach';
    const attachedTo = await bookkeeping.attachEvidence({ runId, evidenceId: evidence.evidenceId, fetcherId: state.plan.fetcherId });

    progress.step = 'done';
    progress.outcome = 'succeeded';
    await bookkeeping.finishRun({ runId, outcome: 'succeeded', evidenceId: evidence.evidenceId, progress, error: null });
    upsertSearchAttributes([{ key: RUN_OUTCOME, value: 'succeeded' }]);
    await notifyWebhooks(runId, 'run.completed');
    return { runId, status: 'succeeded', evidence, totals: state.totals, attachedTo };
  } catch (err) {
    // continueAsNew() ends this execution by throwing; the run itself goes on.
    if (err instanceof ContinueAsNew) throw err;
    const outcome: RunOutcome = isCancellation(err) ? 'cancelled' : 'failed';
    progress.outcome = outcome;
    progress.lastError = outcome === 'cancelled' ? 'cancelled' : describe(err);
    progress.waiting = null;
    // Record the end even though the workflow itself was cancelled.
    await CancellationScope.nonCancellable(async () => {
      await bookkeeping.finishRun({
        runId,
        outcome,
        evidenceId: null,
        progress,
        error: outcome === 'cancelled' ? { type: 'Cancelled', message: 'the run was cancelled' } : { type: errorType(err), message: describe(err) },
      });
    });
    upsertSearchAttributes([{ key: RUN_OUTCOME, value: outcome }]);
    // Whoever cancels a run already knows; only failures are announced.
    if (outcome === 'failed') await notifyWebhooks(runId, 'run.failed');
    throw err;
  }
}

/**
 * Runs a Qualys-calling activity, waiting out 409 refusals with a timer of
 * exactly the length Qualys asked for (a concurrency refusal without a hint
 * pauses briefly), recording each wait for the progress query and manifest.
 */
async function waitingOutRefusals<T>(
  { refusals, tuning, progress }: { refusals: Refusals; tuning: RunTuning; progress: RunProgress },
  call: () => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const limit = limitDetails(err);
      if (!limit) throw err;
      const fallbackMs = limit.reason === 'concurrency_limit' ? tuning.concurrencyPauseMs : 1000;
      const waitMs = Math.max(limit.retryAfterSeconds * 1000, fallbackMs);
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
      progress.lastError = describe(err);
      progress.waiting = { reason: limit.reason, seconds: waitMs / 1000, until: new Date(Date.now() + waitMs).toISOString() };
      await sleep(waitMs);
      progress.waiting = null;
    }
  }
}
