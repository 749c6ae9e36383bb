import { Context } from '@temporalio/activity';
import { maxSlotWaitMs, type CallSlots } from './call-slots.js';
import type { ActivityDeps } from './deps.js';
import { recordingFailures } from './attempt-recorder.js';
import type { QualysClientPool } from './qualys-clients.js';
import { markConnectionStatus } from '../db/connections.js';
import { recordStep } from '../db/run-activity.js';
import { QualysAuthError } from '../qualys/errors.js';
import { DEFAULT_RUN_TUNING } from '../shared/contracts.js';

export interface CheckConnectionInput {
  runId: string;
  connectionId: string;
  /** Absent in runs started before range pulls. */
  maxAttempts?: number;
  concurrencyPauseMs?: number;
}

export interface ConnectionLimits {
  /** Calls the subscription may run at once, as Qualys reported it (null when it said nothing). */
  concurrencyLimit: number | null;
}

/**
 * One cheap authenticated call before the pull. Bad credentials, an expired
 * account or missing rights mark the connection invalid and fail the run at
 * once with Qualys's reason. Returns the subscription's concurrency limit,
 * which bounds how many ranges the run pulls at once. The call takes a slot
 * of the subscription's shared budget like any other.
 */
export function checkConnection(deps: ActivityDeps, pool: QualysClientPool, slots: CallSlots) {
  const { db, logger } = deps;
  return async ({ runId, connectionId, maxAttempts, concurrencyPauseMs }: CheckConnectionInput): Promise<ConnectionLimits> => {
    await recordStep(db, runId, 'check_connection', deps.workerIdentity ?? null);
    const scope = {
      runId,
      step: 'check_connection' as const,
      maxAttempts: maxAttempts ?? DEFAULT_RUN_TUNING.pageMaxAttempts,
      concurrencyPauseMs: concurrencyPauseMs ?? DEFAULT_RUN_TUNING.concurrencyPauseMs,
    };
    return recordingFailures(deps, scope, async () => {
      const { client } = await pool.get(connectionId);
      try {
        const ctx = Context.current();
        const check = await slots.run(
          client,
          {
            signal: ctx.cancellationSignal,
            onWait: () => ctx.heartbeat({ waitingForSlot: true }),
            maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs),
            purpose: `run ${runId} connection check`,
            runId,
          },
          (signal) => client.checkConnection(signal),
        );
        await markConnectionStatus(db, connectionId, 'valid', null, { limits: check.limits });
        return { concurrencyLimit: check.limits.concurrencyLimit };
      } catch (err) {
        if (err instanceof QualysAuthError) {
          await markConnectionStatus(db, connectionId, 'invalid', err.message);
          logger.warn({ runId, connectionId, reason: err.reason, qualysCode: err.code }, 'Qualys refused the connection; marked invalid');
        }
        throw err;
      }
    });
  };
}
