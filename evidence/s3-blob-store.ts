/**
 * The blob store on S3 or an S3-compatible server, for workers on many
 * machines. Same contract as the local store:
 *  - a stage streams into `<prefix>tmp/<owner>.<uuid>.part` (a multipart
 *    upload past one part, see s3-upload-sink.ts) while hashing;
 *  - commit copies it server-side to `<prefix>sha256/<2 hex>/<64 hex>` and
 *    deletes the staging object. S3 makes an object visible only when the
 *    copy completes, so nothing partial ever appears under a key, and an
 *    existing identical blob is kept (its key says its content);
 *  - abort aborts the multipart upload or deletes the staging object;
 *  - staging of killed processes is reclaimed by staging-reclaim.ts's rule,
 *    with heartbeats as objects under `<prefix>tmp/owners/`.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { blobKeyFor, sha256OfBlobKey } from './blob-key.js';
import { BlobNotFoundError, streamParts, type BlobPart, type BlobRange, type BlobStat, type BlobStore, type ReclaimReport, type StagedBlob } from './blob-store.js';
import { MIN_PART_BYTES, S3UploadSink } from './s3-upload-sink.js';
import { isOwnerId, ownerOfStagingName, StagingOwner, stagingName } from './staging-owner.js';
import { decideReclaim, DEFAULT_STAGING_GRACE_MS, heartbeatIntervalMs, type OwnerHeartbeat, type StagingEntry } from './staging-reclaim.js';

// The pinned SDK supports Node 20; its notice is about later releases and would only add noise to every log.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** S3 copies at most 5 GiB in one CopyObject; larger blobs are copied part by part. */
const SINGLE_COPY_MAX_BYTES = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 ** 2;
const COPY_PARTS_AT_ONCE = 4;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix, e.g. `evidence/` (a trailing slash is added when missing); empty for the bucket's root. */
  prefix?: string;
  /** For S3-compatible servers (MinIO, Garage, S3Proxy…); AWS when absent. */
  endpoint?: string;
  region?: string;
  /** Static credentials; the AWS SDK's default chain (environment, profile, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Part size of uploads: memory per stage is about twice this. */
  partBytes?: number;
  stagingGraceMs?: number;
  /** Tests lower these to exercise the multipart copy with small blobs. */
  singleCopyMaxBytes?: number;
  copyPartBytes?: number;
}

export function createS3BlobStore(options: S3BlobStoreOptions): S3BlobStore {
  return new S3BlobStore(options);
}

