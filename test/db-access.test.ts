/**
 * The data-access modules, each scenario run on Postgres and on PGlite.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { countActiveApiKeys, createApiKey, listApiKeys, revokeApiKey, verifyApiKey } from '../db/api-keys.js';
import {
  attachEvidence,
  attachmentTargetsForFetcher,
  listAttachmentsFor,
  listEvidenceTargets,
} from '../db/attachments.js';
import {
  createConnection,
  disconnectConnection,
  getConnection,
  getConnectionCredentials,
  listConnections,
  markConnectionStatus,
  updateConnection,
} from '../db/connections.js';
import { CONTROL_CATALOG, FRAMEWORKS } from '../db/control-catalog.js';
import { findControl, listControls, listControlsWithLatestEvidence } from '../db/controls.js';
import type { AppDatabase } from '../db/database.js';
import { ConnectionDisconnectedError, UnknownReferenceError } from '../db/errors.js';
import { getEvidence, getEvidenceForRun, insertEvidence, listEvidence, type NewEvidence } from '../db/evidence.js';
import {
  createFetcher,
  deleteFetcher,
  getFetcher,
  listFetcherControls,
  listFetchers,
  setFetcherControls,
  updateFetcher,
} from '../db/fetchers.js';
import { InvalidPageRequestError, type Page } from '../db/pagination.js';
import {
  closeRequest,
  createRequest,
  deleteRequest,
  getRequest,
  listRequestControls,
  listRequests,
  openRequestsCoveringControls,
  setRequestControls,
  updateRequest,
} from '../db/requests.js';
import { listRunPages, upsertRunPage } from '../db/run-pages.js';
import { createRun, finishRun, getRun, listRuns, markRunLaunched, runsAwaitingLaunch, updateRunProgress } from '../db/runs.js';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  getScheduleByTemporalId,
  listSchedules,
  updateSchedule,
} from '../db/schedules.js';
import { apiKeys, attachments, connections, runPages, runs, webhooks, type ControlRow } from '../db/schema.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  getWebhookSecret,
  listWebhookDeliveries,
  listWebhooks,
  listWebhooksForEvent,
  recordWebhookDelivery,
  updateWebhook,
} from '../db/webhooks.js';
import { databaseBackends } from './support/db-backends.js';
import { createSecretBox, SecretBoxError } from '../security/secret-box.js';

const BACKENDS = databaseBackends('qec_dbaccess');
const BY_RUN = { source: 'run' as const, actor: 'test-run' };

const box = createSecretBox(randomBytes(32));
const PASSWORD = `Qualys-pa55-${randomUUID()}`;

async function collectPages<T>(fetch: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    pages.push(page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

describe.each(BACKENDS)('data access on $name', (backend) => {
  let db: AppDatabase;
  let cleanup: () => Promise<void>;
  let pci112: ControlRow;
  let fedrampRa5: ControlRow;
  let cis41: ControlRow;

  beforeAll(async () => {
    const opened = await backend.open();
    db = opened.handle.db;
    cleanup = opened.cleanup;
    expect(opened.handle.kind).toBe(backend.name);
    pci112 = (await findControl(db, FRAMEWORKS.PCI_DSS, '11.2'))!;
    fedrampRa5 = (await findControl(db, FRAMEWORKS.FEDRAMP_MODERATE, 'RA-5'))!;
    cis41 = (await findControl(db, FRAMEWORKS.CIS_V6_1, '4.1'))!;
  });

  afterAll(async () => {
    await cleanup?.();
  });

  const newConnection = (name = 'Qualys US2') =>
    createConnection(db, box, {
      name,
      platform: 'US2',
      apiBaseUrl: 'https://qualysapi.qg2.apps.qualys.com',
      username: 'auditor_api',
      password: PASSWORD,
    });

  const newFetcher = (connectionId: string, name = 'HLD all hosts') =>
    createFetcher(db, {
      connectionId,
      name,
      kind: 'host_list_detection',
      config: { severities: [4, 5], statuses: ['New', 'Active'] },
      format: 'XML',
    });

  const evidenceFor = (runId: string, fetcherId: string, sha = 'a'.repeat(64)): NewEvidence => ({
    runId,
    fetcherId,
    blobKey: `sha256/${sha}`,
    sha256: sha,
    bytes: 5_000_000_000,
    format: 'XML',
    contentType: 'application/xml',
    filename: 'hld-2024-01-01.xml',
    summary: { hosts: 3, detections: 10 },
    manifest: { pages: [] },
    complete: true,
    collectedAt: new Date('2024-01-01T00:00:00Z'),
  });

  async function newRunWithEvidence(fetcherId: string, connectionId: string, sha?: string) {
    const { run } = await createRun(db, { fetcherId, connectionId, trigger: 'api' });
    const { evidence } = await insertEvidence(db, evidenceFor(run.id, fetcherId, sha));
    return { run, evidence };
  }

  describe('connections', () => {
    it('stores the password only as ciphertext bound to the row, and never returns it from reads', async () => {
      const conn = await newConnection();
      expect(conn).not.toHaveProperty('passwordCiphertext');
      expect(conn).toMatchObject({ status: 'unchecked', apiVersion: '5.0', platform: 'US2' });

      const [raw] = await db.select().from(connections).where(eq(connections.id, conn.id));
      expect(raw!.passwordCiphertext).toMatch(/^v1\./);
      expect(raw!.passwordCiphertext).not.toContain(PASSWORD);
      expect(JSON.stringify(raw)).not.toContain(PASSWORD);

      expect(await getConnection(db, conn.id)).not.toHaveProperty('passwordCiphertext');
      const listed = await listConnections(db, { limit: 500 });
      expect(listed.items.find((c) => c.id === conn.id)).not.toHaveProperty('passwordCiphertext');

      const creds = await getConnectionCredentials(db, box, conn.id);
      expect(creds!.password).toBe(PASSWORD);
      expect(creds!.connection).not.toHaveProperty('passwordCiphertext');

      // The ciphertext is useless in another row.
      const other = await newConnection('other');
      await db.update(connections).set({ passwordCiphertext: raw!.passwordCiphertext }).where(eq(connections.id, other.id));
      await expect(getConnectionCredentials(db, box, other.id)).rejects.toThrow(SecretBoxError);
    });

    it('rotates the password on update and records check outcomes', async () => {
      const conn = await newConnection();
      const [before] = await db.select().from(connections).where(eq(connections.id, conn.id));
      const updated = await updateConnection(db, box, conn.id, { password: 'n3w-secret', name: 'renamed' });
      expect(updated).toMatchObject({ name: 'renamed' });
      expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(conn.updatedAt.getTime());
      const [after] = await db.select().from(connections).where(eq(connections.id, conn.id));
      expect(after!.passwordCiphertext).not.toBe(before!.passwordCiphertext);
      expect((await getConnectionCredentials(db, box, conn.id))!.password).toBe('n3w-secret');

      const checkedAt = new Date('2024-03-01T10:00:00.123Z');
      const marked = await markConnectionStatus(db, conn.id, 'invalid', 'Bad Login/Password (2000)', {
        checkedAt,
        limits: { rateLimit: 300, windowSec: 3600, concurrencyLimit: 2 },
      });
      expect(marked).toMatchObject({
        status: 'invalid',
        statusReason: 'Bad Login/Password (2000)',
        lastCheckedAt: checkedAt,
        limits: { rateLimit: 300, windowSec: 3600, concurrencyLimit: 2 },
      });
      expect(await markConnectionStatus(db, randomUUID(), 'valid', null)).toBeNull();
      expect(await updateConnection(db, box, randomUUID(), { name: 'x' })).toBeNull();
      expect(await updateConnection(db, box, conn.id, {})).toMatchObject({ name: 'renamed', status: 'invalid' });
    });

    it('disconnect erases the secret, disables the fetchers and pauses their schedules', async () => {
      const conn = await newConnection();
      const f1 = await newFetcher(conn.id, 'one');
      const f2 = await newFetcher(conn.id, 'two');
      const schedule = await createSchedule(db, {
        fetcherId: f1.id,
        temporalScheduleId: `sched-${randomUUID()}`,
        preset: 'pci-quarterly',
        spec: { calendars: [{ month: [1, 4, 7, 10], dayOfMonth: 1 }] },
      });
      const untouched = await newFetcher((await newConnection('untouched')).id);

      const result = await disconnectConnection(db, conn.id);
      expect(result!.connection).toMatchObject({ status: 'disconnected' });
      expect(result!.disabledFetcherIds.sort()).toEqual([f1.id, f2.id].sort());
      expect(result!.pausedTemporalScheduleIds).toEqual([schedule.temporalScheduleId]);

      const [raw] = await db.select().from(connections).where(eq(connections.id, conn.id));
      expect(raw!.passwordCiphertext).toBeNull();
      await expect(getConnectionCredentials(db, box, conn.id)).rejects.toThrow(ConnectionDisconnectedError);
      expect((await getFetcher(db, f1.id))!.enabled).toBe(false);
      expect((await getFetcher(db, f2.id))!.enabled).toBe(false);
      expect((await getSchedule(db, schedule.id))!.paused).toBe(true);
      expect((await getFetcher(db, untouched.id))!.enabled).toBe(true);
      expect(await disconnectConnection(db, randomUUID())).toBeNull();
    });
  });

  describe('fetchers', () => {
    it('creates, lists by connection, updates and retires fetchers', async () => {
      const conn = await newConnection();
      const a = await newFetcher(conn.id, 'a');
      // Newest first is by creation time in milliseconds; two fetchers made in the same one would tie.
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(a.createdAt.getTime()));
      const b = await createFetcher(db, {
        connectionId: conn.id,
        name: 'custom scans',
        kind: 'custom',
        config: { method: 'GET', endpoint: '/api/2.0/fo/scan/', params: { action: 'list' } },
        format: 'RAW',
        pageSize: 500,
      });
      expect(a).toMatchObject({ pageSize: 1000, enabled: true, deletedAt: null });
      expect(b.config).toEqual({ method: 'GET', endpoint: '/api/2.0/fo/scan/', params: { action: 'list' } });

      const listed = await listFetchers(db, { connectionId: conn.id });
      expect(listed.items.map((f) => f.id)).toEqual([b.id, a.id]);
      expect((await listFetchers(db, { connectionId: conn.id, enabled: false })).items).toEqual([]);

      const updated = await updateFetcher(db, a.id, { name: 'renamed', format: 'CSV', config: { severities: [5] } });
      expect(updated).toMatchObject({ name: 'renamed', format: 'CSV', config: { severities: [5] } });

      const schedule = await createSchedule(db, { fetcherId: a.id, temporalScheduleId: `sched-${randomUUID()}`, spec: {} });
      const removed = await deleteFetcher(db, a.id);
      expect(removed!.fetcher).toMatchObject({ enabled: false });
      expect(removed!.fetcher.deletedAt).toBeInstanceOf(Date);
      expect(removed!.removedTemporalScheduleIds).toEqual([schedule.temporalScheduleId]);
      expect(await getFetcher(db, a.id)).toBeNull();
      expect(await getFetcher(db, a.id, { includeDeleted: true })).toMatchObject({ id: a.id });
      expect((await listFetchers(db, { connectionId: conn.id })).items.map((f) => f.id)).toEqual([b.id]);
      expect(await updateFetcher(db, b.id, {})).toEqual(await getFetcher(db, b.id));
      expect(await updateFetcher(db, a.id, { name: 'ghost' })).toBeNull();
      expect(await updateFetcher(db, a.id, {})).toBeNull();
      expect(await deleteFetcher(db, a.id)).toBeNull();
    });

    it('refuses a page size Qualys would not accept', async () => {
      const conn = await newConnection();
      await expect(
        createFetcher(db, { connectionId: conn.id, name: 'x', kind: 'custom', config: {}, format: 'RAW', pageSize: 0 }),
      ).rejects.toThrow();
    });

    it('replaces control mappings and rejects unknown controls without changing anything', async () => {
      const f = await newFetcher((await newConnection()).id);
      await setFetcherControls(db, f.id, [pci112.id, fedrampRa5.id, pci112.id]);
      expect((await listFetcherControls(db, f.id)).map((c) => c.id).sort()).toEqual([pci112.id, fedrampRa5.id].sort());

      const bogus = randomUUID();
      const failure = await setFetcherControls(db, f.id, [cis41.id, bogus]).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UnknownReferenceError);
      expect(failure).toMatchObject({ field: 'controlIds', ids: [bogus] });
      expect((await listFetcherControls(db, f.id)).map((c) => c.id).sort()).toEqual([pci112.id, fedrampRa5.id].sort());

      await setFetcherControls(db, f.id, [cis41.id]);
      expect((await listFetcherControls(db, f.id)).map((c) => c.id)).toEqual([cis41.id]);
      await setFetcherControls(db, f.id, []);
      expect(await listFetcherControls(db, f.id)).toEqual([]);
    });
  });

  describe('runs', () => {
    it('creates exactly one run for 20 concurrent requests with the same idempotency key', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api', triggeredBy: 'ci', idempotencyKey: 'key-1' }),
        ),
      );
      const ids = new Set(results.map((r) => r.run.id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const rows = await db
        .select()
        .from(runs)
        .where(and(eq(runs.fetcherId, f.id), eq(runs.idempotencyKey, 'key-1')));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'queued', workflowId: `run-${rows[0]!.id}`, trigger: 'api', triggeredBy: 'ci' });

      // The same key on another fetcher, or no key at all, makes new runs.
      const other = await newFetcher(conn.id, 'other');
      expect((await createRun(db, { fetcherId: other.id, connectionId: conn.id, trigger: 'api', idempotencyKey: 'key-1' })).created).toBe(true);
      const [n1, n2] = await Promise.all([
        createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' }),
        createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' }),
      ]);
      expect(n1.created && n2.created).toBe(true);
      expect(n1.run.id).not.toBe(n2.run.id);
    });

    it('returns the existing run for a repeated explicit id', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const id = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => createRun(db, { id, fetcherId: f.id, connectionId: conn.id, trigger: 'schedule' })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results.every((r) => r.run.id === id && r.run.workflowId === `run-${id}`)).toBe(true);
    });

    it('finds the runs stored for a start that never reached Temporal: queued, not launched, past the grace, not scheduled', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const waiting = (await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' })).run;
      const launched = (await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'cli' })).run;
      await markRunLaunched(db, launched.id);
      await createRun(db, { id: randomUUID(), fetcherId: f.id, connectionId: conn.id, trigger: 'schedule' });
      const running = (await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' })).run;
      await updateRunProgress(db, running.id, { status: 'running' });
      const mine = async (graceMs: number) => (await runsAwaitingLaunch(db, graceMs, 1000)).filter((r) => r.fetcherId === f.id).map((r) => r.id);
      expect(await mine(0)).toEqual([waiting.id]);
      expect(await mine(60_000)).toEqual([]);
      const first = (await getRun(db, launched.id))!.launchedAt;
      expect(first).toBeInstanceOf(Date);
      await markRunLaunched(db, launched.id);
      expect((await getRun(db, launched.id))!.launchedAt).toEqual(first);
    });

    it('tracks progress, keeps the first start and finish times, and ignores progress after the end', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const { run } = await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'cli' });
      expect(run.startedAt).toBeNull();

      const running = await updateRunProgress(db, run.id, { status: 'running', step: 'check connection' });
      expect(running!.startedAt).toBeInstanceOf(Date);
      const progress = { pages: 2, hosts: 2000, detections: 15000, bytes: 9_000_000_000 };
      const later = await updateRunProgress(db, run.id, { status: 'running', step: 'pull pages', progress });
      expect(later!.startedAt).toEqual(running!.startedAt);
      expect(later).toMatchObject({ step: 'pull pages', progress });

      const { evidence } = await insertEvidence(db, evidenceFor(run.id, f.id));
      const failed = await finishRun(db, run.id, {
        status: 'failed',
        error: { type: 'QualysApiError', message: 'Bad Login/Password', qualysCode: 2000 },
      });
      expect(failed).toMatchObject({ status: 'failed', error: { qualysCode: 2000 } });
      expect(failed!.finishedAt).toBeInstanceOf(Date);
      const again = await finishRun(db, run.id, { status: 'succeeded', error: null, evidenceId: evidence.id });
      expect(again).toMatchObject({ status: 'succeeded', error: null, evidenceId: evidence.id });
      expect(again!.finishedAt).toEqual(failed!.finishedAt);

      expect(await updateRunProgress(db, run.id, { status: 'running', step: 'late' })).toBeNull();
      expect(await getRun(db, run.id)).toMatchObject({ status: 'succeeded', step: 'pull pages' });
      expect(await getRun(db, randomUUID())).toBeNull();
    });

    it('stamps each run when it is created, not when its insert was first prepared', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const { run: first } = await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' });
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(first.createdAt.getTime()));
      const { run: second } = await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' });
      expect(second.createdAt.getTime()).toBeGreaterThan(first.createdAt.getTime());
      expect((await getRun(db, second.id))!.createdAt).toEqual(second.createdAt);
    });

    it('pages through runs newest first with a stable cursor and filters', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const created = [];
      for (let i = 0; i < 7; i++) created.push((await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' })).run);
      await finishRun(db, created[0]!.id, { status: 'failed', error: { type: 'x', message: 'y' } });
      await finishRun(db, created[1]!.id, { status: 'succeeded' });

      const pages = await collectPages((cursor) => listRuns(db, { fetcherId: f.id }, { cursor, limit: 3 }));
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      const flat = pages.flat();
      expect(new Set(flat.map((r) => r.id)).size).toBe(7);
      const expectedOrder = [...created].sort(
        (x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0),
      );
      expect(flat.map((r) => r.id)).toEqual(expectedOrder.map((r) => r.id));

      // A run created while paging does not shift the pages already handed out.
      const first = await listRuns(db, { fetcherId: f.id }, { limit: 3 });
      await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' });
      const second = await listRuns(db, { fetcherId: f.id }, { cursor: first.nextCursor!, limit: 3 });
      expect(second.items.map((r) => r.id)).toEqual(flat.slice(3, 6).map((r) => r.id));

      const done = await listRuns(db, { fetcherId: f.id, status: ['failed', 'succeeded'] });
      expect(done.items.map((r) => r.id).sort()).toEqual([created[0]!.id, created[1]!.id].sort());
      expect((await listRuns(db, { fetcherId: f.id, status: 'queued' })).items).toHaveLength(6);
      const pivot = created[3]!.createdAt;
      const before = await listRuns(db, { fetcherId: f.id, createdBefore: pivot });
      expect(before.items.every((r) => r.createdAt < pivot)).toBe(true);
      const from = await listRuns(db, { fetcherId: f.id, createdFrom: pivot });
      expect(from.items.every((r) => r.createdAt >= pivot)).toBe(true);
      expect(before.items.length + from.items.length).toBe(8);
      expect((await listRuns(db, { connectionId: conn.id })).items).toHaveLength(8);
    });

    it('rejects a malformed cursor and an out-of-range limit, naming the field', async () => {
      await expect(listRuns(db, {}, { cursor: 'not-a-cursor' })).rejects.toThrow(InvalidPageRequestError);
      await expect(listRuns(db, {}, { cursor: 'not-a-cursor' })).rejects.toThrow(/^cursor: /);
      await expect(listRuns(db, {}, { limit: 0 })).rejects.toThrow(/^limit: must be an integer from 1 to 500/);
      await expect(listRuns(db, {}, { limit: 501 })).rejects.toThrow(InvalidPageRequestError);
    });
  });

  describe('run pages', () => {
    it('replaces a retried page instead of adding a second row, and lists pages in order', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const { run } = await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' });
      const page = (pageNo: number, sha: string, attempts: number) => ({
        runId: run.id,
        pageNo,
        idMin: pageNo === 1 ? null : pageNo * 1000,
        blobKey: `pages/${sha}`,
        sha256: sha,
        bytes: 3_000_000_000 + pageNo,
        summary: { hosts: 1000 },
        qualysDatetime: '2024-01-01T00:00:00Z',
        attempts,
      });
      await upsertRunPage(db, page(2, 'b'.repeat(64), 1));
      await upsertRunPage(db, page(1, 'a'.repeat(64), 1));
      const replaced = await upsertRunPage(db, page(2, 'c'.repeat(64), 3));
      expect(replaced).toMatchObject({ sha256: 'c'.repeat(64), attempts: 3, bytes: 3_000_000_002 });

      const rows = await db.select().from(runPages).where(eq(runPages.runId, run.id));
      expect(rows).toHaveLength(2);
      const listed = await listRunPages(db, run.id);
      expect(listed.map((p) => [p.pageNo, p.sha256, p.idMin])).toEqual([
        [1, 'a'.repeat(64), null],
        [2, 'c'.repeat(64), 2000],
      ]);
    });
  });

  describe('evidence and attachments', () => {
    it('keeps one evidence record per run', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const { run } = await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' });
      const first = await insertEvidence(db, evidenceFor(run.id, f.id));
      const second = await insertEvidence(db, { ...evidenceFor(run.id, f.id, 'd'.repeat(64)), filename: 'other.xml' });
      expect(first.created).toBe(true);
      expect(second).toEqual({ created: false, evidence: first.evidence });
      expect(first.evidence.bytes).toBe(5_000_000_000);
      expect(await getEvidence(db, first.evidence.id)).toEqual(first.evidence);
      expect(await getEvidenceForRun(db, run.id)).toEqual(first.evidence);
      expect((await listEvidence(db, { fetcherId: f.id })).items.map((e) => e.id)).toEqual([first.evidence.id]);
    });

    it('attaches idempotently and finds targets from the fetcher controls and open requests', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      await setFetcherControls(db, f.id, [pci112.id, fedrampRa5.id]);
      const openReq = await createRequest(db, {
        title: 'PCI Q1',
        periodStart: '2024-01-01',
        periodEnd: '2024-03-31',
        controlIds: [pci112.id],
      });
      const closedReq = await createRequest(db, {
        title: 'FedRAMP 2023',
        periodStart: '2023-01-01',
        periodEnd: '2023-12-31',
        controlIds: [fedrampRa5.id],
      });
      await closeRequest(db, closedReq.id);
      await createRequest(db, { title: 'CIS only', periodStart: '2024-01-01', periodEnd: '2024-01-31', controlIds: [cis41.id] });

      const targets = await attachmentTargetsForFetcher(db, f.id, new Date('2024-02-15T10:00:00Z'));
      expect(targets).toEqual(
        expect.arrayContaining([
          { targetType: 'control', targetId: pci112.id },
          { targetType: 'control', targetId: fedrampRa5.id },
          { targetType: 'request', targetId: openReq.id },
        ]),
      );
      expect(targets).toHaveLength(3);

      const { evidence } = await newRunWithEvidence(f.id, conn.id);
      const firstAttach = await attachEvidence(db, evidence.id, targets, BY_RUN);
      expect(firstAttach).toHaveLength(3);
      const [secondAttach, thirdAttach] = await Promise.all([
        attachEvidence(db, evidence.id, targets, BY_RUN),
        attachEvidence(db, evidence.id, targets, BY_RUN),
      ]);
      expect(secondAttach).toEqual([]);
      expect(thirdAttach).toEqual([]);
      expect(await db.select().from(attachments).where(eq(attachments.evidenceId, evidence.id))).toHaveLength(3);
      expect(await attachEvidence(db, evidence.id, [], BY_RUN)).toEqual([]);

      expect((await listEvidenceTargets(db, evidence.id)).map((a) => [a.targetType, a.targetId])).toEqual(
        expect.arrayContaining([
          ['control', pci112.id],
          ['request', openReq.id],
        ]),
      );
      const forRequest = await listAttachmentsFor(db, { targetType: 'request', targetId: openReq.id });
      expect(forRequest.items.map((a) => a.evidence.id)).toEqual([evidence.id]);
      expect(forRequest.items[0]!.attachedAt).toBeInstanceOf(Date);
      expect(await attachmentTargetsForFetcher(db, (await newFetcher(conn.id, 'unmapped')).id, new Date('2024-02-15T10:00:00Z'))).toEqual([]);
    });

    it('pages through a control history and reports the latest evidence per control', async () => {
      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const sealed = [];
      for (const sha of ['1', '2', '3', '4', '5']) {
        const { evidence } = await newRunWithEvidence(f.id, conn.id, sha.repeat(64));
        await attachEvidence(db, evidence.id, [{ targetType: 'control', targetId: cis41.id }], BY_RUN);
        sealed.push(evidence);
      }
      const history = await collectPages((cursor) =>
        listAttachmentsFor(db, { targetType: 'control', targetId: cis41.id }, { cursor, limit: 2 }),
      );
      expect(history.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(new Set(history.flat().map((a) => a.evidence.id))).toEqual(new Set(sealed.map((e) => e.id)));

      const newest = [...sealed].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (b.id < a.id ? -1 : 1))[0]!;
      const catalog = await listControlsWithLatestEvidence(db);
      expect(catalog).toHaveLength(CONTROL_CATALOG.length);
      const cis = catalog.find((c) => c.id === cis41.id)!;
      expect(cis).toMatchObject({ framework: FRAMEWORKS.CIS_V6_1, code: '4.1', cadence: 'weekly' });
      expect(cis.latestEvidence).toMatchObject({
        evidenceId: newest.id,
        runId: newest.runId,
        fetcherId: f.id,
        sha256: newest.sha256,
        bytes: 5_000_000_000,
        format: 'XML',
        complete: true,
      });
      expect(cis.latestEvidence!.createdAt).toEqual(newest.createdAt);
      expect(cis.latestEvidence!.attachedAt).toBeInstanceOf(Date);
      const hipaa = catalog.find((c) => c.framework === FRAMEWORKS.HIPAA)!;
      expect(hipaa.latestEvidence).toBeNull();
      expect(await listControls(db, { framework: FRAMEWORKS.PCI_DSS })).toHaveLength(4);
    });
  });

  describe('audit requests', () => {
    it('creates, lists, updates, closes and deletes requests with their controls', async () => {
      const req = await createRequest(db, {
        title: 'SOC 2 Type II 2024',
        description: 'Vulnerability management evidence',
        periodStart: '2024-01-01',
        periodEnd: '2024-12-31',
        dueDate: '2025-01-31',
        controlIds: [pci112.id, cis41.id],
      });
      expect(req).toMatchObject({ status: 'open', periodStart: '2024-01-01', dueDate: '2025-01-31', closedAt: null });
      expect((await listRequestControls(db, req.id)).map((c) => c.id).sort()).toEqual([pci112.id, cis41.id].sort());

      const covering = await openRequestsCoveringControls(db, [cis41.id, fedrampRa5.id]);
      expect(covering.map((r) => r.id)).toContain(req.id);

      expect(await updateRequest(db, req.id, { title: 'renamed', dueDate: null })).toMatchObject({ title: 'renamed', dueDate: null });
      expect(await updateRequest(db, req.id, { title: undefined })).toMatchObject({ title: 'renamed' });
      await setRequestControls(db, req.id, [fedrampRa5.id]);
      expect((await listRequestControls(db, req.id)).map((c) => c.id)).toEqual([fedrampRa5.id]);
      await expect(setRequestControls(db, req.id, [randomUUID()])).rejects.toThrow(UnknownReferenceError);

      const closed = await closeRequest(db, req.id);
      expect(closed).toMatchObject({ status: 'closed' });
      expect((await closeRequest(db, req.id))!.closedAt).toEqual(closed!.closedAt);
      expect((await openRequestsCoveringControls(db, [fedrampRa5.id])).map((r) => r.id)).not.toContain(req.id);
      expect((await listRequests(db, { status: 'closed' })).items.map((r) => r.id)).toContain(req.id);
      expect((await listRequests(db, { status: 'open' })).items.map((r) => r.id)).not.toContain(req.id);

      expect(await deleteRequest(db, req.id)).toBe(true);
      expect(await getRequest(db, req.id)).toBeNull();
      expect(await deleteRequest(db, req.id)).toBe(false);
      expect(await closeRequest(db, req.id)).toBeNull();
    });

    it('rejects a period that ends before it starts, and unknown controls, storing nothing', async () => {
      const title = `bad-${randomUUID()}`;
      await expect(createRequest(db, { title, periodStart: '2024-02-01', periodEnd: '2024-01-01' })).rejects.toThrow();
      await expect(
        createRequest(db, { title, periodStart: '2024-01-01', periodEnd: '2024-02-01', controlIds: [randomUUID()] }),
      ).rejects.toThrow(UnknownReferenceError);
      const all = await listRequests(db, {}, { limit: 500 });
      expect(all.items.some((r) => r.title === title)).toBe(false);
    });
  });

  describe('API keys', () => {
    it('returns the token once, stores only its hash, verifies and revokes', async () => {
      const { apiKey, token } = await createApiKey(db, { name: 'ci', role: 'admin' });
      expect(token).toMatch(/^qec_[A-Za-z0-9_-]{43}$/);
      expect(apiKey).not.toHaveProperty('tokenHash');
      expect(token.startsWith(apiKey.tokenPrefix)).toBe(true);
      const [raw] = await db.select().from(apiKeys).where(eq(apiKeys.id, apiKey.id));
      expect(raw!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(raw)).not.toContain(token.slice(apiKey.tokenPrefix.length));

      const verified = await verifyApiKey(db, token);
      expect(verified).toMatchObject({ id: apiKey.id, role: 'admin', name: 'ci' });
      expect(verified).not.toHaveProperty('tokenHash');
      expect(verified!.lastUsedAt).toBeInstanceOf(Date);
      expect(await verifyApiKey(db, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
      expect(await verifyApiKey(db, 'Bearer nonsense')).toBeNull();

      const active = await countActiveApiKeys(db, 'admin');
      expect(active).toBeGreaterThanOrEqual(1);
      const revoked = await revokeApiKey(db, apiKey.id);
      expect(revoked!.revokedAt).toBeInstanceOf(Date);
      expect((await revokeApiKey(db, apiKey.id))!.revokedAt).toEqual(revoked!.revokedAt);
      expect(await verifyApiKey(db, token)).toBeNull();
      expect(await countActiveApiKeys(db, 'admin')).toBe(active - 1);
      expect(await revokeApiKey(db, randomUUID())).toBeNull();
      const listed = await listApiKeys(db, { limit: 500 });
      expect(listed.items.find((k) => k.id === apiKey.id)).not.toHaveProperty('tokenHash');
    });
  });

  describe('schedules', () => {
    it('mirrors Temporal schedules', async () => {
      const f = await newFetcher((await newConnection()).id);
      const temporalScheduleId = `sched-${randomUUID()}`;
      const s = await createSchedule(db, {
        fetcherId: f.id,
        temporalScheduleId,
        preset: 'fedramp-monthly',
        spec: { calendars: [{ dayOfMonth: 1, hour: 2 }] },
        timezone: 'Europe/Berlin',
      });
      expect(s).toMatchObject({ paused: false, note: null, timezone: 'Europe/Berlin' });
      expect(await getScheduleByTemporalId(db, temporalScheduleId)).toEqual(s);
      await expect(createSchedule(db, { fetcherId: f.id, temporalScheduleId, spec: {} })).rejects.toThrow();

      const paused = await updateSchedule(db, s.id, { paused: true, note: 'audit freeze' });
      expect(paused).toMatchObject({ paused: true, note: 'audit freeze' });
      expect(await updateSchedule(db, s.id, {})).toEqual(paused);
      expect((await listSchedules(db, { fetcherId: f.id })).items.map((x) => x.id)).toEqual([s.id]);
      expect(await deleteSchedule(db, s.id)).toMatchObject({ id: s.id });
      expect(await getSchedule(db, s.id)).toBeNull();
      expect(await deleteSchedule(db, s.id)).toBeNull();
    });
  });

  describe('webhooks', () => {
    it('stores the secret encrypted, filters by event and logs deliveries', async () => {
      const secret = `whsec-${randomUUID()}`;
      const hook = await createWebhook(db, box, { url: 'https://grc.example/hooks/qualys', secret, events: ['run.failed'] });
      expect(hook).not.toHaveProperty('secretCiphertext');
      expect(hook).toMatchObject({ enabled: true, events: ['run.failed'] });
      const [raw] = await db.select().from(webhooks).where(eq(webhooks.id, hook.id));
      expect(raw!.secretCiphertext).not.toContain(secret);
      expect(await getWebhookSecret(db, box, hook.id)).toBe(secret);

      expect((await listWebhooksForEvent(db, 'run.failed')).map((w) => w.id)).toContain(hook.id);
      expect((await listWebhooksForEvent(db, 'run.completed')).map((w) => w.id)).not.toContain(hook.id);
      await updateWebhook(db, box, hook.id, { events: ['run.completed', 'run.failed'], secret: 'rotated' });
      expect((await listWebhooksForEvent(db, 'run.completed')).map((w) => w.id)).toContain(hook.id);
      expect(await getWebhookSecret(db, box, hook.id)).toBe('rotated');
      await updateWebhook(db, box, hook.id, { enabled: false });
      expect((await listWebhooksForEvent(db, 'run.failed')).map((w) => w.id)).not.toContain(hook.id);
      expect(await getWebhook(db, hook.id)).toMatchObject({ enabled: false });
      expect(await updateWebhook(db, box, hook.id, {})).toMatchObject({ enabled: false });
      expect((await listWebhooks(db, { limit: 500 })).items.map((w) => w.id)).toContain(hook.id);

      const conn = await newConnection();
      const f = await newFetcher(conn.id);
      const { run } = await createRun(db, { fetcherId: f.id, connectionId: conn.id, trigger: 'api' });
      await recordWebhookDelivery(db, { webhookId: hook.id, runId: run.id, event: 'run.completed', attempt: 1, httpStatus: 500, ok: false, error: 'HTTP 500' });
      await recordWebhookDelivery(db, { webhookId: hook.id, runId: run.id, event: 'run.completed', attempt: 2, httpStatus: 204, ok: true, requestBodySha256: 'e'.repeat(64) });
      const log = await listWebhookDeliveries(db, { webhookId: hook.id });
      expect(log.items.map((d) => d.attempt).sort()).toEqual([1, 2]);
      expect((await listWebhookDeliveries(db, { runId: run.id })).items).toHaveLength(2);

      expect(await deleteWebhook(db, hook.id)).toBe(true);
      expect(await getWebhookSecret(db, box, hook.id)).toBeNull();
      expect((await listWebhookDeliveries(db, { webhookId: hook.id })).items).toEqual([]);
      expect(await deleteWebhook(db, hook.id)).toBe(false);
    });
  });
});
