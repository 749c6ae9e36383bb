/**
 * Audit requests: a period under audit, a due date, and the controls whose
 * evidence the auditor asks for. New evidence attaches to open requests that
 * cover its controls.
 */
import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { assertControlsExist } from './controls.js';
import { isEmptyPatch } from './patch.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import { attachments, controls, requestControls, requests, type ControlRow, type RequestRow, type RequestStatus } from './schema.js';

export interface NewAuditRequest {
  title: string;
  description?: string;
  /** ISO dates (YYYY-MM-DD); the period may not end before it starts. */
  periodStart: string;
  periodEnd: string;
  dueDate?: string | null;
  controlIds?: string[];
}

export interface AuditRequestPatch {
  title?: string;
  description?: string;
  periodStart?: string;
  periodEnd?: string;
  dueDate?: string | null;
}

export async function createRequest(db: AppDatabase, input: NewAuditRequest): Promise<RequestRow> {
  const { controlIds = [], ...fields } = input;
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(requests).values(fields).returning();
    await replaceRequestControls(tx, row!.id, controlIds);
    return row!;
  });
}

export async function getRequest(db: AppDatabase, id: string): Promise<RequestRow | null> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id));
  return row ?? null;
}

export async function listRequests(
  db: AppDatabase,
  filter: { status?: RequestStatus } = {},
  page: PageRequest = {},
): Promise<Page<RequestRow>> {
  const limit = pageLimit(page.limit);
  const conditions: (SQL | undefined)[] = [
    filter.status === undefined ? undefined : eq(requests.status, filter.status),
    afterCursor(requests.createdAt, requests.id, page.cursor),
  ];
  const rows = await db
    .select()
    .from(requests)
    .where(and(...conditions))
    .orderBy(...newestFirst(requests.createdAt, requests.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

export async function updateRequest(db: AppDatabase, id: string, patch: AuditRequestPatch): Promise<RequestRow | null> {
  if (isEmptyPatch(patch)) return getRequest(db, id);
  const [row] = await db.update(requests).set(patch).where(eq(requests.id, id)).returning();
  return row ?? null;
}

/** Closes the request; evidence no longer attaches to it. Closing twice keeps the first close time. */
export async function closeRequest(db: AppDatabase, id: string): Promise<RequestRow | null> {
  const [closed] = await db
    .update(requests)
    .set({ status: 'closed', closedAt: new Date() })
    .where(and(eq(requests.id, id), eq(requests.status, 'open')))
    .returning();
  return closed ?? getRequest(db, id);
}

/** Deletes the request with its control links and evidence links (the evidence itself stays). */
export async function deleteRequest(db: AppDatabase, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.delete(attachments).where(and(eq(attachments.targetType, 'request'), eq(attachments.targetId, id)));
    const deleted = await tx.delete(requests).where(eq(requests.id, id)).returning({ id: requests.id });
    return deleted.length > 0;
  });
}

/** Replaces the request's controls with exactly `controlIds`. Unknown ids change nothing and throw. */
export async function setRequestControls(db: AppDatabase, requestId: string, controlIds: string[]): Promise<void> {
  await db.transaction((tx) => replaceRequestControls(tx, requestId, controlIds));
}

async function replaceRequestControls(tx: AppDatabase, requestId: string, controlIds: string[]): Promise<void> {
  const wanted = [...new Set(controlIds)];
  await assertControlsExist(tx, wanted);
  await tx.delete(requestControls).where(eq(requestControls.requestId, requestId));
  if (wanted.length > 0) {
    await tx.insert(requestControls).values(wanted.map((controlId) => ({ requestId, controlId })));
  }
}

export async function listRequestControls(db: AppDatabase, requestId: string): Promise<ControlRow[]> {
  const rows = await db
    .select({ control: controls })
    .from(requestControls)
    .innerJoin(controls, eq(controls.id, requestControls.controlId))
    .where(eq(requestControls.requestId, requestId))
    .orderBy(asc(controls.framework), asc(controls.code));
  return rows.map((r) => r.control);
}

/** Open requests that ask for evidence of at least one of the controls. */
export async function openRequestsCoveringControls(db: AppDatabase, controlIds: string[]): Promise<RequestRow[]> {
  if (controlIds.length === 0) return [];
  return db
    .select()
    .from(requests)
    .where(
      and(
        eq(requests.status, 'open'),
        inArray(
          requests.id,
          db
            .select({ id: requestControls.requestId })
            .from(requestControls)
            .where(inArray(requestControls.controlId, controlIds)),
        ),
      ),
    )
    .orderBy(asc(requests.createdAt), asc(requests.id));
}
