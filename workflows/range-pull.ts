/**
 * Pulls a run's host ID ranges, `parallelism` at a time. Each lane takes the
 * next unfinished range and pages through it by truncation (its own
 * id_min / id_max); a lane that finishes takes the next range. When this
 * execution has pulled its share of pages, lanes stop taking new pages, the
 * pages in flight finish, and the pull continues as new with every range's
 * cursor, so history stays bounded however large the subscription.
 */
import { ApplicationFailure, CancellationScope, continueAsNew, log, workflowInfo } from '@temporalio/workflow';
import {
  ERROR_TYPES,
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

/** Pulls until every range is done; continues as new on the way when this execution has done its share. */
export async function pullRanges(state: RangePullState, ledger: RunLedger, input: FetcherRunInput): Promise<void> {
  const { tuning, progress } = ledger;
  const calls = qualysCalls(tuning);
  const claimed = new Set<number>();
  let pagesThisExecution = 0;
  const executionHasRoom = () => pagesThisExecution < tuning.pagesPerExecution && !workflowInfo().continueAsNewSuggested;

  const pullPagesOf = async (range: RangeCursor) => {
    while (!range.done && executionHasRoom()) {
      pagesThisExecution += 1;
      const record = await waitingOutRefusals(ledger, () =>
        calls.activities.pullPage.executeWithOptions({ ...calls.options, summary: pageSummary(range) }, [
          {
            plan: state.plan,
            rangeNo: range.rangeNo,
            pageNo: range.nextPageNo,
            idMin: range.cursor,
            idMax: range.idMax,
            ...(state.hostIdsBlobKey ? { hostIdsBlobKey: state.hostIdsBlobKey } : {}),
            pageMaxAttempts: tuning.pageMaxAttempts,
            concurrencyPauseMs: tuning.concurrencyPauseMs,
          },
        ]),
      );
      state.retries += record.attempt - 1;
      state.totals = addTotals(state.totals, record);
      Object.assign(progress, state.totals, { retries: state.retries, lastError: null });
      advance(range, record);
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
