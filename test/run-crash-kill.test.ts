/**
 * Kill the worker process (SIGKILL) in the middle of a run, start a new one:
 * the run completes with evidence byte-identical to an uninterrupted run,
 * with no duplicate page rows or attachments.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listEvidenceTargets } from '../db/attachments.js';
import { getEvidenceForRun } from '../db/evidence.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import { runWorkflowId, type FetcherRunResult } from '../shared/contracts.js';
import { expectPageChains } from './support/page-chains.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';
import { workerProcesses, type WorkerProcesses } from './support/worker-process.js';

let stack: RunStack;
let workers: WorkerProcesses;

beforeAll(async () => {
  // Two ranges at a time, here and in the worker processes: the kill lands while both are pulling.
  stack = await startRunStack({ simulator: { hosts: 120 }, rangePulls: { maxParallel: 2 } });
  workers = workerProcesses(stack);
});
afterAll(async () => {
  workers?.killAll();
  await stack?.close();
});

it('finishes a run whose worker was SIGKILLed mid-pull, with identical evidence and no duplicates', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10, controls: [['PCI DSS v3.2.1', '11.2.1']] });
  const reference = (await stack.runToEnd(fetcher)).result;
  expect(reference.totals.pages).toBeGreaterThanOrEqual(8);
  await stack.stopWorker();

  // Every page takes a moment, so the kill lands mid-run.
  stack.sim.configure({ faults: { latencyMs: 150, endpoints: ['detection'] } });
  const first = await workers.start({ RUN_MAX_PARALLEL_RANGES: '2' });
  const run = await stack.startRun(fetcher, { ...FAST_TUNING, pageHeartbeatTimeoutMs: 2_000 });
  await expect.poll(async () => (await listRunPages(stack.database.db, run.id)).length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(3);
  await workers.stop(first, 'SIGKILL');
  // Nothing of the killed worker survives to finish the run on its own.
  expect(() => process.kill(first.pid!, 0)).toThrow(/ESRCH/);
  const pagesAtKill = (await listRunPages(stack.database.db, run.id)).length;
  expect(pagesAtKill).toBeLessThan(reference.totals.pages);

  const second = await workers.start({ RUN_MAX_PARALLEL_RANGES: '2' });
  const result = (await stack.client.workflow.getHandle(runWorkflowId(run.id)).result()) as FetcherRunResult;
  expect(result.evidence.sha256).toBe(reference.evidence.sha256);
  expect(result.evidence.bytes).toBe(reference.evidence.bytes);
  expect(result.totals.hosts).toBe(reference.totals.hosts);
  expect(result.totals.detections).toBe(reference.totals.detections);

  // Ranges pulled in parallel, some of them twice over: each range's pages are there once each.
  const pages = await listRunPages(stack.database.db, run.id);
  expectPageChains(pages);
  expect(pages.reduce((n, p) => n + p.hosts, 0)).toBe(reference.totals.hosts);
  const evidence = (await getEvidenceForRun(stack.database.db, run.id))!;
  const targets = await listEvidenceTargets(stack.database.db, evidence.id);
  expect(targets.filter((t) => t.targetType === 'control')).toHaveLength(1);
  expect((await getRun(stack.database.db, run.id))!.status).toBe('succeeded');
  await workers.stop(second, 'SIGTERM');
});
