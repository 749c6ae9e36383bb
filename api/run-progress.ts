/**
 * Live progress of an unfinished run, asked of its workflow. A query needs a
 * worker to answer, so it gets a short deadline; when it cannot be answered
 * in time (no worker yet, workflow not started) the caller falls back to the
 * progress stored on the run's row.
 */
import type { Client } from '@temporalio/client';
import { PROGRESS_QUERY, type RunProgress } from '../shared/contracts.js';

/** An idle worker answers in milliseconds; past this the worker is saturated and waiting longer only slows status reads down. */
export const PROGRESS_QUERY_DEADLINE_MS = 500;

export async function queryRunProgress(client: Client, workflowId: string, deadlineMs = PROGRESS_QUERY_DEADLINE_MS): Promise<RunProgress | null> {
  try {
    return await client.withDeadline(Date.now() + deadlineMs, () => client.workflow.getHandle(workflowId).query<RunProgress>(PROGRESS_QUERY));
  } catch {
    // Any failure here (deadline, not found, no worker) only means the stored progress is shown.
    return null;
  }
}
