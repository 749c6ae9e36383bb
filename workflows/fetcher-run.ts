/**
 * One fetcher run: prepare → check the connection → plan host ID ranges →
 * pull the ranges in parallel → seal → attach → record the outcome and
 * notify. Pages live in the blob store; history only sees their small
 * records. Bookkeeping (progress, 409 waits, outcomes, webhooks) lives
 * beside the story in run-bookkeeping.ts; the lanes of the pull in
 * range-pull.ts.
 */
import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  CONNECTION_ID,
  DEFAULT_RUN_TUNING,
  FETCHER_ID,
  FETCHER_KIND,
  isRangePullState,
  RUN_OUTCOME,
  runIdOfWorkflowId,
  type FetcherRunInput,
  type FetcherRunResult,
  type PullState,
  type RangePullState,
  type RunTuning,
} from '../shared/contracts.js';
import { bookkeeping, qualysCalls, sealing } from './activity-options.js';
import { pullRanges } from './range-pull.js';
import { enterStep, openLedger, recordFailure, recordSuccess, waitingOutRefusals, type RunLedger } from './run-bookkeeping.js';
import { sequentialFetcherRun } from './sequential-run.js';

export { progressQuery } from './run-bookkeeping.js';

/** Marks runs that pull by ranges; histories without it are runs of the sequential version. */
export const RANGE_PULLS_PATCH = 'range-pulls';

export async function fetcherRun(input: FetcherRunInput): Promise<FetcherRunResult> {
  if (!patched(RANGE_PULLS_PATCH)) return sequentialFetcherRun(input as FetcherRunInput & { resume?: PullState });

  const info = workflowInfo();
  const runId = input.runId ?? runIdOfWorkflowId(info.workflowId);
  const tuning: RunTuning = { ...DEFAULT_RUN_TUNING, ...input.tuning };
  const carried = input.resume && (isRangePullState(input.resume) ? input.resume : fromSequential(input.resume));
  const ledger = openLedger(runId, tuning, carried);
  try {
    const state = carried ?? (await begin(runId, input, ledger));
    enterStep(ledger, 'pull_pages');
    await pullRanges(state, ledger, input);

    enterStep(ledger, 'seal');
    const evidence = await sealing.sealEvidence({
      plan: state.plan,
      ...(state.hostIdsBlobKey ? { hostIdsBlobKey: state.hostIdsBlobKey } : {}),
      trigger: input.trigger,
      triggeredBy: input.triggeredBy ?? null,
      workflowId: info.workflowId,
      refusals: state.refusals,
      retries: state.retries,
    });
    enterStep(ledger, 'attach');
    const attachedTo = await bookkeeping.attachEvidence({ runId, evidenceId: evidence.evidenceId, fetcherId: state.plan.fetcherId });
    await recordSuccess(ledger, evidence.evidenceId);
    return { runId, status: 'succeeded', evidence, totals: state.totals, attachedTo };
  } catch (err) {
    throw await recordFailure(ledger, err);
  }
}

/** Prepare, check the connection, and plan the ranges: the state a pull starts from. */
async function begin(runId: string, input: FetcherRunInput, ledger: RunLedger): Promise<RangePullState> {
  const { tuning } = ledger;
  const plan = await bookkeeping.prepareRun({
    runId,
    fetcherId: input.fetcherId,
    trigger: input.trigger,
    triggeredBy: input.triggeredBy ?? null,
    scheduleId: input.scheduleId ?? null,
    workflowId: workflowInfo().workflowId,
  });
  upsertSearchAttributes([
    { key: FETCHER_ID, value: plan.fetcherId },
    { key: CONNECTION_ID, value: plan.connectionId },
    { key: FETCHER_KIND, value: plan.fetcherKind },
    { key: RUN_OUTCOME, value: 'running' },
  ]);

  enterStep(ledger, 'check_connection');
  const qualys = qualysCalls(tuning).activities;
  const { concurrencyLimit } = await waitingOutRefusals(ledger, () =>
    qualys.checkConnection({ runId, connectionId: plan.connectionId, maxAttempts: tuning.pageMaxAttempts, concurrencyPauseMs: tuning.concurrencyPauseMs }),
  );

  enterStep(ledger, 'pull_pages');
  const ranges = await waitingOutRefusals(ledger, () => qualys.planRanges({ plan, concurrencyLimit }));
  return {
    plan,
    parallelism: ranges.parallelism,
    listedHosts: ranges.listedHosts,
    ...(ranges.hostIdsBlobKey ? { hostIdsBlobKey: ranges.hostIdsBlobKey } : {}),
    ranges: ranges.ranges.map((r) => ({ ...r, nextPageNo: 1, cursor: r.idMin, done: false })),
    totals: { pages: 0, hosts: 0, detections: 0, records: 0, bytes: 0 },
    refusals: ledger.refusals,
    retries: 0,
  };
}

/** A run of the sequential version that continued as new into this one: one open range, resumed where it stood. */
function fromSequential(state: PullState): RangePullState {
  return {
    plan: state.plan,
    parallelism: 1,
    listedHosts: null,
    ranges: [{ rangeNo: 1, idMin: null, idMax: null, nextPageNo: state.nextPageNo, cursor: state.idMin, done: false }],
    totals: state.totals,
    refusals: state.refusals,
    retries: state.retries,
  };
}
