/**
 * What GET /v1/runs/{id} shows while a run works, served from the database
 * as the activities record it: retries counted as they happen (pages and
 * the connection check), the attempt in flight and why the last one failed,
 * a page that fails every attempt, and Qualys's waits with their end time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FetcherRow } from '../db/schema.js';
import { listRunEvents } from '../db/run-activity.js';
import type { RunView } from '../api/schemas/run.js';
import { FAST_TUNING } from './support/run-stack.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
let fetcher: FetcherRow;

beforeAll(async () => {
  stack = await startApiStack({ simulator: { hosts: 40 }, rangePulls: { maxParallel: 1 } });
  const connection = await stack.run.addConnection();
  fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 10 });
});
afterEach(() => stack.run.sim.reset());
afterAll(async () => {
  await stack?.close();
});

const getRun = async (id: string) => (await stack.request<RunView>('GET', `/v1/runs/${id}`, { token: stack.auditorToken })).body;

async function finished(id: string): Promise<RunView> {
  let view: RunView | undefined;
  await expect.poll(async () => (view = await getRun(id)).status, { timeout: 30_000, interval: 100 }).toMatch(/succeeded|failed|cancelled/);
  return view!;
}

describe('live progress from the database', () => {
  it('shows each page retry as it happens, with the attempt and its cause, then clears the failure once the page arrives', async () => {
    // Slow retries leave time to look at the run between attempts.
    const run = await stack.run.startRun(fetcher, { ...FAST_TUNING, pageRetryInitialMs: 1_500 });
    await expect.poll(async () => (await getRun(run.id)).progress.pages, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    stack.run.sim.configure({ faults: { malformedNext: { count: 2, endpoint: 'detection' } } });

    let during: RunView | undefined;
    await expect.poll(async () => (during = await getRun(run.id)).progress.retries, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    expect(during!.status).toBe('running');
    expect(during!.progress.lastError).toMatch(/XML|document|malformed|ended/i);
    expect(during!.progress.current).toMatchObject({ step: 'pull_pages', rangeNo: 1, attempt: 1 });
    expect(during!.progress.current!.pageNo).toBeGreaterThanOrEqual(2);

    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.retries).toBe(2);
    expect(done.progress.current).toBeNull();
    expect(done.progress.lastError).toBeNull();
    const retries = (await listRunEvents(stack.run.database.db, run.id)).filter((e) => e.kind === 'retry');
    expect(retries.map((e) => e.detail)).toEqual([
      expect.objectContaining({ attempt: 1, willRetry: true, errorType: 'QualysProtocolError' }),
      expect.objectContaining({ attempt: 2, willRetry: true, errorType: 'QualysProtocolError' }),
    ]);
  });

  it('counts the retries of a page that fails every attempt, and the cause of the last one', async () => {
    stack.run.sim.configure({ faults: { latencyMs: 300, endpoints: ['detection'] } });
    const run = await stack.run.startRun(fetcher, { ...FAST_TUNING, pageMaxAttempts: 3, pageAttemptsPerHalving: 1, pageRetryInitialMs: 100 });
    await expect.poll(async () => (await getRun(run.id)).step, { timeout: 15_000, interval: 50 }).toBe('pull_pages');
    stack.run.sim.configure({ faults: { latencyMs: 0, malformedAlways: true, endpoints: ['detection'] } });
    const done = await finished(run.id);
    expect(done.status).toBe('failed');
    // Three attempts of 10 hosts, then one each of 5, 2 and 1: every failure but the last was tried again.
    expect(done.progress.retries).toBe(5);
    expect(done.progress.current).toMatchObject({ attempt: 1 });
    expect(done.error!.type).toBe('QualysProtocolError');
  });

  it('counts the retries the connection check absorbed', async () => {
    stack.run.sim.configure({ faults: { failNext: { count: 2, status: 503, endpoint: 'detection' } } });
    const run = await stack.run.startRun(fetcher, { ...FAST_TUNING, pageRetryInitialMs: 100 });
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.retries).toBe(2);
    const retries = (await listRunEvents(stack.run.database.db, run.id)).filter((e) => e.kind === 'retry');
    expect(retries.map((e) => (e.detail as { step: string }).step)).toEqual(['check_connection', 'check_connection']);
  });

  it('shows a wait for a Qualys limit with its end while it lasts, and counts it', async () => {
    const run = await stack.run.startRun(fetcher, { ...FAST_TUNING, pageRetryInitialMs: 100 });
    await expect.poll(async () => (await getRun(run.id)).progress.pages, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    stack.run.sim.configure({ faults: { rateLimitNext: { count: 1, secondsToWait: 3, endpoint: 'detection' } } });
    let during: RunView | undefined;
    await expect.poll(async () => (during = await getRun(run.id)).progress.waiting, { timeout: 15_000, interval: 50 }).not.toBeNull();
    expect(during!.progress.waiting).toMatchObject({ reason: 'rate_limit', seconds: 3 });
    expect(Date.parse(during!.progress.waiting!.until)).toBeGreaterThan(Date.now());
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toMatchObject({ waits: 1, waitedSeconds: 3, waiting: null });
  });

  it('shows calls waiting for a slot of the subscription\'s shared budget while another run holds it', async () => {
    // One call at a time for the whole subscription, and slow pages: the second run must queue.
    stack.run.sim.configure({ limits: { concurrencyLimit: 1 }, faults: { latencyMs: 400, endpoints: ['detection'] } });
    const first = await stack.run.startRun(fetcher, { ...FAST_TUNING, pageRetryInitialMs: 100 });
    await expect.poll(async () => (await getRun(first.id)).progress.pages, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(1);
    const second = await stack.run.startRun(fetcher, { ...FAST_TUNING, pageRetryInitialMs: 100 });
    await expect.poll(async () => (await getRun(second.id)).progress.waitingForSlot, { timeout: 15_000, interval: 20 }).toBeGreaterThanOrEqual(1);
    expect((await finished(first.id)).status).toBe('succeeded');
    const done = await finished(second.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress.waitingForSlot).toBe(0);
    // Never more than the one call Qualys allows.
    expect(stack.run.sim.stats().peakConcurrent).toBe(1);
  });
});
