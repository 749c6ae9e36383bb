/**
 * Fetcher definitions and their mapping to controls and audit requests. Deleting a fetcher
 * retires it (`deletedAt`) rather than removing the row, so its past runs and
 * evidence keep pointing at the definition that produced them; retired
 * fetchers are invisible to get/list unless asked for.
 */
import { and, asc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { AppDatabase } from './app-database.js';
import { assertControlsExist } from './controls.js';
import { UnknownReferenceError } from './errors.js';
import { isEmptyPatch } from './patch.js';
import { preparedPerDatabase } from './prepared.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import {
  connections,
  controls,
  fetcherControls,
  fetcherRequests,
  fetchers,
  requests,
  schedules,
  type ControlRow,
  type RequestRow,
  type EvidenceFormat,
  type FetcherKind,
  type ConnectionStatus,
  type FetcherRow,
  toJsonRecord,
  type JsonRecordInput,
} from './schema.js';

export interface NewFetcher {
  connectionId: string;
  name: string;
  kind: FetcherKind;
  config: JsonRecordInput;
  format: EvidenceFormat;
  pageSize?: number;
  enabled?: boolean;
}

export interface FetcherPatch {
  name?: string;
  config?: JsonRecordInput;
  format?: EvidenceFormat;
  pageSize?: number;
  enabled?: boolean;
}

export interface FetcherFilter {
  connectionId?: string;
  enabled?: boolean;
}

export interface DeleteFetcherResult {
  fetcher: FetcherRow;
  /** Schedule rows removed with the fetcher; delete them from Temporal as well. */
  removedTemporalScheduleIds: string[];
}

const live = isNull(fetchers.deletedAt);

export async function createFetcher(db: AppDatabase, input: NewFetcher): Promise<FetcherRow> {
  const [row] = await db
    .insert(fetchers)
    .values({ ...input, config: toJsonRecord(input.config) })
    .returning();
  return row!;
}

const fetcherById = preparedPerDatabase((db) =>
  db.select().from(fetchers).where(eq(fetchers.id, sql.placeholder('id'))).prepare('fetcher_by_id'),
);
const liveFetcherById = preparedPerDatabase((db) =>
  db
    .select()
    .from(fetchers)
    .where(and(eq(fetchers.id, sql.placeholder('id')), live))
    .prepare('live_fetcher_by_id'),
);

export async function getFetcher(
  db: AppDatabase,
  id: string,
  opts: { includeDeleted?: boolean } = {},
): Promise<FetcherRow | null> {
  const [row] = await (opts.includeDeleted ? fetcherById : liveFetcherById)(db).execute({ id });
  return row ?? null;
}

const fetcherWithConnection = preparedPerDatabase((db) =>
  db
    .select({ fetcher: fetchers, connection: { name: connections.name, status: connections.status } })
    .from(fetchers)
    .leftJoin(connections, eq(connections.id, fetchers.connectionId))
    .where(eq(fetchers.id, sql.placeholder('id')))
    .prepare('fetcher_with_connection'),
);

/**
 * A fetcher, deleted or not, with the name and status of its connection: what
 * every start checks first, in one round trip.
 */
export async function getFetcherWithConnection(
  db: AppDatabase,
  id: string,
): Promise<{ fetcher: FetcherRow; connection: { name: string; status: ConnectionStatus } | null } | null> {
  const [row] = await fetcherWithConnection(db).execute({ id });
  return row ?? null;
}

