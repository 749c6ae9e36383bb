/**
 * The shared call budget of a Qualys subscription, in Postgres so that every
 * run and every worker, on any machine, counts against the same slots.
 *
 * Each call is a lease row. A call waits (`waiting`) until it is admitted,
 * holds a slot while `running`, and renews its lease while it runs; a worker
 * that dies stops renewing, and its slot frees itself when the lease expires.
 * Admission happens in one transaction that locks the subscription row, so
 * two workers never both take the last slot. All times are the database's.
 */
import { and, asc, count, eq, getTableColumns, gt, sql } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { qualysCallLeases, qualysSubscriptions } from './schema.js';

export interface BudgetPolicy {
  /** Slots left to the customer's other tools. */
  concurrencyReserve: number;
  /** How long a lease lives without renewal. */
  leaseTtlMs: number;
}

export interface ObservedLimits {
  concurrencyLimit: number | null;
  rateLimit: number | null;
  rateWindowSec: number | null;
  rateRemaining: number | null;
  toWaitSec: number | null;
}

export type Admission = { admitted: true } | { admitted: false; retryInMs: number; reason: 'slot' | 'rate' };

/** Slots our calls may use: the reported limit less the reserve, at least one; one until Qualys reported a limit. */
export function slotsFor(concurrencyLimit: number | null, reserve: number): number {
  return Math.max(1, (concurrencyLimit ?? 1) - reserve);
}

export interface RateState {
  /** X-RateLimit-Limit and X-RateLimit-Window-Sec as Qualys last reported them. */
  limit: number | null;
  windowSec: number | null;
  /** X-RateLimit-Remaining and X-RateLimit-ToWait-Sec of the newest observation. */
  reportedRemaining: number | null;
  waitSec: number | null;
  /** Age of that observation (ms); null when there is none. */
  sinceObservedMs: number | null;
  /** Our calls started in the window ending now, and in the window ending at the observation. */
  oursInWindow: number;
  oursAtObservation: number;
  /** When the oldest of our calls in the window leaves it (ms from now); null when there is none. */
  oldestLeavesInMs: number | null;
}

/**
 * Calls in Qualys's rolling window now, as far as we can tell: our own calls
 * (each counted until it leaves the window, which we know exactly) plus the
 * calls of the customer's other tools that the newest observation showed
 * (what Qualys counted less our calls then), assumed to stay until they must
 * have left: a window after the observation, or after Qualys's ToWait when
 * it said the budget was spent. Null when Qualys never reported its limit.
 */
export function callsInWindow(rate: RateState): { used: number; othersLeaveInMs: number | null } | null {
  if (rate.limit === null || rate.windowSec === null) return null;
  const othersStayMs = rate.reportedRemaining === 0 && (rate.waitSec ?? 0) > 0 ? rate.waitSec! * 1000 : rate.windowSec * 1000;
  const othersActive = rate.reportedRemaining !== null && rate.sinceObservedMs !== null && rate.sinceObservedMs < othersStayMs;
  const others = othersActive ? Math.max(0, rate.limit - rate.reportedRemaining! - rate.oursAtObservation) : 0;
  return { used: rate.oursInWindow + others, othersLeaveInMs: othersActive ? othersStayMs - rate.sinceObservedMs! : null };
}

/**
 * How much longer the next call must wait for the rate budget (0: it may
 * start now). A call starts only while the calls in the rolling window stay
 * under the limit, so our own calls never earn a 1965; at the limit, calls
 * start as older ones leave the window, which spreads them at the pace the
 * window allows. Another tool that spends the budget meanwhile still causes a
 * 409, which the workflow waits out as before.
 */
export function rateWaitMs(rate: RateState): number {
  const window = callsInWindow(rate);
  if (window === null || window.used < rate.limit!) return 0;
  const frees = [rate.oldestLeavesInMs, window.othersLeaveInMs].filter((ms): ms is number => ms !== null);
  return Math.max(1, Math.ceil(Math.min(...frees, rate.windowSec! * 1000)));
}

