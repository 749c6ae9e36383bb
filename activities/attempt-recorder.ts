/**
 * Records, while it happens, how an attempt of a Qualys-calling activity
 * failed: a 409 becomes a counted wait (shown with its end time while it
 * lasts), anything else a failed attempt with its cause, counted as a retry
 * when another attempt follows. Status reads and the manifest's chain of
 * custody both come from these records.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps.js';
import { recordAttemptFailure, recordRefusal } from '../db/run-activity.js';
import { QualysConcurrencyLimitError, QualysError, QualysRateLimitError } from '../qualys/errors.js';
import { refusalWaitMs, type RunStep } from '../shared/contracts.js';

export interface AttemptScope {
  runId: string;
  step: RunStep;
  rangeNo?: number | null;
  pageNo?: number | null;
  maxAttempts: number;
  concurrencyPauseMs: number;
  /** A page whose last attempt fails is asked for again with fewer hosts. */
  retriedSmaller?: boolean;
  /** The attempt's number when it is not Temporal's (a page pulled as a later page of a call, or counted on from earlier calls). */
  attempt?: number;
  /** The attempt's own abort when it is not the activity's: an attempt abandoned by its caller did not fail. */
  signal?: AbortSignal;
}

/** Runs one attempt; a failure is recorded (best effort: recording never hides the failure) and thrown on. */
export async function recordingFailures<T>(deps: Pick<ActivityDeps, 'db' | 'logger' | 'workerIdentity'>, scope: AttemptScope, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    await recordFailure(deps, scope, err).catch((recordErr: unknown) =>
      deps.logger.warn({ runId: scope.runId, error: (recordErr as Error).message }, 'could not record a failed attempt'),
    );
    throw err;
  }
}

async function recordFailure(deps: Pick<ActivityDeps, 'db' | 'workerIdentity'>, scope: AttemptScope, err: unknown): Promise<void> {
  const ctx = Context.current();
  // Cancellation is the run ending, not a failure of the attempt.
  if (ctx.cancellationSignal.aborted || scope.signal?.aborted) return;
  const worker = deps.workerIdentity ?? null;
  if (err instanceof QualysRateLimitError || err instanceof QualysConcurrencyLimitError) {
    const reason = err instanceof QualysRateLimitError ? 'rate_limit' : 'concurrency_limit';
    const retryAfter = err instanceof QualysRateLimitError ? err.retryAfterSeconds : 0;
    await recordRefusal(deps.db, {
      runId: scope.runId,
      reason,
      qualysCode: err.code ?? (reason === 'rate_limit' ? 1965 : 1960),
      waitSeconds: refusalWaitMs(reason, retryAfter, scope.concurrencyPauseMs) / 1000,
      message: err.message,
      rangeNo: scope.rangeNo,
      pageNo: scope.pageNo,
      worker,
    });
    return;
  }
  const attempt = scope.attempt ?? ctx.info.attempt;
  await recordAttemptFailure(deps.db, {
    runId: scope.runId,
    step: scope.step,
    rangeNo: scope.rangeNo,
    pageNo: scope.pageNo,
    attempt,
    willRetry: isRetryable(err) && (attempt < scope.maxAttempts || (scope.retriedSmaller ?? false)),
    errorType: errorTypeOf(err),
    message: err instanceof Error ? err.message : String(err),
    worker,
  });
}

function isRetryable(err: unknown): boolean {
  if (err instanceof QualysError) return err.retryable;
  if (err instanceof ApplicationFailure) return !err.nonRetryable;
  return true;
}

function errorTypeOf(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  return err instanceof Error ? err.name : 'Error';
}
