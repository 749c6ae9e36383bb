/**
 * What the activities record while a run works: pages counted once however
 * often they are stored, retries and waits as they happen, ranges started
 * and finished, and nothing recorded onto a run that has ended. On Postgres
 * and on embedded PGlite.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../db/connections.js';
import type { DatabaseHandle } from '../db/database.js';
import { createFetcher } from '../db/fetchers.js';
import { listRunEvents, markRangeFinished, markRangeStarted, getRunWithLiveCounts, recordAttemptFailure, recordRefusal, recordRunRanges } from '../db/run-activity.js';
import { listRunPages, recordRunPage } from '../db/run-pages.js';
import { createRun, finishRun, getRun, updateRunProgress } from '../db/runs.js';
import { createSecretBox } from '../security/secret-box.js';
import { databaseBackends } from './support/db-backends.js';

describe.each(databaseBackends('qec_run_activity'))('run activity records on $name', (backend) => {
  let handle: DatabaseHandle;
  let cleanup: () => Promise<void>;
  let fetcherId: string;
  let connectionId: string;

  beforeAll(async () => {
    ({ handle, cleanup } = await backend.open());
    const connection = await createConnection(handle.db, createSecretBox(randomBytes(32)), { name: 'q', apiBaseUrl: 'https://qualysapi.qualys.com', username: 'u', password: 'p' });
    connectionId = connection.id;
    fetcherId = (await createFetcher(handle.db, { connectionId, name: 'f', kind: 'host_list_detection', config: {}, format: 'XML', pageSize: 10 })).id;
  });
  afterAll(async () => {
    await cleanup?.();
  });

  async function runningRun() {
    const { run } = await createRun(handle.db, { fetcherId, connectionId, trigger: 'api' });
    await updateRunProgress(handle.db, run.id, { status: 'running', step: 'prepare' });
    return run.id;
  }
  const page = (runId: string, rangeNo: number, pageNo: number, hosts: number, bytes: number) => ({
    runId,
    rangeNo,
    pageNo,
    blobKey: `sha256/aa/${'a'.repeat(62)}${String(pageNo).padStart(2, '0')}`,
    sha256: `${'a'.repeat(62)}${String(pageNo).padStart(2, '0')}`,
    bytes,
    summary: { hosts },
    hosts,
    detections: hosts * 3,
    records: hosts,
  });

  it('counts a page once, however often it is stored, and moves the counters by the difference', async () => {
    const runId = await runningRun();
    await recordRunPage(handle.db, page(runId, 1, 1, 10, 1000));
    await recordRunPage(handle.db, page(runId, 2, 1, 7, 700));
    // The same page again (a retry after a lost completion), with other content.
    await recordRunPage(handle.db, page(runId, 1, 1, 9, 900));
    const run = (await getRun(handle.db, runId))!;
    expect(run.progress).toMatchObject({ pages: 2, hosts: 16, detections: 48, records: 16, bytes: 1600, lastError: null, current: null });
    expect(run.step).toBe('pull_pages');
    expect((await listRunPages(handle.db, runId)).map((p) => [p.rangeNo, p.pageNo, p.hosts])).toEqual([
      [1, 1, 9],
      [2, 1, 7],
    ]);
  });

  it('records retries and waits as they happen, with the failing attempt and the wait\'s end', async () => {
    const runId = await runningRun();
    await recordAttemptFailure(handle.db, { runId, step: 'pull_pages', rangeNo: 1, pageNo: 3, attempt: 1, willRetry: true, errorType: 'QualysTransientError', message: 'HTTP 503', worker: 'w1' });
    await recordAttemptFailure(handle.db, { runId, step: 'pull_pages', rangeNo: 1, pageNo: 3, attempt: 2, willRetry: false, errorType: 'QualysProtocolError', message: 'cut off', worker: 'w2' });
    await recordRefusal(handle.db, { runId, reason: 'rate_limit', qualysCode: 1965, waitSeconds: 30, message: 'rate limit', rangeNo: 1, pageNo: 4, worker: 'w2' });
    const { progress } = (await getRun(handle.db, runId))!;
    expect(progress).toMatchObject({ retries: 1, waits: 1, waitedSeconds: 30, lastError: 'rate limit', current: { rangeNo: 1, pageNo: 3, attempt: 2, error: 'cut off' } });
    expect(Date.parse(progress!.waiting!.until)).toBeGreaterThan(Date.now() + 25_000);
    const events = await listRunEvents(handle.db, runId);
    expect(events.map((e) => [e.kind, e.worker])).toEqual([
      ['retry', 'w1'],
      ['retry', 'w2'],
      ['wait', 'w2'],
    ]);
  });

  it('tells ranges done, in flight and waiting, with the run row, in one read', async () => {
    const runId = await runningRun();
    expect(await getRunWithLiveCounts(handle.db, runId)).toEqual({ run: await getRun(handle.db, runId), live: { ranges: null, waitingForSlot: 0 } });
    expect(await getRunWithLiveCounts(handle.db, '00000000-0000-4000-8000-000000000000')).toBeNull();
    await recordRunRanges(handle.db, runId, [1, 2, 3].map((rangeNo) => ({ rangeNo, idMin: null, idMax: null, listedHosts: 5 })));
    // Planned twice (a retried activity): the first plan stays.
    await recordRunRanges(handle.db, runId, [{ rangeNo: 1, idMin: 9, idMax: 9, listedHosts: 1 }]);
    await markRangeStarted(handle.db, runId, 1);
    await markRangeStarted(handle.db, runId, 2);
    await markRangeFinished(handle.db, runId, 1);
    expect((await getRunWithLiveCounts(handle.db, runId))?.live).toEqual({ ranges: { total: 3, done: 1, inFlight: 1, waiting: 1 }, waitingForSlot: 0 });
  });

  it('leaves a finished run as it ended: late pages and failures change nothing', async () => {
    const runId = await runningRun();
    await recordRunPage(handle.db, page(runId, 1, 1, 10, 1000));
    await finishRun(handle.db, runId, { status: 'cancelled', progress: { waiting: null } });
    await recordRunPage(handle.db, page(runId, 1, 2, 10, 1000));
    await recordAttemptFailure(handle.db, { runId, step: 'pull_pages', rangeNo: 1, pageNo: 3, attempt: 1, willRetry: true, errorType: 'X', message: 'late', worker: null });
    const run = (await getRun(handle.db, runId))!;
    expect(run.status).toBe('cancelled');
    expect(run.progress).toMatchObject({ pages: 1, hosts: 10 });
    expect(run.progress!.retries).toBeUndefined();
  });
});
