/**
 * A Writable that appends to an open file and hashes the same bytes on the
 * way through, so a blob is written and fingerprinted in one pass.
 *
 * Chunks are copied into a few large write buffers (taken from a pool the
 * process keeps) and the chunk is let go at once. Holding the socket's own
 * chunks until the disk took them (up to a megabyte queued) kept some for
 * longer than a young-generation collection, so they were promoted and
 * lived until a full one (10 pages read with the worker's memory flags:
 * 16 full collections before, 13 after; most of the rest come from
 * `--optimize-for-size` itself, see the README). Large buffers also mean
 * fewer write calls.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { Sha256Sink } from '../qualys/page-ingest.js';

/** Size of one write buffer: one write call each. */
export const WRITE_BUFFER_BYTES = 256 * 1024;
/** Buffers one sink may have filled and not yet written before it holds back the writer. */
const WRITE_BUFFERS_PER_SINK = 4;
/** Free buffers the process keeps for the next sinks (four pages at once, each with all its buffers). */
const POOL_MAX = 16;

const pool: Buffer[] = [];
const takeBuffer = () => pool.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
const giveBack = (buffer: Buffer) => {
  if (pool.length < POOL_MAX) pool.push(buffer);
};

export class HashingFileSink extends Writable implements Sha256Sink {
  private readonly hash = createHash('sha256');
  private sha256: string | null = null;
  private written = 0;
  private current: Buffer | null = null;
  private filled = 0;
  /** Buffers handed to the file and not yet written. */
  private inFlight = 0;
  /** The file's writes, one after another in order. */
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  /** A write held back until a buffer is free again. */
  private waiting: (() => void) | null = null;

  constructor(private readonly handle: FileHandle) {
    super({ highWaterMark: WRITE_BUFFER_BYTES });
  }

  get bytes(): number {
    return this.written;
  }

  /** Lowercase hex SHA-256 of everything written; valid after 'finish' (the page reader and the commit both ask). */
  digest(): string {
    return (this.sha256 ??= this.hash.digest('hex'));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    this.hash.update(chunk);
    this.written += chunk.length;
    let offset = 0;
    const copy = () => {
      if (this.failure) return callback(this.failure);
      while (offset < chunk.length) {
        if (!this.current) {
          if (this.inFlight >= WRITE_BUFFERS_PER_SINK) {
            this.waiting = copy;
            return;
          }
          this.current = takeBuffer();
          this.filled = 0;
        }
        const n = chunk.copy(this.current, this.filled, offset);
        this.filled += n;
        offset += n;
        if (this.filled === this.current.length) this.flushCurrent();
      }
      callback();
    };
    copy();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.current && this.filled > 0) this.flushCurrent();
    else if (this.current) giveBack(this.current);
    this.current = null;
    this.tail.then(() => callback(this.failure), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Buffers still being written return to the pool when their write ends.
    this.failure ??= error ?? new Error('the sink was destroyed');
    this.current = null;
    callback(error);
  }

  private flushCurrent(): void {
    const buffer = this.current!;
    const length = this.filled;
    this.current = null;
    this.filled = 0;
    this.inFlight += 1;
    this.tail = this.tail.then(async () => {
      try {
        if (!this.failure) await writeFully(this.handle, buffer, length);
      } catch (err) {
        this.failure ??= err as Error;
      } finally {
        this.inFlight -= 1;
        giveBack(buffer);
        const resume = this.waiting;
        this.waiting = null;
        resume?.();
      }
    });
  }
}

/** A write may be partial; loop until the first `length` bytes are on the file. */
async function writeFully(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset);
    offset += bytesWritten;
  }
}
