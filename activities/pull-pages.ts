/**
 * Pulls several pages of one range in a row, each stored and recorded as it
 * would be alone. A page costs the workflow an activity round trip and a
 * workflow task (tens of milliseconds, and the Temporal server's work);
 * against a fast Qualys that is a large share of the page, so a call goes on
 * to the range's next pages until its page count or time budget is spent.
 * Against a slow Qualys (pages of minutes) a call is one page, as before.
 *
 * Only the first page of a call is retried by Temporal. When a later page
 * fails, the call ends with the pages it has, so none of them is pulled
 * twice, and says why; the workflow asks for that page again first (after
 * the wait Qualys asked for, if it refused). Failures that end the run
 * (permanent errors, cancellation) are thrown as they are.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps.js';
import { toFailure } from './failures.js';
import type { PagePuller } from './pull-page.js';
import { ERROR_TYPES, type LimitFailureDetails, type PageCallRequest, type PageCallResult, type PageRecord } from '../shared/contracts.js';

export function pullPages(deps: Pick<ActivityDeps, 'logger' | 'metrics'>, puller: PagePuller) {
  return async (input: PageCallRequest): Promise<PageCallResult> => {
    const { maxPages, budgetMs, attemptsBefore, ...first } = input;
    const ctx = Context.current();
    const began = Date.now();
    const pages: PageRecord[] = [];
    let request = first;
    for (;;) {
      let record: PageRecord;
      try {
        record = await puller(request, pages.length === 0 ? attemptsBefore + ctx.info.attempt : 1);
      } catch (err) {
        const interrupted = pages.length > 0 && !ctx.cancellationSignal.aborted ? interruption(err, deps) : null;
        if (!interrupted) throw err;
        deps.logger.info({ runId: request.plan.runId, rangeNo: request.rangeNo, pageNo: request.pageNo, pages: pages.length, reason: interrupted.message }, 'page call ended early');
        return { pages, interrupted };
      }
      pages.push(record);
      if (!record.truncated || record.nextIdMin === null || pages.length >= maxPages || Date.now() - began >= budgetMs) return { pages };
      request = { ...request, pageNo: record.pageNo + 1, idMin: record.nextIdMin };
    }
  };
}

/** How a later page failed, when the run goes on after it: a 409 to wait out, or a retryable failure. */
function interruption(err: unknown, deps: Pick<ActivityDeps, 'metrics'>): PageCallResult['interrupted'] | null {
  const failure = toFailure(err);
  if (!(failure instanceof ApplicationFailure)) {
    return failure instanceof Error ? { message: failure.message, type: failure.name, refusal: null } : { message: String(failure), type: 'Error', refusal: null };
  }
  const type = failure.type ?? 'Error';
  if (failure.type === ERROR_TYPES.rateLimit || failure.type === ERROR_TYPES.concurrencyLimit) {
    const reason = failure.type === ERROR_TYPES.rateLimit ? 'rate_limit' : 'concurrency_limit';
    const details = (failure.details?.[0] ?? { retryAfterSeconds: 0, qualysCode: 0 }) as LimitFailureDetails;
    // Thrown, the interceptor would have counted it.
    if (details.qualysCode) deps.metrics?.limitWait(reason, details.qualysCode);
    return { message: failure.message, type, refusal: { reason, retryAfterSeconds: details.retryAfterSeconds, qualysCode: details.qualysCode } };
  }
  return failure.nonRetryable ? null : { message: failure.message, type, refusal: null };
}
