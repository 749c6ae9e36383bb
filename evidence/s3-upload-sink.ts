/**
 * A Writable that streams into one S3 object and hashes the same bytes on the
 * way through. Bytes are cut into parts of `partBytes`: a body smaller than
 * one part becomes a single PutObject, anything larger a multipart upload
 * with one part uploading while the next fills, so memory stays at two parts
 * whatever the size. Written here rather than with lib-storage's Upload
 * because abort() must be awaitable: when it resolves, the multipart upload
 * is gone, so an aborted stage leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Sha256Sink } from '../qualys/page-ingest.js';

/** S3's smallest part size (all parts but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3 allows at most this many parts in one upload. */
const MAX_PARTS = 10_000;

export interface S3Target {
  client: S3Client;
  bucket: string;
  key: string;
  partBytes: number;
}

export class S3UploadSink extends Writable implements Sha256Sink {
  private readonly hash = createHash('sha256');
  private sha256: string | null = null;
  private written = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private uploadId: string | null = null;
  private readonly parts: CompletedPart[] = [];
  /** The part upload in flight, if any; settled before the next starts. */
  private inFlight: Promise<void> | null = null;
  /** The latest flush or completion, so abort() can wait until no request is starting. */
  private work: Promise<void> = Promise.resolve();
  private readonly abortController = new AbortController();

  constructor(private readonly target: S3Target) {
    super({ highWaterMark: 1 << 20 });
    if (target.partBytes < MIN_PART_BYTES) throw new RangeError(`S3 parts must be at least ${MIN_PART_BYTES} bytes`);
  }

  get bytes(): number {
    return this.written;
  }

  /** Lowercase hex SHA-256 of everything written; valid after 'finish' (the page reader and the commit both ask). */
  digest(): string {
    return (this.sha256 ??= this.hash.digest('hex'));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.hash.update(chunk);
    this.written += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.target.partBytes) return callback();
    this.track(this.flushPart(false)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.track(this.complete()).then(() => callback(), callback);
  }

  private track(step: Promise<void>): Promise<void> {
    this.work = step.catch(() => {});
    return step;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abortController.abort();
    callback(error);
  }

  /**
   * Stops the upload and deletes what S3 holds of it. Safe after a failure
   * and more than once; after a completed upload there is nothing to abort.
   */
  async abort(): Promise<void> {
    if (!this.destroyed) this.destroy();
    await this.work;
    await this.inFlight?.catch(() => {});
    const uploadId = this.uploadId;
    if (uploadId === null) return;
    this.uploadId = null;
    const { client, bucket, key } = this.target;
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch((error: { name?: string }) => {
      // Already gone (completed or aborted by someone else) is what we want.
      if (error.name !== 'NoSuchUpload') throw error;
    });
  }

  private takeBuffered(limit: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const part = all.subarray(0, limit);
    const rest = all.subarray(limit);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return part;
  }

  /** Waits for the previous part, then starts this one without waiting for it. */
  private async flushPart(last: boolean): Promise<void> {
    await this.inFlight;
    this.inFlight = null;
    if (this.uploadId === null) {
      // Not cancelled by the signal: an upload created while we stop must still be known, to be aborted.
      const { UploadId } = await this.target.client.send(new CreateMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key }));
      if (!UploadId) throw new Error('S3 gave no upload id for a multipart upload');
      this.uploadId = UploadId;
    }
    this.abortController.signal.throwIfAborted();
    if (this.parts.length >= MAX_PARTS) throw new RangeError(`the blob needs more than ${MAX_PARTS} parts of ${this.target.partBytes} bytes`);
    const body = this.takeBuffered(last ? this.buffered : this.target.partBytes);
    const partNumber = this.parts.length + 1;
    const slot: CompletedPart = { PartNumber: partNumber };
    this.parts.push(slot);
    this.inFlight = this.target.client
      .send(
        new UploadPartCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body }),
        { abortSignal: this.abortController.signal },
      )
      .then(({ ETag }) => {
        slot.ETag = ETag;
      });
    // Rejections are observed by the next flush or by complete/abort.
    this.inFlight.catch(() => {});
  }

  private async complete(): Promise<void> {
    const { client, bucket, key } = this.target;
    if (this.uploadId === null) {
      // Smaller than one part: one request, nothing left behind if it fails.
      const body = this.takeBuffered(this.buffered);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }), {
        abortSignal: this.abortController.signal,
      });
      return;
    }
    if (this.buffered > 0) await this.flushPart(true);
    await this.inFlight;
    this.inFlight = null;
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
      { abortSignal: this.abortController.signal },
    );
    this.uploadId = null;
  }
}
