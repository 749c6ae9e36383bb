/**
 * Builds what the worker and the API share from the configuration: the
 * database, the secret box, the blob store, the logger and the metrics
 * (one registry per process, so `npm start` serves everything on one URL).
 */
import type { AppConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openDatabase, type AppDatabase, type DatabaseHandle } from '../db/database.js';
import { createSecretBox, type SecretBox } from '../security/secret-box.js';
import { loadSecretsKey } from '../security/secrets-key.js';
import type { BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';

export interface AppContext {
  config: AppConfig;
  db: AppDatabase;
  database: DatabaseHandle;
  secretBox: SecretBox;
  blobStore: BlobStore;
  logger: Logger;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function createAppContext(config: AppConfig, options: { logger?: Logger } = {}): Promise<AppContext> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const key = await loadSecretsKey(
    config.secrets.key ? { secretsKey: config.secrets.key } : { keyFile: config.secrets.keyFile },
  );
  const database = await openDatabase(
    config.database.url ? { url: config.database.url, max: config.database.poolMax } : { pgliteDir: config.database.pgliteDir },
  );
  return {
    config,
    db: database.db,
    database,
    secretBox: createSecretBox(key),
    blobStore: await createConfiguredBlobStore(config),
    logger,
    metrics: createMetrics({ processMetrics: true }),
    close: () => database.close(),
  };
}

/**
 * The S3 store when BLOB_STORE_URL names one, else the local directory. The
 * S3 client is loaded only when it is used: it costs a worker about 20 MB.
 */
export async function createConfiguredBlobStore(config: AppConfig): Promise<BlobStore> {
  const { s3, staging } = config;
  if (!s3) return createLocalBlobStore(config.blobDir, { stagingGraceMs: staging.graceMs });
  const { createS3BlobStore } = await import('../evidence/s3-blob-store.js');
  return createS3BlobStore({
    bucket: s3.bucket,
    prefix: s3.prefix,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    region: s3.region,
    ...(s3.credentials ? { credentials: s3.credentials } : {}),
    forcePathStyle: s3.forcePathStyle,
    partBytes: s3.partBytes,
    stagingGraceMs: staging.graceMs,
  });
}
