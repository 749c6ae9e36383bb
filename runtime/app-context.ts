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
import { createConfiguredBlobStore } from './configured-blob-store.js';

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
