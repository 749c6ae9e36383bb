/**
 * The Temporal worker: fetcher-run workflows plus their activities. Run
 * alone with `npm run worker` (TEMPORAL_ADDRESS, DATABASE_URL and
 * SECRETS_KEY point it at shared services; WORKER_METRICS_PORT adds
 * /metrics and /healthz), or embedded by `npm start`.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, createQualysClientPool, failureInterceptor, threadPageBytes, type ActivityDeps } from './activities/index.js';
import { loadConfig } from './runtime/config.js';
import { createAppContext, type AppContext } from './runtime/app-context.js';
import { startMetricsServer } from './runtime/metrics-server.js';
import { installTemporalRuntime } from './runtime/temporal-runtime.js';
import { startStagingSweeper } from './runtime/staging-sweeper.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
const MAX_HEARTBEAT_THROTTLE = '5 seconds';
/** docker-compose's health check reads this file's age. */
const ALIVE_INTERVAL_MS = 15_000;

export interface RunWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activityDeps: ActivityDeps;
  /** A prebuilt workflow bundle (tests bundle once); built from workflows/ when absent. */
  workflowBundlePath?: string;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  /** How long in-flight pages may finish on shutdown before they are cancelled. */
  shutdownGraceMs?: number;
  /** How soon other workers take over the runs a crashed worker had cached. */
  stickyQueueTimeoutMs?: number;
}

/** A worker that closes its Qualys clients once it has stopped. */
export type RunWorker = Pick<Worker, 'shutdown' | 'getState'> & {
  /** Runs until shutdown (SIGINT/SIGTERM or `shutdown()`). */
  run(): Promise<void>;
};

export async function createRunWorker(options: RunWorkerOptions): Promise<RunWorker> {
  const workflows: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: WORKFLOWS_PATH };
  // Recorded in each run's chain of custody: which worker did what.
  const identity = `${process.pid}@${os.hostname()}`;
  const activityDeps = { ...options.activityDeps, workerIdentity: identity };
  const qualysClients = createQualysClientPool(activityDeps);
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...workflows,
    identity,
    activities: createActivities(activityDeps, qualysClients),
    interceptors: { activity: [failureInterceptor(activityDeps.metrics)] },
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks,
    shutdownGraceTime: options.shutdownGraceMs,
    ...(options.stickyQueueTimeoutMs === undefined ? {} : { stickyQueueScheduleToStartTimeout: options.stickyQueueTimeoutMs }),
    // Cancellation reaches an activity with its next heartbeat; keep that prompt
    // even when the heartbeat timeout is long.
    maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE,
  });
  return {
    async run() {
      try {
        await worker.run();
      } finally {
        await qualysClients.closeAll();
        await activityDeps.pageBytes?.close();
      }
    },
    shutdown: () => worker.shutdown(),
    getState: () => worker.getState(),
  };
}

/** The worker as configured by the environment. */
export function createConfiguredWorker(ctx: AppContext, connection: NativeConnection): Promise<RunWorker> {
  const { config } = ctx;
  return createRunWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activityDeps: {
      db: ctx.db,
      blobStore: ctx.blobStore,
      secretBox: ctx.secretBox,
      logger: ctx.logger,
      qualysTimeouts: config.qualys.timeouts,
      qualysBudget: { concurrencyReserve: config.qualys.concurrencyReserve, leaseTtlMs: config.qualys.leaseTtlMs },
      rangePulls: { concurrencyReserve: config.qualys.concurrencyReserve, maxParallel: config.runs.maxParallelRanges },
      webhooks: config.webhooks,
      metrics: ctx.metrics,
      ...(config.worker.pageBytes === 'thread' ? { pageBytes: threadPageBytes({ blobStore: config, logger: ctx.logger, metrics: ctx.metrics }) } : {}),
    },
    workflowBundlePath: config.worker.workflowBundlePath ?? undefined,
    maxConcurrentActivities: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTasks: config.worker.maxConcurrentWorkflowTasks,
    shutdownGraceMs: config.worker.shutdownGraceMs,
    stickyQueueTimeoutMs: config.worker.stickyQueueTimeoutMs,
  });
}

/** Touches DATA_DIR/worker.alive while the worker runs. */
export function keepAliveFile(dataDir: string, worker: RunWorker): () => void {
  const file = path.join(dataDir, 'worker.alive');
  const touch = async () => {
    if (worker.getState() !== 'RUNNING') return;
    await fs.mkdir(dataDir, { recursive: true });
    await fs.writeFile(file, new Date().toISOString());
  };
  const timer = setInterval(() => void touch().catch(() => {}), ALIVE_INTERVAL_MS);
  timer.unref();
  void touch().catch(() => {});
  return () => clearInterval(timer);
}

/** `npm run worker`: one worker, configured by the environment, until SIGINT/SIGTERM. */
export async function runWorkerProcess(): Promise<void> {
  const config = loadConfig();
  const ctx = await createAppContext(config);
  const { metricsPort } = config.worker;
  await installTemporalRuntime(ctx.logger, metricsPort === null ? {} : { metrics: ctx.metrics });
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.dev.port}`;
  const connection = await NativeConnection.connect({ address });
  const worker = await createConfiguredWorker(ctx, connection);
  const stopAlive = keepAliveFile(config.dataDir, worker);
  const stopSweeper = startStagingSweeper(ctx.blobStore, { intervalMs: config.staging.sweepMs, logger: ctx.logger });
  const metricsServer =
    metricsPort === null
      ? null
      : await startMetricsServer({
          metrics: ctx.metrics,
          host: config.api.host,
          port: metricsPort,
          token: config.metricsToken,
          unhealthy: () => (worker.getState() === 'RUNNING' ? null : `the worker is ${worker.getState().toLowerCase()}`),
          logger: ctx.logger,
        });
  ctx.logger.info(
    { address, taskQueue: config.temporal.taskQueue, blobStore: config.s3 ? 's3' : 'local', metrics: metricsServer ? `${metricsServer.url}/metrics` : null },
    'worker started',
  );
  try {
    // The SDK turns SIGINT/SIGTERM into a graceful shutdown.
    await worker.run();
  } finally {
    stopAlive();
    await stopSweeper();
    await metricsServer?.close();
    await connection.close();
    await ctx.close();
    ctx.logger.info('worker stopped');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runWorkerProcess().catch((err) => {
    process.stderr.write(`worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
