/**
 * The simulator's notion of "now" and Qualys-style timestamps
 * (`2020-04-17T18:55:20Z`, no milliseconds).
 */

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const dayCache = new Map<number, string>();

function dayString(day: number): string {
  let s = dayCache.get(day);
  if (s === undefined) {
    s = new Date(day * 86_400_000).toISOString().slice(0, 11);
    dayCache.set(day, s);
  }
  return s;
}

/**
 * Formats epoch seconds as Qualys does. Called for every timestamp of every
 * detection, so the date part is cached per day instead of going through Date.
 */
export function formatEpochSeconds(seconds: number): string {
  const day = Math.floor(seconds / 86_400);
  let rest = seconds - day * 86_400;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  return dayString(day) + TWO_DIGITS[h] + ':' + TWO_DIGITS[m] + ':' + TWO_DIGITS[rest - m * 60] + 'Z';
}

export function formatInstant(ms: number): string {
  return formatEpochSeconds(Math.floor(ms / 1000));
}

/** A fixed instant (answers repeat byte for byte) or the wall clock. */
export class Clock {
  private fixedMs: number | null;

  constructor(fixed: string | Date | null | undefined) {
    this.fixedMs = fixed == null ? null : parseInstant(fixed);
  }

  get fixed(): boolean {
    return this.fixedMs !== null;
  }

  nowMs(): number {
    return this.fixedMs ?? Date.now();
  }
}

/** Accepts a Date or an ISO 8601 string; rejects anything Date cannot read. */
export function parseInstant(value: string | Date): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`now: "${String(value)}" is not a valid ISO 8601 instant`);
  return ms;
}
