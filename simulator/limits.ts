/**
 * The subscription's API limits: a rolling rate window and a cap on calls in
 * flight, shared by all users, with the headers Qualys puts on every answer.
 */
import { z } from 'zod';
import { QualysError } from './qualys-error.js';

export const limitConfigSchema = z.strictObject({
  /** Calls allowed per window. */
  rateLimit: z.number().int().min(1),
  rateWindowSec: z.number().int().min(1),
  /** Calls allowed in flight at once. */
  concurrencyLimit: z.number().int().min(1),
});
export type LimitConfig = z.infer<typeof limitConfigSchema>;

/**
 * Generous by default so ordinary tests never meet the limits; the CLI and
 * `configure()` can set Qualys-typical values (standard: 300/3600 s, 2 at once).
 */
export const DEFAULT_LIMITS: LimitConfig = { rateLimit: 100_000, rateWindowSec: 3600, concurrencyLimit: 10 };

export interface Admission {
  /** Headers for this call's answer. */
  readonly headers: Record<string, string>;
  /** Marks the call finished (idempotent). */
  release(): void;
}

export class SubscriptionLimits {
  private config: LimitConfig;
  /** Start times (ms) of admitted calls, oldest first; `head` skips expired ones. */
  private calls: number[] = [];
  private head = 0;
  private running = 0;
  /** Qualys seconds per wall-clock second (latency profile): the window shrinks by it, and headers count wall-clock seconds. */
  private timeScale = 1;

  constructor(config: LimitConfig) {
    this.config = { ...config };
  }

  setTimeScale(timeScale: number): void {
    this.timeScale = timeScale;
  }

  private get windowMs(): number {
    return (this.config.rateWindowSec * 1000) / this.timeScale;
  }

  get current(): LimitConfig {
    return { ...this.config };
  }

  get inFlight(): number {
    return this.running;
  }

  configure(patch: Partial<LimitConfig>): void {
    this.config = { ...this.config, ...patch };
  }

  /** Forgets the window and restores `config`; calls in flight keep running. */
  reset(config: LimitConfig): void {
    this.config = { ...config };
    this.calls = [];
    this.head = 0;
  }

  /** Headers describing the current state, for answers that do not count as calls. */
  snapshot(nowMs: number): Record<string, string> {
    this.expire(nowMs);
    return this.headers(Math.max(0, this.config.rateLimit - this.used()), 0, this.running);
  }

  /** Admits a call or throws 1965 (rate) / 1960 (concurrency), as Qualys does. */
  admit(nowMs: number): Admission {
    this.expire(nowMs);
    const { rateLimit, concurrencyLimit } = this.config;
    if (this.used() >= rateLimit) {
      const wait = Math.max(1, Math.ceil((this.calls[this.head]! + this.windowMs - nowMs) / 1000));
      throw rateLimitError(wait, this.headers(0, wait, this.running));
    }
    if (this.running >= concurrencyLimit) {
      throw concurrencyLimitError(this.running - concurrencyLimit + 1, this.headers(rateLimit - this.used(), 0, this.running));
    }
    this.calls.push(nowMs);
    const others = this.running;
    this.running++;
    let released = false;
    return {
      headers: this.headers(rateLimit - this.used(), 0, others),
      release: () => {
        if (!released) {
          released = true;
          this.running--;
        }
      },
    };
  }

  headers(remaining: number, toWait: number, running: number): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.config.rateLimit),
      'X-RateLimit-Window-Sec': String(Math.max(1, Math.round(this.config.rateWindowSec / this.timeScale))),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-ToWait-Sec': String(toWait),
      'X-Concurrency-Limit-Limit': String(this.config.concurrencyLimit),
      'X-Concurrency-Limit-Running': String(running),
    };
  }

  private used(): number {
    return this.calls.length - this.head;
  }

  private expire(nowMs: number): void {
    const cutoff = nowMs - this.windowMs;
    while (this.head < this.calls.length && this.calls[this.head]! <= cutoff) this.head++;
    if (this.head > 4096 && this.head * 2 > this.calls.length) {
      this.calls = this.calls.slice(this.head);
      this.head = 0;
    }
  }
}

export function rateLimitError(secondsToWait: number, headers: Record<string, string>): QualysError {
  const h = Math.floor(secondsToWait / 3600);
  const m = Math.floor((secondsToWait % 3600) / 60);
  const s = secondsToWait % 60;
  return new QualysError(
    409,
    1965,
    `This API cannot be run again for another ${h} hours, ${m} minutes and ${s} seconds.`,
    [['SECONDS_TO_WAIT', String(secondsToWait)]],
    { ...headers, 'X-RateLimit-Remaining': '0', 'X-RateLimit-ToWait-Sec': String(secondsToWait) },
  );
}

export function concurrencyLimitError(callsToFinish: number, headers: Record<string, string>): QualysError {
  return new QualysError(
    409,
    1960,
    `This API cannot be run again until ${callsToFinish} currently running instance${callsToFinish === 1 ? ' has' : 's have'} finished.`,
    [['CALLS_TO_FINISH', String(callsToFinish)]],
    headers,
  );
}