export async function listFetchers(
  db: AppDatabase,
  filter: FetcherFilter = {},
  page: PageRequest = {},
): Promise<Page<FetcherRow>> {
  const limit = pageLimit(page.limit);
  const conditions: (SQL | undefined)[] = [
    live,
    filter.connectionId === undefined ? undefined : eq(fetchers.connectionId, filter.connectionId),
    filter.enabled === undefined ? undefined : eq(fetchers.enabled, filter.enabled),
    afterCursor(fetchers.createdAt, fetchers.id, page.cursor),
  ];
  const rows = await db
    .select()
    .from(fetchers)
    .where(and(...conditions))
    .orderBy(...newestFirst(fetchers.createdAt, fetchers.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

export async function updateFetcher(db: AppDatabase, id: string, patch: FetcherPatch): Promise<FetcherRow | null> {
  if (isEmptyPatch(patch)) return getFetcher(db, id);
  const [row] = await db
    .update(fetchers)
    .set({ ...patch, config: patch.config === undefined ? undefined : toJsonRecord(patch.config) })
    .where(and(eq(fetchers.id, id), live))
    .returning();
  return row ?? null;
}

/** Retires the fetcher: disabled, hidden, its schedules removed. Null when there is no live fetcher. */
export async function deleteFetcher(db: AppDatabase, id: string): Promise<DeleteFetcherResult | null> {
  return db.transaction(async (tx) => {
    const [fetcher] = await tx
      .update(fetchers)
      .set({ enabled: false, deletedAt: new Date() })
      .where(and(eq(fetchers.id, id), live))
      .returning();
    if (!fetcher) return null;
    const removed = await tx
      .delete(schedules)
      .where(eq(schedules.fetcherId, id))
      .returning({ temporalScheduleId: schedules.temporalScheduleId });
    return { fetcher, removedTemporalScheduleIds: removed.map((s) => s.temporalScheduleId) };
  });
}

/** Replaces the fetcher's controls with exactly `controlIds`. Unknown ids change nothing and throw. */
export async function setFetcherControls(db: AppDatabase, fetcherId: string, controlIds: string[]): Promise<void> {
  const wanted = [...new Set(controlIds)];
  await db.transaction(async (tx) => {
    await assertControlsExist(tx, wanted);
    await tx.delete(fetcherControls).where(eq(fetcherControls.fetcherId, fetcherId));
    if (wanted.length > 0) {
      await tx.insert(fetcherControls).values(wanted.map((controlId) => ({ fetcherId, controlId })));
    }
  });
}

export async function listFetcherControls(db: AppDatabase, fetcherId: string): Promise<ControlRow[]> {
  const rows = await db
    .select({ control: controls })
    .from(fetcherControls)
    .innerJoin(controls, eq(controls.id, fetcherControls.controlId))
    .where(eq(fetcherControls.fetcherId, fetcherId))
    .orderBy(asc(controls.framework), asc(controls.code));
  return rows.map((r) => r.control);
}

/** Replaces the audit requests the fetcher is mapped to with exactly `requestIds`. Unknown ids change nothing and throw. */
export async function setFetcherRequests(db: AppDatabase, fetcherId: string, requestIds: string[]): Promise<void> {
  const wanted = [...new Set(requestIds)];
  await db.transaction(async (tx) => {
    await assertRequestsExist(tx, wanted);
    await tx.delete(fetcherRequests).where(eq(fetcherRequests.fetcherId, fetcherId));
    if (wanted.length > 0) {
      await tx.insert(fetcherRequests).values(wanted.map((requestId) => ({ fetcherId, requestId })));
    }
  });
}

/** The audit requests the fetcher is mapped to explicitly, open or closed, oldest first. */
export async function listFetcherRequests(db: AppDatabase, fetcherId: string): Promise<RequestRow[]> {
  const rows = await db
    .select({ request: requests })
    .from(fetcherRequests)
    .innerJoin(requests, eq(requests.id, fetcherRequests.requestId))
    .where(eq(fetcherRequests.fetcherId, fetcherId))
    .orderBy(asc(requests.createdAt), asc(requests.id));
  return rows.map((r) => r.request);
}

export interface FetcherMappings {
  controls: ControlRow[];
  requestIds: string[];
}

/** The controls and explicit requests of many fetchers in two queries (not two per fetcher), for list pages. */
export async function listMappingsOfFetchers(db: AppDatabase, fetcherIds: string[]): Promise<Map<string, FetcherMappings>> {
  const result = new Map<string, FetcherMappings>(fetcherIds.map((id) => [id, { controls: [], requestIds: [] }]));
  if (fetcherIds.length === 0) return result;
  const controlRows = await db
    .select({ fetcherId: fetcherControls.fetcherId, control: controls })
    .from(fetcherControls)
    .innerJoin(controls, eq(controls.id, fetcherControls.controlId))
    .where(inArray(fetcherControls.fetcherId, fetcherIds))
    .orderBy(asc(controls.framework), asc(controls.code));
  const requestRows = await db
    .select({ fetcherId: fetcherRequests.fetcherId, requestId: fetcherRequests.requestId })
    .from(fetcherRequests)
    .innerJoin(requests, eq(requests.id, fetcherRequests.requestId))
    .where(inArray(fetcherRequests.fetcherId, fetcherIds))
    .orderBy(asc(requests.createdAt), asc(requests.id));
  for (const row of controlRows) result.get(row.fetcherId)!.controls.push(row.control);
  for (const row of requestRows) result.get(row.fetcherId)!.requestIds.push(row.requestId);
  return result;
}

/** Live fetchers mapped to a control, oldest first. */
export async function listFetchersForControl(db: AppDatabase, controlId: string): Promise<FetcherRow[]> {
  const rows = await db
    .select({ fetcher: fetchers })
    .from(fetcherControls)
    .innerJoin(fetchers, eq(fetchers.id, fetcherControls.fetcherId))
    .where(and(eq(fetcherControls.controlId, controlId), live))
    .orderBy(asc(fetchers.createdAt), asc(fetchers.id));
  return rows.map((r) => r.fetcher);
}

async function assertRequestsExist(db: AppDatabase, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const found = await db.select({ id: requests.id }).from(requests).where(inArray(requests.id, ids));
  const known = new Set(found.map((r) => r.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UnknownReferenceError('requestIds', unknown);
}
