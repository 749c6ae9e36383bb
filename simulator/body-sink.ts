/**
 * Writes a generated body to the socket: respects backpressure (waits for
 * 'drain'), and applies the body faults (slow body, latency per MB, a
 * connection dropped after N bytes).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BodyFaults } from './faults.js';

const MB = 1024 * 1024;
/** Slow bodies trickle out in this many slices per second. */
const SLOW_SLICES_PER_SEC = 20;

export class BodySink {
  bytes = 0;
  private stopped = false;
  private nextMbMark = MB;

  constructor(
    private readonly res: ServerResponse,
    private readonly faults: BodyFaults,
  ) {
    res.once('close', () => {
      this.stopped = true;
    });
  }

  /** False once the client is gone or the connection was dropped on purpose. */
  async write(chunk: Buffer): Promise<boolean> {
    if (this.stopped) return false;
    const { dropAfterBytes } = this.faults;
    if (dropAfterBytes !== null && this.bytes + chunk.length >= dropAfterBytes) {
      await this.send(chunk.subarray(0, dropAfterBytes - this.bytes));
      this.drop();
      return false;
    }
    if (this.faults.slowBodyBytesPerSec > 0) {
      const slice = Math.max(1, Math.floor(this.faults.slowBodyBytesPerSec / SLOW_SLICES_PER_SEC));
      for (let off = 0; off < chunk.length && !this.stopped; off += slice) {
        await this.send(chunk.subarray(off, off + slice));
        await sleep(1000 / SLOW_SLICES_PER_SEC);
      }
    } else {
      await this.send(chunk);
    }
    if (this.faults.latencyPerMbMs > 0 && this.bytes >= this.nextMbMark) {
      const crossed = Math.floor((this.bytes - this.nextMbMark) / MB) + 1;
      this.nextMbMark += crossed * MB;
      await sleep(crossed * this.faults.latencyPerMbMs);
    }
    return !this.stopped;
  }

  end(): void {
    if (this.faults.dropAfterBytes !== null && !this.stopped) {
      // The body was shorter than the drop point: drop at its end, before the final chunk.
      this.drop();
      return;
    }
    if (!this.stopped) this.res.end();
  }

  private async send(data: Buffer): Promise<void> {
    if (data.length === 0 || this.stopped) return;
    this.bytes += data.length;
    if (this.res.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Lets the bytes already written reach the client, then cuts the connection. */
  private drop(): void {
    this.stopped = true;
    const socket = this.res.socket;
    if (!socket) return;
    socket.end(() => socket.destroy());
  }
}
