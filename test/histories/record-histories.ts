/**
 * Records the event histories of representative workflow runs, so later
 * workflow changes can be replayed against them (test/workflow-replay.test.ts).
 * Run it with `npm run record-histories` after a deliberate workflow change
 * has shipped; it writes test/fixtures/workflow-histories/<label>/ and keeps
 * older folders: runs started by earlier versions must keep replaying.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { listRunPages } from '../../db/run-pages.js';
import { getRun } from '../../db/runs.js';
import { createWebhook } from '../../db/webhooks.js';
import { PROJECT_ROOT } from '../../runtime/paths.js';
import { findTemporalCli } from '../../runtime/temporal-cli.js';
import { runWorkflowId, webhookDeliveryWorkflowId } from '../../shared/contracts.js';
import { FAST_TUNING, startRunStack, type RunStack } from '../support/run-stack.js';

const label = process.env.HISTORY_LABEL;
if (!label || !/^[a-z0-9][a-z0-9._-]*$/.test(label)) throw new Error('set HISTORY_LABEL to a folder name such as v2-range-pulls');
const outDir = path.join(PROJECT_ROOT, 'test/fixtures/workflow-histories', label);

let stack: RunStack;
let receiver: http.Server;

beforeAll(async () => {
  // The webhook receiver is on loopback, which deliveries may reach only when allow-listed.
  stack = await startRunStack({ simulator: { hosts: 60 }, webhookAllowedCidrs: ['127.0.0.1/32'] });
  receiver = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  await fs.mkdir(outDir, { recursive: true });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

/** The CLI writes the JSON form Temporal documents for replay (the SDK's own converter trips on two protobufjs copies). */
async function save(name: string, workflowId: string, runId?: string): Promise<void> {
  const binary = await findTemporalCli();
  if (!binary) throw new Error('no temporal CLI: run npm run setup');
  const args = ['workflow', 'show', '--address', inject('temporalAddress'), '--workflow-id', workflowId, '--output', 'json'];
  if (runId) args.push('--run-id', runId);
  const { stdout } = await promisify(execFile)(binary, args, { maxBuffer: 64 * 1024 * 1024 });
  await fs.writeFile(path.join(outDir, `${name}.json`), stdout);
}

async function settle(workflowId: string): Promise<void> {
  await stack.client.workflow.getHandle(workflowId).result().catch(() => {});
}

it('records a Host List Detection XML run with webhook delivery', async () => {
  const { port } = receiver.address() as AddressInfo;
  const webhook = await createWebhook(stack.database.db, stack.secretBox, { url: `http://127.0.0.1:${port}/hook`, secret: 'recorder-secret', events: ['run.completed'] });
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 20, controls: [['PCI DSS v3.2.1', '11.2']] });
  const { run } = await stack.runToEnd(fetcher);
  const delivery = webhookDeliveryWorkflowId(run.id, webhook.id);
  await settle(delivery);
  await save('hld-xml-with-webhook', runWorkflowId(run.id));
  await save('webhook-delivery', delivery);
});

it('records a CSV run', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, { format: 'CSV' }, { pageSize: 25 });
  const { run } = await stack.runToEnd(fetcher);
  await save('hld-csv', runWorkflowId(run.id));
});

it('records a custom fetcher run', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addCustomFetcher(connection, { method: 'POST', endpoint: '/api/2.0/fo/asset/group/?action=list', params: { truncation_limit: 4 } });
  const { run } = await stack.runToEnd(fetcher);
  await save('custom-paged-list', runWorkflowId(run.id));
});

