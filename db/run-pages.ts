/**
 * Pages pulled by a run, keyed by (run, page number): a retried page replaces
 * its earlier record instead of adding a second one.
 */
import { asc, eq, sql } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { runPages, toJsonRecord, type JsonRecordInput, type RunPageRow } from './schema.js';

export interface RunPageRecord {
  runId: string;
  pageNo: number;
  idMin?: number | null;
  blobKey: string;
  sha256: string;
  bytes: number;
  summary: JsonRecordInput;
  qualysDatetime?: string | null;
  attempts?: number;
  fetchedAt?: Date;
}

export async function upsertRunPage(db: AppDatabase, page: RunPageRecord): Promise<RunPageRow> {
  const values = { ...page, summary: toJsonRecord(page.summary), fetchedAt: page.fetchedAt ?? new Date() };
  const [row] = await db
    .insert(runPages)
    .values(values)
    .onConflictDoUpdate({
      target: [runPages.runId, runPages.pageNo],
      set: {
        idMin: sql`excluded.id_min`,
        blobKey: sql`excluded.blob_key`,
        sha256: sql`excluded.sha256`,
        bytes: sql`excluded.bytes`,
        summary: sql`excluded.summary`,
        qualysDatetime: sql`excluded.qualys_datetime`,
        attempts: sql`excluded.attempts`,
        fetchedAt: sql`excluded.fetched_at`,
      },
    })
    .returning();
  return row!;
}

export async function listRunPages(db: AppDatabase, runId: string): Promise<RunPageRow[]> {
  return db.select().from(runPages).where(eq(runPages.runId, runId)).orderBy(asc(runPages.pageNo));
}
