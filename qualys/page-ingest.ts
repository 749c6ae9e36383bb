/**
 * The single pass over an answer body: every chunk goes, in order, to the
 * caller's sink (exact bytes, with backpressure), into a SHA-256 (the
 * sink's own when it hashes what it writes) and byte count, and to a
 * parser. The sink writes happen on libuv's thread pool and overlap with
 * parsing; hashing is native and cheap next to parsing.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';

/**
 * Bytes the sink may hold unwritten before the transfer pauses. A file
 * stream's own high-water mark (16 KB) is smaller than one socket chunk, so
 * honouring it literally would pause after every chunk and leave the parser
 * idle while the disk catches up; a megabyte keeps both busy, and chunks
 * still die young in the garbage collector, so memory stays flat.
 */
export const SINK_BUFFER_BUDGET = 1024 * 1024;

export interface BodyParser<T> {
  write(chunk: Buffer): void;
  finish(): T;
}

/**
 * A sink that hashes the bytes it is given, as the blob store's do. The page's
 * SHA-256 is then taken from it rather than computed a second time over the
 * same chunks (about 10 ms of a 14 MB page on the worker's one thread).
 */
export interface Sha256Sink extends Writable {
  /** Lowercase hex SHA-256 of everything written; valid once the sink has finished. */
  digest(): string;
}

function hashesItself(sink: Writable | null): sink is Sha256Sink {
  return typeof (sink as Partial<Sha256Sink> | null)?.digest === 'function';
}

export interface IngestOptions {
  /** Receives the exact bytes; ended on success, destroyed on failure. */
  sink?: Writable | null;
  /** Total bytes received so far, after each chunk. */
  onProgress?: (bytes: number) => void;
}

export interface IngestResult<T> {
  result: T;
  bytes: number;
  sha256: string;
}

export class PageIngest<T> {
  /** Null when the sink hashes the same bytes itself. */
  private readonly hash: Hash | null;
  private bytes = 0;
  private sinkError: Error | null = null;
  private readonly sink: Writable | null;

  constructor(
    private readonly parser: BodyParser<T>,
    private readonly options: IngestOptions = {},
  ) {
    this.sink = options.sink ?? null;
    this.hash = hashesItself(this.sink) ? null : createHash('sha256');
    // A failing sink (disk full) stops the transfer at the next chunk or wait.
    this.sink?.on('error', (err) => {
      this.sinkError ??= err;
    });
  }

  /** Returns false when the sink asks the producer to wait for `drained()`. */
  write(chunk: Buffer): boolean {
    if (this.sinkError) throw this.sinkError;
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    this.sink?.write(chunk);
    this.parser.write(chunk);
    this.options.onProgress?.(this.bytes);
    return !this.sink || this.sink.writableLength <= SINK_BUFFER_BUDGET;
  }

  drained(): Promise<void> {
    const sink = this.sink;
    if (!sink || sink.writableLength <= SINK_BUFFER_BUDGET || !sink.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        sink.off('drain', onDrain);
        sink.off('error', done);
        sink.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.sinkError ?? new Error('the sink was closed before the answer was fully written'));
      sink.on('drain', onDrain);
      sink.on('error', done);
      sink.on('close', onClose);
    });
  }

  /** Completes parsing (which may throw a typed error), then flushes and ends the sink. */
  async finish(): Promise<IngestResult<T>> {
    if (this.sinkError) throw this.sinkError;
    const result = this.parser.finish();
    const sink = this.sink;
    if (sink) {
      await new Promise<void>((resolve, reject) => {
        sink.once('error', reject);
        sink.end(() => {
          sink.off('error', reject);
          resolve();
        });
      });
    }
    // The sink's digest covers every chunk only once it has finished.
    const sha256 = this.hash ? this.hash.digest('hex') : (sink as Sha256Sink).digest();
    return { result, bytes: this.bytes, sha256 };
  }

  /** Stops writing: the sink is destroyed without an error event, so its owner can discard it. */
  abort(): void {
    if (this.sink && !this.sink.destroyed) this.sink.destroy();
  }
}

/**
 * Runs a whole body from a Readable or any async iterable of chunks (saved
 * files, tests) through an ingest, honouring an AbortSignal.
 */
export async function ingestIterable<T>(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  ingest: Pick<PageIngest<T>, 'write' | 'drained' | 'finish' | 'abort'>,
  signal?: AbortSignal,
): Promise<IngestResult<T>> {
  try {
    signal?.throwIfAborted();
    for await (const piece of source) {
      signal?.throwIfAborted();
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (!ingest.write(chunk)) await ingest.drained();
    }
    signal?.throwIfAborted();
    return await ingest.finish();
  } catch (err) {
    ingest.abort();
    throw err;
  }
}
