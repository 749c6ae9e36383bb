/**
 * The manifest's chain of custody, from what the run recorded as it went:
 * who or what started it (API key, schedule and the time it was due), every
 * failed attempt with its cause, every wait Qualys asked for and how long,
 * every worker that took part, and the Qualys platform and API version.
 */
import type { Connection } from '../db/connections.js';
import { listRunEvents, listRunWorkers } from '../db/run-activity.js';
import { getRun } from '../db/runs.js';
import type { AppDatabase } from '../db/app-database.js';
import type { Custody } from '../evidence/manifest.js';
import { scheduledTimeOfWorkflowId } from '../shared/contracts.js';

/** Keeps a manifest readable on a run that retried thousands of times: counts stay exact, lists are capped. */
const MAX_LISTED = 1000;

export async function chainOfCustody(db: AppDatabase, runId: string, connection: Connection): Promise<Custody> {
  const [run, events, workers] = await Promise.all([getRun(db, runId), listRunEvents(db, runId), listRunWorkers(db, runId)]);
  if (!run) throw new Error(`run ${runId} does not exist`);
  const retries = events.filter((e) => e.kind === 'retry');
  const waits = events.filter((e) => e.kind === 'wait');
  const pageSizeChanges = events.filter((e) => e.kind === 'page_size');
  const scheduledFor = run.scheduleId ? scheduledTimeOfWorkflowId(run.workflowId) : null;
  return {
    startedBy: {
      trigger: run.trigger,
      triggeredBy: run.triggeredBy,
      scheduleId: run.scheduleId,
      scheduledFor: scheduledFor?.toISOString() ?? null,
    },
    qualys: { platform: connection.platform, apiBaseUrl: connection.apiBaseUrl, apiVersion: connection.apiVersion },
    workers,
    retryCount: retries.length,
    retries: retries.slice(0, MAX_LISTED).map((e) => ({ at: e.at.toISOString(), worker: e.worker, ...(e.detail as Omit<Custody['retries'][number], 'at' | 'worker'>) })),
    waitCount: waits.length,
    waitedSeconds: waits.reduce((n, e) => n + Number((e.detail as { seconds?: number }).seconds ?? 0), 0),
    waits: waits.slice(0, MAX_LISTED).map((e) => ({ at: e.at.toISOString(), worker: e.worker, ...(e.detail as Omit<Custody['waits'][number], 'at' | 'worker'>) })),
    ...(pageSizeChanges.length > 0
      ? { pageSizeChanges: pageSizeChanges.slice(0, MAX_LISTED).map((e) => ({ at: e.at.toISOString(), worker: e.worker, ...(e.detail as Omit<NonNullable<Custody['pageSizeChanges']>[number], 'at' | 'worker'>) })) }
      : {}),
  };
}
