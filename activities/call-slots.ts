/**
 * Every Qualys call an activity makes goes through here: it waits for one of
 * the subscription's slots (shared by all runs and workers through
 * db/qualys-budget.ts), keeps its lease alive while the call runs, gives the
 * slot back at once when the answer is read, and remembers the limits Qualys
 * reported, which set the number of slots and the pacing of the next calls.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import {
  finishCall,
  LeaseLostError,
  leaveQueue,
  renewLease,
  tryAdmit,
  type BudgetPolicy,
} from '../db/qualys-budget.js';
import type { AppDatabase } from '../db/database.js';
import type { QualysLimits } from '../qualys/limits.js';
import { subscriptionId } from '../qualys/subscription.js';
import type { Logger } from '../runtime/logger.js';
import type { LimitsSource } from './page-bytes.js';
import { ERROR_TYPES, type LimitFailureDetails } from '../shared/contracts.js';

export const DEFAULT_BUDGET_POLICY: BudgetPolicy = { concurrencyReserve: 0, leaseTtlMs: 60_000 };

/** Between looks at the queue while waiting for a slot: prompt, yet light on the database. */
const POLL_MIN_MS = 100;
const POLL_MAX_MS = 1000;

export interface SlotOptions {
  /** The activity's cancellation: leaves the queue, or aborts the call in flight. */
  signal: AbortSignal;
  /** Called on every look at the queue, so the activity can heartbeat. */
  onWait?: () => void;
  /** Waiting longer than this fails with a concurrency-limit failure, which the workflow waits out. */
  maxWaitMs: number;
  /** Shown to operators in the lease table, e.g. `run <id> page 3`. */
  purpose: string;
  /** The run the call belongs to: its progress counts its calls waiting for a slot. */
  runId?: string;
}

export interface CallSlots {
  /** Runs `call` in a slot; the limits Qualys reported come from the result's `limits`, else from the client's last answer. */
  run<T>(client: LimitsSource, options: SlotOptions, call: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export function createCallSlots(deps: { db: AppDatabase; logger: Logger; qualysBudget?: BudgetPolicy }): CallSlots {
  const { db, logger } = deps;
  const policy = deps.qualysBudget ?? DEFAULT_BUDGET_POLICY;
  const holder = `${os.hostname()}-${process.pid}`;

  async function admitted(subscriptionId: string, options: SlotOptions): Promise<string> {
    const call = { leaseId: randomUUID(), subscriptionId, holder, purpose: options.purpose, runId: options.runId ?? null, queued: false };
    const started = Date.now();
    try {
      for (;;) {
        options.signal.throwIfAborted();
        const admission = await tryAdmit(db, call, policy);
        call.queued = true;
        if (admission.admitted) return call.leaseId;
        const waited = Date.now() - started;
        if (waited > options.maxWaitMs) throw slotWaitFailure(waited, admission.reason, admission.retryInMs);
        options.onWait?.();
        // A rate wait is known to the millisecond; a slot frees when some call ends, so look again soon.
        const pause = admission.reason === 'rate' ? admission.retryInMs : POLL_MIN_MS + Math.random() * POLL_MIN_MS;
        await sleep(Math.min(POLL_MAX_MS, pause), undefined, { signal: options.signal });
      }
    } catch (err) {
      if (call.queued) await leaveQueue(db, call.leaseId).catch(() => {});
      throw options.signal.aborted ? (options.signal.reason ?? err) : err;
    }
  }

  return {
    async run(client, options, call) {
      const subscription = subscriptionId(client.apiBaseUrl, client.username);
      const leaseId = await admitted(subscription, options);
      // A lease we could not renew in time may already be someone else's slot: stop the call.
      const lost = new AbortController();
      const renew = setInterval(() => {
        renewLease(db, leaseId, policy).catch((err: unknown) => {
          if (err instanceof LeaseLostError) lost.abort(err);
          else logger.warn({ leaseId, error: (err as Error).message }, 'could not renew a Qualys call lease; trying again');
        });
      }, policy.leaseTtlMs / 3);
      let limits: QualysLimits | null = null;
      try {
        const result = await call(AbortSignal.any([options.signal, lost.signal]));
        limits = (result as { limits?: QualysLimits }).limits ?? client.lastLimits;
        return result;
      } catch (err) {
        limits = client.lastLimits;
        if (lost.signal.aborted && !options.signal.aborted) throw lost.signal.reason as Error;
        throw err;
      } finally {
        clearInterval(renew);
        await finishCall(db, leaseId, limits ? { subscriptionId: subscription, limits } : undefined);
      }
    },
  };
}

/**
 * Handed to the workflow like a 409: it waits with a timer (as long as the
 * rate window needs, or its concurrency pause) and tries again, without using
 * up attempts.
 */
function slotWaitFailure(waitedMs: number, reason: 'slot' | 'rate', retryInMs: number): ApplicationFailure {
  const details: LimitFailureDetails = { retryAfterSeconds: reason === 'rate' ? Math.ceil(retryInMs / 1000) : 0, qualysCode: 0 };
  return ApplicationFailure.create({
    message: `waited ${Math.round(waitedMs / 1000)} s for ${reason === 'slot' ? "one of the Qualys subscription's call slots" : "the subscription's rate budget"}`,
    type: reason === 'slot' ? ERROR_TYPES.concurrencyLimit : ERROR_TYPES.rateLimit,
    nonRetryable: true,
    details: [details],
  });
}

/** A wait bounded by the activity's own time limit, so the wait never times the activity out. */
export function maxSlotWaitMs(startToCloseTimeoutMs: number | undefined): number {
  return Math.min(10 * 60_000, Math.max(5_000, (startToCloseTimeoutMs ?? 120_000) / 4));
}
