/**
 * Accumulates a response into large Buffers (256 KB) so the socket sees few,
 * big writes. Each filled chunk is handed over and never touched again, because
 * the socket may still hold it when the next one is being filled.
 */
const CHUNK_SIZE = 256 * 1024;

export class ChunkWriter {
  private buf = Buffer.allocUnsafe(CHUNK_SIZE);
  private off = 0;
  private readonly ready: Buffer[] = [];
  private readyBytes = 0;

  /** Text known to be ASCII: one byte per character. */
  ascii(text: string): void {
    if (this.off + text.length > this.buf.length) this.rotate(text.length);
    this.off += this.buf.write(text, this.off, 'latin1');
  }

  /** Text that may contain any character (at most 3 bytes per UTF-16 unit). */
  utf8(text: string): void {
    if (this.off + text.length * 3 > this.buf.length) this.rotate(text.length * 3);
    this.off += this.buf.write(text, this.off, 'utf8');
  }

  bytes(data: Buffer): void {
    if (this.off + data.length <= this.buf.length) {
      data.copy(this.buf, this.off);
      this.off += data.length;
      return;
    }
    if (data.length >= CHUNK_SIZE / 2) {
      // Large blocks (a giant RESULTS) go out as they are; they are immutable.
      this.seal();
      this.push(data);
      this.buf = Buffer.allocUnsafe(CHUNK_SIZE);
      return;
    }
    this.rotate(data.length);
    data.copy(this.buf, this.off);
    this.off += data.length;
  }

  /** Bytes of whole chunks waiting to be sent. */
  get pending(): number {
    return this.readyBytes;
  }

  /** Hands over the filled chunks; with `all`, the partly filled one too. */
  take(all = false): Buffer[] {
    if (all) this.seal();
    const out = this.ready.splice(0);
    this.readyBytes = 0;
    if (all) this.buf = Buffer.allocUnsafe(CHUNK_SIZE);
    return out;
  }

  private rotate(need: number): void {
    this.seal();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_SIZE, need));
  }

  private seal(): void {
    if (this.off > 0) this.push(this.buf.subarray(0, this.off));
    this.off = 0;
  }

  private push(chunk: Buffer): void {
    this.ready.push(chunk);
    this.readyBytes += chunk.length;
  }
}
