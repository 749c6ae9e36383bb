/**
 * Fetcher runs. A run row exists before its workflow starts (its id names the
 * workflow, `run-<id>`; `launchedAt` says Temporal accepted it), and creation is idempotent: the same
 * (fetcher, idempotency key) — or the same explicit run id — always yields the
 * one row, however many callers race.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, eq, gte, inArray, isNull, lt, ne, notInArray, sql, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { preparedPerDatabase } from './prepared.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import { FINAL_RUN_STATUSES, runWorkflowId, type FinalRunStatus } from '../shared/contracts.js';
import { runs, type RunError, type RunRow, type RunStatus, type RunTrigger, type StoredRunProgress } from './schema.js';

export interface NewRun {
  /** Given when the id is derived elsewhere (e.g. from a schedule's action time); generated otherwise. */
  id?: string;
  fetcherId: string;
  connectionId: string;
  trigger: RunTrigger;
  triggeredBy?: string | null;
  scheduleId?: string | null;
  idempotencyKey?: string | null;
  /** The action time of a scheduled run (from its workflow id). */
  scheduledFor?: Date | null;
}

export interface CreateRunResult {
  run: RunRow;
  /** False when an existing run was returned for the same key or id. */
  created: boolean;
}

export interface RunFilter {
  fetcherId?: string;
  connectionId?: string;
  status?: RunStatus | RunStatus[];
  /** Created at or after this time. */
  createdFrom?: Date;
  /** Created strictly before this time. */
  createdBefore?: Date;
}

export interface RunProgressPatch {
  status?: 'queued' | 'running';
  step?: string;
  progress?: StoredRunProgress;
}

export interface RunOutcome {
  status: FinalRunStatus;
  error?: RunError | null;
  evidenceId?: string | null;
  step?: string;
  progress?: StoredRunProgress;
}

const insertQueuedRun = preparedPerDatabase((db) => {
  const p = (name: keyof NewRun | 'workflowId' | 'createdAt') => sql.placeholder(name);
  return db
    .insert(runs)
    .values({
      id: p('id'),
      workflowId: p('workflowId'),
      fetcherId: p('fetcherId'),
      connectionId: p('connectionId'),
      trigger: p('trigger'),
      triggeredBy: p('triggeredBy'),
      scheduleId: p('scheduleId'),
      idempotencyKey: p('idempotencyKey'),
      // Outside the column's encoder, which cannot take null: the value comes as ISO text.
      scheduledFor: sql`${p('scheduledFor')}::timestamptz`,
      // The schema's default would be evaluated once, when the statement is built.
      createdAt: p('createdAt'),
      status: 'queued',
    })
    .onConflictDoNothing()
    .returning()
    .prepare('insert_queued_run');
});

export async function createRun(db: AppDatabase, input: NewRun): Promise<CreateRunResult> {
  const id = input.id ?? randomUUID();
  // No conflict target: a clash on the id or on (fetcher, idempotency key) both mean "already created".
  const [inserted] = await insertQueuedRun(db).execute({
    id,
    workflowId: runWorkflowId(id),
    fetcherId: input.fetcherId,
    connectionId: input.connectionId,
    trigger: input.trigger,
    triggeredBy: input.triggeredBy ?? null,
    scheduleId: input.scheduleId ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    scheduledFor: input.scheduledFor?.toISOString() ?? null,
    createdAt: new Date(),
  });
  if (inserted) return { run: inserted, created: true };
  const existing = await findExistingRun(db, id, input);
  if (!existing) throw new Error(`run ${id} conflicted with an existing run that could not be read back`);
  return { run: existing, created: false };
}

async function findExistingRun(db: AppDatabase, id: string, input: NewRun): Promise<RunRow | null> {
  if (input.id !== undefined) {
    const byId = await getRun(db, id);
    if (byId) return byId;
  }
  if (input.idempotencyKey == null) return null;
  const [byKey] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.fetcherId, input.fetcherId), eq(runs.idempotencyKey, input.idempotencyKey)));
  return byKey ?? null;
}

const markLaunched = preparedPerDatabase((db) =>
  db
    .update(runs)
    .set({ launchedAt: sql`now()` })
    .where(and(eq(runs.id, sql.placeholder('id')), isNull(runs.launchedAt)))
    .prepare('mark_run_launched'),
);

