/**
 * Schedule requests and views. A custom calendar is a Temporal calendar
 * spec: each field takes a value, a range `{start, end?, step?}`, a list of
 * those, or "*". Seconds and minutes take one value each, so a fetcher runs
 * at most hourly: Qualys subscriptions allow a few hundred calls an hour.
 */
import { z } from '@hono/zod-openapi';
import { DAYS_OF_WEEK, MONTHS } from '@temporalio/client';
import type { ScheduleRow } from '../../db/schema.js';
import { DEFAULT_CATCHUP_WINDOW, DEFAULT_JITTER, SCHEDULE_PRESETS, durationMs, isIanaTimeZone } from '../schedule-specs.js';
import { iso, isoTime } from './common.js';
import { text } from './fields.js';

const MIN_CATCHUP_MS = 60_000;
const MAX_CATCHUP_MS = 365 * 86_400_000;
const MAX_JITTER_MS = 86_400_000;
/** More list entries than any real calendar needs; bounds what reaches Temporal. */
const MAX_LIST = 60;

type Unit = { kind: 'number'; min: number; max: number } | { kind: 'name'; names: readonly string[] };

const UNITS = {
  hour: { kind: 'number', min: 0, max: 23 },
  dayOfMonth: { kind: 'number', min: 1, max: 31 },
  year: { kind: 'number', min: 2000, max: 2200 },
  month: { kind: 'name', names: MONTHS },
  dayOfWeek: { kind: 'name', names: DAYS_OF_WEEK },
} as const satisfies Record<string, Unit>;

function unitText(unit: Unit): string {
  return unit.kind === 'number' ? `a whole number from ${unit.min} to ${unit.max}` : `one of ${unit.names.join(', ')}`;
}

function position(unit: Unit, value: unknown): number | null {
  if (unit.kind === 'number') return typeof value === 'number' && Number.isInteger(value) && value >= unit.min && value <= unit.max ? value : null;
  return typeof value === 'string' ? (unit.names.indexOf(value) >= 0 ? unit.names.indexOf(value) : null) : null;
}

/** Explains in words what is wrong with one calendar field value (zod's union message would only say "Invalid input"). */
function calendarValueProblem(unit: Unit, input: unknown): string {
  const describeItem = (item: unknown): string | null => {
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const { start, end, step, ...rest } = item as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length) return `a range takes only start, end and step (unknown: ${extra.join(', ')})`;
      if (start === undefined) return 'a range needs a start';
      if (position(unit, start) === null) return `range start ${JSON.stringify(start)} must be ${unitText(unit)}`;
      if (end !== undefined && position(unit, end) === null) return `range end ${JSON.stringify(end)} must be ${unitText(unit)}`;
      if (end !== undefined && position(unit, end)! < position(unit, start)!) return `range end ${JSON.stringify(end)} is before its start ${JSON.stringify(start)}`;
      if (step !== undefined && !(typeof step === 'number' && Number.isInteger(step) && step >= 1)) return 'range step must be a whole number of at least 1';
      return null;
    }
    return position(unit, item) === null ? `${JSON.stringify(item)} must be ${unitText(unit)}` : null;
  };
  if (input === '*') return 'is invalid';
  if (Array.isArray(input)) {
    if (input.length === 0) return 'an empty list matches nothing; give at least one value or "*"';
    if (input.length > MAX_LIST) return `at most ${MAX_LIST} entries`;
    return input.map(describeItem).find((p) => p !== null) ?? 'is invalid';
  }
  return describeItem(input) ?? `must be ${unitText(unit)}, a range {start, end?, step?}, a list of these, or "*"`;
}

