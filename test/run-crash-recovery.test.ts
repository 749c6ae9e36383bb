/**
 * Kill the worker process (SIGKILL) in the middle of a many-page run, start a
 * new one: the run completes with evidence byte-identical to an uninterrupted
 * run, with no duplicate page rows or attachments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listEvidenceTargets } from '../db/attachments.js';
import { getEvidenceForRun } from '../db/evidence.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { runWorkflowId, type FetcherRunResult, type RunProgress } from '../shared/contracts.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  stack = await startRunStack({ simulator: { hosts: 400 }, startWorker: false });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stack?.close();
});

/**
 * The worker as a separate process, configured like production through the
 * environment. tsx is loaded in-process (not through its CLI, which would
 * put a wrapper process between us and the worker that SIGKILL could not pass).
 */
async function startWorkerProcess(extraEnv: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: stack.databaseUrl!,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      SECRETS_KEY: stack.secretsKey.toString('base64'),
      BLOB_DIR: stack.blobDir,
      DATA_DIR: path.join(stack.blobDir, 'worker-data'),
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  await expect
    .poll(
      () => {
        if (child.exitCode !== null) throw new Error(`worker exited early: ${output}`);
        return output.includes('worker started');
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe(true);
  return child;
}

let reference: FetcherRunResult;
let fetcher: Awaited<ReturnType<RunStack['addHldFetcher']>>;

describe('crash recovery', () => {
  it('finishes a run whose worker was SIGKILLed mid-pull, with identical evidence and no duplicates', async () => {
    const connection = await stack.addConnection();
    fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10, controls: [['PCI DSS v3.2.1', '11.2.1']] });
    // Every page takes a moment, so the kill lands mid-run.
    stack.sim.configure({ faults: { latencyMs: 150, endpoints: ['detection'] } });

    let worker = await startWorkerProcess();
    reference = (await stack.runToEnd(fetcher)).result;
    expect(reference.totals.pages).toBeGreaterThan(25);

    const run = await stack.startRun(fetcher, FAST_TUNING);
    const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
    await expect.poll(async () => (await handle.query<RunProgress>('progress')).pages, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(8);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    // Nothing of the killed worker survives to finish the run on its own.
    expect(() => process.kill(worker.pid!, 0)).toThrow(/ESRCH/);
    const pagesAtKill = (await listRunPages(stack.database.db, run.id)).length;
    expect(pagesAtKill).toBeLessThan(reference.totals.pages);

    worker = await startWorkerProcess();
    const result = (await handle.result()) as FetcherRunResult;
    expect(result.evidence.sha256).toBe(reference.evidence.sha256);
    expect(result.evidence.bytes).toBe(reference.evidence.bytes);
    expect(result.totals).toEqual(reference.totals);

    const pages = await listRunPages(stack.database.db, run.id);
    expect(pages.map((p) => p.pageNo)).toEqual(Array.from({ length: reference.totals.pages }, (_, i) => i + 1));
    const evidence = (await getEvidenceForRun(stack.database.db, run.id))!;
    const targets = await listEvidenceTargets(stack.database.db, evidence.id);
    expect(targets.filter((t) => t.targetType === 'control')).toHaveLength(1);
    expect((await getRun(stack.database.db, run.id))!.status).toBe('succeeded');
    worker.kill('SIGTERM');
  });

  it('shuts a worker down gracefully mid-page (SIGTERM); the next worker finishes the run with identical evidence', async () => {
    // Pages are slow enough that SIGTERM always lands while one is in flight.
    stack.sim.configure({ faults: { latencyMs: 400, endpoints: ['detection'] } });
    const worker = await startWorkerProcess({ WORKER_SHUTDOWN_GRACE_MS: '2000' });
    const run = await stack.startRun(fetcher, FAST_TUNING);
    const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
    await expect.poll(async () => (await handle.query<RunProgress>('progress')).pages, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    const signalled = Date.now();
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    // Within the grace period plus a little: in-flight work was finished or cancelled, not abandoned.
    expect(Date.now() - signalled).toBeLessThan(15_000);

    const next = await startWorkerProcess();
    const result = (await handle.result()) as FetcherRunResult;
    expect(result.evidence.sha256).toBe(reference.evidence.sha256);
    const pages = await listRunPages(stack.database.db, run.id);
    expect(pages.map((p) => p.pageNo)).toEqual(Array.from({ length: reference.totals.pages }, (_, i) => i + 1));
    next.kill('SIGTERM');
  });
});
