/**
 * What the benchmarks that run fetchers through Temporal stand on: a
 * Temporal dev server, a fresh Postgres database, the workflows bundled, the
 * production worker in a process of its own, and a host-list-detection
 * fetcher on the simulator's subscription. Everything it starts is added to
 * `cleanups` (run newest first by the caller).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startFetcherRun } from '../api/run-starter.js';
import { createConnection } from '../db/connections.js';
import { openDatabase } from '../db/database.js';
import { createFetcher } from '../db/fetchers.js';
import { startPostgresServer } from '../db/postgres-server.js';
import { createScratchDatabase } from '../db/scratch-database.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer } from '../runtime/temporal-dev-server.js';
import { createSecretBox } from '../security/secret-box.js';
import { runWorkflowId, type FetcherRunResult } from '../shared/contracts.js';
import { startBenchWorker, type BenchWorker } from './worker-process.js';

/** The simulator's account in every benchmark. */
export const BENCH_CREDENTIALS = { user: 'bench', password: 'bench-pass' };

export interface FetcherRunStackOptions {
  /** A scratch folder of the benchmark's: the bundle and the worker's data go there. */
  work: string;
  cleanups: Array<() => Promise<unknown>>;
  simUrl: string;
  name: string;
  /** The fetcher's definition, as the API takes it. */
  filters: Parameters<typeof createFetcher>[1]['config'];
  pageSize: number;
  /** Settings of the worker process beyond the stack's own (e.g. RUN_MAX_PARALLEL_RANGES). */
  workerEnv?: NodeJS.ProcessEnv;
  onWorkerLine?: (line: string) => void;
}

export interface FetcherRunStack {
  worker: BenchWorker;
  /** Runs the fetcher to its end; seconds from the start request to the result. */
  runFetcher(): Promise<{ result: FetcherRunResult; seconds: number }>;
}

export async function startFetcherRunStack(options: FetcherRunStackOptions): Promise<FetcherRunStack> {
  const { work, cleanups } = options;
  const temporal = await startTemporalDevServer({ binary: await ensureTemporalCli(), uiPort: null });
  cleanups.push(() => temporal.stop());
  const postgres = await startPostgresServer();
  cleanups.push(() => postgres.stop());
  const database = await createScratchDatabase(postgres.url, `qec_bench_${options.name}`);
  cleanups.push(() => database.drop());
  const db = await openDatabase({ url: database.url, max: 2 });
  cleanups.push(() => db.close());

  const bundlePath = path.join(work, 'workflows.js');
  const quiet = { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} };
  await fs.writeFile(bundlePath, (await bundleWorkflowCode({ workflowsPath: path.join(PROJECT_ROOT, 'workflows/index.ts'), logger: quiet })).code);

  const secretsKey = randomBytes(32);
  const taskQueue = `bench-${options.name}`;
  const worker = await startBenchWorker(
    {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      SECRETS_KEY: secretsKey.toString('base64'),
      DATA_DIR: path.join(work, 'worker'),
      WORKFLOW_BUNDLE_PATH: bundlePath,
      ...options.workerEnv,
    },
    options.onWorkerLine,
  );
  cleanups.push(() => worker.stop());

  const connection = await createConnection(db.db, createSecretBox(secretsKey), {
    name: 'bench simulator',
    apiBaseUrl: options.simUrl,
    username: BENCH_CREDENTIALS.user,
    password: BENCH_CREDENTIALS.password,
  });
  const fetcher = await createFetcher(db.db, {
    connectionId: connection.id,
    name: options.name,
    kind: 'host_list_detection',
    config: options.filters,
    format: 'XML',
    pageSize: options.pageSize,
  });
  const temporalConnection = await Connection.connect({ address: temporal.address });
  cleanups.push(() => temporalConnection.close());
  const client = new Client({ connection: temporalConnection });

  return {
    worker,
    async runFetcher() {
      const started = process.hrtime.bigint();
      const { run } = await startFetcherRun({ db: db.db, client, taskQueue }, { fetcher, trigger: 'cli', triggeredBy: 'bench' });
      const result = (await client.workflow
        .getHandle(runWorkflowId(run.id))
        .result()
        .catch((err: unknown) => {
          throw new Error(`the run failed: ${(err as Error).message}\n${worker.output()}`);
        })) as FetcherRunResult;
      return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    },
  };
}
