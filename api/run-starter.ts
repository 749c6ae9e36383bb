/**
 * Starts a fetcher run: the run row first (idempotent on the caller's key),
 * then its workflow under the row's id. Every caller, including losers of a
 * race on the same key, asks Temporal to start the same workflow id with a
 * policy that never creates a second execution, so a crash between the two
 * steps heals on the next attempt and duplicates are impossible.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { createRun, type CreateRunResult } from '../db/runs.js';
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

export async function startFetcherRun(deps: RunStarterDeps, request: StartRunRequest): Promise<CreateRunResult> {
  const { fetcher } = request;
  const result = await createRun(deps.db, {
    fetcherId: fetcher.id,
    connectionId: fetcher.connectionId,
    trigger: request.trigger,
    triggeredBy: request.triggeredBy ?? null,
    idempotencyKey: request.idempotencyKey ?? null,
  });
  await ensureWorkflow(deps, result.run, fetcher, request.tuning);
  return result;
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

