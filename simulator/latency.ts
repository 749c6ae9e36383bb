/**
 * Qualys's speed instead of localhost's: a time to first byte that grows with
 * the number of hosts on the page (Qualys assembles a page before it sends
 * it), a per-call body rate, optional seeded jitter, and a time scale that
 * divides every wait (and the rate window) so a benchmark of hours runs in
 * minutes. With jitter 0 every wait is a pure function of the answer.
 *
 * The named profiles also set the subscription limits (limits.ts): standard
 * 300 calls per hour and 2 at once, premium 2000 per hour and 10 at once.
 */
import { z } from 'zod';
import { Rng, hash32 } from './prng.js';
import type { LimitConfig } from './limits.js';

export const PROFILE_NAMES = ['localhost', 'qualys-standard', 'qualys-premium'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const latencyConfigSchema = z.strictObject({
  /** Time to first byte of every answer, before the per-host part (ms, Qualys time). */
  firstByteBaseMs: z.number().int().min(0),
  /** Added to the time to first byte for each host on a Host List Detection page (ms, Qualys time). */
  firstBytePerHostMs: z.number().min(0),
  /** Body rate of one call (bytes per second of Qualys time); 0 = as fast as the socket goes. */
  bodyBytesPerSec: z.number().int().min(0),
  /** Each wait is multiplied by a seeded factor in [1 - jitter, 1 + jitter]; 0 = deterministic. */
  jitter: z.number().min(0).max(1),
  /** Qualys seconds per wall-clock second: 60 turns a minute into a second. Scales the rate window too. */
  timeScale: z.number().positive().max(1_000_000),
});
export type LatencyConfig = z.infer<typeof latencyConfigSchema>;

export const NO_LATENCY: LatencyConfig = { firstByteBaseMs: 0, firstBytePerHostMs: 0, bodyBytesPerSec: 0, jitter: 0, timeScale: 1 };

/**
 * Qualys-like numbers (inferred from how long real pulls take: a page of
 * 1,000 hosts with results starts after about 40 s and streams at about a
 * megabyte per second).
 */
const QUALYS_LATENCY: LatencyConfig = { firstByteBaseMs: 2000, firstBytePerHostMs: 40, bodyBytesPerSec: 1024 * 1024, jitter: 0, timeScale: 1 };

export const PROFILES: Readonly<Record<ProfileName, { latency: LatencyConfig; limits: Partial<LimitConfig> }>> = {
  localhost: { latency: NO_LATENCY, limits: {} },
  'qualys-standard': { latency: QUALYS_LATENCY, limits: { rateLimit: 300, rateWindowSec: 3600, concurrencyLimit: 2 } },
  'qualys-premium': { latency: QUALYS_LATENCY, limits: { rateLimit: 2000, rateWindowSec: 3600, concurrencyLimit: 10 } },
};

export class Latency {
  private config: LatencyConfig = { ...NO_LATENCY };
  private readonly rng: Rng;

  constructor(private readonly seed: number) {
    this.rng = new Rng(hash32(seed, 0x1a7));
  }

  get current(): LatencyConfig {
    return { ...this.config };
  }

  get timeScale(): number {
    return this.config.timeScale;
  }

  /** True when answers wait at all (then the server counts the page's hosts first). */
  get active(): boolean {
    const c = this.config;
    return c.firstByteBaseMs > 0 || c.firstBytePerHostMs > 0 || c.bodyBytesPerSec > 0;
  }

  reset(config: LatencyConfig): void {
    this.config = { ...config };
    this.rng.reset(hash32(this.seed, 0x1a7));
  }

  configure(patch: Partial<LatencyConfig>): void {
    this.config = { ...this.config, ...patch };
  }

  /** Wall-clock wait before the headers of an answer holding `hosts` hosts. */
  firstByteMs(hosts: number): number {
    const c = this.config;
    const qualysMs = c.firstByteBaseMs + c.firstBytePerHostMs * hosts;
    return qualysMs === 0 ? 0 : Math.round((qualysMs * this.jitterFactor()) / c.timeScale);
  }

  /** Wall-clock body rate in bytes per second; 0 = unthrottled. */
  bodyBytesPerSec(): number {
    const c = this.config;
    return c.bodyBytesPerSec === 0 ? 0 : Math.max(1, Math.round((c.bodyBytesPerSec * c.timeScale) / this.jitterFactor()));
  }

  private jitterFactor(): number {
    const j = this.config.jitter;
    return j === 0 ? 1 : 1 + j * (2 * this.rng.float() - 1);
  }
}
