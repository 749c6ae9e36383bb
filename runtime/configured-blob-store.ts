/**
 * The blob store the configuration names, on its own so that the page-read
 * thread builds the same store without loading the rest of the app.
 */
import type { AppConfig } from './config.js';
import type { BlobStore } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';

/** The part of the configuration a blob store is made from; plain data, so it can be handed to a thread. */
export type BlobStoreConfig = Pick<AppConfig, 'blobDir' | 's3' | 'staging'>;

/**
 * The S3 store when BLOB_STORE_URL names one, else the local directory. The
 * S3 client is loaded only when it is used: it costs a worker about 20 MB.
 */
export async function createConfiguredBlobStore(config: BlobStoreConfig): Promise<BlobStore> {
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
