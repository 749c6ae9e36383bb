/**
 * Links between evidence and what it supports (controls, audit requests).
 * A link is unique per (evidence, target), so attaching again is a no-op.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { openRequestsCoveringControls } from './requests.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import {
  attachments,
  evidence,
  fetcherControls,
  fetcherRequests,
  requests,
  type AttachmentRow,
  type AttachmentTargetType,
  type EvidenceRow,
} from './schema.js';

export interface AttachmentTarget {
  targetType: AttachmentTargetType;
  targetId: string;
}

export interface AttachedEvidence {
  evidence: EvidenceRow;
  attachedAt: Date;
}

/** Attaches evidence to each target not yet linked; returns the links that are new. */
export async function attachEvidence(
  db: AppDatabase,
  evidenceId: string,
  targets: AttachmentTarget[],
): Promise<AttachmentRow[]> {
  if (targets.length === 0) return [];
  const now = new Date();
  return db
    .insert(attachments)
    .values(targets.map((t) => ({ evidenceId, ...t, createdAt: now })))
    .onConflictDoNothing()
    .returning();
}

/** Evidence attached to a control or request, most recently attached first. */
export async function listAttachmentsFor(
  db: AppDatabase,
  target: AttachmentTarget,
  page: PageRequest = {},
): Promise<Page<AttachedEvidence>> {
  const limit = pageLimit(page.limit);
  const rows = await db
    .select({ evidence, attachedAt: attachments.createdAt })
    .from(attachments)
    .innerJoin(evidence, eq(evidence.id, attachments.evidenceId))
    .where(
      and(
        eq(attachments.targetType, target.targetType),
        eq(attachments.targetId, target.targetId),
        afterCursor(attachments.createdAt, attachments.evidenceId, page.cursor),
      ),
    )
    .orderBy(...newestFirst(attachments.createdAt, attachments.evidenceId))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.attachedAt, id: r.evidence.id }));
}

/** Where a piece of evidence is attached. */
export async function listEvidenceTargets(db: AppDatabase, evidenceId: string): Promise<AttachmentRow[]> {
  return db
    .select()
    .from(attachments)
    .where(eq(attachments.evidenceId, evidenceId))
    .orderBy(asc(attachments.targetType), asc(attachments.targetId));
}

/**
 * Where new evidence from a fetcher belongs: the fetcher's controls, the open
 * audit requests that cover any of them, and the open requests the fetcher is
 * mapped to explicitly. A request reached both ways is listed once.
 */
export async function attachmentTargetsForFetcher(db: AppDatabase, fetcherId: string): Promise<AttachmentTarget[]> {
  const controlRows = await db
    .select({ id: fetcherControls.controlId })
    .from(fetcherControls)
    .where(eq(fetcherControls.fetcherId, fetcherId))
    .orderBy(asc(fetcherControls.controlId));
  const explicitRows = await db
    .select({ id: requests.id, createdAt: requests.createdAt })
    .from(fetcherRequests)
    .innerJoin(requests, eq(requests.id, fetcherRequests.requestId))
    .where(and(eq(fetcherRequests.fetcherId, fetcherId), eq(requests.status, 'open')));
  const coveringRows = await openRequestsCoveringControls(
    db,
    controlRows.map((c) => c.id),
  );
  const requestRows = [...new Map([...coveringRows, ...explicitRows].map((r) => [r.id, r])).values()].sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return [
    ...controlRows.map((c) => ({ targetType: 'control' as const, targetId: c.id })),
    ...requestRows.map((r) => ({ targetType: 'request' as const, targetId: r.id })),
  ];
}
