/**
 * Workers on many machines: two worker processes on one task queue share the
 * S3 store (the run's S3Proxy). The one pulling a page is killed with
 * SIGKILL mid-run; the other finishes the run, and the evidence is
 * byte-identical to an uninterrupted sequential pull. The killed worker's staging is
 * reclaimed by the survivor's sweeper.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { getEvidenceForRun } from '../db/evidence.js';
import { createQualysClient } from '../qualys/client.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema } from '../qualys/hld-params.js';
import { pullToFile } from '../scripts/pull-to-file.js';
import { qualysCallLeases } from '../db/schema.js';
import { runWorkflowId, type FetcherRunResult, type RunProgress } from '../shared/contracts.js';
import { s3Harness, type StoreHarness } from './support/blob-stores.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';
import { describeWhenAvailable } from './support/unavailable.js';
import { workerProcesses, type WorkerProcesses } from './support/worker-process.js';

const s3proxy = inject('s3proxy');
let stack: RunStack;
let s3: StoreHarness;
let workers: WorkerProcesses;
let started = 0;

/** A worker process configured like production, on the S3 store; its sweeper looks for abandoned staging every second. */
function startWorkerProcess(): Promise<ChildProcess> {
  return workers.start({
    ...s3.env,
    S3_PART_SIZE_MB: '5',
    // Two ranges at a time: the run lasts long enough for the kill to land mid-pull.
    RUN_MAX_PARALLEL_RANGES: '2',
    BLOB_STAGING_GRACE_SEC: '3',
    BLOB_STAGING_SWEEP_SEC: '1',
    DATA_DIR: path.join(stack.blobDir, `worker-${++started}`),
  });
}

describeWhenAvailable('two workers sharing the S3 store', s3proxy.available ? null : s3proxy.reason, () => {
  beforeAll(async () => {
    stack = await startRunStack({ simulator: { hosts: 120 }, startWorker: false });
    s3 = await s3Harness(s3proxy);
    workers = workerProcesses(stack);
  });
  afterAll(async () => {
    workers?.killAll();
    await s3?.close();
    await stack?.close();
  });

  it('finishes a run whose page-pulling worker was SIGKILLed, with the evidence of an uninterrupted pull', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
    const booting = Promise.all([startWorkerProcess(), startWorkerProcess()]);
    // The reference: the same pull, uninterrupted and sequential, without Temporal (as `npm run qualys -- pull` does it).
    const client = createQualysClient({ apiBaseUrl: stack.sim.url, username: 'demo', password: 'demo-pass' });
    const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(fetcher.config), { apiVersion: '5.0', truncationLimit: fetcher.pageSize });
    const reference = await pullToFile(client, { params, out: path.join(stack.blobDir, 'reference.xml') }).finally(() => client.close());
    expect(reference.pages.length).toBeGreaterThan(6);
    const [first, second] = await booting;

    // Every page takes a moment, so the kill lands mid-run, mid-page.
    stack.sim.configure({ faults: { latencyMs: 300, endpoints: ['detection'] } });
    // A killed page is retried after 3 s without a heartbeat.
    const run = await stack.startRun(fetcher, { ...FAST_TUNING, pageHeartbeatTimeoutMs: 3_000 });
    const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
    await expect.poll(async () => (await handle.query<RunProgress>('progress')).pages, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(2);
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
    await workers.stop(victim, 'SIGKILL');

    const result = (await handle.result()) as FetcherRunResult;
    expect(result.evidence.sha256).toBe(reference.sha256);
    // Pages may differ (the run pulls host ID ranges in parallel); the hosts and the bytes may not.
    expect(result.totals).toMatchObject({ hosts: reference.summary.hosts, detections: reference.summary.detections });
    const evidence = (await getEvidenceForRun(stack.database.db, run.id))!;
    expect(await s3.store.stat(evidence.blobKey)).toEqual({ key: evidence.blobKey, bytes: (await fs.stat(path.join(stack.blobDir, 'reference.xml'))).size, sha256: reference.sha256 });
    // The survivor's sweeper removes whatever the killed worker left in staging.
    await expect.poll(async () => (await s3.everything()).filter((name) => !name.startsWith('sha256/')), { timeout: 10_000, interval: 200 }).toEqual([]);
  });
});
