/**
 * Streams a stored blob (sealed evidence or a raw Qualys page) as a download:
 * never buffered whole, with its SHA-256 as strong ETag and as RFC 9530
 * `Repr-Digest`, so a client can check what it received against the
 * manifest; single byte ranges and `If-None-Match` revalidation included.
 */
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { BlobNotFoundError, type BlobStore } from '../evidence/blob-store.js';
import { contentRange, decideRange, ifRangeAllows, noneMatchHits } from './http-range.js';
import { ApiError } from './problem.js';

export interface BlobDownload {
  blobStore: BlobStore;
  blobKey: string;
  /** Lowercase hex SHA-256 of the whole blob. */
  sha256: string;
  bytes: number;
  contentType: string;
  /** A plain ASCII file name (evidence names are built that way). */
  filename: string;
}

/** `sha-256=:<base64 of the digest bytes>:`, the structured-field form RFC 9530 defines. */
export function reprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}

export async function serveBlob(c: Context, download: BlobDownload): Promise<Response> {
  const etag = `"${download.sha256}"`;
  const common: Record<string, string> = {
    etag,
    'repr-digest': reprDigest(download.sha256),
    'accept-ranges': 'bytes',
    // Evidence belongs to one organisation's auditors: no shared cache may keep it.
    'cache-control': 'private',
  };
  if (noneMatchHits(c.req.header('if-none-match'), etag)) {
    return c.body(null, 304, common);
  }

  const size = download.bytes;
  const decision = ifRangeAllows(c.req.header('if-range'), etag) ? decideRange(c.req.header('range'), size) : { kind: 'full' as const };
  if (decision.kind === 'unsatisfiable') {
    throw new ApiError('range-not-satisfiable', decision.reason, { headers: { ...common, 'content-range': contentRange(null, size) } });
  }
  const range = decision.kind === 'partial' ? decision.range : { start: 0, end: size };
  const headers: Record<string, string> = {
    ...common,
    'content-type': download.contentType,
    'content-disposition': `attachment; filename="${download.filename}"`,
    'content-length': String(range.end - range.start),
    ...(decision.kind === 'partial' ? { 'content-range': contentRange(range, size) } : {}),
  };
  const status = decision.kind === 'partial' ? 206 : 200;
  // HEAD gets the headers only: no file is opened for a body that would be dropped.
  if (c.req.method === 'HEAD') return c.body(null, status, headers);

  let stream: Readable;
  try {
    stream = await download.blobStore.get(download.blobKey, range);
  } catch (err) {
    if (err instanceof BlobNotFoundError) {
      throw new ApiError('service-unavailable', 'the stored file is missing from the blob store; an operator has to restore it');
    }
    throw err;
  }
  return c.body(Readable.toWeb(stream) as ReadableStream<Uint8Array>, status, headers);
}
