/**
 * The real parts a fetcher-run test needs: the shared Temporal dev server and
 * Postgres database, a simulator of its own, a blob store in a temp folder,
 * and a worker on a task queue of its own running the bundled workflows.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { openDatabase, type DatabaseHandle } from '../../db/database.js';
import { createScratchDatabase } from '../../db/scratch-database.js';
import { freshPgliteDir } from './pglite-template.js';
import { createConnection, type Connection as ConnectionRecord } from '../../db/connections.js';
import { findControl } from '../../db/controls.js';
import { createFetcher, setFetcherControls } from '../../db/fetchers.js';
import type { FetcherRow } from '../../db/schema.js';
import { createLocalBlobStore } from '../../evidence/local-blob-store.js';
import type { BlobStore } from '../../evidence/blob-store.js';
import { createSecretBox, type SecretBox } from '../../security/secret-box.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../simulator/server.js';
import { startFetcherRun } from '../../api/run-starter.js';
import type { RunRow } from '../../db/schema.js';
import { runWorkflowId, type FetcherRunResult, type RunTuning } from '../../shared/contracts.js';
import type { HostListDetectionFiltersInput } from '../../qualys/hld-params.js';
import type { CustomRequestInput } from '../../qualys/custom-request.js';
import { createRunWorker, type RunWorker } from '../../worker.js';
import { threadPageBytes, type ActivityDeps } from '../../activities/index.js';

/** Short enough that a killed worker's page is retried within seconds. */
export const FAST_TUNING: Partial<RunTuning> = {
  pageHeartbeatTimeoutMs: 5_000,
  pageMaxAttempts: 4,
  // Retries back off from a fifth of a second: tests wait on faults, not on the production 2 s.
  pageRetryInitialMs: 200,
  concurrencyPauseMs: 1_000,
};

export interface RunStack {
  sim: SimulatorHandle;
  database: DatabaseHandle;
  /** The Postgres URL of the stack's database (null on PGlite), for worker processes. */
  databaseUrl: string | null;
  blobStore: BlobStore;
  blobDir: string;
  secretBox: SecretBox;
  secretsKey: Buffer;
  client: Client;
  taskQueue: string;
  /** Lines the worker's logger wrote, to check no secret is logged. */
  logLines: string[];
  worker: RunWorker | null;
  /** Starts the in-process worker; `rangePulls` overrides the stack's range-pull tunables for it. */
  startWorker(overrides?: { rangePulls?: ActivityDeps['rangePulls'] }): Promise<RunWorker>;
  stopWorker(): Promise<void>;
  addConnection(overrides?: Partial<{ username: string; password: string; apiVersion: string; name: string }>): Promise<ConnectionRecord>;
  addHldFetcher(connection: ConnectionRecord, filters?: HostListDetectionFiltersInput, options?: { pageSize?: number; controls?: Array<[string, string]>; name?: string }): Promise<FetcherRow>;
  addCustomFetcher(connection: ConnectionRecord, request: CustomRequestInput, options?: { name?: string }): Promise<FetcherRow>;
  startRun(fetcher: FetcherRow, tuning?: Partial<RunTuning>): Promise<RunRow>;
  runToEnd(fetcher: FetcherRow, tuning?: Partial<RunTuning>): Promise<{ run: RunRow; result: FetcherRunResult }>;
  close(): Promise<void>;
}

export interface RunStackOptions {
  /** Where the worker keeps pages and evidence: a local directory in a temp folder unless given (e.g. an S3 store). */
  blobStore?: BlobStore;
  simulator?: SimulatorOptions;
  startWorker?: boolean;
  /**
   * A Postgres database of this stack's own on the test server (default), or
   * an embedded PGlite one. Own databases keep test files from seeing each
   * other's audit requests and evidence on the shared control catalog.
   */
  database?: 'postgres' | 'pglite';
  /** Range-pull tunables of the stack's worker (default: as in production). */
  rangePulls?: ActivityDeps['rangePulls'];
  /** Non-public ranges webhooks may reach (a loopback receiver needs `127.0.0.1/32`); none by default, as in production. */
  webhookAllowedCidrs?: string[];
  /** Where the worker reads and seals pages: on the activities' thread (default), or in a thread of its own as `npm run worker` does (local blobs only). */
  pageBytes?: 'inline' | 'thread';
}

