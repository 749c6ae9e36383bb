/**
 * The database mirror of Temporal schedules: which fetcher a schedule runs,
 * the spec it was created with, and whether it is paused. Temporal holds the
 * live schedule; this mirror lets lists and disconnects work without asking
 * Temporal for every fetcher.
 */
import { and, eq, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { isEmptyPatch } from './patch.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import { schedules, toJsonRecord, type JsonRecordInput, type ScheduleRow } from './schema.js';

export interface NewSchedule {
  fetcherId: string;
  temporalScheduleId: string;
  preset?: string | null;
  spec: JsonRecordInput;
  timezone?: string;
  paused?: boolean;
  note?: string | null;
}

export interface SchedulePatch {
  preset?: string | null;
  spec?: JsonRecordInput;
  timezone?: string;
  paused?: boolean;
  note?: string | null;
}

export async function createSchedule(db: AppDatabase, input: NewSchedule): Promise<ScheduleRow> {
  const [row] = await db
    .insert(schedules)
    .values({ ...input, spec: toJsonRecord(input.spec) })
    .returning();
  return row!;
}

export async function getSchedule(db: AppDatabase, id: string): Promise<ScheduleRow | null> {
  const [row] = await db.select().from(schedules).where(eq(schedules.id, id));
  return row ?? null;
}

export async function getScheduleByTemporalId(db: AppDatabase, temporalScheduleId: string): Promise<ScheduleRow | null> {
  const [row] = await db.select().from(schedules).where(eq(schedules.temporalScheduleId, temporalScheduleId));
  return row ?? null;
}

export async function listSchedules(
  db: AppDatabase,
  filter: { fetcherId?: string } = {},
  page: PageRequest = {},
): Promise<Page<ScheduleRow>> {
  const limit = pageLimit(page.limit);
  const conditions: (SQL | undefined)[] = [
    filter.fetcherId === undefined ? undefined : eq(schedules.fetcherId, filter.fetcherId),
    afterCursor(schedules.createdAt, schedules.id, page.cursor),
  ];
  const rows = await db
    .select()
    .from(schedules)
    .where(and(...conditions))
    .orderBy(...newestFirst(schedules.createdAt, schedules.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

export async function updateSchedule(db: AppDatabase, id: string, patch: SchedulePatch): Promise<ScheduleRow | null> {
  if (isEmptyPatch(patch)) return getSchedule(db, id);
  const [row] = await db
    .update(schedules)
    .set({ ...patch, spec: patch.spec === undefined ? undefined : toJsonRecord(patch.spec) })
    .where(eq(schedules.id, id))
    .returning();
  return row ?? null;
}

export async function deleteSchedule(db: AppDatabase, id: string): Promise<ScheduleRow | null> {
  const [row] = await db.delete(schedules).where(eq(schedules.id, id)).returning();
  return row ?? null;
}
