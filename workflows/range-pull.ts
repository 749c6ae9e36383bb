/**
 * Pulls a run's host ID ranges, `parallelism` at a time. Each lane takes the
 * next unfinished range and pages through it by truncation (its own
 * id_min / id_max); a lane that finishes takes the next range. When this
 * execution has pulled its share of pages, lanes stop taking new pages, the
 * pages in flight finish, and the pull continues as new with every range's
 * cursor, so history stays bounded however large the subscription.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, continueAsNew, isCancellation, log, patched, sleep, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import {
  ERROR_TYPES,
  LIMIT_ERROR_TYPES,
  PERMANENT_ERROR_TYPES,
  type FetcherRunInput,
  type FetcherRunResult,
  type PageCallResult,
  type PageRecord,
  type RangeCursor,
  type RangePullState,
} from '../shared/contracts.js';
import { MAX_RETRY_INTERVAL_MS, qualysCalls } from './activity-options.js';
import { addTotals, waitingOutRefusals, waitOutRefusal, type RunLedger } from './run-bookkeeping.js';

function pageSummary(range: RangeCursor): string {
  const from = range.cursor === null ? '' : ` from host id ${range.cursor}`;
  const to = range.idMax === null ? '' : ` to ${range.idMax}`;
  return `range ${range.rangeNo} page ${range.nextPageNo}${from}${to}`;
}

/** Moves a range's cursor past a page Qualys returned. */
function advance(range: RangeCursor, record: PageRecord): void {
  if (!record.truncated) {
    range.done = true;
    return;
  }
  if (record.nextIdMin === null) {
    throw ApplicationFailure.nonRetryable(`range ${range.rangeNo} page ${record.pageNo} says it was truncated but names no next id_min`, ERROR_TYPES.invalidState);
  }
  range.nextPageNo = record.pageNo + 1;
  range.cursor = record.nextIdMin;
}

/** Marks runs that retry a page that kept failing with half the hosts; runs started before it fail with the page. */
export const ADAPTIVE_PAGE_SIZE_PATCH = 'adaptive-page-size';

/** Marks runs whose activities pull several pages of a range in a row; runs started before it pull a page per activity. */
export const PAGE_CALLS_PATCH = 'page-calls';

/** A page that failed every attempt for a reason fewer hosts may cure (not refused for good, not a 409, not cancelled). */
function smallerPageMayHelp(err: unknown): boolean {
  if (!(err instanceof ActivityFailure) || isCancellation(err)) return false;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return !cause.nonRetryable && !PERMANENT_ERROR_TYPES.includes(cause.type as never) && !LIMIT_ERROR_TYPES.includes(cause.type as never);
  return cause instanceof TimeoutFailure;
}

