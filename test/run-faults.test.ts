/**
 * Faults during fetcher runs: 409 storms, 5xx and dropped connections,
 * broken documents, bad credentials, and cancellation. Nothing is lost or
 * duplicated, and what cannot succeed fails with Qualys's own reason.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { listEvidenceTargets } from '../db/attachments.js';
import { getConnection } from '../db/connections.js';
import { getEvidenceForRun } from '../db/evidence.js';
import { listRunPages } from '../db/run-pages.js';
import { expectPageChains } from './support/page-chains.js';
import { getRun } from '../db/runs.js';
import { runWorkflowId, type RunProgress } from '../shared/contracts.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;

beforeAll(async () => {
  // One range at a time: these tests count Qualys calls exactly; run-range-pulls.test.ts covers faults across lanes.
  // Pages are read in the worker's page-bytes thread, as `npm run worker` reads them: its errors and cancellations must reach the run as inline ones do.
  stack = await startRunStack({ simulator: { hosts: 120 }, rangePulls: { maxParallel: 1 }, pageBytes: 'thread' });
});
afterEach(() => stack.sim.reset());
afterAll(async () => {
  await stack?.close();
});

function detectionLog() {
  return stack.sim.stats().log.filter((e) => e.endpoint === 'detection');
}

async function failureOf(runId: string): Promise<Error> {
  const err = await stack.client.workflow
    .getHandle(runWorkflowId(runId))
    .result()
    .then(
      () => null,
      (e: unknown) => e as Error,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return err!;
}

/** The failure the activity raised, as the workflow reported it. */
function rootCause(err: Error): ApplicationFailure {
  let cause: unknown = err;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure && cause.type)) cause = cause.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/**
 * The connection check is a one-host Host List Detection call, so faults
 * meant for pages are armed only once the run is past it: each call is
 * slowed until then, which leaves time to arm them.
 */
async function startRunThenArm(fetcher: Parameters<RunStack['startRun']>[0], faults: Parameters<RunStack['sim']['configure']>[0]['faults'], tuning = FAST_TUNING) {
  stack.sim.configure({ faults: { latencyMs: 800, endpoints: ['detection'] } });
  const run = await stack.startRun(fetcher, tuning);
  const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
  await expect.poll(async () => (await handle.query<RunProgress>('progress')).step, { timeout: 20_000, interval: 50 }).toBe('pull_pages');
  stack.sim.configure({ faults: { latencyMs: 0, ...faults } });
  return { run, handle };
}

