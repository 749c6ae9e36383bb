/**
 * Compares two byte streams in one pass and flat memory, hashing the second
 * (the file under test) on the way: equal or not, the first differing byte
 * range, both lengths and the tested stream's SHA-256.
 */
import { createHash } from 'node:crypto';

export interface StreamComparison {
  equal: boolean;
  expectedBytes: number;
  actualBytes: number;
  actualSha256: string;
  /** [start, end) of the first run of differing bytes; for a length difference, from where the shorter one ends. */
  firstDifference: { start: number; end: number } | null;
}

/** A differing run longer than this is reported up to here. */
const MAX_RUN = 64 * 1024;

class Reader {
  private readonly iterator: AsyncIterator<Buffer | Uint8Array>;
  chunk: Buffer = Buffer.alloc(0);
  offset = 0;
  done = false;
  total = 0;

  constructor(
    source: AsyncIterable<Buffer | Uint8Array>,
    private readonly onChunk?: (chunk: Buffer) => void,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Makes sure bytes are available unless the stream ended; false at the end. */
  async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      const value = next.value;
      this.chunk = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      this.offset = 0;
      this.total += this.chunk.length;
      this.onChunk?.(this.chunk);
    }
    return true;
  }

  async drain(): Promise<void> {
    this.offset = this.chunk.length;
    while (await this.fill()) this.offset = this.chunk.length;
  }
}

export async function compareStreams(expected: AsyncIterable<Buffer | Uint8Array>, actual: AsyncIterable<Buffer | Uint8Array>): Promise<StreamComparison> {
  const hash = createHash('sha256');
  const a = new Reader(expected);
  const b = new Reader(actual, (chunk) => hash.update(chunk));
  let position = 0;
  let difference: { start: number; end: number } | null = null;
  while (!difference) {
    const hasA = await a.fill();
    const hasB = await b.fill();
    if (!hasA || !hasB) {
      if (hasA !== hasB) difference = { start: position, end: position + 1 };
      break;
    }
    const n = Math.min(a.chunk.length - a.offset, b.chunk.length - b.offset);
    const sliceA = a.chunk.subarray(a.offset, a.offset + n);
    const sliceB = b.chunk.subarray(b.offset, b.offset + n);
    if (!sliceA.equals(sliceB)) {
      let i = 0;
      while (sliceA[i] === sliceB[i]) i++;
      let j = i + 1;
      while (j < n && j - i < MAX_RUN && sliceA[j] !== sliceB[j]) j++;
      difference = { start: position + i, end: position + j };
    }
    a.offset += n;
    b.offset += n;
    position += n;
  }
  await Promise.all([a.drain(), b.drain()]);
  const equal = difference === null && a.total === b.total;
  if (!difference && !equal) difference = { start: Math.min(a.total, b.total), end: Math.max(a.total, b.total) };
  return { equal, expectedBytes: a.total, actualBytes: b.total, actualSha256: hash.digest('hex'), firstDifference: difference };
}
