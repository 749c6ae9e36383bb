/**
 * Writes a generated body to the socket: respects backpressure (waits for
 * 'drain'), and applies the body faults (slow body, latency per MB, a
 * connection dropped after N bytes).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BodyFaults } from './faults.js';

const MB = 1024 * 1024;
/** A paced body goes out in slices of a twentieth of a second's bytes, so a slow one trickles rather than bursts. */
const SLOW_SLICES_PER_SEC = 20;
/** Waits shorter than this are left to add up: timers are not finer, and each wait costs a turn of the event loop. */
const MIN_PACING_WAIT_MS = 2;

export class BodySink {
  bytes = 0;
  private stopped = false;
  private nextMbMark = MB;
  /** When the first paced byte went out; the body keeps to its rate counted from there. */
  private pacedSince: number | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly faults: BodyFaults,
    /** The clock and the wait, replaceable so that pacing can be checked without waiting. */
    private readonly clock: { now(): number; sleep(ms: number): Promise<unknown> } = { now: () => performance.now(), sleep },
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
    const rate = this.faults.slowBodyBytesPerSec;
    if (rate > 0) {
      const slice = Math.max(1, Math.floor(rate / SLOW_SLICES_PER_SEC));
      for (let off = 0; off < chunk.length && !this.stopped; off += slice) {
        this.pacedSince ??= this.clock.now();
        await this.send(chunk.subarray(off, off + slice));
        await this.keepPace(rate);
      }
    } else {
      await this.send(chunk);
    }
    if (this.faults.latencyPerMbMs > 0 && this.bytes >= this.nextMbMark) {
      const crossed = Math.floor((this.bytes - this.nextMbMark) / MB) + 1;
      this.nextMbMark += crossed * MB;
      await this.clock.sleep(crossed * this.faults.latencyPerMbMs);
    }
    return !this.stopped;
  }

  /**
   * Waits until the bytes sent so far are due at `rate`: the body keeps its
   * rate whatever the size of the chunks it is given, and time spent making
   * the chunks counts towards it.
   */
  private async keepPace(rate: number): Promise<void> {
    const aheadMs = (this.bytes / rate) * 1000 - (this.clock.now() - this.pacedSince!);
    if (aheadMs >= MIN_PACING_WAIT_MS) await this.clock.sleep(aheadMs);
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
