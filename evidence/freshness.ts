/**
 * Is a control's latest evidence still good for its framework's cadence?
 * `fresh` needs nothing, `due` means the period is about to close and a new
 * pull should run now, `stale` means the period has passed, `missing` means
 * no evidence at all.
 */

export type Cadence = 'weekly' | 'monthly' | 'quarterly';
export type FreshnessState = 'fresh' | 'due' | 'stale' | 'missing';

export interface Freshness {
  state: FreshnessState;
  /** Whole days since the evidence was collected; null when there is none. */
  ageDays: number | null;
  /** When the evidence stops being fresh enough (becomes stale); null when there is none. */
  dueAt: Date | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Period lengths are the longest the calendar allows, so that evidence from
 * the same day of the previous month or quarter is never counted stale:
 * 31 days covers any month, 92 days any three consecutive months.
 */
const PERIOD_DAYS: Record<Cadence, number> = { weekly: 7, monthly: 31, quarterly: 92 };

/**
 * The closing window before a period ends during which evidence is `due`:
 * long enough to schedule and complete a pull (gigabyte pulls can take hours
 * and may wait for Qualys rate limits) without the control lapsing.
 */
const CLOSING_WINDOW_DAYS: Record<Cadence, number> = { weekly: 1, monthly: 5, quarterly: 14 };

/** Without a framework cadence, a year is the usual audit period: evidence older than that no longer speaks for it. */
const NO_CADENCE_MAX_AGE_DAYS = 365;

export function assessFreshness(input: { cadence: Cadence | null; latestEvidenceAt: Date | null; now: Date }): Freshness {
  const { cadence, latestEvidenceAt, now } = input;
  requireValidDate('now', now);
  if (cadence !== null && !Object.hasOwn(PERIOD_DAYS, cadence)) {
    throw new TypeError(`cadence must be weekly, monthly, quarterly or null, got ${JSON.stringify(cadence)}`);
  }
  if (latestEvidenceAt === null) return { state: 'missing', ageDays: null, dueAt: null };
  requireValidDate('latestEvidenceAt', latestEvidenceAt);

  // Evidence stamped slightly ahead of this clock (another host's) counts as brand new.
  const ageMs = Math.max(0, now.getTime() - latestEvidenceAt.getTime());
  const ageDays = Math.floor(ageMs / DAY_MS);
  const periodDays = cadence === null ? NO_CADENCE_MAX_AGE_DAYS : PERIOD_DAYS[cadence];
  const dueAt = new Date(latestEvidenceAt.getTime() + periodDays * DAY_MS);

  if (cadence === null) return { state: ageMs < periodDays * DAY_MS ? 'fresh' : 'stale', ageDays, dueAt };
  if (ageMs > periodDays * DAY_MS) return { state: 'stale', ageDays, dueAt };
  if (ageMs >= (periodDays - CLOSING_WINDOW_DAYS[cadence]) * DAY_MS) return { state: 'due', ageDays, dueAt };
  return { state: 'fresh', ageDays, dueAt };
}

function requireValidDate(field: string, value: Date): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new TypeError(`${field} must be a valid Date`);
}

/** The rolling rule in words, for reports that show it beside the calendar one. */
export function freshnessRule(cadence: Cadence | null): string {
  if (cadence === null) return `rolling: fresh for ${NO_CADENCE_MAX_AGE_DAYS} days after the latest evidence (no framework cadence)`;
  return `rolling: fresh for ${PERIOD_DAYS[cadence]} days after the latest evidence, due in the last ${CLOSING_WINDOW_DAYS[cadence]}, stale after`;
}