export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partBytes: number;
  private readonly graceMs: number;
  private readonly singleCopyMaxBytes: number;
  private readonly copyPartBytes: number;
  private readonly owner: StagingOwner;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = normalisePrefix(options.prefix ?? '');
    this.partBytes = Math.max(MIN_PART_BYTES, options.partBytes ?? DEFAULT_PART_BYTES);
    this.graceMs = options.stagingGraceMs ?? DEFAULT_STAGING_GRACE_MS;
    this.singleCopyMaxBytes = options.singleCopyMaxBytes ?? SINGLE_COPY_MAX_BYTES;
    this.copyPartBytes = Math.max(MIN_PART_BYTES, options.copyPartBytes ?? COPY_PART_BYTES);
    this.client = new S3Client({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region ?? 'us-east-1',
      ...(options.credentials ? { credentials: options.credentials } : {}),
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      // Checksums only where S3 requires them: many S3-compatible servers refuse
      // the newer aws-chunked trailers, and our own SHA-256 guards the content.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.owner = new StagingOwner(
      {
        write: async (id) => {
          await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.ownerKey(id), Body: '', ContentLength: 0 }));
        },
        remove: async (id) => {
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.ownerKey(id) }));
        },
      },
      heartbeatIntervalMs(this.graceMs),
    );
  }

  pathOf(key: string): null {
    sha256OfBlobKey(key);
    return null;
  }

  /** The object key of a blob key. */
  objectKey(key: string): string {
    sha256OfBlobKey(key);
    return `${this.prefix}${key}`;
  }

  get stagingPrefix(): string {
    return `${this.prefix}tmp/`;
  }

  private ownerKey(ownerId: string): string {
    return `${this.stagingPrefix}owners/${ownerId}`;
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, opts: { signal?: AbortSignal } = {}): Promise<BlobStat> {
    opts.signal?.throwIfAborted();
    const staged = await this.stage();
    try {
      await pipeline(source, staged.sink, { signal: opts.signal });
      return await staged.commit();
    } catch (error) {
      await staged.abort();
      throw error;
    }
  }

  putParts(parts: readonly BlobPart[], opts: { signal?: AbortSignal } = {}): Promise<BlobStat> {
    return this.put(streamParts(this, parts), opts);
  }

  async stage(): Promise<StagedBlob> {
    const leave = await this.owner.enter();
    const tempKey = `${this.stagingPrefix}${stagingName(this.owner.id, randomUUID())}`;
    const sink = new S3UploadSink({ client: this.client, bucket: this.bucket, key: tempKey, partBytes: this.partBytes });
    return new S3StagedBlob(this, tempKey, sink, leave);
  }

  async get(key: string, range?: BlobRange): Promise<Readable> {
    const objectKey = this.objectKey(key);
    const stat = await this.stat(key);
    if (!stat) throw new BlobNotFoundError(key);
    const start = range?.start ?? 0;
    const end = range?.end ?? stat.bytes;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > stat.bytes) {
      throw new RangeError(`range [${start}, ${end}) is not inside blob ${key} of ${stat.bytes} bytes`);
    }
    if (start === end) return Readable.from([]);
    const whole = start === 0 && end === stat.bytes;
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, ...(whole ? {} : { Range: `bytes=${start}-${end - 1}` }) }),
      );
      return answer.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    const sha256 = sha256OfBlobKey(key);
    const bytes = await this.sizeOf(this.objectKey(key));
    return bytes === null ? null : { key, bytes, sha256 };
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async reclaimStaging(): Promise<ReclaimReport> {
    // Entries (multipart uploads, then staging objects) first, heartbeats last: see staging-reclaim.ts.
    const uploads = new Map<string, string>();
    const entries: StagingEntry[] = [];
    for await (const upload of this.listUploads()) {
      const name = upload.key.slice(this.stagingPrefix.length);
      const owner = ownerOfStagingName(name);
      if (owner === undefined) continue;
      const entryName = `${name}#${upload.uploadId}`;
      uploads.set(entryName, upload.uploadId);
      entries.push({ name: entryName, owner, at: upload.initiated });
    }
    for await (const object of this.listObjects(this.stagingPrefix, '/')) {
      const name = object.key.slice(this.stagingPrefix.length);
      const owner = ownerOfStagingName(name);
      if (owner !== undefined) entries.push({ name, owner, at: object.lastModified });
    }
    const heartbeats: OwnerHeartbeat[] = [];
    for await (const object of this.listObjects(this.ownerKey(''))) {
      const owner = object.key.slice(this.ownerKey('').length);
      if (isOwnerId(owner)) heartbeats.push({ owner, at: object.lastModified });
    }
    const decision = decideReclaim(entries, heartbeats, new Date(), this.graceMs);
    for (const entry of decision.remove) {
      const uploadId = uploads.get(entry.name);
      if (uploadId) {
        const key = `${this.stagingPrefix}${entry.name.slice(0, entry.name.indexOf('#'))}`;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch((error: { name?: string }) => {
          if (error.name !== 'NoSuchUpload') throw error;
        });
      } else {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.stagingPrefix}${entry.name}` }));
      }
    }
    for (const beat of decision.staleHeartbeats) {
      // An owner that came back to life since the listing has refreshed its heartbeat: keep it.
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.ownerKey(beat.owner) })).catch(() => null);
      if (head?.LastModified?.getTime() === beat.at.getTime()) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.ownerKey(beat.owner) }));
      }
    }
    return { removed: decision.remove.map((e) => e.name), kept: decision.keep.length };
  }

  /** The multipart uploads in progress under the staging prefix. */
  async *listUploads(): AsyncGenerator<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.stagingPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) };
      }
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Objects under `prefix`; with a delimiter, only those not in a deeper "folder". */
  async *listObjects(prefix: string, delimiter?: string): AsyncGenerator<{ key: string; size: number; lastModified: Date }> {
    let token: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      if (!page.IsTruncated || !page.NextContinuationToken) return;
      token = page.NextContinuationToken;
    }
  }

  async sizeOf(objectKey: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Server-side copy; one request up to 5 GiB, part by part above. */
  async copy(fromKey: string, toKey: string, bytes: number): Promise<void> {
    const source = `${this.bucket}/${encodeURIComponent(fromKey).replace(/%2F/g, '/')}`;
    if (bytes <= this.singleCopyMaxBytes) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource: source }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: toKey }));
    try {
      const partBytes = Math.max(this.copyPartBytes, Math.ceil(bytes / 10_000));
      const ranges: Array<[number, number]> = [];
      for (let start = 0; start < bytes; start += partBytes) ranges.push([start, Math.min(bytes, start + partBytes) - 1]);
      const parts: CompletedPart[] = new Array(ranges.length);
      let next = 0;
      const copyOne = async () => {
        while (next < ranges.length) {
          const index = next++;
          const [first, last] = ranges[index]!;
          const answer = await this.client.send(
            new UploadPartCopyCommand({ Bucket: this.bucket, Key: toKey, UploadId, PartNumber: index + 1, CopySource: source, CopySourceRange: `bytes=${first}-${last}` }),
          );
          parts[index] = { PartNumber: index + 1, ETag: answer.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_PARTS_AT_ONCE, ranges.length) }, copyOne));
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, UploadId })).catch(() => {});
      throw error;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

class S3StagedBlob implements StagedBlob {
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private committing: Promise<unknown> | null = null;

  constructor(
    private readonly store: S3BlobStore,
    private readonly tempKey: string,
    readonly sink: S3UploadSink,
    private readonly leave: () => Promise<void>,
  ) {}

  commit(): Promise<BlobStat> {
    if (this.state !== 'open') return Promise.reject(new Error(`staged blob cannot be committed: it is ${this.state}`));
    this.state = 'committing';
    const result = this.publish().then(
      async (stat) => {
        this.state = 'committed';
        await this.leave();
        return stat;
      },
      async (error: unknown) => {
        await this.discard();
        throw error;
      },
    );
    this.committing = result.catch(() => undefined);
    return result;
  }

  async abort(): Promise<void> {
    if (this.state === 'committing') await this.committing;
    if (this.state === 'open') await this.discard();
  }

  private async publish(): Promise<BlobStat> {
    if (!this.sink.writableEnded) this.sink.end();
    await finished(this.sink);
    const sha256 = this.sink.digest();
    const stat: BlobStat = { key: blobKeyFor(sha256), bytes: this.sink.bytes, sha256 };
    const target = this.store.objectKey(stat.key);
    // Same key, same bytes: the blob already stored wins and the copy goes.
    if ((await this.store.sizeOf(target)) === null) await this.store.copy(this.tempKey, target, stat.bytes);
    await this.deleteTemp();
    return stat;
  }

  private async discard(): Promise<void> {
    this.state = 'aborted';
    try {
      await this.sink.abort();
      await this.deleteTemp();
    } finally {
      await this.leave();
    }
  }

  private async deleteTemp(): Promise<void> {
    await this.store.client.send(new DeleteObjectCommand({ Bucket: this.store.bucket, Key: this.tempKey }));
  }
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
