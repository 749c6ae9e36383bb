import { ZodError } from 'zod';
import type { ActivityDeps } from './deps.js';
import { invalidState, notFound } from './failures.js';
import { buildRunPlan } from './run-plan.js';
import { getConnection } from '../db/connections.js';
import { getFetcher } from '../db/fetchers.js';
import { recordStep } from '../db/run-activity.js';
import { createRun, updateRunProgress } from '../db/runs.js';
import { HostListDetectionParamsError } from '../qualys/hld-params.js';
import type { RunPlan, RunTrigger } from '../shared/contracts.js';

export interface PrepareRunInput {
  runId: string;
  fetcherId: string;
  trigger: RunTrigger;
  triggeredBy: string | null;
  scheduleId: string | null;
  workflowId: string;
}

/**
 * Loads the fetcher and its connection, makes sure the run's row exists
 * (scheduled runs have none yet) and marks it running, and returns the plan.
 * No secret leaves this activity.
 */
export function prepareRun({ db, logger, workerIdentity }: ActivityDeps) {
  return async (input: PrepareRunInput): Promise<RunPlan> => {
    const fetcher = await getFetcher(db, input.fetcherId);
    if (!fetcher) throw notFound('fetcher', input.fetcherId);
    if (!fetcher.enabled) throw invalidState(`fetcher "${fetcher.name}" is disabled`);
    const connection = await getConnection(db, fetcher.connectionId);
    if (!connection) throw notFound('connection', fetcher.connectionId);
    if (connection.status === 'disconnected') throw invalidState(`connection "${connection.name}" is disconnected`);

    const { run } = await createRun(db, {
      id: input.runId,
      fetcherId: fetcher.id,
      connectionId: connection.id,
      trigger: input.trigger,
      triggeredBy: input.triggeredBy,
      scheduleId: input.scheduleId,
    });
    const running = await updateRunProgress(db, run.id, { status: 'running', step: 'prepare' });
    if (!running) throw invalidState(`run ${run.id} has already finished (${run.status})`);
    await recordStep(db, run.id, 'prepare', workerIdentity ?? null);
    try {
      const plan = buildRunPlan(run.id, fetcher, connection, running.startedAt ?? new Date());
      logger.info({ runId: run.id, fetcherId: fetcher.id, kind: fetcher.kind, endpoint: plan.endpoint, trigger: input.trigger }, 'run prepared');
      return plan;
    } catch (err) {
      if (err instanceof ZodError || err instanceof HostListDetectionParamsError) {
        throw invalidState(`fetcher "${fetcher.name}" has an invalid definition: ${err instanceof ZodError ? err.issues.map((i) => i.message).join('; ') : err.message}`);
      }
      throw err;
    }
  };
}
