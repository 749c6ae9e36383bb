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
import { hostListFiltersFor } from '../audit/host-list-filters.js';
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
      runId: plan.runId,
    };
    const parallelism = parallelismFor(concurrencyLimit, tunables);
    const resolved = plan.addressLookups?.length ? await resolveAddressLookups(deps, pool, slots, plan, slot) : null;
    const list = plan.fetcherKind === 'host_list_detection' ? (resolved?.hosts ?? (await listHosts(deps, pool, slots, plan, slot, parallelism))) : null;
    let result: RangePlan = { ranges: [{ rangeNo: 1, idMin: null, idMax: null }], parallelism: 1, listedHosts: list?.count ?? null, hostIdsBlobKey: resolved?.blobKey ?? null };
    let listed: Array<{ rangeNo: number; idMin: number | null; idMax: number | null; listedHosts: number | null }> = [{ rangeNo: 1, idMin: null, idMax: null, listedHosts: result.listedHosts }];
    if (list && parallelism > 1) {
      const pageSize = Number(plan.params.truncation_limit) || 1000;
      listed = splitHostIds(list, Math.min(parallelism * RANGES_PER_LANE, MAX_RANGES), pageSize);
      result = { ...result, ranges: listed.map(({ rangeNo, idMin, idMax }) => ({ rangeNo, idMin, idMax })), parallelism: Math.min(parallelism, listed.length) };
    }
    await recordRunRanges(deps.db, plan.runId, listed);
    deps.logger.info({ runId: plan.runId, ranges: result.ranges.length, parallelism: result.parallelism, listedHosts: result.listedHosts }, 'run planned');
    return result;
  };
}

/**
 * The host ID list of the run's host-level filters (one cheap call): kept
 * for sealing, which reconciles the evidence's hosts with it, whenever the
 * filters allow that, and the ground ranges are split on. When the filters
 * do not allow a reconciliation and the run is not split, no call is made.
 */
async function listHosts(deps: ActivityDeps, pool: QualysClientPool, slots: CallSlots, plan: RunPlan, slot: SlotOptions, parallelism: number): Promise<HostIdList | null> {
  const listedAt = new Date();
  const reconcilable = hostListFiltersFor(plan.params, listedAt);
  if (!reconcilable.applies && parallelism === 1) return null;
  // Splitting needs only about the right hosts: without exact filters, the host-level ones the list has.
  const params = reconcilable.applies ? reconcilable.params : hostListParamsFor(plan.params, listedAt).params;
  const { client } = await pool.get(plan.connectionId);
  const list = await slots.run(client, slot, (signal) => client.listHostIds(params, signal));
  if (reconcilable.applies) await storeHostIdList(deps, plan.runId, list, params, listedAt);
  return list;
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
  const hosts = { count: ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0), ranges };
  // The looked-up hosts are the run's host population: sealing reconciles the evidence with them.
  await storeHostIdList(deps, plan.runId, hosts, changed, new Date());
  return { blobKey: key, hosts };
}
