/**
 * Sealed evidence files. Each run seals at most one: inserting evidence for a
 * run that already has some returns the stored row, so a retried seal step
 * never creates a second record.
 */
import { and, eq, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import { evidence, toJsonRecord, type CompletenessVerdict, type EvidenceFormat, type EvidenceRow, type JsonRecordInput } from './schema.js';

export interface NewEvidence {
  runId: string;
  fetcherId: string;
  blobKey: string;
  sha256: string;
  bytes: number;
  format: EvidenceFormat;
  contentType: string;
  filename: string;
  summary: JsonRecordInput;
  manifest: JsonRecordInput;
  complete: boolean;
  completeness?: CompletenessVerdict;
  manifestSha256?: string | null;
  manifestBlobKey?: string | null;
  /** When the data was collected; periods and coverage go by it. */
  collectedAt: Date;
  scheduledFor?: Date | null;
}

export interface InsertEvidenceResult {
  evidence: EvidenceRow;
  /** False when the run already had evidence, which is returned unchanged. */
  created: boolean;
}

export async function insertEvidence(db: AppDatabase, input: NewEvidence): Promise<InsertEvidenceResult> {
  const [inserted] = await db
    .insert(evidence)
    .values({ ...input, summary: toJsonRecord(input.summary), manifest: toJsonRecord(input.manifest) })
    .onConflictDoNothing({ target: evidence.runId })
    .returning();
  if (inserted) return { evidence: inserted, created: true };
  const existing = await getEvidenceForRun(db, input.runId);
  if (!existing) throw new Error(`evidence for run ${input.runId} conflicted but could not be read back`);
  return { evidence: existing, created: false };
}

export async function getEvidence(db: AppDatabase, id: string): Promise<EvidenceRow | null> {
  const [row] = await db.select().from(evidence).where(eq(evidence.id, id));
  return row ?? null;
}

export async function getEvidenceForRun(db: AppDatabase, runId: string): Promise<EvidenceRow | null> {
  const [row] = await db.select().from(evidence).where(eq(evidence.runId, runId));
  return row ?? null;
}

export async function listEvidence(
  db: AppDatabase,
  filter: { fetcherId?: string } = {},
  page: PageRequest = {},
): Promise<Page<EvidenceRow>> {
  const limit = pageLimit(page.limit);
  const conditions: (SQL | undefined)[] = [
    filter.fetcherId === undefined ? undefined : eq(evidence.fetcherId, filter.fetcherId),
    afterCursor(evidence.createdAt, evidence.id, page.cursor),
  ];
  const rows = await db
    .select()
    .from(evidence)
    .where(and(...conditions))
    .orderBy(...newestFirst(evidence.createdAt, evidence.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}
