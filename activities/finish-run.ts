import type { ActivityDeps } from './deps.js';
import { recordStep } from '../db/run-activity.js';
import { finishRun as recordFinish } from '../db/runs.js';
import type { RunOutcome, RunProgress } from '../shared/contracts.js';

export interface FinishRunInput {
  runId: string;
  outcome: Exclude<RunOutcome, 'running'>;
  evidenceId: string | null;
  progress: RunProgress;
  error: { type: string; message: string } | null;
}

/**
 * Records how the run ended on its row; repeating it is harmless. The
 * counters on the row were recorded by the activities as pages arrived and
 * stay as they are; only what belongs to the end changes.
 */
export function finishRun(deps: ActivityDeps) {
  return async (input: FinishRunInput): Promise<void> => {
    await recordFinish(deps.db, input.runId, {
      status: input.outcome,
      step: input.progress.step,
      evidenceId: input.evidenceId,
      error: input.error,
      progress: { outcome: input.outcome, waiting: null, ...(input.outcome === 'succeeded' ? { current: null, lastError: null } : { lastError: input.progress.lastError }) },
    });
    await recordStep(deps.db, input.runId, input.progress.step, deps.workerIdentity ?? null);
    deps.metrics?.runFinished(input.outcome, input.progress.waitedSeconds);
  };
}
