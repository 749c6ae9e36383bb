/**
 * A Writable that appends to an open file and hashes the same bytes on the
 * way through, so a blob is written and fingerprinted in one pass.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Large buffers keep the number of write syscalls low for gigabyte pulls. */
const SINK_HIGH_WATER_MARK = 1 << 20;

export class HashingFileSink extends Writable {
  private readonly hash = createHash('sha256');
  private written = 0;

  constructor(private readonly handle: FileHandle) {
    super({ highWaterMark: SINK_HIGH_WATER_MARK });
  }

  get bytes(): number {
    return this.written;
  }

  /** Lowercase hex SHA-256 of everything written; call once, after 'finish'. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.hash.update(chunk);
    this.written += chunk.length;
    writeFully(this.handle, chunk).then(() => callback(), callback);
  }
}

/** A write may be partial; loop until the whole chunk is on the file. */
async function writeFully(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
