import { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { maxSlotWaitMs, type CallSlots, type SlotOptions } from './call-slots.js';
import type { ActivityDeps } from './deps.js';
import type { QualysClientPool } from './qualys-clients.js';
import { storeHostIdList } from './host-id-list-blob.js';
import { splitHostIds } from './range-split.js';
import { recordRunRanges, recordStep } from '../db/run-activity.js';
import type { HostIdList } from '../qualys/client.js';
import { unionHostIdRanges, withResolvedHostIds } from '../qualys/hld-params.js';
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
 * else, and every run that may use one call only, is one open range. A list
 * of both IPv4 and IPv6 addresses is resolved to host IDs first. Each
 * host list call takes a slot of the subscription's shared budget.
 */
export function planRanges(deps: ActivityDeps, pool: QualysClientPool, slots: CallSlots) {
  const tunables = { ...RANGE_PULL_DEFAULTS, ...deps.rangePulls };
  return async ({ plan, concurrencyLimit }: PlanRangesInput): Promise<RangePlan> => {
    await recordStep(deps.db, plan.runId, 'pull_pages', deps.workerIdentity ?? null);
    const ctx = Context.current();
    const slot: SlotOptions = {
      signal: ctx.cancellationSignal,
      onWait: () => ctx.heartbeat({ waitingForSlot: true }),
      maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs),
      purpose: `run ${plan.runId} host list`,
    };
    const parallelism = parallelismFor(concurrencyLimit, tunables);
    const resolved = plan.addressLookups?.length ? await resolveAddressLookups(deps, pool, slots, plan, slot) : null;
    let result: RangePlan = { ranges: [{ rangeNo: 1, idMin: null, idMax: null }], parallelism: 1, listedHosts: resolved?.hosts.count ?? null, hostIdsBlobKey: resolved?.blobKey ?? null };
    let listed: Array<{ rangeNo: number; idMin: number | null; idMax: number | null; listedHosts: number | null }> = [{ rangeNo: 1, idMin: null, idMax: null, listedHosts: result.listedHosts }];
    if (plan.fetcherKind === 'host_list_detection' && parallelism > 1) {
      const { client } = await pool.get(plan.connectionId);
      // Resolved addresses are the exact host set; otherwise the host filters select it.
      const list = resolved?.hosts ?? (await slots.run(client, slot, (signal) => client.listHostIds(hostListParamsFor(plan.params, new Date(plan.startedAt)).params, signal)));
      // Kept for sealing, which reconciles the evidence's hosts with it (audit/completeness.ts).
      if (!resolved) await storeHostIdList(deps, plan.runId, list, hostListParamsFor(plan.params, new Date(plan.startedAt)).params, new Date());
      // Ranges smaller than a page would only add pages.
      const pageSize = Number(plan.params.truncation_limit) || 1000;
      listed = splitHostIds(list, Math.min(parallelism * RANGES_PER_LANE, Math.ceil(list.count / pageSize), MAX_RANGES));
      result = {
        ...result,
        ranges: listed.map(({ rangeNo, idMin, idMax }) => ({ rangeNo, idMin, idMax })),
        parallelism: Math.min(parallelism, listed.length),
        listedHosts: list.count,
      };
    }
    await recordRunRanges(deps.db, plan.runId, listed);
    deps.logger.info({ runId: plan.runId, ranges: result.ranges.length, parallelism: result.parallelism, listedHosts: result.listedHosts }, 'run planned');
    return result;
  };
}

/**
 * A list of both IPv4 and IPv6 addresses: Qualys ANDs `ips` and `ipv6`, so
 * each family is looked up in the host list and the union goes to every page
 * as `ids`. The parameters are kept in the blob store (the list can be long);
 * pages read them from there.
 */
async function resolveAddressLookups(
  deps: ActivityDeps,
  pool: QualysClientPool,
  slots: CallSlots,
  plan: RunPlan,
  slot: SlotOptions,
): Promise<{ blobKey: string; hosts: HostIdList }> {
  const { client } = await pool.get(plan.connectionId);
  const found: HostIdList[] = [];
  for (const lookup of plan.addressLookups ?? []) found.push(await slots.run(client, slot, (signal) => client.listHostIds(lookup, signal)));
  const params = withResolvedHostIds({ params: plan.params, addressLookups: plan.addressLookups ?? [], postFilter: null }, found.map((f) => f.ranges));
  const changed = Object.fromEntries(Object.entries(params).filter(([name, value]) => plan.params[name] !== value));
  const { key } = await deps.blobStore.put(Readable.from([Buffer.from(JSON.stringify(changed))]));
  const ranges = unionHostIdRanges(found.map((f) => f.ranges));
  return { blobKey: key, hosts: { count: ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0), ranges } };
}