/**
 * Our calls count in the window a little longer than the window: a call is
 * dated when it is admitted, and Qualys counts it when the request arrives, a
 * moment later (a new connection, a busy machine). Without the margin a call
 * admitted as an older one leaves our count can reach Qualys before that call
 * left Qualys's, and earn the 1965 the pacing exists to avoid.
 */
const RATE_WINDOW_MARGIN_SEC = 1;

const ttl = (ms: number) => sql`now() + make_interval(secs => ${ms / 1000})`;

export interface CallRequest {
  /** Chosen by the caller, so that a lost answer cannot leave an unknown row behind. */
  leaseId: string;
  subscriptionId: string;
  holder: string;
  purpose: string;
  runId: string | null;
  /** False on the first attempt: the call is not in the queue yet. */
  queued: boolean;
}

/**
 * Admits the call when a slot is free, it is first in line for one and the
 * rate spacing allows; otherwise queues it (first attempt) or renews its place
 * and says how long to wait. One transaction that locks the subscription's
 * row, so admissions of one subscription happen one at a time everywhere.
 */
export async function tryAdmit(db: AppDatabase, call: CallRequest, policy: BudgetPolicy): Promise<Admission> {
  const { leaseId, subscriptionId } = call;
  return db.transaction(async (tx) => {
    const s = qualysSubscriptions;
    const l = qualysCallLeases;
    const lock = () =>
      tx
        .select({
          sub: getTableColumns(s),
          sinceObservedMs: sql<number | null>`(extract(epoch from (now() - ${s.observedAt})) * 1000)::float8`,
        })
        .from(s)
        .where(eq(s.id, subscriptionId))
        .for('update');
    let [locked] = await lock();
    // The subscription's first call anywhere: its row is made once, then locked like any other time.
    if (!locked && !call.queued) {
      await tx.insert(qualysSubscriptions).values({ id: subscriptionId }).onConflictDoNothing();
      [locked] = await lock();
    }
    if (!locked) throw new Error(`subscription ${subscriptionId} vanished`);
    const { sub } = locked;
    await expireLeases(tx, subscriptionId);

    const mine = sql`(select ${l.requestedAt} from ${l} where ${l.id} = ${leaseId})`;
    const ofSub = sql`${l.subscriptionId} = ${subscriptionId}`;
    const [counts] = await tx
      .select({
        myState: sql<string | null>`(select ${l.state} from ${l} where ${l.id} = ${leaseId})`,
        running: sql<number>`(select count(*) from ${l} where ${ofSub} and ${l.state} = 'running')::int`,
        ahead: call.queued
          ? sql<number>`(select count(*) from ${l} where ${ofSub} and ${l.state} = 'waiting' and (${l.requestedAt}, ${l.id}) < (${mine}, ${leaseId}))::int`
          : sql<number>`(select count(*) from ${l} where ${ofSub} and ${l.state} = 'waiting')::int`,
        ...windowCounts(subscriptionId, sub.rateWindowSec),
      })
      .from(s)
      .where(eq(s.id, subscriptionId));
    if (call.queued && counts?.myState !== 'waiting') throw new LeaseLostError(leaseId);

    const slots = slotsFor(sub.concurrencyLimit, policy.concurrencyReserve);
    let admission: Admission;
    if (Number(counts!.running) + Number(counts!.ahead) >= slots) {
      admission = { admitted: false, retryInMs: 0, reason: 'slot' };
    } else {
      const wait = rateWaitMs(rateState(sub, counts!, locked.sinceObservedMs));
      admission = wait > 0 ? { admitted: false, retryInMs: Math.ceil(wait), reason: 'rate' } : { admitted: true };
    }

    const expiresAt = ttl(policy.leaseTtlMs) as unknown as Date;
    const now = sql`now()` as unknown as Date;
    if (admission.admitted) {
      if (call.queued) await tx.update(l).set({ state: 'running', startedAt: now, expiresAt }).where(eq(l.id, leaseId));
      else await tx.insert(l).values({ id: leaseId, subscriptionId, holder: call.holder, purpose: call.purpose, runId: call.runId, state: 'running', requestedAt: now, startedAt: now, expiresAt });
    } else if (call.queued) {
      await tx.update(l).set({ expiresAt }).where(eq(l.id, leaseId));
    } else {
      await tx.insert(l).values({ id: leaseId, subscriptionId, holder: call.holder, purpose: call.purpose, runId: call.runId, state: 'waiting', requestedAt: now, expiresAt });
    }
    return admission;
  });
}

