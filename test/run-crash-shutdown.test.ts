/**
 * SIGTERM a worker process while a page is in flight: it shuts down within
 * its grace period, and the next worker finishes the run with evidence
 * byte-identical to an uninterrupted run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listRunPages } from '../db/run-pages.js';
import { runWorkflowId, type FetcherRunResult } from '../shared/contracts.js';
import { expectPageChains } from './support/page-chains.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';
import { workerProcesses, type WorkerProcesses } from './support/worker-process.js';

let stack: RunStack;
let workers: WorkerProcesses;

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: 80 } });
  workers = workerProcesses(stack);
});
afterAll(async () => {
  workers?.killAll();
  await stack?.close();
});

it('shuts a worker down gracefully mid-page (SIGTERM); the next worker finishes the run with identical evidence', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
  const reference = (await stack.runToEnd(fetcher)).result;
  await stack.stopWorker();

  // Pages are slow enough that SIGTERM always lands while one is in flight.
  stack.sim.configure({ faults: { latencyMs: 400, endpoints: ['detection'] } });
  // One range at a time, so a page is always in flight when the signal comes.
  const worker = await workers.start({ WORKER_SHUTDOWN_GRACE_MS: '2000', RUN_MAX_PARALLEL_RANGES: '1' });
  const run = await stack.startRun(fetcher, FAST_TUNING);
  await expect.poll(async () => (await listRunPages(stack.database.db, run.id)).length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(2);
  await expect.poll(() => stack.sim.stats().inFlight, { timeout: 5_000, interval: 20 }).toBeGreaterThan(0);
  const signalled = Date.now();
  const code = await workers.stop(worker, 'SIGTERM');
  expect(code).toBe(0);
  // Within the grace period plus a little: in-flight work was finished or cancelled, not abandoned.
  expect(Date.now() - signalled).toBeLessThan(10_000);

  const next = await workers.start();
  const result = (await stack.client.workflow.getHandle(runWorkflowId(run.id)).result()) as FetcherRunResult;
  expect(result.evidence.sha256).toBe(reference.evidence.sha256);
  expectPageChains(await listRunPages(stack.database.db, run.id));
  await workers.stop(next, 'SIGTERM');
});
