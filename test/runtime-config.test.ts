/** The blob store, Qualys budget and worker settings as runtime/config.ts reads them from the environment. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../runtime/config.js';

describe('blob store configuration', () => {
  it('is the local directory unless BLOB_STORE_URL names an S3 bucket', () => {
    const local = loadConfig({ DATA_DIR: '/tmp/qec-data' });
    expect(local.s3).toBeNull();
    expect(local.blobDir).toBe('/tmp/qec-data/blobs');
    expect(local.staging).toEqual({ graceMs: 300_000, sweepMs: 600_000 });

    const s3 = loadConfig({ BLOB_STORE_URL: 's3://evidence-bucket/qualys/prod/', S3_ENDPOINT: 'http://127.0.0.1:7070', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_PART_SIZE_MB: '16' });
    expect(s3.s3).toEqual({
      bucket: 'evidence-bucket',
      prefix: 'qualys/prod/',
      endpoint: 'http://127.0.0.1:7070',
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      forcePathStyle: true,
      partBytes: 16 * 1024 * 1024,
    });
    // On AWS itself: the SDK's credential chain, virtual-host URLs, the bucket's root.
    expect(loadConfig({ BLOB_STORE_URL: 's3://evidence-bucket', S3_REGION: 'eu-central-1' }).s3).toMatchObject({
      prefix: '',
      endpoint: null,
      region: 'eu-central-1',
      credentials: null,
      forcePathStyle: false,
    });
  });

  it('refuses a malformed store URL, half a key pair, a part below 5 MB and a grace too short to read heartbeats, naming the variable', () => {
    expect(() => loadConfig({ BLOB_STORE_URL: 'https://bucket/prefix' })).toThrow(/BLOB_STORE_URL: must be s3:\/\/<bucket>\[\/<prefix>\]/);
    expect(() => loadConfig({ BLOB_STORE_URL: 's3://Bad_Bucket' })).toThrow(ConfigError);
    expect(() => loadConfig({ BLOB_STORE_URL: 's3://bucket', S3_ACCESS_KEY_ID: 'k' })).toThrow(/S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together/);
    expect(() => loadConfig({ S3_PART_SIZE_MB: '4' })).toThrow(/S3_PART_SIZE_MB/);
    expect(() => loadConfig({ S3_ENDPOINT: 'ftp://x' })).toThrow(/S3_ENDPOINT/);
    expect(() => loadConfig({ BLOB_STAGING_GRACE_SEC: '1' })).toThrow(/BLOB_STAGING_GRACE_SEC/);
  });
});

describe('Qualys budget configuration', () => {
  it('reserves no slot by default and lets a lease live a minute', () => {
    expect(loadConfig({}).qualys).toMatchObject({ concurrencyReserve: 0, leaseTtlMs: 60_000 });
    expect(loadConfig({ QUALYS_CONCURRENCY_RESERVE: '1', QUALYS_LEASE_TTL_SEC: '30' }).qualys).toMatchObject({ concurrencyReserve: 1, leaseTtlMs: 30_000 });
    expect(() => loadConfig({ QUALYS_CONCURRENCY_RESERVE: '-1' })).toThrow(/QUALYS_CONCURRENCY_RESERVE/);
  });
});

describe('worker configuration', () => {
  it('reads and seals pages in a thread of its own unless told inline, and refuses anything else, naming the variable', () => {
    expect(loadConfig({}).worker.pageBytes).toBe('thread');
    expect(loadConfig({ WORKER_PAGE_BYTES: 'inline' }).worker.pageBytes).toBe('inline');
    expect(() => loadConfig({ WORKER_PAGE_BYTES: 'threads' })).toThrow(/WORKER_PAGE_BYTES: must be thread or inline/);
  });
});
