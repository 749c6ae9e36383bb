/**
 * The one place configuration is read. Every setting comes from the
 * environment, is validated here, and is documented in the README's table.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseCidrs } from '../security/webhook-target.js';
import { PROJECT_ROOT } from './paths.js';
import { DEFAULT_TASK_QUEUE } from '../shared/contracts.js';

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `s3://bucket` or `s3://bucket/prefix`; bucket names as S3 allows them. */
const BLOB_STORE_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

const envSchema = z.object({
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: optionalString.pipe(
    z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  ),
  DATABASE_POOL_MAX: int(1, 100).default(10),
  SECRETS_KEY: optionalString,
  BLOB_DIR: optionalString,
  BLOB_STORE_URL: optionalString.pipe(z.string().regex(BLOB_STORE_URL, 'must be s3://<bucket>[/<prefix>]').optional()),
  S3_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional()),
  S3_REGION: z.string().trim().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_SESSION_TOKEN: optionalString,
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional(),
  S3_PART_SIZE_MB: int(5, 5120).default(8),
  BLOB_STAGING_GRACE_SEC: int(3, 86_400).default(300),
  BLOB_STAGING_SWEEP_SEC: int(1, 86_400).default(600),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default(DEFAULT_TASK_QUEUE),
  TEMPORAL_UI_URL: optionalString.pipe(z.url().optional()),
  TEMPORAL_DEV_PORT: int(1, 65535).default(7233),
  TEMPORAL_DEV_UI_PORT: int(1, 65535).default(8233),

  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),

  WORKER_MAX_CONCURRENT_ACTIVITIES: int(1, 1000).default(8),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: int(1, 1000).default(20),
  WORKER_SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(30_000),
  WORKER_STICKY_QUEUE_TIMEOUT_MS: int(100, 600_000).default(10_000),
  WORKER_PAGE_BYTES: z.enum(['thread', 'inline'], { error: 'must be thread or inline' }).default('thread'),
  WORKFLOW_BUNDLE_PATH: optionalString,
  WORKER_METRICS_PORT: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), int(0, 65535).optional()),
  METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),

  QUALYS_CONCURRENCY_RESERVE: int(0, 1000).default(0),
  RUN_MAX_PARALLEL_RANGES: int(1, 100).default(10),
  QUALYS_CONNECT_TIMEOUT_MS: int(1000, 600_000).optional(),
  QUALYS_FIRST_BYTE_TIMEOUT_MS: int(1000, 3_600_000).optional(),
  QUALYS_IDLE_TIMEOUT_MS: int(1000, 3_600_000).optional(),
  QUALYS_LEASE_TTL_SEC: int(5, 3600).default(60),

  WEBHOOK_ALLOWED_CIDRS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const list = text.split(',').map((item) => item.trim()).filter(Boolean);
      try {
        parseCidrs(list);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
      return list;
    }),
  WEBHOOK_TIMEOUT_MS: int(1000, 120_000).default(10_000),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

export interface AppConfig {
  dataDir: string;
  database: { url: string | null; pgliteDir: string; poolMax: number };
  secrets: { key: string | null; keyFile: string };
  blobDir: string;
  /** The S3 store when BLOB_STORE_URL is set; the local directory `blobDir` otherwise. */
  s3: S3Config | null;
  staging: {
    /** A writer silent for this long has died: its staging is reclaimed. */
    graceMs: number;
    /** How often the worker looks for abandoned staging. */
    sweepMs: number;
  };
  temporal: {
    /** null: start (or reuse) the embedded dev server. */
    address: string | null;
    namespace: string;
    taskQueue: string;
    uiUrl: string | null;
    dev: { port: number; uiPort: number; dbFile: string; logFile: string };
  };
  api: { host: string; port: number };
  worker: {
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    shutdownGraceMs: number;
    /** How long a run's next step waits for the worker that cached it before any worker takes it (a crashed worker's runs resume after this). */
    stickyQueueTimeoutMs: number;
    /** A prebuilt workflow bundle; workflows are bundled at start-up when absent. */
    workflowBundlePath: string | null;
    /** `npm run worker`'s /metrics and /healthz server (on HOST); null: none. 0 picks a free port. */
    metricsPort: number | null;
    /** Where pages are read from Qualys and evidence is sealed: a thread of the worker's own (its heap stays small), or the activities' thread. */
    pageBytes: 'thread' | 'inline';
  };
  /** When set, /metrics (API and worker) wants `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  qualys: {
    timeouts: { connectMs?: number; firstByteMs?: number; idleMs?: number };
    /** Calls of the subscription's concurrency limit left to the customer's other tools. */
    concurrencyReserve: number;
    /** A call slot whose holder stops renewing it is free again after this long. */
    leaseTtlMs: number;
  };
  /** Host ID ranges one run pulls at once, at most. */
  runs: { maxParallelRanges: number };
  /** `allowedCidrs`: non-public ranges webhooks may reach anyway (everything else non-public is refused). */
  webhooks: { allowedCidrs: string[]; timeoutMs: number };
  logLevel: Env['LOG_LEVEL'];
}

