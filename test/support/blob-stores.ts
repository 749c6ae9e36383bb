/**
 * Both blob stores behind one test harness, so the same contract tests run
 * against the local directory and against S3 (the run's S3Proxy): each
 * harness makes a fresh, empty store and can list everything the store
 * holds, staging and multipart uploads included.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../evidence/blob-store.js';
import { createLocalBlobStore } from '../../evidence/local-blob-store.js';
import { createS3BlobStore, type S3BlobStore, type S3BlobStoreOptions } from '../../evidence/s3-blob-store.js';
import type { S3ProxyInfo } from './s3proxy.js';

export interface StoreHarness {
  store: BlobStore;
  /** Every entry the store holds, relative to its root or prefix, sorted; multipart uploads as `upload:<name>`. */
  everything(): Promise<string[]>;
  /** Staging entries (files, objects, multipart uploads), without owner heartbeats. */
  staging(): Promise<string[]>;
  /** A second store instance on the same storage, as another process would open it. */
  reopen(options?: { stagingGraceMs?: number }): BlobStore;
  /** Environment that makes the worker open this store. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export type StoreKind = 'local' | 's3';

export async function localHarness(options: { stagingGraceMs?: number } = {}): Promise<StoreHarness & { root: string }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'evidence-blobs-'));
  const everything = async () => {
    const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
      .sort();
  };
  return {
    root,
    store: createLocalBlobStore(root, options),
    everything,
    staging: async () => (await everything()).filter((f) => f.startsWith('tmp/') && !f.startsWith('tmp/owners/')),
    reopen: (o = {}) => createLocalBlobStore(root, o),
    env: { BLOB_DIR: root },
    close: () => fs.rm(root, { recursive: true, force: true }),
  };
}

export function s3Options(info: Extract<S3ProxyInfo, { available: true }>, bucket: string, prefix: string): S3BlobStoreOptions {
  return {
    bucket,
    prefix,
    endpoint: info.endpoint,
    region: info.region,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    forcePathStyle: true,
  };
}

export async function s3Harness(
  info: S3ProxyInfo,
  options: Partial<S3BlobStoreOptions> = {},
): Promise<StoreHarness & { store: S3BlobStore; bucket: string; prefix: string }> {
  if (!info.available) throw new Error(`S3Proxy is not available: ${info.reason}`);
  const bucket = `qec-${randomUUID()}`;
  const prefix = 'evidence/';
  // The smallest part S3 allows, so that a few megabytes take the multipart path.
  const base = { ...s3Options(info, bucket, prefix), partBytes: 5 * 1024 * 1024 };
  const store = createS3BlobStore({ ...base, ...options });
  await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
  const everything = async () => {
    const names: string[] = [];
    for await (const o of store.listObjects(prefix)) names.push(o.key.slice(prefix.length));
    for await (const u of store.listUploads()) names.push(`upload:${u.key.slice(prefix.length)}`);
    return names.sort();
  };
  const opened: S3BlobStore[] = [];
  return {
    store,
    bucket,
    prefix,
    everything,
    staging: async () => (await everything()).filter((f) => f.replace(/^upload:/, '').startsWith('tmp/') && !f.startsWith('tmp/owners/')),
    reopen: (o = {}) => {
      const other = createS3BlobStore({ ...base, ...options, ...o });
      opened.push(other);
      return other;
    },
    env: {
      BLOB_STORE_URL: `s3://${bucket}/${prefix}`,
      S3_ENDPOINT: info.endpoint,
      S3_REGION: info.region,
      S3_ACCESS_KEY_ID: info.accessKeyId,
      S3_SECRET_ACCESS_KEY: info.secretAccessKey,
    },
    close: async () => {
      for (const other of opened) other.close();
      store.close();
    },
  };
}
