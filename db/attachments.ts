/**
 * Links between evidence and what it supports (controls, audit requests).
 * A link is unique per (evidence, target), so attaching again is a no-op.
 */
import { and, asc, eq, gte, isNotNull, isNull, lte } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { openRequestsCoveringControls } from './requests.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import {
  attachmentEvents,
  attachments,
  evidence,
  fetcherControls,
  fetcherRequests,
  requests,
  type AttachmentEventRow,
  type AttachmentRow,
  type AttachmentSource,
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

/** Who attached or detached: a run (its id) or a person through the API (the key's name). */
export interface AttachmentActor {
  source: AttachmentSource;
  actor: string;
  reason?: string | null;
}

/**
 * Attaches evidence to each target not yet linked (or linked and detached
 * since), recording an event for each; returns the links that changed.
 */
export async function attachEvidence(
  db: AppDatabase,
  evidenceId: string,
  targets: AttachmentTarget[],
  by: AttachmentActor,
): Promise<AttachmentRow[]> {
  if (targets.length === 0) return [];
  const now = new Date();
  return db.transaction(async (tx) => {
    const changed = await tx
      .insert(attachments)
      .values(targets.map((t) => ({ evidenceId, ...t, createdAt: now })))
      .onConflictDoUpdate({
        target: [attachments.evidenceId, attachments.targetType, attachments.targetId],
        set: { createdAt: now, detachedAt: null },
        setWhere: isNotNull(attachments.detachedAt),
      })
      .returning();
    if (changed.length > 0) {
      await tx.insert(attachmentEvents).values(
        changed.map((a) => ({ evidenceId, targetType: a.targetType, targetId: a.targetId, action: 'attach' as const, source: by.source, actor: by.actor, reason: by.reason ?? null, at: now })),
      );
    }
    return changed;
  });
}

/** Detaches: the link is kept with its detach time and an event says who and why. False when it was not attached. */
export async function detachEvidence(db: AppDatabase, evidenceId: string, target: AttachmentTarget, by: AttachmentActor): Promise<AttachmentRow | null> {
  const now = new Date();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(attachments)
      .set({ detachedAt: now })
      .where(
        and(
          eq(attachments.evidenceId, evidenceId),
          eq(attachments.targetType, target.targetType),
          eq(attachments.targetId, target.targetId),
          isNull(attachments.detachedAt),
        ),
      )
      .returning();
    if (!row) return null;
    await tx.insert(attachmentEvents).values({ evidenceId, ...target, action: 'detach', source: by.source, actor: by.actor, reason: by.reason ?? null, at: now });
    return row;
  });
}

/** The current link between evidence and a target (attached or detached), or null if there never was one. */
export async function getAttachment(db: AppDatabase, evidenceId: string, target: AttachmentTarget): Promise<AttachmentRow | null> {
  const [row] = await db
    .select()
    .from(attachments)
    .where(and(eq(attachments.evidenceId, evidenceId), eq(attachments.targetType, target.targetType), eq(attachments.targetId, target.targetId)));
  return row ?? null;
}

/** Every attach and detach on a target, newest first. */
export async function listAttachmentEvents(db: AppDatabase, target: AttachmentTarget, page: PageRequest = {}): Promise<Page<AttachmentEventRow>> {
  const limit = pageLimit(page.limit);
  const rows = await db
    .select()
    .from(attachmentEvents)
    .where(
      and(
        eq(attachmentEvents.targetType, target.targetType),
        eq(attachmentEvents.targetId, target.targetId),
        afterCursor(attachmentEvents.at, attachmentEvents.id, page.cursor),
      ),
    )
    .orderBy(...newestFirst(attachmentEvents.at, attachmentEvents.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.at, id: r.id }));
}

/** Evidence attached to a control and collected within [from, to), oldest first: what coverage windows are filled with. */
export async function listControlEvidenceCollectedBetween(db: AppDatabase, controlId: string, from: Date, to: Date): Promise<EvidenceRow[]> {
  const rows = await db
    .select({ evidence })
    .from(attachments)
    .innerJoin(evidence, eq(evidence.id, attachments.evidenceId))
    .where(
      and(
        eq(attachments.targetType, 'control'),
        eq(attachments.targetId, controlId),
        isNull(attachments.detachedAt),
        gte(evidence.collectedAt, from),
        lte(evidence.collectedAt, to),
      ),
    )
    .orderBy(asc(evidence.collectedAt), asc(evidence.id));
  return rows.map((r) => r.evidence).filter((e) => e.collectedAt < to);
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
        isNull(attachments.detachedAt),
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
    .where(and(eq(attachments.evidenceId, evidenceId), isNull(attachments.detachedAt)))
    .orderBy(asc(attachments.targetType), asc(attachments.targetId));
}

/** The UTC calendar date of an instant, as request periods are written. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * Where new evidence from a fetcher belongs: the fetcher's controls, and the
 * open audit requests whose period holds the day the evidence was collected
 * (UTC) and that cover any of those controls or are mapped to the fetcher
 * explicitly. A request reached both ways is listed once. A backfilled run
 * collects today's data, so it reaches today's requests, never those of the
 * earlier period it was scheduled for.
 */
export async function attachmentTargetsForFetcher(db: AppDatabase, fetcherId: string, collectedAt: Date): Promise<AttachmentTarget[]> {
  const day = utcDate(collectedAt);
  const inPeriod = (r: { periodStart: string; periodEnd: string }) => r.periodStart <= day && day <= r.periodEnd;
  const controlRows = await db
    .select({ id: fetcherControls.controlId })
    .from(fetcherControls)
    .where(eq(fetcherControls.fetcherId, fetcherId))
    .orderBy(asc(fetcherControls.controlId));
  const explicitRows = await db
    .select({ id: requests.id, createdAt: requests.createdAt, periodStart: requests.periodStart, periodEnd: requests.periodEnd })
    .from(fetcherRequests)
    .innerJoin(requests, eq(requests.id, fetcherRequests.requestId))
    .where(and(eq(fetcherRequests.fetcherId, fetcherId), eq(requests.status, 'open'), lte(requests.periodStart, day), gte(requests.periodEnd, day)));
  const coveringRows = await openRequestsCoveringControls(
    db,
    controlRows.map((c) => c.id),
  );
  const requestRows = [...new Map([...coveringRows.filter(inPeriod), ...explicitRows].map((r) => [r.id, r])).values()].sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return [
    ...controlRows.map((c) => ({ targetType: 'control' as const, targetId: c.id })),
    ...requestRows.map((r) => ({ targetType: 'request' as const, targetId: r.id })),
  ];
}
