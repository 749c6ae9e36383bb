/**
 * Pulls several pages of one range in a row, each stored and recorded as it
 * would be alone. A page costs the workflow an activity round trip and a
 * workflow task (tens of milliseconds, and the Temporal server's work);
 * against a fast Qualys that is a large share of the page, so a call goes on
 * to the range's next pages until its page count or time budget is spent,
 * asking for each page while the one before is stored and recorded.
 * Against a slow Qualys (pages of minutes) a call is one page, as before.
 *
 * Only the first page of a call is retried by Temporal. When a later page
 * fails, the call ends with the pages it has kept, so none of them is pulled
 * twice, and says why; the workflow asks for that page again first (after
 * the wait Qualys asked for, if it refused). Failures that end the run
 * (permanent errors, cancellation) are thrown as they are.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps.js';
import { toFailure } from './failures.js';
import type { PagePuller, ReadPage } from './pull-page.js';
import { ERROR_TYPES, type LimitFailureDetails, type PageCallRequest, type PageCallResult, type PageRecord, type PageRequest } from '../shared/contracts.js';

export function pullPages(deps: Pick<ActivityDeps, 'logger' | 'metrics'>, puller: PagePuller) {
  return async (input: PageCallRequest): Promise<PageCallResult> => {
    const { maxPages, budgetMs, attemptsBefore, ...first } = input;
    const ctx = Context.current();
    const began = Date.now();
    const pages: PageRecord[] = [];

    /** Ends the call at `request`'s page, or throws when nothing was kept or the run cannot go on. */
    const endAt = (request: PageRequest, err: unknown): PageCallResult => {
      const interrupted = pages.length > 0 && !ctx.cancellationSignal.aborted ? interruption(err, deps) : null;
      if (!interrupted) throw err;
      deps.logger.info({ runId: request.plan.runId, rangeNo: request.rangeNo, pageNo: request.pageNo, pages: pages.length, reason: interrupted.message }, 'page call ended early');
      return { pages, interrupted };
    };

    let request: PageRequest = first;
    // The page before, being stored and recorded while this one is read.
    let keeping: { request: PageRequest; kept: Promise<PageRecord> } | null = null;
    for (;;) {
      const own = new AbortController();
      const reading = puller(request, pages.length === 0 && !keeping ? attemptsBefore + ctx.info.attempt : 1, AbortSignal.any([ctx.cancellationSignal, own.signal]));
      // Settled below in every path; these stop an early rejection from counting as unhandled.
      reading.catch(() => {});
      if (keeping) {
        try {
          pages.push(await keeping.kept);
        } catch (err) {
          own.abort();
          await reading.then((read) => read.discard(), () => {});
          return endAt(keeping.request, err);
        }
        keeping = null;
      }
      let read: ReadPage;
      try {
        read = await reading;
      } catch (err) {
        return endAt(request, err);
      }
      const kept = read.keep();
      kept.catch(() => {});
      const last = !read.truncated || read.nextIdMin === null || pages.length + 1 >= maxPages || Date.now() - began >= budgetMs;
      if (last) {
        try {
          pages.push(await kept);
        } catch (err) {
          return endAt(request, err);
        }
        return { pages };
      }
      keeping = { request, kept };
      request = { ...request, pageNo: request.pageNo + 1, idMin: read.nextIdMin };
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