/** Our calls in the window now and at the observation, and when the oldest leaves: one query's columns. */
function windowCounts(subscriptionId: string, windowSec: number | null) {
  const l = qualysCallLeases;
  const s = qualysSubscriptions;
  const window = sql`make_interval(secs => ${windowSec === null ? 0 : windowSec + RATE_WINDOW_MARGIN_SEC})`;
  const started = sql`${l.subscriptionId} = ${subscriptionId} and ${l.state} in ('running', 'done')`;
  return {
    oursInWindow: sql<number>`(select count(*) from ${l} where ${started} and ${l.startedAt} > now() - ${window})::int`,
    oursAtObservation: sql<number>`(select count(*) from ${l} where ${started} and ${l.startedAt} > ${s.observedAt} - ${window} and ${l.startedAt} <= ${s.observedAt})::int`,
    oldestLeavesInMs: sql<number | null>`(select extract(epoch from (min(${l.startedAt}) + ${window} - now())) * 1000 from ${l} where ${started} and ${l.startedAt} > now() - ${window})::float8`,
  };
}

function rateState(
  sub: typeof qualysSubscriptions.$inferSelect,
  counts: { oursInWindow: number; oursAtObservation: number; oldestLeavesInMs: number | null },
  sinceObservedMs: number | null,
): RateState {
  return {
    limit: sub.rateLimit,
    windowSec: sub.rateWindowSec,
    reportedRemaining: sub.rateRemaining,
    waitSec: sub.rateWaitSec,
    sinceObservedMs: sinceObservedMs === null ? null : Number(sinceObservedMs),
    oursInWindow: Number(counts.oursInWindow),
    oursAtObservation: Number(counts.oursAtObservation),
    oldestLeavesInMs: counts.oldestLeavesInMs === null ? null : Number(counts.oldestLeavesInMs),
  };
}

/** Calls left in the rolling window by our count (see callsInWindow), for the limits view. */
async function estimatedRemaining(db: AppDatabase, sub: typeof qualysSubscriptions.$inferSelect): Promise<number | null> {
  const s = qualysSubscriptions;
  const [row] = await db
    .select({
      ...windowCounts(sub.id, sub.rateWindowSec),
      sinceObservedMs: sql<number | null>`(extract(epoch from (now() - ${s.observedAt})) * 1000)::float8`,
    })
    .from(s)
    .where(eq(s.id, sub.id));
  if (!row) return null;
  const window = callsInWindow(rateState(sub, row, row.sinceObservedMs));
  return window === null ? null : sub.rateLimit! - window.used;
}

/**
 * Waiters that stopped renewing go; holders that did are done (their call
 * still counts in the rate window); done calls go after a day (longer than
 * any Qualys window). One statement: it runs on every admission.
 */
async function expireLeases(tx: AppDatabase, subscriptionId: string): Promise<void> {
  const l = qualysCallLeases;
  const ofSub = sql`${l.subscriptionId} = ${subscriptionId}`;
  await tx.execute(sql`
    with gone as (delete from ${l} where ${ofSub} and ${l.state} = 'waiting' and ${l.expiresAt} < now() returning 1),
         ended as (update ${l} set state = 'done' where ${ofSub} and ${l.state} = 'running' and ${l.expiresAt} < now() returning 1),
         old as (delete from ${l} where ${ofSub} and ${l.state} = 'done' and ${l.startedAt} < now() - interval '1 day' returning 1)
    select (select count(*) from gone) + (select count(*) from ended) + (select count(*) from old) as n`);
}

export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly leaseId: string) {
    super(`the Qualys call lease ${leaseId} expired before it was renewed`);
  }
}

