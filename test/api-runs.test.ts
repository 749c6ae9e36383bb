/**
 * Runs over real HTTP against the real stack: start, poll, idempotent
 * creation under concurrency, cancel, list filters, and every error answer.
 */
import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunLauncher } from '../api/run-launcher.js';
import { storeRun } from '../api/run-starter.js';
import { disconnectConnection } from '../db/connections.js';
import { deleteFetcher, updateFetcher } from '../db/fetchers.js';
import { getRun, listRuns } from '../db/runs.js';
import type { FetcherRow } from '../db/schema.js';
import type { Connection } from '../db/connections.js';
import type { FieldError } from '../api/problem.js';
import type { RunView } from '../api/schemas/run.js';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;
let connection: Connection;
let fetcher: FetcherRow;

const FINAL = ['succeeded', 'failed', 'cancelled'];

async function waitForRun(id: string, until: (run: RunView) => boolean, timeoutMs = 30_000): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await stack.request<RunView>('GET', `/v1/runs/${encodeURIComponent(id)}`, { token: stack.auditorToken });
    expect(res.status).toBe(200);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`run ${id} did not reach the expected state: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

beforeAll(async () => {
  stack = await startApiStack({ simulator: { hosts: 60 } });
  connection = await stack.run.addConnection();
  fetcher = await stack.run.addHldFetcher(connection, {}, { pageSize: 20, controls: [['PCI DSS v3.2.1', '11.2']] });
});
afterAll(async () => {
  await stack?.close();
});

describe('starting and reading runs', () => {
  it('starts a run as an auditor, reports progress, and links the sealed evidence and the Temporal UI', async () => {
    const res = await stack.request('POST', `/v1/fetchers/${fetcher.id}/runs`, { token: stack.auditorToken });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/runs/${res.body.id}`);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(res.body).toMatchObject({ fetcherId: fetcher.id, connectionId: connection.id, trigger: 'api', triggeredBy: 'test-auditor', status: 'queued' });

    const run = await waitForRun(res.body.id, (r) => FINAL.includes(r.status));
    expect(run.status).toBe('succeeded');
    expect(run.error).toBeNull();
    expect(run.step).toBe('done');
    expect(run.progress.pages).toBeGreaterThanOrEqual(2);
    expect(run.progress.hosts).toBeGreaterThan(0);
    expect(run.progress.detections).toBeGreaterThan(0);
    expect(run.progress.bytes).toBeGreaterThan(0);
    expect(run.finishedAt).not.toBeNull();
    expect(run.links).toEqual({
      self: `/v1/runs/${run.id}`,
      evidence: `/v1/evidence/${run.evidenceId}`,
      evidenceContent: `/v1/evidence/${run.evidenceId}/content`,
      temporalUi: `http://127.0.0.1:8233/namespaces/default/workflows/run-${run.id}`,
    });
    const evidence = await stack.request('GET', run.links.evidence!, { token: stack.auditorToken });
    expect(evidence.status).toBe(200);
    expect(evidence.body.runId).toBe(run.id);
    expect(evidence.body.summary).toMatchObject({ hosts: run.progress.hosts, detections: run.progress.detections });
  });

  it('starts exactly one workflow for 20 concurrent requests with one Idempotency-Key', async () => {
    const own = await stack.run.addHldFetcher(connection, {}, { pageSize: 30 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        stack.request('POST', `/v1/fetchers/${own.id}/runs`, { token: stack.auditorToken, headers: { 'Idempotency-Key': 'nightly-2026-11-01' } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    const ids = new Set(responses.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    const [runId] = [...ids];

    const run = await waitForRun(runId!, (r) => FINAL.includes(r.status));
    expect(run.status).toBe('succeeded');
    // Replaying after the run finished still returns it, and starts nothing.
    const replay = await stack.request('POST', `/v1/fetchers/${own.id}/runs`, { token: stack.auditorToken, headers: { 'Idempotency-Key': 'nightly-2026-11-01' } });
    expect(replay.status).toBe(202);
    expect(replay.body.id).toBe(runId);
    expect(replay.body.status).toBe('succeeded');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const workflows = [];
    for await (const wf of stack.run.client.workflow.list({ query: `FetcherId = '${own.id}'` })) workflows.push(wf);
    expect(workflows.map((w) => w.workflowId)).toEqual([`run-${runId}`]);
    expect((await listRuns(stack.run.database.db, { fetcherId: own.id })).items).toHaveLength(1);
  });

  it('starts separate runs for different keys and for requests without a key', async () => {
    const own = await stack.run.addHldFetcher(connection, {}, { pageSize: 60 });
    const a = await stack.request('POST', `/v1/fetchers/${own.id}/runs`, { headers: { 'Idempotency-Key': 'key-a' } });
    const b = await stack.request('POST', `/v1/fetchers/${own.id}/runs`, { headers: { 'Idempotency-Key': 'key-b' } });
    const c = await stack.request('POST', `/v1/fetchers/${own.id}/runs`);
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect(new Set([a.body.id, b.body.id, c.body.id]).size).toBe(3);
    expect(a.body.triggeredBy).toBe('test-admin');
    for (const id of [a.body.id, b.body.id, c.body.id]) {
      expect((await waitForRun(id, (r) => FINAL.includes(r.status))).status).toBe('succeeded');
    }
  });

  it('lists runs filtered by fetcher, status and time, page by page', async () => {
    const all = await stack.request('GET', `/v1/runs?fetcherId=${fetcher.id}`, { token: stack.auditorToken });
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(1);
    expect(all.body.items.every((r: RunView) => r.fetcherId === fetcher.id)).toBe(true);

    const succeeded = await stack.request('GET', '/v1/runs?status=succeeded,failed&limit=2', { token: stack.auditorToken });
    expect(succeeded.status).toBe(200);
    expect(succeeded.body.items).toHaveLength(2);
    expect(succeeded.body.items.every((r: RunView) => ['succeeded', 'failed'].includes(r.status))).toBe(true);
    expect(succeeded.body.nextCursor).toEqual(expect.any(String));
    const next = await stack.request('GET', `/v1/runs?status=succeeded,failed&limit=2&cursor=${succeeded.body.nextCursor}`, { token: stack.auditorToken });
    expect(next.status).toBe(200);
    expect(next.body.items[0].id).not.toBe(succeeded.body.items[0].id);

    const future = await stack.request('GET', '/v1/runs?from=2999-01-01T00:00:00Z', { token: stack.auditorToken });
    expect(future.body.items).toEqual([]);
    const past = await stack.request('GET', '/v1/runs?to=2000-01-01T00:00:00Z', { token: stack.auditorToken });
    expect(past.body.items).toEqual([]);
  });

  it('rejects bad list filters naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/runs?status=done', 'query.status'],
      ['/v1/runs?status=succeeded,', 'query.status'],
      ['/v1/runs?from=yesterday', 'query.from'],
      ['/v1/runs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
      ['/v1/runs?limit=0', 'query.limit'],
      ['/v1/runs?cursor=not-a-cursor', 'cursor'],
    ];
    for (const [path, field] of cases) {
      const res = await stack.request('GET', path, { token: stack.auditorToken });
      expect(res.status, path).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors.map((e: FieldError) => e.field), path).toContain(field);
    }
  });
});

