/**
 * What a schedule means in Temporal terms: the framework presets, the
 * default catch-up window and jitter of each, and the durations and time
 * zones people type.
 *
 * Presets fire at 02:00 in the schedule's time zone (UTC unless given), a
 * quiet hour for Qualys and for the network:
 * - `pci-quarterly` (PCI DSS 11.2): the 1st of January, April, July and October;
 *   catch-up window 30 days, so a quarter's scan still happens after a long outage.
 * - `fedramp-monthly` (FedRAMP RA-5): the 1st of every month; catch-up 7 days.
 * - `weekly` (CIS 3.1/4.1): every Monday; catch-up 2 days.
 * A custom calendar gets a 1-day catch-up window. Every schedule gets 10
 * minutes of jitter by default, so many schedules on the same preset do not
 * hit the Qualys subscription's concurrency limit all at once.
 */
import type { CalendarSpec } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';

export const SCHEDULE_PRESETS = ['pci-quarterly', 'fedramp-monthly', 'weekly'] as const;
export type SchedulePreset = (typeof SCHEDULE_PRESETS)[number];

export const PRESET_HOUR = 2;

const PRESET_CALENDARS: Record<SchedulePreset, CalendarSpec> = {
  'pci-quarterly': {
    comment: 'PCI DSS 11.2: quarterly, 02:00 on the 1st of January, April, July and October',
    month: ['JANUARY', 'APRIL', 'JULY', 'OCTOBER'],
    dayOfMonth: 1,
    hour: PRESET_HOUR,
    minute: 0,
    second: 0,
  },
  'fedramp-monthly': {
    comment: 'FedRAMP RA-5: monthly, 02:00 on the 1st',
    dayOfMonth: 1,
    hour: PRESET_HOUR,
    minute: 0,
    second: 0,
  },
  weekly: {
    comment: 'CIS 3.1/4.1: weekly, 02:00 on Mondays',
    dayOfWeek: 'MONDAY',
    hour: PRESET_HOUR,
    minute: 0,
    second: 0,
  },
};

export const DEFAULT_CATCHUP_WINDOW: Record<SchedulePreset | 'custom', string> = {
  'pci-quarterly': '30d',
  'fedramp-monthly': '7d',
  weekly: '2d',
  custom: '1d',
};

export const DEFAULT_JITTER = '10m';

export function presetCalendar(preset: SchedulePreset): CalendarSpec {
  return structuredClone(PRESET_CALENDARS[preset]);
}

const CALENDAR_FIELDS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek', 'year'] as const;

/**
 * The calendar with every range's end spelled out. Temporal reads a range
 * without an end as its start alone, but the SDK sends `end: 1` for it
 * (which Temporal refuses, or reads as another range); stored this way, the
 * schedule also shows what Temporal holds.
 */
export function withRangeEnds(calendar: CalendarSpec): CalendarSpec {
  const complete = (item: unknown) =>
    item !== null && typeof item === 'object' && 'start' in item && (item as { end?: unknown }).end === undefined ? { ...item, end: item.start } : item;
  const result: Record<string, unknown> = { ...calendar };
  for (const field of CALENDAR_FIELDS) {
    const value = result[field];
    if (value !== undefined) result[field] = Array.isArray(value) ? value.map(complete) : complete(value);
  }
  return result as CalendarSpec;
}

/**
 * A duration as Temporal's client reads it (`30s`, `10m`, `12h`, `7d`,
 * `90 minutes`), in milliseconds; null when Temporal would refuse the text.
 */
export function durationMs(text: string): number | null {
  try {
    const ms = msToNumber(text as Duration);
    return Number.isFinite(ms) && ms >= 0 ? ms : null;
  } catch {
    return null;
  }
}

/**
 * True for an IANA zone name the runtime knows (`Europe/Berlin`, `UTC`).
 * Offsets like `+02:00` are refused: they ignore daylight saving time, which
 * is rarely what someone scheduling "02:00 local" means.
 */
export function isIanaTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