it('records 409 waits, a page retry and continue-as-new', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 10 });
  stack.sim.configure({
    faults: {
      rateLimitNext: { count: 1, secondsToWait: 1, endpoint: 'detection' },
      concurrencyLimitNext: { count: 1, callsToFinish: 1, endpoint: 'detection' },
    },
  });
  const run = await stack.startRun(fetcher, { ...FAST_TUNING, concurrencyPauseMs: 1_000, pagesPerExecution: 3 });
  const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
  await handle.result();
  const { executions } = await stack.client.workflowService.listWorkflowExecutions({
    namespace: 'default',
    query: `WorkflowId = '${runWorkflowId(run.id)}'`,
  });
  expect(executions.length).toBeGreaterThan(1);
  const ordered = [...executions].sort((a, b) => Number(a.startTime!.seconds) - Number(b.startTime!.seconds));
  await save('waits-and-continue-as-new-first', runWorkflowId(run.id), ordered[0]!.execution!.runId!);
  await save('waits-and-continue-as-new-last', runWorkflowId(run.id), ordered.at(-1)!.execution!.runId!);
  stack.sim.reset();
});

it('records a retried page and a failed run', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 30 });
  stack.sim.configure({ faults: { failNext: { count: 1, status: 503, endpoint: 'detection' } } });
  const retried = await stack.runToEnd(fetcher);
  await save('page-retry', runWorkflowId(retried.run.id));
  const bad = await stack.addConnection({ password: 'wrong' });
  const failing = await stack.addHldFetcher(bad);
  const run = await stack.startRun(failing);
  await settle(runWorkflowId(run.id));
  await save('auth-failure', runWorkflowId(run.id));
  stack.sim.reset();
});

it('records calls that a later page ended: a failed attempt, then a refusal', async () => {
  const connection = await stack.addConnection();
  // A custom list is one range: the next page asked for after a stored one is always a later page of the same call.
  const fetcher = await stack.addCustomFetcher(connection, { method: 'POST', endpoint: '/api/2.0/fo/asset/group/?action=list', params: { truncation_limit: 1 } });
  const slow = { latencyMs: 150, endpoints: ['assetGroups' as const] };
  stack.sim.configure({ faults: slow });
  const run = await stack.startRun(fetcher);
  const stored = async () => (await listRunPages(stack.database.db, run.id)).length;
  // Armed once a call has stored a page, so the next page asked for is a later page of that call.
  await expect.poll(stored, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(1);
  stack.sim.configure({ faults: { ...slow, failNext: { count: 1, status: 503, endpoint: 'assetGroups' } } });
  await expect.poll(async () => (await listRunPages(stack.database.db, run.id)).some((p) => p.attempts > 1), { timeout: 20_000, interval: 20 }).toBe(true);
  // The retried page opened a new call; once it is stored, the next is again a later page.
  stack.sim.configure({ faults: { ...slow, rateLimitNext: { count: 1, secondsToWait: 1, endpoint: 'assetGroups' } } });
  await settle(runWorkflowId(run.id));
  expect((await getRun(stack.database.db, run.id))!.progress).toMatchObject({ waits: 1, retries: 1 });
  await save('page-call-interrupted', runWorkflowId(run.id));
  stack.sim.reset();
});

it('records a cancelled run', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection);
  stack.sim.configure({ faults: { slowBodyBytesPerSec: 2_000, endpoints: ['detection'] } });
  const run = await stack.startRun(fetcher);
  const handle = stack.client.workflow.getHandle(runWorkflowId(run.id));
  await expect.poll(() => stack.sim.stats().inFlight, { timeout: 20_000 }).toBeGreaterThan(0);
  await handle.cancel();
  await settle(runWorkflowId(run.id));
  await save('cancelled', runWorkflowId(run.id));
  stack.sim.reset();
});

it('records a page asked for again with fewer hosts', async () => {
  const connection = await stack.addConnection();
  const fetcher = await stack.addHldFetcher(connection, {}, { pageSize: 20 });
  stack.sim.configure({ faults: { maxHostsPerPage: 8 } });
  const { run } = await stack.runToEnd(fetcher, { ...FAST_TUNING, pageMaxAttempts: 1, pageAttemptsPerHalving: 1 });
  await save('page-size-halved', runWorkflowId(run.id));
  stack.sim.reset();
});
