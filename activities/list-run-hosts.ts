import { Context } from '@temporalio/activity';
import { Readable } from 'node:stream';
import type { ActivityDeps } from './deps.js';
import { toFailure } from './failures.js';
import type { QualysClientPool } from './qualys-clients.js';
import { hostListFiltersFor } from '../audit/host-list-filters.js';
import type { HostIdListDocument } from '../audit/reconcile-hosts.js';
import { setRunHostIdList, updateRunProgress } from '../db/runs.js';
import type { RunPlan } from '../workflows/contracts.js';

export interface ListRunHostsInput {
  plan: RunPlan;
}

/** The stored list, or why none was taken (custom fetchers, filters the host list cannot repeat). */
export type ListRunHostsResult = { blobKey: string; count: number } | { blobKey: null; count: null; reason: string };

/**
 * Before pulling: asks Qualys for the host ID list (`details=None`) with the
 * run's host-level filters, stores it as a blob (`{count, ranges, params,
 * listedAt}` JSON) and records its key on the run. Sealing reconciles the
 * evidence with it; range-parallel pulls can split on it.
 */
export function listRunHosts({ db, blobStore, logger }: ActivityDeps, pool: QualysClientPool) {
  return async ({ plan }: ListRunHostsInput): Promise<ListRunHostsResult> => {
    if (plan.fetcherKind !== 'host_list_detection') return { blobKey: null, count: null, reason: 'a custom fetcher has no host-level filters' };
    const listedAt = new Date();
    const filters = hostListFiltersFor(plan.params, listedAt);
    if (!filters.applies) return { blobKey: null, count: null, reason: filters.reason };
    await updateRunProgress(db, plan.runId, { step: 'list_hosts' });
    const { client } = await pool.get(plan.connectionId);
    const ctx = Context.current();
    const heartbeat = setInterval(() => ctx.heartbeat({ step: 'list_hosts' }), 10_000);
    try {
      const list = await client.listHostIds(filters.params, ctx.cancellationSignal);
      const document: HostIdListDocument = { count: list.count, ranges: list.ranges, params: filters.params, listedAt: listedAt.toISOString() };
      const blob = await blobStore.put(Readable.from([Buffer.from(JSON.stringify(document), 'utf8')]));
      await setRunHostIdList(db, plan.runId, blob.key);
      logger.info({ runId: plan.runId, hosts: list.count, ranges: list.ranges.length, blobKey: blob.key }, 'host ID list stored');
      return { blobKey: blob.key, count: list.count };
    } catch (err) {
      throw toFailure(err);
    } finally {
      clearInterval(heartbeat);
    }
  };
}