function calendarField(unit: Unit, description: string) {
  // zod reports a failing union member's own issue when only one member fits the input's type: make those say it in words too.
  const explain = (issue: { input: unknown }) => calendarValueProblem(unit, issue.input);
  const wrongValue = (issue: { input: unknown }) => `${JSON.stringify(issue.input)} must be ${unitText(unit)}`;
  const value =
    unit.kind === 'number'
      ? z.number({ error: wrongValue }).int({ error: wrongValue }).min(unit.min, { error: wrongValue }).max(unit.max, { error: wrongValue })
      : z.enum(unit.names as [string, ...string[]], { error: wrongValue });
  const range = z
    .strictObject({
      start: value,
      end: value.optional().openapi({ description: 'The last value (default: the start, so the range is one value)' }),
      step: z.number().int().min(1, 'range step must be a whole number of at least 1').optional(),
    })
    .refine((r) => r.end === undefined || position(unit, r.end)! >= position(unit, r.start)!, { error: explain });
  const item = z.union([value, range], { error: explain });
  return z
    .union([z.literal('*'), item, z.array(item, { error: explain }).min(1, { error: explain }).max(MAX_LIST, { error: explain })], { error: explain })
    .optional()
    .openapi({ description });
}

const singleValue = (name: string, max: number) =>
  z
    .number({ error: `must be a whole number from 0 to ${max}` })
    .int(`must be a whole number from 0 to ${max}`)
    .min(0, `must be a whole number from 0 to ${max}`)
    .max(max, `must be a whole number from 0 to ${max}`)
    .optional()
    .openapi({ description: `One ${name} (default 0); one value only, so a fetcher runs at most hourly` });

export const calendarSchema = z
  .strictObject({
    second: singleValue('second', 59),
    minute: singleValue('minute', 59),
    hour: calendarField(UNITS.hour, 'Hours 0–23 (default 0)'),
    dayOfMonth: calendarField(UNITS.dayOfMonth, 'Days of the month 1–31 (default every day)'),
    month: calendarField(UNITS.month, 'JANUARY…DECEMBER (default every month)'),
    dayOfWeek: calendarField(UNITS.dayOfWeek, 'SUNDAY…SATURDAY (default every day); combines with dayOfMonth by AND'),
    year: calendarField(UNITS.year, 'Full years (default every year)'),
    comment: text(200).optional(),
  })
  .openapi('CalendarSpec', { description: 'A Temporal calendar spec; every field that is given must match' });

const duration = (what: string, min: number, max: number, example: string) =>
  text(40)
    .refine((value) => {
      const ms = durationMs(value);
      return ms !== null && ms >= min && ms <= max;
    }, `must be a duration like ${example} (as Temporal reads them: 30s, 10m, 12h, 7d, 90 minutes) from ${min / 1000} s to ${max / 86_400_000} days`)
    .optional()
    .openapi({ description: what, example });

const timezone = text(64)
  .refine(isIanaTimeZone, 'must be an IANA time zone name such as UTC, Europe/Berlin or America/New_York')
  .optional()
  .openapi({ description: 'IANA time zone the calendar is read in (default UTC)', example: 'America/New_York' });

export const createScheduleBody = z
  .strictObject({
    preset: z
      .enum(SCHEDULE_PRESETS, { error: `must be one of ${SCHEDULE_PRESETS.join(', ')}` })
      .optional()
      .openapi({ description: 'pci-quarterly (1st of Jan/Apr/Jul/Oct), fedramp-monthly (1st of each month), weekly (Mondays); all at 02:00' }),
    calendar: calendarSchema.optional(),
    timezone,
    catchupWindow: duration(
      `How late a missed run may still start after an outage. Defaults: pci-quarterly ${DEFAULT_CATCHUP_WINDOW['pci-quarterly']}, ` +
        `fedramp-monthly ${DEFAULT_CATCHUP_WINDOW['fedramp-monthly']}, weekly ${DEFAULT_CATCHUP_WINDOW.weekly}, custom ${DEFAULT_CATCHUP_WINDOW.custom}`,
      MIN_CATCHUP_MS,
      MAX_CATCHUP_MS,
      '7d',
    ),
    jitter: duration(`Random delay added to each scheduled time (default ${DEFAULT_JITTER})`, 0, MAX_JITTER_MS, '10m'),
    note: text(500).optional(),
    paused: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.preset === undefined) === (body.calendar === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [body.preset === undefined ? 'preset' : 'calendar'],
        message: 'give either a preset or a calendar (exactly one)',
      });
    }
  })
  .openapi('ScheduleCreate', { oneOf: [{ required: ['preset'] }, { required: ['calendar'] }], description: 'Exactly one of `preset` and `calendar`.' });


