/**
 * Range-parallel pulls: a run lists the host IDs, splits them into ranges and
 * pulls the ranges at once, within the subscription's concurrency limit minus
 * the reserve. The sealed evidence is byte-identical to a sequential pull of
 * the same data, across continue-as-new too; a range that fails for good
 * stops the others.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { updateConnection } from '../db/connections.js';
import { getEvidence } from '../db/evidence.js';
import { listRunRanges } from '../db/run-activity.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import type { FetcherRow } from '../db/schema.js';
import { runWorkflowId } from '../shared/contracts.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

const CONCURRENCY_LIMIT = 4;
let stack: RunStack;
/** Enough for several ranges of several pages each. */
const HOSTS = 240;

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: HOSTS, limits: { concurrencyLimit: CONCURRENCY_LIMIT } }, startWorker: false });
});
afterEach(async () => {
  await stack.stopWorker();
  stack.sim.reset();
});
afterAll(async () => {
  await stack?.close();
});

interface Manifest {
  complete: boolean;
  ranges: Array<{ rangeNo: number; idMin: number | null; idMax: number | null; listedHosts: number | null }>;
  pages: Array<{ pageNo: number; rangeNo: number; rangePageNo: number; idMin: number | null; idMax: number | null }>;
}

async function sequentialReference(fetcher: FetcherRow) {
  await stack.startWorker({ rangePulls: { maxParallel: 1 } });
  const { result } = await stack.runToEnd(fetcher);
  await stack.stopWorker();
  stack.sim.reset();
  return result;
}

function detectionCalls(since: Date) {
  return stack.sim.stats().log.filter((e) => e.endpoint === 'detection' && e.at >= since.getTime());
}

describe('range-parallel pulls', () => {
  for (const format of ['XML', 'CSV'] as const) {
    it(`seals ${format} evidence byte-identical to a sequential pull, within the concurrency limit`, async () => {
      const connection = await stack.addConnection();
      const fetcher = await stack.addHldFetcher(connection, { format }, { pageSize: 10 });
      const reference = await sequentialReference(fetcher);

      // Every call takes a moment, so lanes overlap the way they do against Qualys.
      stack.sim.configure({ faults: { latencyMs: 30, endpoints: ['detection'] } });
      await stack.startWorker();
      const { run, result } = await stack.runToEnd(fetcher);

      expect(result.evidence.sha256).toBe(reference.evidence.sha256);
      expect(result.evidence.bytes).toBe(reference.evidence.bytes);
      expect(result.totals.hosts).toBe(reference.totals.hosts);
      expect(result.totals.detections).toBe(reference.totals.detections);

      const stats = stack.sim.stats();
      expect(stats.peakConcurrent).toBeLessThanOrEqual(CONCURRENCY_LIMIT);
      expect(stats.peakConcurrent).toBeGreaterThan(1);
      expect(detectionCalls(new Date(run.createdAt)).filter((e) => e.status === 409)).toEqual([]);

      const manifest = (await getEvidence(stack.database.db, result.evidence.evidenceId))!.manifest as unknown as Manifest;
      expect(manifest.complete).toBe(true);
      // The completeness verdict covers every range: the chains and the reconciliation with the host ID list.
      const { completeness } = (await getEvidence(stack.database.db, result.evidence.evidenceId))!.manifest as { completeness: { verdict: string; reconciliation: { listed: number } } };
      expect(completeness.verdict).toBe('complete');
      expect(completeness.reconciliation.listed).toBe(HOSTS);
      expect(manifest.ranges.length).toBeGreaterThan(1);
      // The ranges meet without a gap and leave no host ID outside them.
      expect(manifest.ranges[0]!.idMin).toBeNull();
      expect(manifest.ranges.at(-1)!.idMax).toBeNull();
      for (let i = 1; i < manifest.ranges.length; i++) expect(manifest.ranges[i]!.idMin).toBe(manifest.ranges[i - 1]!.idMax! + 1);
      expect(manifest.ranges.reduce((n, r) => n + r.listedHosts!, 0)).toBe(HOSTS);
      // Pages in host order: by range, then page, numbered 1… across the file.
      expect(manifest.pages.map((p) => p.pageNo)).toEqual(manifest.pages.map((_, i) => i + 1));
      const order = manifest.pages.map((p) => [p.rangeNo, p.rangePageNo]);
      expect(order).toEqual([...order].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
      expect(new Set(manifest.pages.map((p) => p.rangeNo)).size).toBe(manifest.ranges.length);
    });
  }

  it('stays under the concurrency limit minus the reserve, and continues as new with ranges in flight', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
    const reference = await sequentialReference(fetcher);

    stack.sim.configure({ faults: { latencyMs: 30, endpoints: ['detection'] } });
    await stack.startWorker({ rangePulls: { concurrencyReserve: 2 } });
    const run = await stack.startRun(fetcher, { ...FAST_TUNING, pagesPerExecution: 7 });
    const result = await stack.client.workflow.getHandle(runWorkflowId(run.id)).result();
    expect(result.evidence.sha256).toBe(reference.evidence.sha256);
    // The connection check ran alone; the ranges two at a time (4 − 2 reserved).
    expect(stack.sim.stats().peakConcurrent).toBe(CONCURRENCY_LIMIT - 2);

    const executions = [];
    for await (const e of stack.client.workflow.list({ query: `WorkflowId = '${runWorkflowId(run.id)}'` })) executions.push(e);
    expect(executions.length).toBeGreaterThan(2);
    const pages = await listRunPages(stack.database.db, run.id);
    expect(new Set(pages.map((p) => `${p.rangeNo}/${p.pageNo}`)).size).toBe(pages.length);
    expect(((await getRun(stack.database.db, run.id))!.progress as { pages: number }).pages).toBe(pages.length);
    const ranges = await listRunRanges(stack.database.db, run.id);
    expect(ranges.every((r) => r.startedAt && r.finishedAt)).toBe(true);
  });

  it('stops every range when one fails for good, and attaches nothing', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
    await stack.startWorker();
    // Slow pages keep every lane busy when one range is refused outright.
    stack.sim.configure({ faults: { latencyMs: 300, endpoints: ['detection'] } });
    const run = await stack.startRun(fetcher);
    await expect.poll(() => stack.sim.stats().inFlight, { timeout: 10_000, interval: 20 }).toBeGreaterThan(1);
    // Someone stores a wrong password mid-run: the next page Qualys refuses for good.
    await updateConnection(stack.database.db, stack.secretBox, connection.id, { password: 'not-the-password' });
    const err = await stack.client.workflow.getHandle(runWorkflowId(run.id)).result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const row = (await getRun(stack.database.db, run.id))!;
    expect(row).toMatchObject({ status: 'failed', evidenceId: null, error: { type: 'QualysAuthError' } });
    // The other lanes' pages in flight were cancelled, not left running.
    await expect.poll(() => stack.sim.stats().inFlight, { timeout: 5_000 }).toBe(0);
  });
});
