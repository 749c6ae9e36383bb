/**
 * Pulls a run's host ID ranges, `parallelism` at a time. Each lane takes the
 * next unfinished range and pages through it by truncation (its own
 * id_min / id_max); a lane that finishes takes the next range. When this
 * execution has pulled its share of pages, lanes stop taking new pages, the
 * pages in flight finish, and the pull continues as new with every range's
 * cursor, so history stays bounded however large the subscription.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, continueAsNew, isCancellation, log, patched, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import {
  ERROR_TYPES,
  LIMIT_ERROR_TYPES,
  PERMANENT_ERROR_TYPES,
  type FetcherRunInput,
  type FetcherRunResult,
  type PageRecord,
  type RangeCursor,
  type RangePullState,
} from '../shared/contracts.js';
import { qualysCalls } from './activity-options.js';
import { addTotals, waitingOutRefusals, type RunLedger } from './run-bookkeeping.js';

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

  /** One page of a range; when it keeps failing, again with half the hosts, down to one. */
  const pullPage = async (range: RangeCursor): Promise<PageRecord> => {
    for (;;) {
      const reduced = range.pageSize !== undefined && range.pageSize < fullPageSize;
      const attempts = reduced ? tuning.pageAttemptsPerHalving : tuning.pageMaxAttempts;
      const size = range.pageSize ?? fullPageSize;
      const options = { ...calls.options, retry: { ...calls.options.retry, maximumAttempts: attempts }, summary: pageSummary(range) };
      try {
        return await waitingOutRefusals(ledger, () =>
          calls.activities.pullPage.executeWithOptions(options, [
            {
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
            },
          ]),
        );
      } catch (err) {
        if (!adaptive || size <= 1 || !smallerPageMayHelp(err)) throw err;
        range.pageSize = Math.floor(size / 2);
        log.warn('page kept failing; asking again with fewer hosts', { runId: state.plan.runId, rangeNo: range.rangeNo, pageNo: range.nextPageNo, hosts: range.pageSize });
      }
    }
  };

  const pullPagesOf = async (range: RangeCursor) => {
    while (!range.done && executionHasRoom()) {
      pagesThisExecution += 1;
      const record = await pullPage(range);
      state.retries += record.attempt - 1;
      state.totals = addTotals(state.totals, record);
      Object.assign(progress, state.totals, { retries: state.retries, lastError: null });
      advance(range, record);
      // A smaller page got through: grow back towards the fetcher's page size.
      if (range.pageSize !== undefined) range.pageSize = range.pageSize * 2 >= fullPageSize ? undefined : range.pageSize * 2;
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