describe('cancelling runs', () => {
  it('cancels a slow run: it ends cancelled, without evidence', async () => {
    // Three pages of three seconds each: the run is still pulling when the cancel arrives.
    const slow = await stack.run.addHldFetcher(connection, {}, { pageSize: 20 });
    stack.run.sim.configure({ faults: { latencyMs: 3_000 } });
    try {
      const started = await stack.request('POST', `/v1/fetchers/${slow.id}/runs`, { token: stack.auditorToken });
      expect(started.status).toBe(202);
      const running = await waitForRun(started.body.id, (r) => r.status === 'running' && r.step === 'pull_pages');
      // Live progress comes from the workflow query: its fields are all there.
      expect(running.progress).toMatchObject({ pages: 0, waits: 0, retries: 0, waiting: null });

      const cancel = await stack.request('POST', `/v1/runs/${started.body.id}/cancel`, { token: stack.auditorToken });
      expect(cancel.status).toBe(202);
      const cancelled = await waitForRun(started.body.id, (r) => FINAL.includes(r.status), 20_000);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.error).toMatchObject({ type: 'Cancelled' });
      expect(cancelled.evidenceId).toBeNull();

      const again = await stack.request('POST', `/v1/runs/${started.body.id}/cancel`, { token: stack.auditorToken });
      expect(again.status).toBe(409);
      expect(again.body.type).toBe('/problems/conflict');
    } finally {
      stack.run.sim.reset();
    }
  });
});

