/**
 * The one place where errors raised inside activities become Temporal
 * failures. The failure `type` is the error class name, which is what the
 * workflows' retry policies list as non-retryable; Qualys's own hint of when
 * to try again (Retry-After on a maintenance answer) becomes the next retry
 * delay. Activities just throw; `failureInterceptor` does the mapping, and
 * counts the refusals (409s) that make a run wait.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Next } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import {
  QualysConcurrencyLimitError,
  QualysError,
  QualysRateLimitError,
  QualysTransientError,
} from '../qualys/errors.js';
import { ERROR_TYPES, type LimitFailureDetails } from '../shared/contracts.js';
import type { Metrics } from '../runtime/metrics.js';

export function notFound(what: string, id: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `${what} ${id} does not exist`, type: ERROR_TYPES.notFound, nonRetryable: true });
}

export function invalidState(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: ERROR_TYPES.invalidState, nonRetryable: true });
}

/** Maps a Qualys client error to a failure carrying its class name, retryability and (for 409s) the wait. */
export function toFailure(err: unknown): unknown {
  if (!(err instanceof QualysError)) return err;
  let details: LimitFailureDetails | undefined;
  if (err instanceof QualysRateLimitError) details = { retryAfterSeconds: err.retryAfterSeconds, qualysCode: err.code ?? 1965 };
  // Qualys names no wait for 1960; the workflow's own pause (a run tunable) applies.
  if (err instanceof QualysConcurrencyLimitError) details = { retryAfterSeconds: 0, qualysCode: err.code ?? 1960 };
  const retryAfterSeconds = err instanceof QualysTransientError ? err.retryAfterSeconds : null;
  return ApplicationFailure.create({
    message: err.message,
    type: err.name,
    // 409s are non-retryable for Temporal only because the workflow waits them out itself.
    nonRetryable: !err.retryable || details !== undefined,
    details: details ? [details] : undefined,
    ...(retryAfterSeconds != null && retryAfterSeconds > 0 ? { nextRetryDelay: retryAfterSeconds * 1000 } : {}),
    cause: err,
  });
}

class FailureMapping implements ActivityInboundCallsInterceptor {
  constructor(private readonly metrics: Metrics | undefined) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      if (err instanceof QualysRateLimitError) this.metrics?.limitWait('rate_limit', err.code ?? 1965);
      if (err instanceof QualysConcurrencyLimitError) this.metrics?.limitWait('concurrency_limit', err.code ?? 1960);
      throw toFailure(err);
    }
  }
}

/** Registered on every worker: Qualys errors leave every activity as typed Temporal failures. */
export function failureInterceptor(metrics?: Metrics): ActivityInterceptorsFactory {
  return () => ({ inbound: new FailureMapping(metrics) });
}
