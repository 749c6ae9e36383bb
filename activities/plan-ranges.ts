import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps.js';
import type { QualysClientPool } from './qualys-clients.js';
import { splitHostIds } from './range-split.js';
import { recordRunRanges, recordStep } from '../db/run-activity.js';
import { hostListParamsFor } from '../qualys/host-list-params.js';
import type { RangePlan, RunPlan } from '../shared/contracts.js';

export interface PlanRangesInput {
  plan: RunPlan;
  /** The subscription's concurrency limit as Qualys reported it at the connection check. */
  concurrencyLimit: number | null;
}

/** Defaults of the tunables ActivityDeps.rangePulls may override. */
export const RANGE_PULL_DEFAULTS = {
  /** Calls left to the customer's other tools. */
  concurrencyReserve: 0,
  /** Ranges one run pulls at once, whatever the subscription allows. */
  maxParallel: 10,
};
/** More ranges than lanes let a lane that finishes early take another, so one slow range does not hold the run up. */
const RANGES_PER_LANE = 4;
/** Keeps workflow state and the manifest small on the largest subscriptions. */
const MAX_RANGES = 256;

export function parallelismFor(concurrencyLimit: number | null, tunables: typeof RANGE_PULL_DEFAULTS): number {
  // Without a limit from Qualys, one call at a time is the only safe choice.
  if (concurrencyLimit === null || concurrencyLimit < 1) return 1;
  return Math.max(1, Math.min(concurrencyLimit - tunables.concurrencyReserve, tunables.maxParallel, concurrencyLimit));
}

/**
 * Decides how a run pulls. A Host List Detection run lists the host IDs its
 * host-level filters select (one cheap call) and splits them into contiguous
 * ranges of about equal size, pulled `parallelism` at a time; everything
 * else, and every run that may use one call only, is one open range.
 */
export function planRanges(deps: ActivityDeps, pool: QualysClientPool) {
  const tunables = { ...RANGE_PULL_DEFAULTS, ...deps.rangePulls };
  return async ({ plan, concurrencyLimit }: PlanRangesInput): Promise<RangePlan> => {
    await recordStep(deps.db, plan.runId, 'pull_pages', deps.workerIdentity ?? null);
    const parallelism = parallelismFor(concurrencyLimit, tunables);
    let result: RangePlan = { ranges: [{ rangeNo: 1, idMin: null, idMax: null }], parallelism: 1, listedHosts: null };
    if (plan.fetcherKind === 'host_list_detection' && parallelism > 1) {
      const { client } = await pool.get(plan.connectionId);
      const request = hostListParamsFor(plan.params, new Date(plan.startedAt));
      const list = await client.listHostIds(request.params, Context.current().cancellationSignal);
      // Ranges smaller than a page would only add pages.
      const pageSize = Number(plan.params.truncation_limit) || 1000;
      const pages = Math.ceil(list.count / pageSize);
      const ranges = splitHostIds(list, Math.min(parallelism * RANGES_PER_LANE, pages, MAX_RANGES));
      result = { ranges: ranges.map(({ rangeNo, idMin, idMax }) => ({ rangeNo, idMin, idMax })), parallelism: Math.min(parallelism, ranges.length), listedHosts: list.count };
      await recordRunRanges(deps.db, plan.runId, ranges);
    } else {
      await recordRunRanges(deps.db, plan.runId, [{ rangeNo: 1, idMin: null, idMax: null, listedHosts: null }]);
    }
    deps.logger.info({ runId: plan.runId, ranges: result.ranges.length, parallelism: result.parallelism, listedHosts: result.listedHosts }, 'run planned');
    return result;
  };
}
