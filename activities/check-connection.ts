import { Context } from '@temporalio/activity';
import { maxSlotWaitMs, type CallSlots } from './call-slots.js';
import type { ActivityDeps } from './deps.js';
import type { QualysClientPool } from './qualys-clients.js';
import { markConnectionStatus } from '../db/connections.js';
import { updateRunProgress } from '../db/runs.js';
import { QualysAuthError } from '../qualys/errors.js';

export interface CheckConnectionInput {
  runId: string;
  connectionId: string;
}

/**
 * One cheap authenticated call before the pull. Bad credentials, an expired
 * account or missing rights mark the connection invalid and fail the run at
 * once with Qualys's reason. The call takes a slot of the subscription's
 * shared budget like any other, and reports the limits the budget follows.
 */
export function checkConnection({ db, logger }: ActivityDeps, pool: QualysClientPool, slots: CallSlots) {
  return async ({ runId, connectionId }: CheckConnectionInput): Promise<void> => {
    await updateRunProgress(db, runId, { step: 'check_connection' });
    const { client } = await pool.get(connectionId);
    const ctx = Context.current();
    try {
      const check = await slots.run(
        client,
        {
          signal: ctx.cancellationSignal,
          onWait: () => ctx.heartbeat({ waitingForSlot: true }),
          maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs),
          purpose: `run ${runId} connection check`,
        },
        (signal) => client.checkConnection(signal),
      );
      await markConnectionStatus(db, connectionId, 'valid', null, { limits: check.limits });
    } catch (err) {
      if (err instanceof QualysAuthError) {
        await markConnectionStatus(db, connectionId, 'invalid', err.message);
        logger.warn({ runId, connectionId, reason: err.reason, qualysCode: err.code }, 'Qualys refused the connection; marked invalid');
      }
      throw err;
    }
  };
}
