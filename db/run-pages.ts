/**
 * Pages pulled by a run, keyed by (run, range, page number): a page pulled
 * again (a retry after a lost completion, a crashed worker) replaces its
 * earlier record instead of adding a second one, and the run's counters move
 * by the difference, so they never count a page twice.
 */
import { asc, eq, sql, type SQL } from 'drizzle-orm';
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
  truncationLimit?: number | null;
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
  /** The page's host ids as runs ("1-5,9"); see qualys/host-id-runs.ts. */
  hostIds?: string | null;
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
        truncationLimit: sql`excluded.truncation_limit`,
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
        hostIds: sql`excluded.host_ids`,
        fetchedAt: sql`excluded.fetched_at`,
      },
    })
    .returning();
  return row!;
}

/**
 * Stores a page and adds it to the run's live counters, in one statement (a
 * page's bookkeeping sits between two Qualys calls, so round trips count). A
 * page stored before under the same key is replaced, and only the difference
 * reaches the counters. (`previous` takes no row lock: a row locked there and
 * then updated by the insert in the same statement would read as absent.)
 */
export async function recordRunPage(db: AppDatabase, page: RunPageRecord): Promise<void> {
  const rangeNo = page.rangeNo ?? 1;
  const [hosts, detections, records] = [page.hosts ?? 0, page.detections ?? 0, page.records ?? 0];
  const add = (field: string, delta: SQL) => sql`${field}::text, coalesce((${runs.progress}->>${field})::bigint, 0) + ${delta}`;
  const before = (column: string) => sql.raw(`coalesce((select ${column} from previous), 0)`);
  await db.execute(sql`
    with previous as (
      select hosts, detections, records, bytes from ${runPages}
      where run_id = ${page.runId} and range_no = ${rangeNo} and page_no = ${page.pageNo}
    ), stored as (
      insert into ${runPages} (run_id, range_no, page_no, id_min, id_max, truncation_limit, blob_key, sha256, bytes, summary, hosts, detections, records, qualys_datetime, attempts, worker, host_ids, fetched_at)
      values (${page.runId}, ${rangeNo}, ${page.pageNo}, ${page.idMin ?? null}, ${page.idMax ?? null}, ${page.truncationLimit ?? null}, ${page.blobKey}, ${page.sha256}, ${page.bytes},
        ${JSON.stringify(page.summary)}::jsonb, ${hosts}, ${detections}, ${records}, ${page.qualysDatetime ?? null}, ${page.attempts ?? 1}, ${page.worker ?? null},
        ${page.hostIds ?? null}, ${(page.fetchedAt ?? new Date()).toISOString()}::timestamptz)
      on conflict (run_id, range_no, page_no) do update set
        id_min = excluded.id_min, id_max = excluded.id_max, truncation_limit = excluded.truncation_limit, blob_key = excluded.blob_key, sha256 = excluded.sha256, bytes = excluded.bytes,
        summary = excluded.summary, hosts = excluded.hosts, detections = excluded.detections, records = excluded.records,
        qualys_datetime = excluded.qualys_datetime, attempts = excluded.attempts, worker = excluded.worker, host_ids = excluded.host_ids, fetched_at = excluded.fetched_at
      returning 1
    )
    update ${runs} set step = 'pull_pages', progress = coalesce(${runs.progress}, '{}'::jsonb) || jsonb_build_object(
      ${add('pages', sql`(case when exists (select 1 from previous) then 0 else 1 end)`)},
      ${add('hosts', sql`${hosts} - ${before('hosts')}`)},
      ${add('detections', sql`${detections} - ${before('detections')}`)},
      ${add('records', sql`${records} - ${before('records')}`)},
      ${add('bytes', sql`${page.bytes} - ${before('bytes')}`)},
      'lastError', null, 'waiting', null, 'current', null)
    where ${runs.id} = ${page.runId} and ${runs.status} not in (${sql.join(FINAL_RUN_STATUSES.map((status) => sql`${status}`), sql`, `)}) and exists (select 1 from stored)`);
}

/** The run's pages in sealing order: by range, then page. */
export async function listRunPages(db: AppDatabase, runId: string): Promise<RunPageRow[]> {
  return db.select().from(runPages).where(eq(runPages.runId, runId)).orderBy(asc(runPages.rangeNo), asc(runPages.pageNo));
}
