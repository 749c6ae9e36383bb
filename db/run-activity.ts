/**
 * What a run goes through besides its pages, recorded as it happens by the
 * activities: the step it is in, every failed attempt with its cause, every
 * wait Qualys asked for, which worker did what, and its ranges. The run row's
 * progress is what status reads serve (no workflow is asked on a request
 * path); the events are the chain of custody the manifest quotes.
 */
import { and, asc, eq, isNotNull, isNull, notInArray, sql } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { preparedPerDatabase } from './prepared.js';
import { FINAL_RUN_STATUSES, type LimitReason, type RunStep } from '../shared/contracts.js';
import { qualysCallLeases, runEvents, runPages, runRanges, runs, toJsonRecord, type RunEventKind, type RunEventRow, type RunRangeRow, type RunRow } from './schema.js';

const live = (runId: string) => and(eq(runs.id, runId), notInArray(runs.status, [...FINAL_RUN_STATUSES]));

async function addEvent(db: AppDatabase, runId: string, kind: RunEventKind, worker: string | null, detail: object): Promise<void> {
  await db.insert(runEvents).values({ runId, kind, worker, detail: toJsonRecord(detail) });
}

/** The run moved on to a step; the worker doing it is part of the custody record. */
export async function recordStep(db: AppDatabase, runId: string, step: RunStep, worker: string | null): Promise<void> {
  await db.update(runs).set({ step }).where(live(runId));
  await addEvent(db, runId, 'step', worker, { step });
}

export interface AttemptFailure {
  runId: string;
  /** What failed: `check_connection`, or a page. */
  step: RunStep;
  rangeNo?: number | null;
  pageNo?: number | null;
  attempt: number;
  /** False when this was the last attempt (or the error is permanent): the run fails with it. */
  willRetry: boolean;
  errorType: string;
  message: string;
  worker: string | null;
}

/** A failed attempt, counted as a retry at once when another attempt follows. */
export async function recordAttemptFailure(db: AppDatabase, f: AttemptFailure): Promise<void> {
  const current = { step: f.step, rangeNo: f.rangeNo ?? null, pageNo: f.pageNo ?? null, attempt: f.attempt, error: f.message };
  await db.transaction(async (tx) => {
    await addEvent(tx, f.runId, 'retry', f.worker, {
      step: f.step,
      rangeNo: f.rangeNo ?? null,
      pageNo: f.pageNo ?? null,
      attempt: f.attempt,
      willRetry: f.willRetry,
      errorType: f.errorType,
      message: f.message,
    });
    await tx
      .update(runs)
      .set({
        progress: sql`coalesce(${runs.progress}, '{}'::jsonb) || jsonb_build_object(
          'retries', coalesce((${runs.progress}->>'retries')::bigint, 0) + ${f.willRetry ? 1 : 0},
          'lastError', ${f.message}::text,
          'current', ${JSON.stringify(current)}::jsonb)`,
      })
      .where(live(f.runId));
  });
}

export interface Refusal {
  runId: string;
  reason: LimitReason;
  qualysCode: number;
  /** How long the run waits before asking again. */
  waitSeconds: number;
  message: string;
  rangeNo?: number | null;
  pageNo?: number | null;
  worker: string | null;
}

/** Qualys said "not now" (409): the wait is counted and shown while it lasts. */
export async function recordRefusal(db: AppDatabase, r: Refusal): Promise<void> {
  const until = new Date(Date.now() + r.waitSeconds * 1000).toISOString();
  await db.transaction(async (tx) => {
    await addEvent(tx, r.runId, 'wait', r.worker, { reason: r.reason, qualysCode: r.qualysCode, seconds: r.waitSeconds, rangeNo: r.rangeNo ?? null, pageNo: r.pageNo ?? null });
    await tx
      .update(runs)
      .set({
        progress: sql`coalesce(${runs.progress}, '{}'::jsonb) || jsonb_build_object(
          'waits', coalesce((${runs.progress}->>'waits')::bigint, 0) + 1,
          'waitedSeconds', coalesce((${runs.progress}->>'waitedSeconds')::numeric, 0) + ${r.waitSeconds},
          'waiting', ${JSON.stringify({ reason: r.reason, seconds: r.waitSeconds, until })}::jsonb,
          'lastError', ${r.message}::text)`,
      })
      .where(live(r.runId));
  });
}

