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
import { randomUUID } from 'node:crypto';
import { and, asc, count, eq, getTableColumns, gt, lt, lte, or, sql } from 'drizzle-orm';
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
  limit: number | null;
  windowSec: number | null;
  /** Calls left in the window by our estimate (may be zero or less). */
  remaining: number | null;
  /** Qualys's X-RateLimit-ToWait-Sec with the estimate's observation. */
  waitSec: number | null;
  /** Since the last admission, and since the observation (ms); null when there was none. */
  sinceLastMs: number | null;
  sinceObservedMs: number | null;
}

/**
 * How much longer the next call must wait for the rate budget (0: it may
 * start now). The calls left in the window are spread evenly over the
 * window: the next call starts `window / remaining` after the previous one,
 * so the budget is never spent before older calls age out of Qualys's
 * rolling window (in steady use about two thirds of it is spent per window).
 * When our estimate says the budget is spent (another tool used it), one
 * call probes after Qualys's own ToWait and a steady-rate interval, and its
 * answer brings fresh figures.
 */
export function rateWaitMs(rate: RateState): number {
  if (rate.limit === null || rate.windowSec === null || rate.remaining === null) return 0;
  const windowMs = rate.windowSec * 1000;
  const sinceLast = rate.sinceLastMs ?? Infinity;
  if (rate.remaining >= 1) return Math.max(0, windowMs / rate.remaining - sinceLast);
  const afterToWait = rate.sinceObservedMs === null ? 0 : (rate.waitSec ?? 0) * 1000 - rate.sinceObservedMs;
  return Math.max(0, afterToWait, windowMs / Math.max(1, rate.limit) - sinceLast);
}

async function ensureSubscription(db: AppDatabase, subscriptionId: string): Promise<void> {
  await db.insert(qualysSubscriptions).values({ id: subscriptionId }).onConflictDoNothing();
}

const ttl = (ms: number) => sql`now() + make_interval(secs => ${ms / 1000})`;

/** Queues a call; it waits until `tryAdmit` admits it. */
export async function enqueueCall(db: AppDatabase, subscriptionId: string, holder: string, purpose: string, policy: BudgetPolicy): Promise<string> {
  await ensureSubscription(db, subscriptionId);
  const id = randomUUID();
  await db.insert(qualysCallLeases).values({
    id,
    subscriptionId,
    holder,
    purpose,
    state: 'waiting',
    requestedAt: sql`now()` as unknown as Date,
    expiresAt: ttl(policy.leaseTtlMs) as unknown as Date,
  });
  return id;
}

/**
 * Admits the queued call when a slot is free, it is first in line for it and
 * the rate spacing allows; otherwise renews its place and says how long to wait.
 */
export async function tryAdmit(db: AppDatabase, leaseId: string, subscriptionId: string, policy: BudgetPolicy): Promise<Admission> {
  return db.transaction(async (tx) => {
    const [locked] = await tx
      .select({
        sub: getTableColumns(qualysSubscriptions),
        sinceLastMs: sql<number | null>`(extract(epoch from (now() - ${qualysSubscriptions.lastAdmittedAt})) * 1000)::float8`,
        sinceObservedMs: sql<number | null>`(extract(epoch from (now() - ${qualysSubscriptions.observedAt})) * 1000)::float8`,
      })
      .from(qualysSubscriptions)
      .where(eq(qualysSubscriptions.id, subscriptionId))
      .for('update');
    if (!locked) throw new Error(`subscription ${subscriptionId} vanished`);
    const { sub } = locked;
    await expireLeases(tx, subscriptionId);
    const [me] = await tx.select().from(qualysCallLeases).where(eq(qualysCallLeases.id, leaseId));
    if (!me || me.state !== 'waiting') throw new LeaseLostError(leaseId);

    const [{ running }] = (await tx
      .select({ running: count() })
      .from(qualysCallLeases)
      .where(and(eq(qualysCallLeases.subscriptionId, subscriptionId), eq(qualysCallLeases.state, 'running')))) as [{ running: number }];
    const [{ ahead }] = (await tx
      .select({ ahead: count() })
      .from(qualysCallLeases)
      .where(
        and(
          eq(qualysCallLeases.subscriptionId, subscriptionId),
          eq(qualysCallLeases.state, 'waiting'),
          or(lt(qualysCallLeases.requestedAt, me.requestedAt), and(eq(qualysCallLeases.requestedAt, me.requestedAt), lt(qualysCallLeases.id, me.id))),
        ),
      )) as [{ ahead: number }];
    const slots = slotsFor(sub.concurrencyLimit, policy.concurrencyReserve);
    const renew = () => tx.update(qualysCallLeases).set({ expiresAt: ttl(policy.leaseTtlMs) as unknown as Date }).where(eq(qualysCallLeases.id, leaseId));
    if (Number(running) + Number(ahead) >= slots) {
      await renew();
      return { admitted: false, retryInMs: 0, reason: 'slot' };
    }

    const wait = rateWaitMs({
      limit: sub.rateLimit,
      windowSec: sub.rateWindowSec,
      remaining: await estimatedRemaining(tx, sub),
      waitSec: sub.rateWaitSec,
      sinceLastMs: locked.sinceLastMs === null ? null : Number(locked.sinceLastMs),
      sinceObservedMs: locked.sinceObservedMs === null ? null : Number(locked.sinceObservedMs),
    });
    if (wait > 0) {
      await renew();
      return { admitted: false, retryInMs: Math.ceil(wait), reason: 'rate' };
    }
    await tx
      .update(qualysCallLeases)
      .set({ state: 'running', startedAt: sql`now()` as unknown as Date, expiresAt: ttl(policy.leaseTtlMs) as unknown as Date })
      .where(eq(qualysCallLeases.id, leaseId));
    await tx.update(qualysSubscriptions).set({ lastAdmittedAt: sql`now()` as unknown as Date }).where(eq(qualysSubscriptions.id, subscriptionId));
    return { admitted: true };
  });
}