/** Temporal accepted the run's workflow. */
export async function markRunLaunched(db: AppDatabase, id: string): Promise<void> {
  await markLaunched(db).execute({ id });
}

/**
 * Runs stored for a start whose workflow Temporal never accepted (the API
 * stopped, or Temporal was down, between the two): still queued, never
 * launched, older than `graceMs`, oldest first. Scheduled runs are Temporal's
 * own starts and never wait here.
 */
export async function runsAwaitingLaunch(db: AppDatabase, graceMs: number, limit: number): Promise<RunRow[]> {
  return db
    .select()
    .from(runs)
    .where(
      and(
        eq(runs.status, 'queued'),
        isNull(runs.launchedAt),
        ne(runs.trigger, 'schedule'),
        lt(runs.createdAt, sql`now() - ${Math.round(graceMs)}::int * interval '1 millisecond'`),
      ),
    )
    .orderBy(asc(runs.createdAt))
    .limit(limit);
}

const runById = preparedPerDatabase((db) => db.select().from(runs).where(eq(runs.id, sql.placeholder('id'))).prepare('run_by_id'));

export async function getRun(db: AppDatabase, id: string): Promise<RunRow | null> {
  const [row] = await runById(db).execute({ id });
  return row ?? null;
}

export async function listRuns(db: AppDatabase, filter: RunFilter = {}, page: PageRequest = {}): Promise<Page<RunRow>> {
  const limit = pageLimit(page.limit);
  const statuses = filter.status === undefined ? undefined : [filter.status].flat();
  const conditions: (SQL | undefined)[] = [
    filter.fetcherId === undefined ? undefined : eq(runs.fetcherId, filter.fetcherId),
    filter.connectionId === undefined ? undefined : eq(runs.connectionId, filter.connectionId),
    statuses === undefined ? undefined : inArray(runs.status, statuses),
    filter.createdFrom === undefined ? undefined : gte(runs.createdAt, filter.createdFrom),
    filter.createdBefore === undefined ? undefined : lt(runs.createdAt, filter.createdBefore),
    afterCursor(runs.createdAt, runs.id, page.cursor),
  ];
  const rows = await db
    .select()
    .from(runs)
    .where(and(...conditions))
    .orderBy(...newestFirst(runs.createdAt, runs.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

/**
 * Records progress of a live run. A finished run is left alone (null is
 * returned), so a late update can never revive a cancelled or failed run.
 * `startedAt` is set the first time the run is marked running.
 */
export async function updateRunProgress(db: AppDatabase, id: string, patch: RunProgressPatch): Promise<RunRow | null> {
  const [row] = await db
    .update(runs)
    .set({
      ...patch,
      ...(patch.status === 'running' ? { startedAt: sql`coalesce(${runs.startedAt}, ${new Date().toISOString()}::timestamptz)` } : {}),
    })
    .where(and(eq(runs.id, id), notInArray(runs.status, [...FINAL_RUN_STATUSES])))
    .returning();
  return row ?? null;
}

/**
 * Records how a run ended. Repeating it (a retried activity) rewrites the
 * outcome but keeps the first `finishedAt`. `progress` is merged into what
 * the row holds: the counters recorded along the way stay.
 */
export async function finishRun(db: AppDatabase, id: string, outcome: RunOutcome): Promise<RunRow | null> {
  const { progress, ...rest } = outcome;
  const [row] = await db
    .update(runs)
    .set({
      ...rest,
      ...(progress ? { progress: sql`coalesce(${runs.progress}, '{}'::jsonb) || ${JSON.stringify(progress)}::jsonb` } : {}),
      finishedAt: sql`coalesce(${runs.finishedAt}, ${new Date().toISOString()}::timestamptz)`,
    })
    .where(eq(runs.id, id))
    .returning();
  return row ?? null;
}

/** Records the blob key of the host ID list taken for the run (see activities/list-run-hosts.ts). */
export async function setRunHostIdList(db: AppDatabase, id: string, hostIdListKey: string): Promise<void> {
  await db.update(runs).set({ hostIdListKey }).where(eq(runs.id, id));
}

/** Records when the run's data was collected (its last page), set when the evidence is sealed. */
export async function setRunCollectedAt(db: AppDatabase, id: string, collectedAt: Date): Promise<void> {
  await db.update(runs).set({ collectedAt }).where(eq(runs.id, id));
}