/** A page kept failing, so it is asked for again with fewer hosts; the manifest lists these. */
export async function recordPageSizeChange(
  db: AppDatabase,
  change: { runId: string; rangeNo: number; pageNo: number; truncationLimit: number; pageSize: number; worker: string | null },
): Promise<void> {
  const { runId, worker, ...detail } = change;
  await addEvent(db, runId, 'page_size', worker, detail);
}

export async function listRunEvents(db: AppDatabase, runId: string): Promise<RunEventRow[]> {
  return db.select().from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.at), asc(runEvents.id));
}

/** Every worker identity that did part of the run, in the order they first appear. */
export async function listRunWorkers(db: AppDatabase, runId: string): Promise<string[]> {
  const [fromEvents, fromPages] = await Promise.all([
    db.select({ worker: runEvents.worker, at: runEvents.at }).from(runEvents).where(and(eq(runEvents.runId, runId), isNotNull(runEvents.worker))),
    db.select({ worker: runPages.worker, at: runPages.fetchedAt }).from(runPages).where(and(eq(runPages.runId, runId), isNotNull(runPages.worker))),
  ]);
  const ordered = [...fromEvents, ...fromPages].sort((a, b) => a.at.getTime() - b.at.getTime());
  return [...new Set(ordered.map((r) => r.worker!))];
}

// ---------------------------------------------------------------- ranges

export interface PlannedRange {
  rangeNo: number;
  idMin: number | null;
  idMax: number | null;
  listedHosts: number | null;
}

/** Records the run's ranges once; planning again (a retried activity) keeps the first plan. */
export async function recordRunRanges(db: AppDatabase, runId: string, ranges: PlannedRange[]): Promise<void> {
  if (ranges.length === 0) return;
  await db
    .insert(runRanges)
    .values(ranges.map((r) => ({ runId, ...r })))
    .onConflictDoNothing();
}

export async function markRangeStarted(db: AppDatabase, runId: string, rangeNo: number): Promise<void> {
  await db
    .update(runRanges)
    .set({ startedAt: new Date() })
    .where(and(eq(runRanges.runId, runId), eq(runRanges.rangeNo, rangeNo), isNull(runRanges.startedAt)));
}

export async function markRangeFinished(db: AppDatabase, runId: string, rangeNo: number): Promise<void> {
  await db
    .update(runRanges)
    .set({ finishedAt: new Date() })
    .where(and(eq(runRanges.runId, runId), eq(runRanges.rangeNo, rangeNo), isNull(runRanges.finishedAt)));
}

export async function listRunRanges(db: AppDatabase, runId: string): Promise<RunRangeRow[]> {
  return db.select().from(runRanges).where(eq(runRanges.runId, runId)).orderBy(asc(runRanges.rangeNo));
}

export interface RangeProgress {
  total: number;
  done: number;
  inFlight: number;
  waiting: number;
}

export interface LiveCounts {
  /** Ranges done, being pulled, and not started yet; null for runs without a range plan. */
  ranges: RangeProgress | null;
  /** Calls of the run queued for a slot of the subscription's shared budget right now. */
  waitingForSlot: number;
}

const runWithLiveCounts = preparedPerDatabase((db) => {
  const runId = sql.placeholder('runId');
  return db
    .select({
      run: runs,
      total: sql<number>`(select count(*) from ${runRanges} where ${runRanges.runId} = ${runId})::int`,
      done: sql<number>`(select count(${runRanges.finishedAt}) from ${runRanges} where ${runRanges.runId} = ${runId})::int`,
      started: sql<number>`(select count(${runRanges.startedAt}) from ${runRanges} where ${runRanges.runId} = ${runId})::int`,
      waitingForSlot: sql<number>`(select count(*) from ${qualysCallLeases} where ${qualysCallLeases.runId} = ${runId} and ${qualysCallLeases.state} = 'waiting')::int`,
    })
    .from(runs)
    .where(eq(runs.id, runId))
    .prepare('run_with_live_counts');
});

/**
 * A status read: the run row with its ranges and its calls waiting for a
 * budget slot, in one statement (one round trip to the database per poll).
 */
export async function getRunWithLiveCounts(db: AppDatabase, runId: string): Promise<{ run: RunRow; live: LiveCounts } | null> {
  const [row] = await runWithLiveCounts(db).execute({ runId });
  if (!row) return null;
  const ranges = row.total > 0 ? { total: row.total, done: row.done, inFlight: row.started - row.done, waiting: row.total - row.started } : null;
  return { run: row.run, live: { ranges, waitingForSlot: row.waitingForSlot } };
}
