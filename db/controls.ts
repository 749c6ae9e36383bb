/**
 * The control catalog (seeded from `control-catalog.ts`) and, per control,
 * the evidence most recently attached to it: what freshness against the
 * control's cadence is judged on.
 */
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { UnknownReferenceError } from './errors.js';
import { attachments, controls, evidence, type ControlRow, type EvidenceFormat } from './schema.js';

export interface LatestEvidence {
  evidenceId: string;
  runId: string;
  fetcherId: string;
  /** When the evidence was sealed, i.e. how old the data is. */
  createdAt: Date;
  attachedAt: Date;
  sha256: string;
  bytes: number;
  format: EvidenceFormat;
  complete: boolean;
}

export interface ControlWithLatestEvidence extends ControlRow {
  latestEvidence: LatestEvidence | null;
}

export async function listControls(db: AppDatabase, filter: { framework?: string } = {}): Promise<ControlRow[]> {
  return db
    .select()
    .from(controls)
    .where(filter.framework === undefined ? undefined : eq(controls.framework, filter.framework))
    .orderBy(asc(controls.framework), asc(controls.code));
}

export async function getControl(db: AppDatabase, id: string): Promise<ControlRow | null> {
  const [row] = await db.select().from(controls).where(eq(controls.id, id));
  return row ?? null;
}

export async function findControl(db: AppDatabase, framework: string, code: string): Promise<ControlRow | null> {
  const [row] = await db
    .select()
    .from(controls)
    .where(and(eq(controls.framework, framework), eq(controls.code, code)));
  return row ?? null;
}

/** Throws `UnknownReferenceError` naming `field` unless every id is a control. */
export async function assertControlsExist(db: AppDatabase, ids: string[], field = 'controlIds'): Promise<void> {
  if (ids.length === 0) return;
  const found = await db.select({ id: controls.id }).from(controls).where(inArray(controls.id, ids));
  const known = new Set(found.map((c) => c.id));
  const unknown = [...new Set(ids)].filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UnknownReferenceError(field, unknown);
}

/** The whole catalog, each control with its newest attached evidence (or null). */
export async function listControlsWithLatestEvidence(db: AppDatabase): Promise<ControlWithLatestEvidence[]> {
  const latest = db
    .selectDistinctOn([attachments.targetId], {
      controlId: attachments.targetId,
      evidenceId: evidence.id,
      runId: evidence.runId,
      fetcherId: evidence.fetcherId,
      createdAt: evidence.createdAt,
      // Aliased: both tables have a created_at column, which the outer query could not tell apart.
      attachedAt: sql`${attachments.createdAt}`.mapWith(attachments.createdAt).as('attached_at'),
      sha256: evidence.sha256,
      bytes: evidence.bytes,
      format: evidence.format,
      complete: evidence.complete,
    })
    .from(attachments)
    .innerJoin(evidence, eq(evidence.id, attachments.evidenceId))
    .where(and(eq(attachments.targetType, 'control'), isNull(attachments.detachedAt)))
    .orderBy(attachments.targetId, desc(evidence.createdAt), desc(evidence.id))
    .as('latest');
  const rows = await db
    .select({
      control: controls,
      evidenceId: latest.evidenceId,
      runId: latest.runId,
      fetcherId: latest.fetcherId,
      createdAt: latest.createdAt,
      attachedAt: latest.attachedAt,
      sha256: latest.sha256,
      bytes: latest.bytes,
      format: latest.format,
      complete: latest.complete,
    })
    .from(controls)
    .leftJoin(latest, eq(latest.controlId, controls.id))
    .orderBy(asc(controls.framework), asc(controls.code));
  return rows.map(({ control, ...l }) => ({
    ...control,
    latestEvidence:
      l.evidenceId === null
        ? null
        : {
            evidenceId: l.evidenceId,
            runId: l.runId!,
            fetcherId: l.fetcherId!,
            createdAt: l.createdAt!,
            attachedAt: l.attachedAt!,
            sha256: l.sha256!,
            bytes: l.bytes!,
            format: l.format!,
            complete: l.complete!,
          },
  }));
}

/** The controls that succeed any of `ids` (current framework versions of them). */
export async function listSuccessors(db: AppDatabase, ids: string[]): Promise<ControlRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(controls).where(inArray(controls.succeeds, ids)).orderBy(asc(controls.framework), asc(controls.code));
}
