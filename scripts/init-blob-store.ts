/**
 * `npm run blobs:init`: makes the configured blob store ready. For an S3
 * store (BLOB_STORE_URL) it creates the bucket when it does not exist yet, so
 * a fresh docker-compose deployment needs no manual step; the local store
 * needs nothing. Safe to run on every start.
 */
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { createConfiguredBlobStore } from '../runtime/configured-blob-store.js';
import { loadConfig } from '../runtime/config.js';
import { S3BlobStore } from '../evidence/s3-blob-store.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const store = await createConfiguredBlobStore(config);
  if (!(store instanceof S3BlobStore)) {
    process.stdout.write(`local blob store in ${config.blobDir}: nothing to prepare\n`);
    return;
  }
  try {
    await store.client.send(new HeadBucketCommand({ Bucket: store.bucket }));
    process.stdout.write(`bucket ${store.bucket} exists\n`);
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw err;
    await store.client.send(new CreateBucketCommand({ Bucket: store.bucket }));
    process.stdout.write(`bucket ${store.bucket} created\n`);
  } finally {
    store.close();
  }
}

main().catch((err) => {
  process.stderr.write(`blob store init failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