/**
 * Calls left in Qualys's rolling window, as far as we can tell: what Qualys
 * last reported, less the calls we started since. An observation older than
 * a window says nothing any more: then it is the limit less our calls in the
 * last window.
 */
async function estimatedRemaining(tx: AppDatabase, sub: typeof qualysSubscriptions.$inferSelect): Promise<number | null> {
  if (sub.rateLimit === null || sub.rateWindowSec === null) return null;
  const l = qualysCallLeases;
  const s = qualysSubscriptions;
  const windowStart = sql`now() - make_interval(secs => ${s.rateWindowSec})`;
  const started = sql`${l.subscriptionId} = ${s.id} and ${l.state} in ('running', 'done')`;
  const [row] = await tx
    .select({
      fresh: sql<boolean>`coalesce(${s.observedAt} > ${windowStart} and ${s.rateRemaining} is not null, false)`,
      sinceObservation: sql<number>`(select count(*) from ${l} where ${started} and ${l.startedAt} > ${s.observedAt})::int`,
      inWindow: sql<number>`(select count(*) from ${l} where ${started} and ${l.startedAt} > ${windowStart})::int`,
    })
    .from(s)
    .where(eq(s.id, sub.id));
  if (!row) return null;
  if (row.fresh) return sub.rateRemaining! - Number(row.sinceObservation);
  return sub.rateLimit - Number(row.inWindow);
}

/** Waiters that stopped renewing go; holders that did are done (their call still counts in the rate window). */
async function expireLeases(tx: AppDatabase, subscriptionId: string): Promise<void> {
  await tx
    .delete(qualysCallLeases)
    .where(and(eq(qualysCallLeases.subscriptionId, subscriptionId), eq(qualysCallLeases.state, 'waiting'), lt(qualysCallLeases.expiresAt, sql`now()`)));
  await tx
    .update(qualysCallLeases)
    .set({ state: 'done' })
    .where(and(eq(qualysCallLeases.subscriptionId, subscriptionId), eq(qualysCallLeases.state, 'running'), lt(qualysCallLeases.expiresAt, sql`now()`)));
  // Done calls matter only while they are inside a rate window (a day covers every Qualys window).
  await tx
    .delete(qualysCallLeases)
    .where(and(eq(qualysCallLeases.subscriptionId, subscriptionId), eq(qualysCallLeases.state, 'done'), lt(qualysCallLeases.startedAt, sql`now() - interval '1 day'`)));
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

/** The call finished: its slot is free; the row stays to count in the rate window. */
export async function finishCall(db: AppDatabase, leaseId: string): Promise<void> {
  await db
    .update(qualysCallLeases)
    .set({ state: 'done', expiresAt: sql`now()` as unknown as Date })
    .where(and(eq(qualysCallLeases.id, leaseId), eq(qualysCallLeases.state, 'running')));
}

/** A waiter that gave up (cancelled) leaves the queue. */
export async function leaveQueue(db: AppDatabase, leaseId: string): Promise<void> {
  await db.delete(qualysCallLeases).where(and(eq(qualysCallLeases.id, leaseId), eq(qualysCallLeases.state, 'waiting')));
}

/**
 * Remembers what Qualys reported on an answer to the call `leaseId`. The
 * observation is dated at the call's start: calls started after that are
 * then subtracted from the remaining count even if Qualys had already counted
 * them, which errs on the side of waiting. Only a newer observation replaces
 * an older one.
 */
export async function recordObservation(db: AppDatabase, subscriptionId: string, leaseId: string, limits: ObservedLimits): Promise<void> {
  if (limits.concurrencyLimit !== null) {
    await db.update(qualysSubscriptions).set({ concurrencyLimit: limits.concurrencyLimit }).where(eq(qualysSubscriptions.id, subscriptionId));
  }
  if (limits.rateLimit === null || limits.rateWindowSec === null || limits.rateRemaining === null) return;
  const startedAt = db.select({ at: qualysCallLeases.startedAt }).from(qualysCallLeases).where(eq(qualysCallLeases.id, leaseId));
  await db
    .update(qualysSubscriptions)
    .set({
      rateLimit: limits.rateLimit,
      rateWindowSec: limits.rateWindowSec,
      rateRemaining: limits.rateRemaining,
      rateWaitSec: limits.toWaitSec,
      observedAt: sql`(${startedAt})` as unknown as Date,
    })
    .where(
      and(
        eq(qualysSubscriptions.id, subscriptionId),
        sql`(${startedAt}) is not null`,
        or(sql`${qualysSubscriptions.observedAt} is null`, lte(qualysSubscriptions.observedAt, sql`(${startedAt})`)),
      ),
    );
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
