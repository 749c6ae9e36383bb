import type { ActivityDeps } from './deps.js';
import { finishRun as recordFinish } from '../db/runs.js';
import type { RunOutcome, RunProgress } from '../shared/contracts.js';

export interface FinishRunInput {
  runId: string;
  outcome: Exclude<RunOutcome, 'running'>;
  evidenceId: string | null;
  progress: RunProgress;
  error: { type: string; message: string } | null;
}

/** Records how the run ended on its row; repeating it is harmless. */
export function finishRun({ db }: ActivityDeps) {
  return async (input: FinishRunInput): Promise<void> => {
    await recordFinish(db, input.runId, {
      status: input.outcome,
      step: input.progress.step,
      evidenceId: input.evidenceId,
      error: input.error,
      progress: input.progress,
    });
  };
}