describe('starting runs in the background', () => {
  it('answers once the run is stored, then records when Temporal accepted its workflow', async () => {
    const own = await stack.run.addHldFetcher(connection, {}, { pageSize: 60 });
    const res = await stack.request('POST', `/v1/fetchers/${own.id}/runs`, { token: stack.auditorToken });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('queued');
    await expect.poll(async () => (await getRun(stack.run.database.db, res.body.id))?.launchedAt ?? null, { timeout: 15_000 }).not.toBeNull();
    expect((await waitForRun(res.body.id, (r) => FINAL.includes(r.status))).status).toBe('succeeded');
  });

  it('cancels a run the moment after its start was answered: it ends cancelled, not failed', async () => {
    const own = await stack.run.addHldFetcher(connection, {}, { pageSize: 60 });
    stack.run.sim.configure({ faults: { latencyMs: 3_000 } });
    try {
      const started = await stack.request('POST', `/v1/fetchers/${own.id}/runs`, { token: stack.auditorToken });
      const cancel = await stack.request('POST', `/v1/runs/${started.body.id}/cancel`, { token: stack.auditorToken });
      expect(cancel.status).toBe(202);
      const ended = await waitForRun(started.body.id, (r) => FINAL.includes(r.status), 20_000);
      expect(ended).toMatchObject({ status: 'cancelled', error: { type: 'Cancelled' } });
      const handle = stack.run.client.workflow.getHandle(`run-${started.body.id}`);
      await expect.poll(async () => (await handle.describe()).status.name, { timeout: 15_000 }).toBe('CANCELLED');
    } finally {
      stack.run.sim.reset();
    }
  });

  it('starts, once, a stored run whose start never reached Temporal, when a sweep finds it', async () => {
    const own = await stack.run.addHldFetcher(connection, {}, { pageSize: 60 });
    const { db } = stack.run.database;
    const logger = pino({ level: 'silent' });
    const { taskQueue } = stack.run;
    // A launch Temporal refuses (no such namespace) leaves the run queued and not launched.
    const unreachable = createRunLauncher({ db, client: new Client({ connection: stack.run.client.connection, namespace: 'no-such-namespace' }), taskQueue, logger });
    const { run } = await storeRun(db, { fetcher: own, trigger: 'api', triggeredBy: 'test' });
    unreachable.launch(run, own);
    await unreachable.close();
    expect(await getRun(db, run.id)).toMatchObject({ status: 'queued', launchedAt: null });

    // Younger than the grace period it may still be a launch in flight: left alone.
    expect(await createRunLauncher({ db, client: stack.run.client, taskQueue, logger }, { graceMs: 60_000 }).sweep()).toBe(0);
    const sweeper = createRunLauncher({ db, client: stack.run.client, taskQueue, logger }, { graceMs: 0 });
    expect(await sweeper.sweep()).toBe(1);
    expect((await getRun(db, run.id))?.launchedAt).not.toBeNull();
    expect(await sweeper.sweep()).toBe(0);
    expect((await waitForRun(run.id, (r) => FINAL.includes(r.status))).status).toBe('succeeded');
    // A launch in flight is waited for (as a cancel does), not raced.
    const next = (await storeRun(db, { fetcher: own, trigger: 'api', triggeredBy: 'test' })).run;
    sweeper.launch(next, own);
    await sweeper.settled(next.id);
    expect((await getRun(db, next.id))?.launchedAt).not.toBeNull();
    expect((await waitForRun(next.id, (r) => FINAL.includes(r.status))).status).toBe('succeeded');
    const workflows = [];
    for await (const wf of stack.run.client.workflow.list({ query: `FetcherId = '${own.id}'` })) workflows.push(wf.workflowId);
    expect(workflows.sort()).toEqual([`run-${run.id}`, `run-${next.id}`].sort());
    await sweeper.close();
  });
});

