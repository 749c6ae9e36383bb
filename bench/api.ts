/**
 * Benchmark `api`: how fast the HTTP API starts runs and answers status
 * reads under concurrent load. This process runs the real stack the way
 * `npm start` embeds it: a Temporal dev server (headless, in memory), the
 * database (a fresh Postgres database when DATABASE_URL is set, else
 * embedded PGlite in a temporary folder), a worker and the API on a free
 * loopback port; the small simulator runs in a process of its own. A second process (bench/api-load.ts,
 * undici with keep-alive) drives the load and reports every latency; this
 * one turns them into requests per second and p99.
 *
 * Keys: startRps, startP99ms, statusRps, statusP99ms, concurrency,
 * startRequests, statusRequests (plus p50s and error counts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { createApp } from '../api/app.js';
import { createApiKey } from '../db/api-keys.js';
import { createConnection } from '../db/connections.js';
import { createScratchDatabase } from '../db/scratch-database.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { createFetcher } from '../db/fetchers.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { loadConfig } from '../runtime/config.js';
import { createMetrics } from '../runtime/metrics.js';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer } from '../runtime/temporal-dev-server.js';
import { createSecretBox } from '../security/secret-box.js';
import { spawnSimulator } from '../simulator/spawn.js';
import { createRunWorker } from '../worker.js';
import type { LoadReport, PhaseReport } from './api-load.js';
import { bundleForNode, runChild } from './child.js';

const CONCURRENCY = 16;
const START_PHASE_MS = 10_000;
const STATUS_PHASE_MS = 10_000;
const HOSTS = 50;
/** Small pages (no RESULTS text): the runs exist to load the API, not to measure page parsing. */
const FILTERS = { extraParams: { show_results: 0 } };
const TASK_QUEUE = 'bench-api';

const say = (m: string) => process.stderr.write(`api: ${m}\n`);

async function openBenchDatabase(tmp: string): Promise<{ handle: DatabaseHandle; drop: () => Promise<void>; kind: string }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const handle = await openDatabase({ pgliteDir: path.join(tmp, 'pglite') });
    return { handle, drop: async () => {}, kind: 'PGlite (embedded)' };
  }
  const scratch = await createScratchDatabase(adminUrl, 'qec_bench_api');
  const handle = await openDatabase({ url: scratch.url, max: CONCURRENCY });
  return {
    handle,
    kind: 'Postgres',
    drop: scratch.drop,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function figures(report: PhaseReport) {
  const sorted = [...report.latenciesMs].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    rps: Math.round((sorted.length / (report.elapsedMs / 1000)) * 10) / 10,
    p50: Math.round(percentile(sorted, 50) * 10) / 10,
    p99: Math.round(percentile(sorted, 99) * 10) / 10,
    errors: report.errors,
  };
}

export async function run(): Promise<Record<string, number>> {
  // Undone in reverse order, whatever fails on the way.
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => say(`clean-up step failed: ${String(err)}`));
  };
  try {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-bench-api-'));
    cleanups.push(() => fs.rm(tmp, { recursive: true, force: true }));

    say('starting the Temporal dev server, the database and the simulator');
    const temporal = await startTemporalDevServer({ binary: await ensureTemporalCli(), uiPort: null });
    cleanups.push(() => temporal.stop());
    const database = await openBenchDatabase(tmp);
    cleanups.push(() => database.drop());
    cleanups.push(() => database.handle.close());
    const db = database.handle.db;
    // In a process of its own: generating Qualys answers must not compete with the API for this event loop.
    const sim = await spawnSimulator({ hosts: HOSTS, seed: 5, now: '2026-11-01T00:00:00Z', user: 'bench', password: 'bench-pass' });
    cleanups.push(() => sim.close());

    const secretBox = createSecretBox(randomBytes(32));
    const blobStore = createLocalBlobStore(path.join(tmp, 'blobs'));
    const logger = pino({ level: 'warn' }, process.stderr);
    // Counted as `npm start` counts: one registry for the worker and the API.
    const metrics = createMetrics({ processMetrics: true });
    const connection = await createConnection(db, secretBox, { name: 'bench simulator', apiBaseUrl: sim.url, username: 'bench', password: 'bench-pass' });
    const fetcher = await createFetcher(db, { connectionId: connection.id, name: 'bench', kind: 'host_list_detection', config: FILTERS, format: 'XML', pageSize: HOSTS });

    say('bundling workflows and starting the worker');
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => nativeConnection.close());
    const defaults = loadConfig({}).worker;
    const worker = await createRunWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      activityDeps: { db, blobStore, secretBox, logger, metrics },
      maxConcurrentActivities: defaults.maxConcurrentActivities,
      maxConcurrentWorkflowTasks: defaults.maxConcurrentWorkflowTasks,
      shutdownGraceMs: 1_000,
    });
    const workerRun = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await workerRun;
    });

    const clientConnection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => clientConnection.close());
    const app = createApp({
      db,
      secretBox,
      blobStore,
      logger,
      temporal: { client: new Client({ connection: clientConnection }), namespace: 'default', taskQueue: TASK_QUEUE, uiUrl: null },
      metrics,
    });
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { token } = await createApiKey(db, { name: 'bench', role: 'auditor' });

    const load = await bundleForNode(fileURLToPath(new URL('./api-load.ts', import.meta.url)));
    cleanups.push(() => load.cleanup());
    say(`API at ${baseUrl} on ${database.kind}; load: ${CONCURRENCY} concurrent requests, ${START_PHASE_MS / 1000} s of starts then ${STATUS_PHASE_MS / 1000} s of status reads`);
    const report = await runChild<LoadReport>(load.file, [baseUrl, token, fetcher.id, String(CONCURRENCY), String(START_PHASE_MS), String(STATUS_PHASE_MS)]);

    const start = figures(report.start);
    const status = figures(report.status);
    say(`starts: ${start.rps}/s, p50 ${start.p50} ms, p99 ${start.p99} ms, ${start.errors} errors; status: ${status.rps}/s, p50 ${status.p50} ms, p99 ${status.p99} ms, ${status.errors} errors`);
    return {
      startRps: start.rps,
      startP99ms: start.p99,
      statusRps: status.rps,
      statusP99ms: status.p99,
      concurrency: CONCURRENCY,
      startRequests: start.requests,
      statusRequests: status.requests,
      startP50ms: start.p50,
      statusP50ms: status.p50,
      startErrors: start.errors,
      statusErrors: status.errors,
    };
  } finally {
    say('cleaning up');
    await cleanup();
  }
}
