/**
 * Coverage of an audit period by cadence window. PCI DSS "quarterly" means
 * calendar quarters in most audits, so windows are calendar quarters,
 * calendar months or ISO weeks (Monday to Sunday), in UTC, clipped to the
 * period. A window is covered by evidence collected in it (by its collection
 * time, never the time a backfill was scheduled for) whose completeness
 * verdict is `complete`.
 *
 * This is the calendar rule; the control's freshness state (evidence/freshness.ts)
 * is the rolling rule: a fixed number of days since the latest evidence.
 */
import type { Cadence } from '../evidence/freshness.js';

export interface CadenceWindow {
  start: string;
  /** Last day inside the window (and the period). */
  end: string;
  label: string;
  /** [startMs, endMs) in UTC. */
  startMs: number;
  endMs: number;
}

const DAY_MS = 86_400_000;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const msOf = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** Start of the window holding `ms`, and the start of the next. */
function windowAround(cadence: Cadence, ms: number): { start: number; next: number; label: string } {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (cadence === 'quarterly') {
    const q = Math.floor(m / 3);
    return { start: Date.UTC(y, q * 3, 1), next: Date.UTC(y, q * 3 + 3, 1), label: `${y}-Q${q + 1}` };
  }
  if (cadence === 'monthly') return { start: Date.UTC(y, m, 1), next: Date.UTC(y, m + 1, 1), label: `${y}-${String(m + 1).padStart(2, '0')}` };
  const weekday = (d.getUTCDay() + 6) % 7; // Monday = 0
  const start = Date.UTC(y, m, d.getUTCDate() - weekday);
  return { start, next: start + 7 * DAY_MS, label: isoWeekLabel(start) };
}

/** ISO 8601 week label (the week's Thursday decides its year). */
function isoWeekLabel(mondayMs: number): string {
  const thursday = new Date(mondayMs + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The windows of the period [from, to] (inclusive days), clipped to it. */
export function cadenceWindows(cadence: Cadence, from: string, to: string): CadenceWindow[] {
  const periodStart = msOf(from);
  const periodEnd = msOf(to) + DAY_MS;
  const windows: CadenceWindow[] = [];
  for (let at = periodStart; at < periodEnd; ) {
    const w = windowAround(cadence, at);
    const startMs = Math.max(w.start, periodStart);
    const endMs = Math.min(w.next, periodEnd);
    windows.push({ start: date(startMs), end: date(endMs - DAY_MS), label: w.label, startMs, endMs });
    at = w.next;
  }
  return windows;
}

export interface CoverageEvidence {
  id: string;
  collectedAt: Date;
  scheduledFor: Date | null;
  completeness: 'complete' | 'incomplete' | 'unknown';
  sha256: string;
}

type WindowStatus = 'covered' | 'unverified' | 'missing';

export function coverWindows(windows: CadenceWindow[], evidence: readonly CoverageEvidence[]) {
  return windows.map((w) => {
    const inside = evidence.filter((e) => e.collectedAt.getTime() >= w.startMs && e.collectedAt.getTime() < w.endMs);
    const status: WindowStatus = inside.some((e) => e.completeness === 'complete') ? 'covered' : inside.length > 0 ? 'unverified' : 'missing';
    return {
      start: w.start,
      end: w.end,
      label: w.label,
      status,
      evidence: inside.map((e) => ({ id: e.id, collectedAt: e.collectedAt.toISOString(), scheduledFor: e.scheduledFor?.toISOString() ?? null, completeness: e.completeness, sha256: e.sha256 })),
    };
  });
}

export const CALENDAR_RULE: Record<Cadence, string> = {
  quarterly: 'calendar quarters (Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec), UTC',
  monthly: 'calendar months, UTC',
  weekly: 'ISO weeks, Monday to Sunday, UTC',
};