describe('refusals', () => {
  it('answers 409 for a disabled fetcher, a deleted one, and a disconnected connection', async () => {
    const disabled = await stack.run.addHldFetcher(connection);
    await updateFetcher(stack.run.database.db, disabled.id, { enabled: false });
    const res = await stack.request('POST', `/v1/fetchers/${disabled.id}/runs`, { token: stack.auditorToken });
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/is disabled/);

    const retired = await stack.run.addHldFetcher(connection);
    await deleteFetcher(stack.run.database.db, retired.id);
    const gone = await stack.request('POST', `/v1/fetchers/${retired.id}/runs`, { token: stack.auditorToken });
    expect(gone.status).toBe(409);
    expect(gone.body.detail).toMatch(/was deleted/);

    const other = await stack.run.addConnection({ name: 'to disconnect' });
    const orphan = await stack.run.addHldFetcher(other);
    await disconnectConnection(stack.run.database.db, other.id);
    await updateFetcher(stack.run.database.db, orphan.id, { enabled: true });
    const res2 = await stack.request('POST', `/v1/fetchers/${orphan.id}/runs`, { token: stack.auditorToken });
    expect(res2.status).toBe(409);
    expect(res2.body.detail).toMatch(/connection "to disconnect" is disconnected/);
    expect((await listRuns(stack.run.database.db, { fetcherId: orphan.id })).items).toHaveLength(0);
  });

  it('rejects an invalid Idempotency-Key naming the header, and stores nothing', async () => {
    const own = await stack.run.addHldFetcher(connection);
    for (const key of ['has space', 'x'.repeat(201), 'naïve']) {
      const res = await stack.request('POST', `/v1/fetchers/${own.id}/runs`, { headers: { 'Idempotency-Key': key } });
      expect(res.status, key).toBe(422);
      expect(res.body.errors[0].field).toBe('header.idempotency-key');
      expect(res.body.errors[0].reason).toMatch(/visible ASCII/);
    }
    expect((await listRuns(stack.run.database.db, { fetcherId: own.id })).items).toHaveLength(0);
  });

  it('answers 404 for unknown fetchers and runs', async () => {
    for (const [method, path] of [
      ['POST', '/v1/fetchers/no-such-fetcher/runs'],
      ['GET', '/v1/runs/no-such-run'],
      ['POST', '/v1/runs/no-such-run/cancel'],
    ] as const) {
      const res = await stack.request(method, path, { token: stack.auditorToken });
      expect(res.status, path).toBe(404);
      expect(res.body.type).toBe('/problems/not-found');
    }
  });

  it('answers 401 without a key or with an unknown one', async () => {
    for (const token of [null, 'qec_not-a-real-token']) {
      for (const [method, path] of [
        ['POST', `/v1/fetchers/${fetcher.id}/runs`],
        ['GET', '/v1/runs'],
        ['GET', '/v1/runs/x'],
        ['POST', '/v1/runs/x/cancel'],
      ] as const) {
        const res = await stack.request(method, path, { token });
        expect(res.status, `${method} ${path}`).toBe(401);
      }
    }
  });

  it('documents the runs, evidence, schedule and webhook endpoints in the OpenAPI document', async () => {
    const res = await stack.request<{ paths: Record<string, Record<string, { summary?: string }>> }>('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    for (const [path, method] of [
      ['/v1/fetchers/{id}/runs', 'post'],
      ['/v1/runs/{id}', 'get'],
      ['/v1/runs/{id}/cancel', 'post'],
      ['/v1/evidence/{id}/content', 'get'],
      ['/v1/evidence/{id}/pages/{pageNo}/content', 'get'],
      ['/v1/fetchers/{id}/schedules', 'post'],
      ['/v1/schedules/{id}/backfill', 'post'],
      ['/v1/webhooks/{id}/deliveries', 'get'],
    ] as const) {
      expect(res.body.paths[path]?.[method]?.summary, `${method} ${path}`).toEqual(expect.any(String));
    }
  });

  it('rejects a body that is not JSON', async () => {
    const res = await stack.request('POST', `/v1/fetchers/${fetcher.id}/runs`, { rawBody: 'go', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
  });
});
