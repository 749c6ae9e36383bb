import { Context } from '@temporalio/activity';
import { maxSlotWaitMs, type CallSlots } from './call-slots.js';
import type { ActivityDeps } from './deps.js';
import { toFailure } from './failures.js';
import { storeHostIdList } from './host-id-list-blob.js';
import type { QualysClientPool } from './qualys-clients.js';
import { hostListFiltersFor } from '../audit/host-list-filters.js';
import type { RunPlan } from '../shared/contracts.js';

export interface ListRunHostsInput {
  plan: RunPlan;
}

/** The stored list, or why none was taken (custom fetchers, filters the host list cannot repeat). */
export type ListRunHostsResult = { blobKey: string; count: number } | { blobKey: null; count: null; reason: string };

/**
 * Before pulling: asks Qualys for the host ID list (`details=None`) with the
 * run's host-level filters, stores it and records its key on the run, for
 * sealing to reconcile the evidence with. planRanges does the same when it
 * lists hosts to split a run into ranges; this serves runs it does not split.
 */
export function listRunHosts(deps: ActivityDeps, pool: QualysClientPool, slots: CallSlots) {
  return async ({ plan }: ListRunHostsInput): Promise<ListRunHostsResult> => {
    if (plan.fetcherKind !== 'host_list_detection') return { blobKey: null, count: null, reason: 'a custom fetcher has no host-level filters' };
    const listedAt = new Date();
    const filters = hostListFiltersFor(plan.params, listedAt);
    if (!filters.applies) return { blobKey: null, count: null, reason: filters.reason };
    const { client } = await pool.get(plan.connectionId);
    const ctx = Context.current();
    const heartbeat = setInterval(() => ctx.heartbeat({ step: 'list_hosts' }), 10_000);
    try {
      const slot = {
        signal: ctx.cancellationSignal,
        onWait: () => ctx.heartbeat({ waitingForSlot: true }),
        maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs),
        purpose: `run ${plan.runId} host list`,
      };
      const list = await slots.run(client, slot, (signal) => client.listHostIds(filters.params, signal));
      const blobKey = await storeHostIdList(deps, plan.runId, list, filters.params, listedAt);
      deps.logger.info({ runId: plan.runId, hosts: list.count, ranges: list.ranges.length, blobKey }, 'host ID list stored');
      return { blobKey, count: list.count };
    } catch (err) {
      throw toFailure(err);
    } finally {
      clearInterval(heartbeat);
    }
  };
}
