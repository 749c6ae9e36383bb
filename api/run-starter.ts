/**
 * Starts a fetcher run: the run row first (idempotent on the caller's key),
 * then its workflow under the row's id. Every caller, including losers of a
 * race on the same key, asks Temporal to start the same workflow id with a
 * policy that never creates a second execution, so a crash between the two
 * steps heals on the next attempt and duplicates are impossible. The row
 * records when Temporal accepted the workflow (`launchedAt`), so runs whose
 * start never got through can be found and started (run-launcher.ts).
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { createRun, markRunLaunched, type CreateRunResult } from '../db/runs.js';
import type { AppDatabase } from '../db/database.js';
import type { FetcherRow, RunRow, RunTrigger } from '../db/schema.js';
import { CONNECTION_ID, FETCHER_ID, FETCHER_KIND, FETCHER_RUN_WORKFLOW, RUN_OUTCOME, type FetcherRunInput, type RunTuning } from '../shared/contracts.js';

export interface RunStarterDeps {
  db: AppDatabase;
  client: Client;
  taskQueue: string;
  /**
   * How long a workflow task may take before Temporal gives it to another
   * worker (Temporal's default, 10 s, when absent): also how long a run waits
   * when its worker dies in the middle of one.
   */
  workflowTaskTimeoutMs?: number;
}

export interface StartRunRequest {
  fetcher: FetcherRow;
  trigger: RunTrigger;
  triggeredBy?: string | null;
  idempotencyKey?: string | null;
  tuning?: Partial<RunTuning>;
}

/** Stores the run and waits until Temporal has accepted its workflow (the CLI, the demo, benchmarks). */
export async function startFetcherRun(deps: RunStarterDeps, request: StartRunRequest): Promise<CreateRunResult> {
  const result = await storeRun(deps.db, request);
  await launchWorkflow(deps, result.run, request.fetcher, request.tuning);
  return result;
}

/** The run row alone (idempotent on the key): what the API answers with before the workflow starts. */
export function storeRun(db: AppDatabase, request: StartRunRequest): Promise<CreateRunResult> {
  const { fetcher } = request;
  return createRun(db, {
    fetcherId: fetcher.id,
    connectionId: fetcher.connectionId,
    trigger: request.trigger,
    triggeredBy: request.triggeredBy ?? null,
    idempotencyKey: request.idempotencyKey ?? null,
  });
}

/** Starts the stored run's workflow (or finds it started) and records that Temporal has it. */
export async function launchWorkflow(deps: RunStarterDeps, run: RunRow, fetcher: FetcherRow, tuning?: Partial<RunTuning>): Promise<void> {
  await ensureWorkflow(deps, run, fetcher, tuning);
  await markRunLaunched(deps.db, run.id);
}

async function ensureWorkflow(deps: RunStarterDeps, run: RunRow, fetcher: FetcherRow, tuning?: Partial<RunTuning>): Promise<void> {
  const input: FetcherRunInput = {
    runId: run.id,
    fetcherId: fetcher.id,
    trigger: run.trigger,
    triggeredBy: run.triggeredBy,
    ...(tuning ? { tuning } : {}),
  };
  try {
    await deps.client.workflow.start(FETCHER_RUN_WORKFLOW, {
      workflowId: run.workflowId,
      taskQueue: deps.taskQueue,
      ...(deps.workflowTaskTimeoutMs === undefined ? {} : { workflowTaskTimeout: deps.workflowTaskTimeoutMs }),
      args: [input],
      staticSummary: `Fetcher "${fetcher.name}" (${fetcher.kind === 'host_list_detection' ? 'Host List Detection' : 'custom'})`,
      staticDetails: `run ${run.id}, triggered by ${run.trigger}${run.triggeredBy ? ` (${run.triggeredBy})` : ''}`,
      typedSearchAttributes: [
        { key: FETCHER_ID, value: fetcher.id },
        { key: CONNECTION_ID, value: fetcher.connectionId },
        { key: FETCHER_KIND, value: fetcher.kind },
        { key: RUN_OUTCOME, value: 'running' },
      ],
      // A second start for a running id returns it; for a closed id it is refused: never two executions.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