export const noteBody = z
  .strictObject({ note: text(500).optional() })
  .openapi('ScheduleNote');

/** A year of catch-up is the most any audit period asks for. */
export const MAX_BACKFILL_DAYS = 366;

export const backfillBody = z
  .strictObject({
    start: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-01T00:00:00Z' }),
    end: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-04-01T00:00:00Z' }),
  })
  .superRefine((body, ctx) => {
    const span = Date.parse(body.end) - Date.parse(body.start);
    if (span <= 0) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
    else if (span > MAX_BACKFILL_DAYS * 86_400_000) ctx.addIssue({ code: 'custom', path: ['end'], message: `the period may span at most ${MAX_BACKFILL_DAYS} days` });
  })
  .openapi('ScheduleBackfill', { description: `\`end\` comes after \`start\`, at most ${MAX_BACKFILL_DAYS} days later.` });

/** What the mirror row's `spec` holds: the calendars as given to Temporal plus the two durations. */
export interface StoredScheduleSpec {
  calendars: unknown[];
  catchupWindow: string;
  jitter: string;
}

const temporalInfo = z
  .object({
    paused: z.boolean(),
    note: z.string().nullable(),
    nextActionTimes: z.array(isoTime).openapi({ description: 'The next (up to 5) times the schedule fires, as Temporal computed them (jitter applied)' }),
    recentActions: z.array(
      z.object({ scheduledAt: isoTime, takenAt: isoTime, workflowId: z.string(), runId: z.string(), links: z.object({ run: z.string() }) }),
    ),
    runningRunIds: z.array(z.string()),
    actionsTaken: z.number().int(),
    actionsSkippedOverlap: z.number().int(),
    actionsMissedCatchupWindow: z.number().int(),
  })
  .openapi('ScheduleTemporalState', { description: "Temporal's own view of the schedule" });

export const scheduleSchema = z
  .object({
    id: z.string(),
    fetcherId: z.string(),
    temporalScheduleId: z.string(),
    preset: z.enum(SCHEDULE_PRESETS).nullable(),
    calendars: z.array(z.record(z.string(), z.unknown())),
    timezone: z.string(),
    catchupWindow: z.string(),
    jitter: z.string(),
    paused: z.boolean(),
    note: z.string().nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
    temporal: temporalInfo.nullable().optional().openapi({ description: 'Present on single-schedule reads; null when Temporal no longer has the schedule' }),
    links: z.object({ self: z.string(), fetcher: z.string(), runs: z.string() }),
  })
  .openapi('Schedule');

export type ScheduleView = z.infer<typeof scheduleSchema>;
export type ScheduleTemporalState = z.infer<typeof temporalInfo>;

export function toScheduleView(row: ScheduleRow, temporal?: ScheduleTemporalState | null): ScheduleView {
  const spec = row.spec as unknown as Partial<StoredScheduleSpec>;
  return {
    id: row.id,
    fetcherId: row.fetcherId,
    temporalScheduleId: row.temporalScheduleId,
    preset: (SCHEDULE_PRESETS as readonly string[]).includes(row.preset ?? '') ? (row.preset as ScheduleView['preset']) : null,
    calendars: (spec.calendars ?? []) as Record<string, unknown>[],
    timezone: row.timezone,
    catchupWindow: spec.catchupWindow ?? '',
    jitter: spec.jitter ?? '',
    paused: row.paused,
    note: row.note,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
    ...(temporal === undefined ? {} : { temporal }),
    links: { self: `/v1/schedules/${row.id}`, fetcher: `/v1/fetchers/${row.fetcherId}`, runs: `/v1/runs?fetcherId=${row.fetcherId}` },
  };
}
