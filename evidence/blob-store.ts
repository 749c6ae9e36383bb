/**
 * The evidence blob store: immutable, content-addressed byte streams.
 * The local directory store is the default; the S3 store serves workers on
 * many machines. Both pass the same contract tests.
 */
import type { Readable, Writable } from 'node:stream';

export interface BlobStat {
  /** `sha256/<2 hex>/<64 hex>`, see blob-key.ts. */
  key: string;
  bytes: number;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
}

/** Bytes [start, end) of a blob; `end` defaults to the blob's size. */
export interface BlobRange {
  start: number;
  end?: number;
}

/**
 * A blob being written by code that produces bytes as it goes (the Qualys
 * page reader writes into `sink` while it parses). Nothing is visible under a
 * key until `commit()` resolves.
 */
export interface StagedBlob {
  readonly sink: Writable;
  /** Ends the sink if still open, makes the bytes durable and moves them under their key. */
  commit(): Promise<BlobStat>;
  /** Discards the staged bytes; safe to call more than once, and a no-op after commit. */
  abort(): Promise<void>;
}

/** A piece of a blob being put together: a byte range [start, end) of a stored blob, or bytes given. */
export type BlobPart = { kind: 'range'; blobKey: string; start: number; end: number } | { kind: 'bytes'; data: Buffer };

export interface BlobStore {
  /**
   * Streams `source` into the store and returns its content-addressed key.
   * Atomic: the blob appears complete or not at all; an existing identical
   * blob is kept.
   */
  put(source: Readable | AsyncIterable<Uint8Array>, opts?: { signal?: AbortSignal }): Promise<BlobStat>;
  /**
   * Stores the parts, one after the other, as one blob, as `put` does (a
   * sealed evidence file is its pages' ranges joined). A missing blob throws
   * BlobNotFoundError and a range outside its blob RangeError, as `get` does.
   */
  putParts(parts: readonly BlobPart[], opts?: { signal?: AbortSignal }): Promise<BlobStat>;
  stage(): Promise<StagedBlob>;
  /** Throws BlobNotFoundError for a missing blob, RangeError for a range outside it. */
  get(key: string, range?: BlobRange): Promise<Readable>;
  stat(key: string): Promise<BlobStat | null>;
  /** Removes the blob; deleting a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** The blob's absolute file path when the store is a local directory, else null. */
  pathOf(key: string): string | null;
  /**
   * Removes staging left behind by processes that died mid-write (see
   * staging-reclaim.ts for the rule); staging of live processes is kept.
   */
  reclaimStaging(): Promise<ReclaimReport>;
}

export interface ReclaimReport {
  /** Names of the staging entries removed. */
  removed: string[];
  /** Staging entries kept because their writer is alive or they are too young. */
  kept: number;
}

/** The bytes of `parts`, read through `get`: how a store without a faster way puts them. */
export async function* streamParts(store: Pick<BlobStore, 'get'>, parts: readonly BlobPart[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (part.kind === 'bytes') {
      yield part.data;
      continue;
    }
    if (part.start === part.end) continue;
    let copied = 0;
    for await (const chunk of await store.get(part.blobKey, { start: part.start, end: part.end })) {
      copied += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    // A blob that shrank under us would silently cut bytes out of the new one.
    if (copied !== part.end - part.start) throw new RangeError(`blob ${part.blobKey} gave ${copied} bytes for range [${part.start}, ${part.end})`);
  }
}

export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  constructor(readonly key: string) {
    super(`blob ${key} not found`);
  }
}
