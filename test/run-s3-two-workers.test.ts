/**
 * Workers on many machines: two worker processes on one task queue share the
 * S3 store (the run's S3Proxy). The one pulling a page is killed with
 * SIGKILL mid-run; the other finishes the run, and the evidence is
 * byte-identical to an uninterrupted pull. The killed worker's staging is
 * reclaimed by the survivor's sweeper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { getEvidenceForRun } from '../db/evidence.js';
import { qualysCallLeases } from '../db/schema.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { runWorkflowId, type FetcherRunResult, type RunProgress } from '../shared/contracts.js';
import { s3Harness, type StoreHarness } from './support/blob-stores.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';
import { describeWhenAvailable } from './support/unavailable.js';

const s3proxy = inject('s3proxy');
let stack: RunStack;
let s3: StoreHarness;
const children = new Set<ChildProcess>();

/** A worker process configured like production, with the S3 store; resolves once it polls. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ...s3.env,
      S3_PART_SIZE_MB: '5',
      BLOB_STAGING_GRACE_SEC: '3',
      BLOB_STAGING_SWEEP_SEC: '1',
      DATABASE_URL: stack.databaseUrl!,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      SECRETS_KEY: stack.secretsKey.toString('base64'),
      DATA_DIR: path.join(stack.blobDir, `worker-${children.size}`),
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      LOG_LEVEL: 'info',
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
      { timeout: 30_000, interval: 50 },
    )
    .toBe(true);
  return child;
}

describeWhenAvailable('two workers sharing the S3 store', s3proxy.available ? null : s3proxy.reason, () => {
  beforeAll(async () => {
    stack = await startRunStack({ simulator: { hosts: 120 }, startWorker: false });
    s3 = await s3Harness(s3proxy);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await s3?.close();
    await stack?.close();
  });

  it('finishes a run whose page-pulling worker was SIGKILLed, with the evidence of an uninterrupted pull', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
    const [first, second] = await Promise.all([startWorkerProcess(), startWorkerProcess()]);
    const reference = (await stack.runToEnd(fetcher)).result;
    expect(reference.totals.pages).toBeGreaterThan(8);

    // Every page takes a moment, so the kill lands mid-run, mid-page.
    stack.sim.configure({ faults: { latencyMs: 150, endpoints: ['detection'] } });
    const run = await stack.startRun(fetcher, FAST_TUNING);
    const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
    await expect.poll(async () => (await handle.query<RunProgress>('progress')).pages, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    // The worker holding the Qualys call slot is the one pulling the page now.
    let holderPid: number | null = null;
    await expect
      .poll(
        async () => {
          const [running] = await stack.database.db.select().from(qualysCallLeases).where(eq(qualysCallLeases.state, 'running'));
          holderPid = running ? Number(running.holder.split('-').at(-1)) : null;
          return [first.pid, second.pid].includes(holderPid ?? -1);
        },
        { timeout: 10_000, interval: 20 },
      )
      .toBe(true);
    const victim = holderPid === first.pid ? first : second;
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));

    const result = (await handle.result()) as FetcherRunResult;
    expect(result.evidence.sha256).toBe(reference.evidence.sha256);
    expect(result.totals).toEqual(reference.totals);
    const evidence = (await getEvidenceForRun(stack.database.db, run.id))!;
    expect(await s3.store.stat(evidence.blobKey)).toEqual({ key: evidence.blobKey, bytes: reference.evidence.bytes, sha256: reference.evidence.sha256 });
    // The survivor's sweeper removes whatever the killed worker left in staging.
    await expect.poll(async () => (await s3.everything()).filter((name) => !name.startsWith('sha256/')), { timeout: 10_000, interval: 200 }).toEqual([]);
  });
});