export interface S3Config {
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
  endpoint: string | null;
  region: string;
  /** null: the AWS SDK's default credential chain. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
  forcePathStyle: boolean;
  partBytes: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError('invalid configuration:\n  S3_ACCESS_KEY_ID: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together');
  }
  const dataDir = path.resolve(PROJECT_ROOT, e.DATA_DIR);
  return {
    dataDir,
    database: { url: e.DATABASE_URL ?? null, pgliteDir: path.join(dataDir, 'pglite'), poolMax: e.DATABASE_POOL_MAX },
    secrets: { key: e.SECRETS_KEY ?? null, keyFile: path.join(dataDir, 'secrets.key') },
    blobDir: e.BLOB_DIR ? path.resolve(PROJECT_ROOT, e.BLOB_DIR) : path.join(dataDir, 'blobs'),
    s3: e.BLOB_STORE_URL ? s3Config(e, e.BLOB_STORE_URL) : null,
    staging: { graceMs: e.BLOB_STAGING_GRACE_SEC * 1000, sweepMs: e.BLOB_STAGING_SWEEP_SEC * 1000 },
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? null,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL ?? null,
      dev: {
        port: e.TEMPORAL_DEV_PORT,
        uiPort: e.TEMPORAL_DEV_UI_PORT,
        dbFile: path.join(dataDir, 'temporal', 'dev-server.sqlite'),
        logFile: path.join(dataDir, 'temporal', 'dev-server.log'),
      },
    },
    api: { host: e.HOST, port: e.PORT },
    worker: {
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
      stickyQueueTimeoutMs: e.WORKER_STICKY_QUEUE_TIMEOUT_MS,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH ? path.resolve(PROJECT_ROOT, e.WORKFLOW_BUNDLE_PATH) : null,
      metricsPort: e.WORKER_METRICS_PORT ?? null,
      pageBytes: e.WORKER_PAGE_BYTES,
    },
    metricsToken: e.METRICS_TOKEN ?? null,
    qualys: {
      timeouts: {
        connectMs: e.QUALYS_CONNECT_TIMEOUT_MS,
        firstByteMs: e.QUALYS_FIRST_BYTE_TIMEOUT_MS,
        idleMs: e.QUALYS_IDLE_TIMEOUT_MS,
      },
      concurrencyReserve: e.QUALYS_CONCURRENCY_RESERVE,
      leaseTtlMs: e.QUALYS_LEASE_TTL_SEC * 1000,
    },
    runs: { maxParallelRanges: e.RUN_MAX_PARALLEL_RANGES },
    webhooks: { allowedCidrs: e.WEBHOOK_ALLOWED_CIDRS, timeoutMs: e.WEBHOOK_TIMEOUT_MS },
    logLevel: e.LOG_LEVEL,
  };
}

function s3Config(e: Env, url: string): S3Config {
  const [, bucket, rawPrefix = ''] = BLOB_STORE_URL.exec(url)!;
  const prefix = rawPrefix.replace(/^\/+|\/+$/g, '');
  return {
    bucket: bucket!,
    prefix: prefix === '' ? '' : `${prefix}/`,
    endpoint: e.S3_ENDPOINT ?? null,
    region: e.S3_REGION,
    credentials:
      e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY, ...(e.S3_SESSION_TOKEN ? { sessionToken: e.S3_SESSION_TOKEN } : {}) }
        : null,
    // S3-compatible servers mostly need path-style URLs; AWS itself prefers virtual hosts.
    forcePathStyle: e.S3_FORCE_PATH_STYLE === undefined ? Boolean(e.S3_ENDPOINT) : e.S3_FORCE_PATH_STYLE === 'true' || e.S3_FORCE_PATH_STYLE === '1',
    partBytes: e.S3_PART_SIZE_MB * 1024 * 1024,
  };
}
