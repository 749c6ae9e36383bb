/**
 * A page that keeps failing (here: a gateway that cuts off every page of more
 * than 12 hosts) is asked for again with half the hosts, down to one, and the
 * run grows back to the fetcher's page size after each success. The evidence
 * is the same as a pull that never failed, and the manifest says which pages
 * were smaller and why.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { getEvidence } from '../db/evidence.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import { runWorkflowId } from '../shared/contracts.js';
import { expectPageChains } from './support/page-chains.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;
const TUNING = { ...FAST_TUNING, pageMaxAttempts: 2, pageAttemptsPerHalving: 1, pageRetryInitialMs: 50 };

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: 120 }, rangePulls: { maxParallel: 1 } });
});
afterEach(() => stack.sim.reset());
afterAll(async () => {
  await stack?.close();
});

interface Manifest {
  pages: Array<{ truncationLimit?: number; hosts: number }>;
  custody: { pageSizeChanges?: Array<{ truncationLimit: number; pageSize: number }> };
  complete: boolean;
}

describe('adaptive page size', () => {
  it('halves a page that keeps failing until it gets through, then grows back, with identical evidence', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 50 });
    const reference = (await stack.runToEnd(fetcher, TUNING)).result;

    stack.sim.configure({ faults: { maxHostsPerPage: 12 } });
    const run = await stack.startRun(fetcher, TUNING);
    const result = await stack.client.workflow.getHandle(runWorkflowId(run.id)).result();
    expect(result.evidence.sha256).toBe(reference.evidence.sha256);
    expect(result.totals.hosts).toBe(reference.totals.hosts);

    const pages = await listRunPages(stack.database.db, run.id);
    expectPageChains(pages);
    // 50 → 25 → 12 gets through; then 24 fails again (unless the range's last hosts fit) and 12 gets through, page after page.
    expect(pages.every((p) => (p.truncationLimit === 12 || p.truncationLimit === 24) && p.hosts <= 12)).toBe(true);
    expect(pages.filter((p) => p.truncationLimit === 12).length).toBeGreaterThan(pages.length / 2);
    const manifest = (await getEvidence(stack.database.db, result.evidence.evidenceId))!.manifest as unknown as Manifest;
    expect(manifest.complete).toBe(true);
    expect(manifest.pages.map((p) => p.truncationLimit)).toEqual(pages.map((p) => p.truncationLimit));
    const changes = manifest.custody.pageSizeChanges!;
    expect(changes.length).toBeGreaterThanOrEqual(pages.length);
    expect(changes.map((c) => c.truncationLimit)).toContain(25);
    expect(changes.every((c) => c.pageSize === 50)).toBe(true);
  });

  it('fails the run when even one host per page does not get through', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 8 });
    // The connection check must pass first: every page is broken once pulling starts.
    const run = await stack.startRun(fetcher, TUNING);
    await expect.poll(async () => (await getRun(stack.database.db, run.id))!.step, { timeout: 15_000, interval: 20 }).toBe('pull_pages');
    stack.sim.configure({ faults: { malformedAlways: true, endpoints: ['detection'] } });
    const err = await stack.client.workflow.getHandle(runWorkflowId(run.id)).result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const row = (await getRun(stack.database.db, run.id))!;
    expect(row).toMatchObject({ status: 'failed', error: { type: 'QualysProtocolError' } });
    // 8 → 4 → 2 → 1 hosts, each tried before the run gave up.
    const calls = stack.sim.stats().log.filter((e) => e.endpoint === 'detection' && e.at >= new Date(run.createdAt).getTime());
    expect(calls.length).toBeGreaterThanOrEqual(1 + TUNING.pageMaxAttempts + 3 * TUNING.pageAttemptsPerHalving);
  });
});
