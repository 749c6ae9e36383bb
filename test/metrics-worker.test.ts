/**
 * A worker process as `npm run worker` runs it, with WORKER_METRICS_PORT:
 * after a run against the simulator (one 409 provoked on the way), its
 * /metrics shows the run, its pages and bytes, Qualys's answers by code and
 * the wait, next to the Temporal SDK's own metrics, in one scrape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence } from '../db/evidence.js';
import { listRunPages } from '../db/run-pages.js';
import { getRun } from '../db/runs.js';
import { freePort } from '../runtime/free-port.js';
import { runWorkflowId, type FetcherRunResult } from '../shared/contracts.js';
import { parseExposition, sumOf } from './support/prometheus-text.js';
import { FAST_TUNING, startRunStack, type RunStack } from './support/run-stack.js';
import { workerProcesses, type WorkerProcesses } from './support/worker-process.js';

const METRICS_TOKEN = 'worker-scrape-token-0123';
let stack: RunStack;
let workers: WorkerProcesses;
let metricsUrl: string;

beforeAll(async () => {
  stack = await startRunStack({ startWorker: false, simulator: { hosts: 90 } });
  workers = workerProcesses(stack);
  const port = await freePort();
  await workers.start({ WORKER_METRICS_PORT: String(port), METRICS_TOKEN });
  metricsUrl = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  workers?.killAll();
  await stack?.close();
});

async function scrape() {
  const res = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

describe('worker metrics', () => {
  it('count a run, its pages, bytes, Qualys answers by code and 409 waits, beside the Temporal SDK metrics', async () => {
    const connection = await stack.addConnection();
    const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 30 });
    // The first detection call (the connection check) is refused once; the run waits and goes on.
    stack.sim.configure({ faults: { rateLimitNext: { count: 1, secondsToWait: 1, endpoint: 'detection' } } });
    const run = await stack.startRun(fetcher, FAST_TUNING);
    const result = (await stack.client.workflow.getHandle(runWorkflowId(run.id)).result()) as FetcherRunResult;

    const pages = await listRunPages(stack.database.db, run.id);
    const row = await getRun(stack.database.db, run.id);
    expect(pages.length).toBe(3);
    expect(result.totals.pages).toBe(pages.length);

    const samples = await scrape();
    expect(sumOf(samples, 'qec_runs_total', { outcome: 'succeeded' })).toBe(1);
    expect(sumOf(samples, 'qec_runs_total')).toBe(1);
    expect(sumOf(samples, 'qec_pages_total', { fetcher_kind: 'host_list_detection' })).toBe(pages.length);
    expect(sumOf(samples, 'qec_page_bytes_total', { fetcher_kind: 'host_list_detection' })).toBe(result.totals.bytes);
    expect(result.totals.bytes).toBe(row!.progress!.bytes);
    expect(result.totals.bytes).toBe(pages.reduce((sum, p) => sum + p.bytes, 0));

    const endpoint = '/api/5.0/fo/asset/host/vm/detection/';
    // Sealing confirms that listed hosts absent from the evidence have no matching detection: one more detection call each time.
    const manifest = (await getEvidence(stack.database.db, result.evidence.evidenceId))!.manifest as {
      completeness: { reconciliation: { absentConfirmation: { calls?: number } | null } | null };
    };
    const confirmations = manifest.completeness.reconciliation?.absentConfirmation?.calls ?? 0;
    // The connection check, every page and each confirmation, each answered 200 once.
    expect(sumOf(samples, 'qec_qualys_answers_total', { endpoint, http_status: '200', qualys_code: 'none', result: 'ok' })).toBe(pages.length + 1 + confirmations);
    expect(sumOf(samples, 'qec_qualys_answers_total', { endpoint, http_status: '409', qualys_code: '1965', result: 'rate_limit' })).toBe(1);
    expect(sumOf(samples, 'qec_qualys_answers_total', { endpoint })).toBe(pages.length + 2 + confirmations);
    // Calls that plan the run (the host ID list for range pulls) are counted under their own paths.
    const others = samples.filter((s) => s.name === 'qec_qualys_answers_total' && s.labels.endpoint !== endpoint);
    for (const other of others) expect(other.labels).toMatchObject({ endpoint: expect.stringMatching(/^\/api\/[\d.]+\/fo\/[\w/]+\/$/), result: 'ok' });
    expect(sumOf(samples, 'qec_qualys_answer_duration_seconds_count', { endpoint })).toBe(pages.length + 2 + confirmations);
    expect(sumOf(samples, 'qec_qualys_limit_waits_total', { reason: 'rate_limit', qualys_code: '1965' })).toBe(1);
    expect(sumOf(samples, 'qec_run_limit_wait_seconds_total')).toBe(row!.progress!.waitedSeconds);
    expect(row!.progress!.waitedSeconds).toBeGreaterThanOrEqual(1);
    // Node's own process metrics come with ours.
    expect(sumOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // Core's exporter, read through the same scrape: the workflow and its activities completed here.
    await expect.poll(async () => sumOf(await scrape(), 'temporal_workflow_completed', { task_queue: stack.taskQueue }), { timeout: 10_000, interval: 200 }).toBe(1);
    const sdk = await scrape();
    // Pages come a range's several at a time: one execution per call the history scheduled (none failed here).
    const history = await stack.client.workflow.getHandle(runWorkflowId(run.id)).fetchHistory();
    const calls = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'pullPages').length;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(pages.length);
    expect(sumOf(sdk, 'temporal_activity_execution_latency_count', { task_queue: stack.taskQueue, activity_type: 'pullPages' })).toBe(calls);
  });

  it('answers /healthz while the worker runs and guards /metrics with METRICS_TOKEN', async () => {
    const health = await fetch(`${metricsUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const anonymous = await fetch(`${metricsUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${metricsUrl}/nothing-here`)).status).toBe(404);
  });
});
