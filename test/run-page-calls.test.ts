/**
 * An activity pulls several pages of a range in a row. Each page is still
 * stored and recorded on its own; a later page that fails ends the call with
 * the pages it has, and is asked for first by the next call, its attempts
 * and back-off going on from there, or after the wait Qualys asked for.
 * No page is asked for twice unless it failed.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createActivities } from '../activities/index.js';
import type { BlobStore, StagedBlob } from '../evidence/blob-store.js';
import { listRunEvents } from '../db/run-activity.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import { runWorkflowId, type FetcherRunResult, type PageCallResult, type RangePlan, type RunPlan, type RunTuning } from '../shared/contracts.js';
import { expectPageChains } from './support/page-chains.js';
import { quietActivityEnvironment } from './support/quiet-activity-environment.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;

beforeAll(async () => {
  // One range at a time: the tests count calls and Qualys requests exactly.
  stack = await startRunStack({ simulator: { hosts: 120 }, rangePulls: { maxParallel: 1 } });
});
afterEach(() => stack.sim.reset());
afterAll(async () => {
  await stack?.close();
});

/**
 * Answered requests for pages that follow another (they carry the id_min the
 * one before named); the connection check, a range's first page and the
 * seal's confirmation of absent hosts carry none.
 */
function pagesAfterTheFirst(since: number) {
  return stack.sim.stats().log.filter((e) => e.endpoint === 'detection' && e.at >= since && e.status === 200 && e.idMin !== null);
}

/** The id_min each stored page that follows another was asked for with. */
const idMinsOf = (pages: Array<{ idMin: number | null }>) => pages.flatMap((p) => (p.idMin === null ? [] : [String(p.idMin)]));

async function scheduledCalls(runId: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(runWorkflowId(runId)).fetchHistory();
  return (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '').filter((n) => n.startsWith('pullPage'));
}

/**
 * Starts a run whose pages are slow, and arms `faults` once its first page
 * is stored: the next page asked for is then a later page of the same call.
 */
async function startThenArmMidCall(pageSize: number, faults: Faults, tuning: Partial<RunTuning> = FAST_TUNING) {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize });
  const { run, outcome, since } = await startThenArm(fetcher, 'detection', faults, tuning);
  return { run, result: (await outcome) as FetcherRunResult, since };
}

type Faults = Parameters<RunStack['sim']['configure']>[0]['faults'];

