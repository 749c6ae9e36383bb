/**
 * The rate and concurrency limit headers Qualys puts on every API answer,
 * so callers can slow down before Qualys refuses a call.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface QualysLimits {
  /** Calls allowed per window (X-RateLimit-Limit). */
  rateLimit: number | null;
  /** Length of the rolling window in seconds (X-RateLimit-Window-Sec). */
  rateWindowSec: number | null;
  /** Calls left in the current window (X-RateLimit-Remaining). */
  rateRemaining: number | null;
  /** Seconds to wait before the next call is allowed (X-RateLimit-ToWait-Sec). */
  toWaitSec: number | null;
  /** Calls that may run at once (X-Concurrency-Limit-Limit). */
  concurrencyLimit: number | null;
  /** Calls running now, this one included (X-Concurrency-Limit-Running). */
  concurrencyRunning: number | null;
}

export const EMPTY_LIMITS: QualysLimits = Object.freeze({
  rateLimit: null,
  rateWindowSec: null,
  rateRemaining: null,
  toWaitSec: null,
  concurrencyLimit: null,
  concurrencyRunning: null,
});

function intHeader(headers: IncomingHttpHeaders, name: string): number | null {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value == null) return null;
  const trimmed = value.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/** Header names must be lower-case, as Node and undici deliver them. */
export function parseQualysLimits(headers: IncomingHttpHeaders): QualysLimits {
  return {
    rateLimit: intHeader(headers, 'x-ratelimit-limit'),
    rateWindowSec: intHeader(headers, 'x-ratelimit-window-sec'),
    rateRemaining: intHeader(headers, 'x-ratelimit-remaining'),
    toWaitSec: intHeader(headers, 'x-ratelimit-towait-sec'),
    concurrencyLimit: intHeader(headers, 'x-concurrency-limit-limit'),
    concurrencyRunning: intHeader(headers, 'x-concurrency-limit-running'),
  };
}
