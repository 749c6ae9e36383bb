/**
 * The run as it was before range pulls: one page after another. Kept, unchanged
 * in what it asks of Temporal, only so that runs started by that version
 * replay and finish after an upgrade (`fetcherRun` sends histories without the
 * range-pull marker here). New runs never come here. Remove it with the
 * `deprecatePatch` step described in the README once no such run can remain.
 */
import { ApplicationFailure, continueAsNew, log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  CONNECTION_ID,
  DEFAULT_RUN_TUNING,
  ERROR_TYPES,
  FETCHER_ID,
  FETCHER_KIND,
  RUN_OUTCOME,
  runIdOfWorkflowId,
  type FetcherRunInput,
  type FetcherRunResult,
  type PullState,
  type RunTuning,
} from '../shared/contracts.js';
import { bookkeeping, qualysCalls, sealing } from './activity-options.js';
import { addTotals, openLedger, recordFailure, recordSuccess, waitingOutRefusals } from './run-bookkeeping.js';

export async function sequentialFetcherRun(input: FetcherRunInput & { resume?: PullState }): Promise<FetcherRunResult> {
  const info = workflowInfo();
  const runId = input.runId ?? runIdOfWorkflowId(info.workflowId);
  const tuning: RunTuning = { ...DEFAULT_RUN_TUNING, ...input.tuning };
  const pages = qualysCalls(tuning);
  let state: PullState | undefined = input.resume;
  const ledger = openLedger(runId, tuning, state);
  const { progress } = ledger;
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
      await waitingOutRefusals(ledger, () => bookkeeping.checkConnection({ runId, connectionId: plan.connectionId }));
      state = { plan, nextPageNo: 1, idMin: null, totals: { pages: 0, hosts: 0, detections: 0, records: 0, bytes: 0 }, refusals: ledger.refusals, retries: 0 };
    }

    progress.step = 'pull_pages';
    let pagesThisExecution = 0;
    for (;;) {
      const current = state;
      const summary = current.idMin === null ? `page ${current.nextPageNo}` : `page ${current.nextPageNo} from host id ${current.idMin}`;
      const record = await waitingOutRefusals(ledger, () =>
        pages.activities.pullPage.executeWithOptions({ ...pages.options, summary }, [
          { plan: current.plan, pageNo: current.nextPageNo, idMin: current.idMin, totalsBefore: current.totals },
        ]),
      );
      state.retries += record.attempt - 1;
      progress.retries = state.retries;
      state.totals = addTotals(state.totals, record);
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
        await continueAsNew<(input: FetcherRunInput) => Promise<FetcherRunResult>>({ ...input, runId, resume: state });
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
    await recordSuccess(ledger, evidence.evidenceId);
    return { runId, status: 'succeeded', evidence, totals: state.totals, attachedTo };
  } catch (err) {
    throw await recordFailure(ledger, err);
  }
}