/** Pulls until every range is done; continues as new on the way when this execution has done its share. */
export async function pullRanges(state: RangePullState, ledger: RunLedger, input: FetcherRunInput): Promise<void> {
  const { tuning, progress } = ledger;
  const calls = qualysCalls(tuning);
  const claimed = new Set<number>();
  let pagesThisExecution = 0;
  const executionHasRoom = () => pagesThisExecution < tuning.pagesPerExecution && !workflowInfo().continueAsNewSuggested;
  const fullPageSize = Number(state.plan.params.truncation_limit) || 0;
  const adaptive = state.plan.fetcherKind === 'host_list_detection' && fullPageSize > 1 && patched(ADAPTIVE_PAGE_SIZE_PATCH);

  const pageCalls = patched(PAGE_CALLS_PATCH);

  const halve = (range: RangeCursor, size: number) => {
    range.pageSize = Math.floor(size / 2);
    delete range.failedAttempts;
    log.warn('page kept failing; asking again with fewer hosts', { runId: state.plan.runId, rangeNo: range.rangeNo, pageNo: range.nextPageNo, hosts: range.pageSize });
  };

  /** The next pages of a range (one when they are below the fetcher's size); when the first keeps failing, again with half the hosts, down to one. */
  const pullNext = async (range: RangeCursor, room: number): Promise<PageCallResult> => {
    for (;;) {
      const reduced = range.pageSize !== undefined && range.pageSize < fullPageSize;
      const attempts = reduced ? tuning.pageAttemptsPerHalving : tuning.pageMaxAttempts;
      const size = range.pageSize ?? fullPageSize;
      const request = {
        plan: state.plan,
        rangeNo: range.rangeNo,
        pageNo: range.nextPageNo,
        idMin: range.cursor,
        idMax: range.idMax,
        ...(state.hostIdsBlobKey ? { hostIdsBlobKey: state.hostIdsBlobKey } : {}),
        ...(reduced ? { truncationLimit: range.pageSize } : {}),
        ...(adaptive && size > 1 ? { smallerPageFollows: true } : {}),
        pageMaxAttempts: attempts,
        concurrencyPauseMs: tuning.concurrencyPauseMs,
      };
      try {
        if (pageCalls && !reduced) {
          const attemptsBefore = range.failedAttempts ?? 0;
          const options = {
            ...calls.options,
            // Room for the pages after the first, which start only within the call's budget.
            startToCloseTimeout: tuning.pageStartToCloseMs + tuning.pageCallBudgetMs,
            // The page's attempts and back-off go on from where its failure in the last call left them.
            retry: {
              ...calls.options.retry,
              initialInterval: Math.min(MAX_RETRY_INTERVAL_MS, tuning.pageRetryInitialMs * 2 ** attemptsBefore),
              maximumAttempts: Math.max(1, attempts - attemptsBefore),
            },
            summary: `${pageSummary(range)}${room > 1 ? ' and on' : ''}`,
          };
          return await waitingOutRefusals(ledger, () =>
            calls.activities.pullPages.executeWithOptions(options, [{ ...request, maxPages: room, budgetMs: tuning.pageCallBudgetMs, attemptsBefore }]),
          );
        }
        const options = { ...calls.options, retry: { ...calls.options.retry, maximumAttempts: attempts }, summary: pageSummary(range) };
        return { pages: [await waitingOutRefusals(ledger, () => calls.activities.pullPage.executeWithOptions(options, [request]))] };
      } catch (err) {
        if (!adaptive || size <= 1 || !smallerPageMayHelp(err)) throw err;
        halve(range, size);
      }
    }
  };

  /** A later page of a call failed: it is asked for again first, after the retry policy's first pause, unless that was its only attempt. */
  const retryAfterInterruption = async (range: RangeCursor, failure: { message: string; type: string }) => {
    progress.lastError = failure.message;
    if (tuning.pageMaxAttempts > 1) {
      // Counted as a retry when the page gets through, like any failed attempt.
      range.failedAttempts = 1;
      await sleep(tuning.pageRetryInitialMs);
    } else if (adaptive) {
      halve(range, fullPageSize);
    } else {
      throw ApplicationFailure.create({ message: failure.message, type: failure.type, nonRetryable: true });
    }
  };

  const pullPagesOf = async (range: RangeCursor) => {
    while (!range.done && executionHasRoom()) {
      // Reserved before the call, so lanes together stay within the execution's share; a lane takes its part of what is left.
      const left = tuning.pagesPerExecution - pagesThisExecution;
      const room = pageCalls ? Math.min(tuning.pagesPerCall, Math.max(1, Math.floor(left / Math.max(1, state.parallelism)))) : 1;
      pagesThisExecution += room;
      const { pages, interrupted } = await pullNext(range, room);
      pagesThisExecution -= room - pages.length;
      for (const record of pages) {
        state.retries += record.attempt - 1;
        state.totals = addTotals(state.totals, record);
        Object.assign(progress, state.totals, { retries: state.retries, lastError: null });
        advance(range, record);
        delete range.failedAttempts;
        // A smaller page got through: grow back towards the fetcher's page size.
        if (range.pageSize !== undefined) range.pageSize = range.pageSize * 2 >= fullPageSize ? undefined : range.pageSize * 2;
      }
      if (interrupted?.refusal) await waitOutRefusal(ledger, interrupted.refusal, interrupted.message);
      else if (interrupted) await retryAfterInterruption(range, interrupted);
    }
  };

  const lane = async () => {
    for (;;) {
      const range = state.ranges.find((r) => !r.done && !claimed.has(r.rangeNo));
      if (!range || !executionHasRoom()) return;
      claimed.add(range.rangeNo);
      await pullPagesOf(range);
    }
  };

  // One failing lane stops the others: their pages in flight are cancelled and waited for.
  const scope = new CancellationScope();
  const lanes = Array.from({ length: Math.max(1, state.parallelism) }, () => scope.run(lane));
  try {
    await Promise.all(lanes);
  } catch (err) {
    scope.cancel();
    await Promise.allSettled(lanes);
    throw err;
  }

  if (state.ranges.some((r) => !r.done)) {
    log.info('continuing as new', { runId: state.plan.runId, rangesLeft: state.ranges.filter((r) => !r.done).length });
    await continueAsNew<(input: FetcherRunInput) => Promise<FetcherRunResult>>({ ...input, runId: state.plan.runId, resume: state });
  }
}