async function startThenArm(fetcher: Parameters<RunStack['startRun']>[0], endpoint: 'detection' | 'assetGroups', faults: Faults, tuning: Partial<RunTuning>) {
  stack.sim.configure({ faults: { latencyMs: 120, endpoints: [endpoint] } });
  const since = Date.now();
  const run = await stack.startRun(fetcher, tuning);
  await expect.poll(async () => (await listRunPages(stack.database.db, run.id)).length, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(1);
  stack.sim.configure({ faults: { latencyMs: 120, endpoints: [endpoint], ...faults } });
  const outcome = stack.client.workflow.getHandle(runWorkflowId(run.id)).result();
  // Settled here; the caller looks at how.
  outcome.catch(() => {});
  return { run, outcome, since };
}

describe('page calls', () => {
  it('pulls a range several pages to a call, each page stored once', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
    const since = Date.now();
    const { run, result } = await stack.runToEnd(fetcher, { ...FAST_TUNING, pagesPerCall: 3 });
    const expected = stack.sim.dataset.expected({ action: 'list', output_format: 'XML', truncation_limit: '10' });
    expect(result.totals).toMatchObject({ pages: expected.pages, hosts: expected.hosts });

    const pages = await listRunPages(stack.database.db, run.id);
    expectPageChains(pages);
    expect(pages.every((p) => p.attempts === 1)).toBe(true);
    const perRange = new Map<number, number>();
    for (const p of pages) perRange.set(p.rangeNo, (perRange.get(p.rangeNo) ?? 0) + 1);
    const calls = await scheduledCalls(run.id);
    expect(calls.every((n) => n === 'pullPages')).toBe(true);
    expect(calls).toHaveLength([...perRange.values()].reduce((sum, n) => sum + Math.ceil(n / 3), 0));
    // Every page asked for once.
    expect(pagesAfterTheFirst(since).map((r) => r.idMin)).toEqual(idMinsOf(pages));
  });

  it('ends a call at a later page that fails, and asks for that page first in the next call, counting its attempts on', async () => {
    const tuning = { ...FAST_TUNING, pageRetryInitialMs: 300 };
    const { run, result, since } = await startThenArmMidCall(20, { failNext: { count: 1, status: 503, endpoint: 'detection' } }, tuning);
    expect(result.status).toBe('succeeded');

    const pages = await listRunPages(stack.database.db, run.id);
    expectPageChains(pages);
    expect(result.totals.pages).toBe(pages.length);
    const retried = pages.filter((p) => p.attempts > 1);
    expect(retried.map((p) => p.attempts)).toEqual([2]);
    expect(retried[0]!.pageNo).toBeGreaterThan(1);
    // The failed page was asked for twice, every other page once.
    const all = stack.sim.stats().log.filter((e) => e.endpoint === 'detection' && e.at >= since);
    const failed = all.filter((e) => e.status === 503);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.idMin).toBe(retried[0]!.idMin === null ? null : String(retried[0]!.idMin));
    const ok = pagesAfterTheFirst(since);
    expect(ok.map((r) => r.idMin)).toEqual(idMinsOf(pages));
    // The next call came after the retry policy's first pause, not at once.
    const again = ok.find((e) => e.idMin === failed[0]!.idMin)!;
    expect(again.at - (failed[0]!.at + failed[0]!.durationMs)).toBeGreaterThanOrEqual(tuning.pageRetryInitialMs);

    const retries = (await listRunEvents(stack.database.db, run.id)).filter((e) => e.kind === 'retry');
    expect(retries.map((e) => e.detail)).toEqual([expect.objectContaining({ attempt: 1, willRetry: true, pageNo: retried[0]!.pageNo })]);
    expect((await getRun(stack.database.db, run.id))!.progress).toMatchObject({ retries: 1, lastError: null });
    expect(await scheduledCalls(run.id)).toHaveLength(2);
  });

  it('waits out a refusal of a later page without spending an attempt', async () => {
    const { run, result, since } = await startThenArmMidCall(20, { rateLimitNext: { count: 1, secondsToWait: 1, endpoint: 'detection' } });
    expect(result.status).toBe('succeeded');
    const pages = await listRunPages(stack.database.db, run.id);
    expectPageChains(pages);
    expect(pages.every((p) => p.attempts === 1)).toBe(true);
    const refused = stack.sim.stats().log.filter((e) => e.endpoint === 'detection' && e.at >= since && e.status === 409);
    expect(refused).toHaveLength(1);
    const ok = pagesAfterTheFirst(since);
    expect(ok.map((r) => r.idMin)).toEqual(idMinsOf(pages));
    const again = ok.find((e) => e.idMin === refused[0]!.idMin)!;
    expect(again.at - (refused[0]!.at + refused[0]!.durationMs)).toBeGreaterThanOrEqual(1000);
    const progress = (await getRun(stack.database.db, run.id))!.progress!;
    expect(progress.waits).toBe(1);
    expect(progress.retries ?? 0).toBe(0);
    expect(result.totals.pages).toBe(pages.length);
  });

  it('halves a later page whose attempts run out across calls, after exactly the allowed attempts', async () => {
    const tuning = { ...FAST_TUNING, pageMaxAttempts: 3, pageAttemptsPerHalving: 1, pageRetryInitialMs: 50 };
    const { run, result } = await startThenArmMidCall(20, { failNext: { count: 3, status: 502, endpoint: 'detection' } }, tuning);
    expect(result.status).toBe('succeeded');
    const pages = await listRunPages(stack.database.db, run.id);
    expectPageChains(pages);
    const halved = pages.filter((p) => p.truncationLimit === 10);
    expect(halved.length).toBeGreaterThanOrEqual(1);
    const retries = (await listRunEvents(stack.database.db, run.id)).filter((e) => e.kind === 'retry');
    // One attempt in the call where it was a later page, two more as the first of the next: then half the hosts.
    expect(retries.map((e) => (e.detail as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect(new Set(retries.map((e) => (e.detail as { pageNo: number }).pageNo)).size).toBe(1);
    expect((retries[0]!.detail as { pageNo: number }).pageNo).toBe(halved[0]!.pageNo);
  });

  it('halves a later page at once when a page has a single attempt', async () => {
    const tuning = { ...FAST_TUNING, pageMaxAttempts: 1, pageAttemptsPerHalving: 1 };
    const { run, result, since } = await startThenArmMidCall(20, { failNext: { count: 1, status: 503, endpoint: 'detection' } }, tuning);
    expect(result.status).toBe('succeeded');
    const pages = await listRunPages(stack.database.db, run.id);
    expectPageChains(pages);
    const retries = (await listRunEvents(stack.database.db, run.id)).filter((e) => e.kind === 'retry');
    expect(retries.map((e) => e.detail)).toEqual([expect.objectContaining({ attempt: 1, willRetry: true })]);
    const failedPageNo = (retries[0]!.detail as { pageNo: number }).pageNo;
    expect(pages.find((p) => p.pageNo === failedPageNo)).toMatchObject({ truncationLimit: 10, attempts: 1 });
    const failed = stack.sim.stats().log.filter((e) => e.endpoint === 'detection' && e.at >= since && e.status === 503);
    expect(failed).toHaveLength(1);
  });

  it("fails the run with the later page's own failure when its one attempt is spent and no smaller page can be asked for", async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addCustomFetcher(connection, { method: 'POST', endpoint: '/api/2.0/fo/asset/group/?action=list', params: { truncation_limit: 2 } });
    const tuning = { ...FAST_TUNING, pageMaxAttempts: 1 };
    const { run, outcome, since } = await startThenArm(fetcher, 'assetGroups', { failNext: { count: 1, status: 503, endpoint: 'assetGroups' } }, tuning);
    await expect(outcome).rejects.toThrow();
    const row = (await getRun(stack.database.db, run.id))!;
    expect(row.status).toBe('failed');
    const failed = stack.sim.stats().log.filter((e) => e.endpoint === 'assetGroups' && e.at >= since && e.status === 503);
    expect(failed).toHaveLength(1);
    // Asked for once, not again: the page's one attempt was spent.
    expect(stack.sim.stats().log.filter((e) => e.endpoint === 'assetGroups' && e.at >= since && e.idMin === failed[0]!.idMin)).toHaveLength(1);
    const retries = (await listRunEvents(stack.database.db, run.id)).filter((e) => e.kind === 'retry');
    expect(retries.map((e) => e.detail)).toEqual([expect.objectContaining({ attempt: 1, willRetry: false })]);
    expect(row.error).toMatchObject({ type: (retries[0]!.detail as { errorType: string }).errorType });
    // The call that met it ended with its pages; no activity failed.
    const history = await stack.client.workflow.getHandle(runWorkflowId(run.id)).fetchHistory();
    expect((history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes)).toEqual([]);
    expect((history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes).length).toBeGreaterThanOrEqual(3);
  });
});

describe('a call asks for the next page while the one before is kept', () => {
  it('ends at a page that could not be stored, and throws the page read meanwhile away without counting it as a failure', async () => {
    // The second page's bytes cannot be stored, once the third page has been asked for.
    let commits = 0;
    // Counted as requests arrive (the request log is written as they end).
    const detections = () => stack.sim.stats().byEndpoint.detection ?? 0;
    let asked = 0;
    const store: BlobStore = Object.create(stack.blobStore, {
      stage: {
        value: async (): Promise<StagedBlob> => {
          const staged = await stack.blobStore.stage();
          return Object.create(staged, {
            commit: {
              value: async () => {
                commits += 1;
                if (commits !== 2) return staged.commit();
                await vi.waitFor(() => expect(detections()).toBeGreaterThanOrEqual(asked + 3), { timeout: 10_000, interval: 10 });
                await staged.abort();
                throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
              },
            },
          }) as StagedBlob;
        },
      },
    }) as BlobStore;
    const activities = createActivities({ db: stack.database.db, blobStore: store, secretBox: stack.secretBox, logger: pino({ level: 'silent' }) });
    const env = quietActivityEnvironment();
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 20 });
    const runId = randomUUID();
    const plan = (await env.run(activities.prepareRun, { runId, fetcherId: fetcher.id, trigger: 'api' as const, triggeredBy: 'test', scheduleId: null, workflowId: `run-${runId}` })) as RunPlan;
    const planned = (await env.run(activities.planRanges, { plan, concurrencyLimit: 1 })) as RangePlan;
    expect(planned.ranges).toHaveLength(1);
    // The third page is still in flight when the second fails to be stored.
    stack.sim.configure({ faults: { latencyMs: 300, endpoints: ['detection'] } });
    asked = detections();
    // Planning stored the host ID list through the same store.
    commits = 0;

    const call = (await env.run(activities.pullPages, {
      plan,
      rangeNo: 1,
      pageNo: 1,
      idMin: null,
      idMax: null,
      pageMaxAttempts: 3,
      concurrencyPauseMs: 1000,
      maxPages: 10,
      budgetMs: 60_000,
      attemptsBefore: 0,
    })) as PageCallResult;
    expect(call.pages.map((p) => p.pageNo)).toEqual([1]);
    expect(call.interrupted).toMatchObject({ message: 'no space left on device', refusal: null });
    expect(detections()).toBeGreaterThanOrEqual(asked + 3);
    // Only the first page is recorded; the second's failure is its one failed attempt; the third left no trace.
    expect((await listRunPages(stack.database.db, runId)).map((p) => p.pageNo)).toEqual([1]);
    const retries = (await listRunEvents(stack.database.db, runId)).filter((e) => e.kind === 'retry');
    expect(retries.map((e) => e.detail)).toEqual([expect.objectContaining({ pageNo: 2, attempt: 1, willRetry: true })]);
    await expect.poll(() => stack.sim.stats().inFlight, { timeout: 10_000 }).toBe(0);
  });
});