describe('fetcher runs under faults', () => {
  it('waits out a 409 storm (both codes) exactly as long as Qualys asks, then completes', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 30 });
    const reference = await stack.runToEnd(fetcher);

    stack.sim.configure({
      faults: {
        rateLimitNext: { count: 2, secondsToWait: 2, endpoint: 'detection' },
        concurrencyLimitNext: { count: 2, callsToFinish: 1, endpoint: 'detection' },
      },
    });
    const run = await stack.startRun(fetcher, { ...FAST_TUNING, concurrencyPauseMs: 1_000 });
    const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
    const result = await handle.result();

    // Evidence identical to the undisturbed run: nothing lost, nothing doubled.
    expect(result.evidence.sha256).toBe(reference.result.evidence.sha256);
    const log = detectionLog().filter((e) => e.at >= new Date(run.createdAt).getTime());
    const rateLimited = log.filter((e) => e.code === 1965);
    expect(rateLimited).toHaveLength(2);
    expect(log.filter((e) => e.code === 1960)).toHaveLength(2);
    for (const refusal of rateLimited) {
      const next = log.find((e) => e.at > refusal.at);
      expect(next, 'a retry follows every refusal').toBeDefined();
      expect(next!.at - refusal.at).toBeGreaterThanOrEqual(2_000);
    }
    const progress = (await getRun(stack.database.db, run.id))!.progress as RunProgress;
    expect(progress.waits).toBe(4);
    expect(progress.waitedSeconds).toBeGreaterThanOrEqual(6);
    const manifest = (await getEvidenceForRun(stack.database.db, run.id))!.manifest as { waits: Array<{ reason: string; seconds: number }> };
    expect(manifest.waits.map((w) => w.reason).sort()).toEqual(['concurrency_limit', 'concurrency_limit', 'rate_limit', 'rate_limit']);
    expect(manifest.waits.filter((w) => w.reason === 'rate_limit').every((w) => w.seconds === 2)).toBe(true);
  });

  it('recovers from 503s and a connection dropped mid-body without losing or doubling a page', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, { severities: [4, 5] }, { pageSize: 25 });
    const reference = await stack.runToEnd(fetcher);

    const { run, handle } = await startRunThenArm(fetcher, {
      failNext: { count: 2, status: 503, endpoint: 'detection' },
      dropNext: { count: 1, afterBytes: 4_000, endpoint: 'detection' },
    });
    const result = await handle.result();
    expect(result.evidence.sha256).toBe(reference.result.evidence.sha256);
    expect(result.totals).toEqual(reference.result.totals);
    const log = detectionLog().filter((e) => e.at >= new Date(run.createdAt).getTime());
    expect(log.filter((e) => e.status === 503)).toHaveLength(2);
    expect(log.filter((e) => e.aborted).length).toBeGreaterThanOrEqual(1);

    const pages = await listRunPages(stack.database.db, run.id);
    expect(pages).toHaveLength(result.totals.pages);
    expectPageChains(pages);
    expect(pages.some((p) => p.attempts > 1)).toBe(true);
    const manifest = (await getEvidenceForRun(stack.database.db, run.id))!.manifest as { retries: number };
    expect(manifest.retries).toBeGreaterThanOrEqual(3);
  });

  it('fails a run whose pages stay malformed after retries, with a clear error, attaching nothing', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 4, controls: [['PCI DSS v3.2.1', '11.2']] });
    const tuning = { ...FAST_TUNING, pageMaxAttempts: 3, pageAttemptsPerHalving: 1, pageRetryInitialMs: 100 };
    const { run } = await startRunThenArm(fetcher, { malformedAlways: true, endpoints: ['detection'] }, tuning);
    const err = await failureOf(run.id);
    expect(rootCause(err).type).toBe('QualysProtocolError');
    // One connection check, the page's three attempts with 4 hosts, then one each with 2 and 1.
    expect(detectionLog().filter((e) => e.at >= new Date(run.createdAt).getTime())).toHaveLength(6);

    const row = (await getRun(stack.database.db, run.id))!;
    expect(row.status).toBe('failed');
    expect(row.error).toMatchObject({ type: 'QualysProtocolError' });
    expect(row.error!.message).toMatch(/XML|document|malformed/i);
    expect(row.evidenceId).toBeNull();
    expect(await getEvidenceForRun(stack.database.db, run.id)).toBeNull();
  });

  it('fails at once on bad credentials with Qualys reason and marks the connection invalid', async () => {
    const connection = await stack.addConnection({ password: 'wrong-password' });
    const fetcher = await stack.addHldFetcher(connection);
    const run = await stack.startRun(fetcher);
    const err = await failureOf(run.id);
    expect(rootCause(err).type).toBe('QualysAuthError');
    expect(err.cause).toBeInstanceOf(ActivityFailure);
    // Exactly one call, the check: authentication failures are not retried and no page is asked for.
    const calls = stack.sim.stats().log.filter((e) => e.at >= new Date(run.createdAt).getTime());
    expect(calls.map((e) => e.status)).toEqual([401]);

    const updated = (await getConnection(stack.database.db, connection.id))!;
    expect(updated.status).toBe('invalid');
    expect(updated.statusReason).toMatch(/2000|login|credentials/i);
    expect((await getRun(stack.database.db, run.id))!).toMatchObject({ status: 'failed', error: { type: 'QualysAuthError' } });
  });

  it('fails at once on an expired account (HTTP 200 with code 2001)', async () => {
    const connection = await stack.addConnection({ username: 'expired', password: 'expired-pass' });
    const fetcher = await stack.addHldFetcher(connection);
    const run = await stack.startRun(fetcher);
    const cause = rootCause(await failureOf(run.id));
    expect(cause.type).toBe('QualysAuthError');
    expect(cause.message).toMatch(/2001|expired/i);
    expect((await getConnection(stack.database.db, connection.id))!.status).toBe('invalid');
  });

  it('cancels a run and stops its request in flight', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { controls: [['PCI DSS v3.2.1', '11.2']] });
    // A page that would take minutes to arrive.
    const { run, handle } = await startRunThenArm(fetcher, { slowBodyBytesPerSec: 2_000, endpoints: ['detection'] });
    await expect.poll(() => stack.sim.stats().inFlight, { timeout: 15_000 }).toBeGreaterThan(0);
    const started = Date.now();
    await handle.cancel();
    const err = await handle.result().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err!.cause).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(15_000);
    await expect.poll(() => stack.sim.stats().inFlight, { timeout: 10_000 }).toBe(0);
    const aborted = detectionLog().filter((e) => e.at >= new Date(run.createdAt).getTime());
    expect(aborted.at(-1)!.aborted).toBe(true);

    const row = (await getRun(stack.database.db, run.id))!;
    expect(row.status).toBe('cancelled');
    expect(row.evidenceId).toBeNull();
    const evidence = await getEvidenceForRun(stack.database.db, run.id);
    expect(evidence).toBeNull();
    if (evidence) expect(await listEvidenceTargets(stack.database.db, evidence.id)).toEqual([]);
  });
});
