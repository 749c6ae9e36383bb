/**
 * Answers no retry can fix fail the run at once (issue 9, defect 4): a
 * Host List Detection page declaring its own DTD, a billion-laughs page and
 * a truncation cursor pointing back into the page are each fetched once,
 * never again, and the run fails with the reason, attaching nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { getEvidenceForRun } from '../db/evidence.js';
import { getRun } from '../db/runs.js';
import type { HostileDocument } from '../simulator/body-producer.js';
import { runWorkflowId, type RunProgress } from '../shared/contracts.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';

let stack: RunStack;

beforeAll(async () => {
  // One range at a time, so pages are truncated and followed by their cursor, and the page in flight is one call.
  stack = await startRunStack({ simulator: { hosts: 60 }, rangePulls: { maxParallel: 1 } });
});
afterEach(() => stack.sim.reset());
afterAll(async () => {
  await stack?.close();
});

const detectionCalls = () => stack.sim.stats().log.filter((e) => e.endpoint === 'detection').length;

/** The connection check is a detection call too: the fault is armed once the run pulls pages (calls are slowed until then). */
async function startRunThenArm(document: HostileDocument) {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 20, controls: [['PCI DSS v3.2.1', '11.2']] });
  stack.sim.configure({ faults: { latencyMs: 800, endpoints: ['detection'] } });
  // Plenty of attempts: had the failure been retryable, the page would be asked for again.
  const run = await stack.startRun(fetcher, { ...FAST_TUNING, pageMaxAttempts: 5 });
  const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
  await expect.poll(async () => (await handle.query<RunProgress>('progress')).step, { timeout: 20_000, interval: 50 }).toBe('pull_pages');
  const callsBefore = detectionCalls();
  stack.sim.configure({ faults: { latencyMs: 0, hostileNext: { count: 5, document, endpoint: 'detection' } } });
  return { run, handle, callsBefore };
}

describe('hostile Host List Detection answers', () => {
  it.each([
    ['internal-dtd', 'QualysSecurityError', /declares its own DTD/],
    ['billion-laughs', 'QualysSecurityError', /declares its own DTD/],
    ['stuck-cursor', 'QualysContractError', /truncation cursor .*points back into the page/],
  ] as const)('%s: the run fails at once with %s, attaching nothing', async (document, type, reason) => {
    const { run, handle, callsBefore } = await startRunThenArm(document);
    const failure = await handle.result().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = failure;
    while (cause instanceof Error && !(cause instanceof ApplicationFailure && cause.type)) cause = cause.cause;
    expect(cause).toMatchObject({ type, nonRetryable: true, message: expect.stringMatching(reason) });

    // The page in flight when the fault was armed may have been answered normally; the hostile one was asked for once,
    // though every later call would have been hostile too.
    const pageCalls = detectionCalls() - callsBefore;
    expect(pageCalls).toBeGreaterThanOrEqual(1);
    expect(pageCalls).toBeLessThanOrEqual(2);

    const row = (await getRun(stack.database.db, run.id))!;
    expect(row).toMatchObject({ status: 'failed', evidenceId: null, error: { type } });
    expect(row.error!.message).toMatch(reason);
    expect((row.progress as Partial<RunProgress>).retries ?? 0).toBe(0);
    expect(await getEvidenceForRun(stack.database.db, run.id)).toBeNull();
  });
});