/** Extends a running lease; throws LeaseLostError when it already expired (its slot may be someone else's now). */
export async function renewLease(db: AppDatabase, leaseId: string, policy: BudgetPolicy): Promise<void> {
  const rows = await db
    .update(qualysCallLeases)
    .set({ expiresAt: ttl(policy.leaseTtlMs) as unknown as Date })
    .where(and(eq(qualysCallLeases.id, leaseId), eq(qualysCallLeases.state, 'running'), gt(qualysCallLeases.expiresAt, sql`now()`)))
    .returning({ id: qualysCallLeases.id });
  if (rows.length === 0) throw new LeaseLostError(leaseId);
}

/**
 * The call finished: its slot is free (the row stays, to count in the rate
 * window), and what Qualys reported on its answer is remembered. One
 * statement: it sits between two Qualys calls.
 *
 * The observation is dated at the call's start: calls started after that are
 * then subtracted from the remaining count even if Qualys had already counted
 * them, which errs on the side of waiting. Only a newer observation replaces
 * an older one.
 */
export async function finishCall(db: AppDatabase, leaseId: string, observed?: { subscriptionId: string; limits: ObservedLimits }): Promise<void> {
  const l = qualysCallLeases;
  const finish = sql`update ${l} set state = 'done', expires_at = now() where ${l.id} = ${leaseId} and ${l.state} = 'running'`;
  const limits = observed?.limits;
  const rate = limits !== undefined && limits.rateLimit !== null && limits.rateWindowSec !== null && limits.rateRemaining !== null;
  if (!limits || (!rate && limits.concurrencyLimit === null)) {
    await db.execute(finish);
    return;
  }
  const s = qualysSubscriptions;
  // The row as the statement began (a data-modifying CTE's change is not visible to its siblings); started_at does not change.
  const startedAt = sql`(select ${l.startedAt} from ${l} where ${l.id} = ${leaseId})`;
  const rateColumns = rate
    ? sql`, rate_limit = ${limits.rateLimit}, rate_window_sec = ${limits.rateWindowSec}, rate_remaining = ${limits.rateRemaining}, rate_wait_sec = ${limits.toWaitSec}, observed_at = ${startedAt}`
    : sql``;
  await db.execute(sql`
    with finished as (${finish} returning 1)
    update ${s} set concurrency_limit = coalesce(${limits.concurrencyLimit}::int, ${s.concurrencyLimit}) ${rateColumns}
    where ${s.id} = ${observed!.subscriptionId} and ${startedAt} is not null and (${s.observedAt} is null or ${s.observedAt} <= ${startedAt})`);
}

/** A waiter that gave up (cancelled) leaves the queue. */
export async function leaveQueue(db: AppDatabase, leaseId: string): Promise<void> {
  await db.delete(qualysCallLeases).where(and(eq(qualysCallLeases.id, leaseId), eq(qualysCallLeases.state, 'waiting')));
}

export interface BudgetView {
  concurrencyLimit: number | null;
  reserve: number;
  slots: number;
  inUse: number;
  waiting: number;
  rate: { limit: number | null; windowSec: number | null; remaining: number | null; observedAt: Date | null };
}

/** What `GET /v1/connections/{id}/limits` shows. */
export async function readBudget(db: AppDatabase, subscriptionId: string, reserve: number): Promise<BudgetView> {
  const [sub] = await db.select().from(qualysSubscriptions).where(eq(qualysSubscriptions.id, subscriptionId));
  const counts = await db
    .select({ state: qualysCallLeases.state, n: count() })
    .from(qualysCallLeases)
    .where(and(eq(qualysCallLeases.subscriptionId, subscriptionId), gt(qualysCallLeases.expiresAt, sql`now()`)))
    .groupBy(qualysCallLeases.state)
    .orderBy(asc(qualysCallLeases.state));
  const n = (state: string) => Number(counts.find((c) => c.state === state)?.n ?? 0);
  const concurrencyLimit = sub?.concurrencyLimit ?? null;
  return {
    concurrencyLimit,
    reserve,
    slots: slotsFor(concurrencyLimit, reserve),
    inUse: n('running'),
    waiting: n('waiting'),
    rate: {
      limit: sub?.rateLimit ?? null,
      windowSec: sub?.rateWindowSec ?? null,
      remaining: sub ? await estimatedRemaining(db, sub) : null,
      observedAt: sub?.observedAt ?? null,
    },
  };
}
