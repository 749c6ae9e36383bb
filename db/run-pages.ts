/**
 * Pages pulled by a run, keyed by (run, range, page number): a page pulled
 * again (a retry after a lost completion, a crashed worker) replaces its
 * earlier record instead of adding a second one, and the run's counters move
 * by the difference, so they never count a page twice.
 */
import { and, asc, eq, notInArray, sql } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { FINAL_RUN_STATUSES } from '../shared/contracts.js';
import { runPages, runs, toJsonRecord, type JsonRecordInput, type RunPageRow } from './schema.js';

export interface RunPageRecord {
  runId: string;
  /** 1 for sequential pulls. */
  rangeNo?: number;
  pageNo: number;
  idMin?: number | null;
  idMax?: number | null;
  blobKey: string;
  sha256: string;
  bytes: number;
  summary: JsonRecordInput;
  hosts?: number;
  detections?: number;
  records?: number;
  qualysDatetime?: string | null;
  attempts?: number;
  worker?: string | null;
  fetchedAt?: Date;
}

export async function upsertRunPage(db: AppDatabase, page: RunPageRecord): Promise<RunPageRow> {
  const values = { ...page, rangeNo: page.rangeNo ?? 1, summary: toJsonRecord(page.summary), fetchedAt: page.fetchedAt ?? new Date() };
  const [row] = await db
    .insert(runPages)
    .values(values)
    .onConflictDoUpdate({
      target: [runPages.runId, runPages.rangeNo, runPages.pageNo],
      set: {
        idMin: sql`excluded.id_min`,
        idMax: sql`excluded.id_max`,
        blobKey: sql`excluded.blob_key`,
        sha256: sql`excluded.sha256`,
        bytes: sql`excluded.bytes`,
        summary: sql`excluded.summary`,
        hosts: sql`excluded.hosts`,
        detections: sql`excluded.detections`,
        records: sql`excluded.records`,
        qualysDatetime: sql`excluded.qualys_datetime`,
        attempts: sql`excluded.attempts`,
        worker: sql`excluded.worker`,
        fetchedAt: sql`excluded.fetched_at`,
      },
    })
    .returning();
  return row!;
}

/**
 * Stores a page and adds it to the run's live counters in one transaction.
 * A page stored before under the same key is replaced, and only the
 * difference reaches the counters.
 */
export async function recordRunPage(db: AppDatabase, page: RunPageRecord): Promise<RunPageRow> {
  return db.transaction(async (tx) => {
    const [previous] = await tx
      .select()
      .from(runPages)
      .where(and(eq(runPages.runId, page.runId), eq(runPages.rangeNo, page.rangeNo ?? 1), eq(runPages.pageNo, page.pageNo)))
      .for('update');
    const row = await upsertRunPage(tx, page);
    const before = previous ?? { hosts: 0, detections: 0, records: 0, bytes: 0 };
    const add = (field: string, delta: number) => sql`${field}::text, coalesce((${runs.progress}->>${field})::bigint, 0) + ${delta}`;
    await tx
      .update(runs)
      .set({
        step: 'pull_pages',
        progress: sql`coalesce(${runs.progress}, '{}'::jsonb) || jsonb_build_object(
          ${add('pages', previous ? 0 : 1)},
          ${add('hosts', row.hosts - before.hosts)},
          ${add('detections', row.detections - before.detections)},
          ${add('records', row.records - before.records)},
          ${add('bytes', row.bytes - before.bytes)},
          'lastError', null, 'waiting', null, 'current', null)`,
      })
      .where(and(eq(runs.id, page.runId), notInArray(runs.status, [...FINAL_RUN_STATUSES])));
    return row;
  });
}

/** The run's pages in sealing order: by range, then page. */
export async function listRunPages(db: AppDatabase, runId: string): Promise<RunPageRow[]> {
  return db.select().from(runPages).where(eq(runPages.runId, runId)).orderBy(asc(runPages.rangeNo), asc(runPages.pageNo));
}