export async function startRunStack(options: RunStackOptions = {}): Promise<RunStack> {
  const sim = await startSimulator({ hosts: 300, seed: 11, now: '2026-11-01T00:00:00Z', ...options.simulator });
  const blobDir = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-blobs-'));
  const pgliteDir = `${blobDir}-pglite`;
  const scratch = options.database === 'pglite' ? null : await createScratchDatabase(inject('databaseUrl'), 'qec_stack');
  const database = scratch ? await openDatabase({ url: scratch.url, max: 4 }) : await openDatabase({ pgliteDir: await freshPgliteDir(pgliteDir) });
  if (options.pageBytes === 'thread' && options.blobStore) throw new Error('the page-bytes thread builds its own local blob store: leave blobStore out');
  const blobStore = options.blobStore ?? createLocalBlobStore(blobDir);
  const secretsKey = randomBytes(32);
  const secretBox = createSecretBox(secretsKey);
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const taskQueue = `test-${randomUUID()}`;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

  let nativeConnection: NativeConnection | null = null;
  let workerRun: Promise<void> | null = null;

  const stack: RunStack = {
    sim,
    database,
    databaseUrl: scratch?.url ?? null,
    blobStore,
    blobDir,
    secretBox,
    secretsKey,
    client,
    taskQueue,
    logLines,
    worker: null,
    async startWorker(overrides = {}) {
      nativeConnection ??= await NativeConnection.connect({ address: inject('temporalAddress') });
      const worker = await createRunWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowBundlePath: inject('workflowBundlePath'),
        activityDeps: {
          db: database.db,
          blobStore,
          secretBox,
          logger,
          rangePulls: overrides.rangePulls ?? options.rangePulls,
          webhooks: { allowedCidrs: options.webhookAllowedCidrs ?? [] },
          ...(options.pageBytes === 'thread'
            ? { pageBytes: threadPageBytes({ blobStore: { blobDir, s3: null, staging: { graceMs: 300_000, sweepMs: 600_000 } }, logger }) }
            : {}),
        },
        shutdownGraceMs: 2_000,
      });
      stack.worker = worker;
      workerRun = worker.run();
      return worker;
    },
    async stopWorker() {
      if (!stack.worker) return;
      stack.worker.shutdown();
      await workerRun;
      stack.worker = null;
    },
    addConnection: (overrides = {}) =>
      createConnection(database.db, secretBox, {
        name: overrides.name ?? 'simulator',
        apiBaseUrl: sim.url,
        apiVersion: overrides.apiVersion ?? '5.0',
        username: overrides.username ?? 'demo',
        password: overrides.password ?? 'demo-pass',
      }),
    async addHldFetcher(conn, filters = {}, opts = {}) {
      const fetcher = await createFetcher(database.db, {
        connectionId: conn.id,
        name: opts.name ?? `HLD ${randomUUID().slice(0, 8)}`,
        kind: 'host_list_detection',
        config: { ...filters },
        format: filters.format ?? 'XML',
        pageSize: opts.pageSize ?? 1000,
      });
      if (opts.controls?.length) {
        const ids = [];
        for (const [framework, code] of opts.controls) {
          const control = await findControl(database.db, framework, code);
          if (!control) throw new Error(`no control ${framework} ${code}`);
          ids.push(control.id);
        }
        await setFetcherControls(database.db, fetcher.id, ids);
      }
      return fetcher;
    },
    addCustomFetcher: (conn, request, opts = {}) =>
      createFetcher(database.db, {
        connectionId: conn.id,
        name: opts.name ?? `Custom ${randomUUID().slice(0, 8)}`,
        kind: 'custom',
        config: { ...request },
        format: 'RAW',
      }),
    async startRun(fetcher, tuning = FAST_TUNING) {
      // A worker killed in the middle of a workflow task holds the run for this long (Temporal's default: 10 s).
      const { run } = await startFetcherRun({ db: database.db, client, taskQueue, workflowTaskTimeoutMs: 2_000 }, { fetcher, trigger: 'api', triggeredBy: 'test', tuning });
      return run;
    },
    async runToEnd(fetcher, tuning = FAST_TUNING) {
      const run = await stack.startRun(fetcher, tuning);
      const result = (await client.workflow.getHandle(runWorkflowId(run.id)).result()) as FetcherRunResult;
      return { run, result };
    },
    async close() {
      await stack.stopWorker();
      await nativeConnection?.close();
      await connection.close();
      await database.close();
      await scratch?.drop();
      await sim.close();
      await fs.rm(blobDir, { recursive: true, force: true });
      await fs.rm(pgliteDir, { recursive: true, force: true });
    },
  };
  if (options.startWorker ?? true) await stack.startWorker();
  return stack;
}
