/**
 * Vulnerability SLA as of a date, per detection (host × QID × port ×
 * protocol × SSL), streamed over a sealed Host List Detection file.
 *
 * Rules (days are UTC calendar days; day N after the start is the last day
 * inside an N-day SLA, day N+1 is late):
 * - the clock starts when the detection was first found; a re-opened
 *   detection restarts it at its last re-open (LAST_REOPENED_DATETIME), unless
 *   `strict` keeps first found (the re-open then counts against the original
 *   deadline). A re-open after the as-of date does not count yet;
 * - a Fixed detection ends at its last fixed date; fixed after the as-of date,
 *   it was still open on that date;
 * - verdicts as of the date: `on-time` (fixed within the SLA), `fixed-late`,
 *   `overdue` (open past its due day), `open-within-sla`;
 * - Info detections are excluded (counted apart); detections found after the
 *   as-of date do not exist yet (counted apart); disabled and ignored
 *   detections are listed as exceptions, outside the verdict counts.
 */
import type { Detection, Host } from './host-reader.js';
import { CATEGORIES, type SeverityCategory, type SlaPolicy } from './sla-policy.js';

const VERDICTS = ['on-time', 'fixed-late', 'overdue', 'open-within-sla'] as const;
type SlaVerdict = (typeof VERDICTS)[number];
type ExceptionReason = 'overdue' | 'fixed-late' | 'disabled' | 'ignored';

export interface SlaOptions {
  /** YYYY-MM-DD: the state at the end of that day (UTC). */
  asOf: string;
  policy: SlaPolicy;
  strict: boolean;
}

export interface SlaAssessment {
  hostId: number;
  ip: string;
  qid: number;
  port: string;
  protocol: string;
  ssl: string;
  severity: number;
  category: SeverityCategory;
  status: string;
  firstFound: string;
  clockStart: string;
  /** The fix date that ends the clock, when fixed by the as-of date. */
  end: string | null;
  /** The last day inside the SLA. */
  dueDate: string;
  verdict: SlaVerdict;
  daysOver: number;
  /** Disabled or ignored detections are exceptions: listed, not counted in verdicts. */
  exception: 'disabled' | 'ignored' | null;
}

const DAY_MS = 86_400_000;

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const dateOfDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

function parseTime(text: string): number | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

function asOfEndMs(asOf: string): number {
  return Date.parse(`${asOf}T00:00:00Z`) + DAY_MS - 1;
}

export type Skip = 'info' | 'found-after-as-of' | 'undated' | 'unknown-severity';

/** The verdict of one detection as of the date, or why it is left out. */
export function assessDetection(host: Pick<Host, 'id' | 'ip'>, d: Detection, options: SlaOptions): SlaAssessment | { skip: Skip } {
  if (d.type === 'Info') return { skip: 'info' };
  const category = options.policy.severityMapping[String(d.severity) as '1'];
  if (!category) return { skip: 'unknown-severity' };
  const asOfEnd = asOfEndMs(options.asOf);
  const firstFound = parseTime(d.firstFound);
  if (firstFound === null) return { skip: 'undated' };
  if (firstFound > asOfEnd) return { skip: 'found-after-as-of' };
  const reopened = parseTime(d.lastReopened);
  const fixed = parseTime(d.lastFixed);
  let start = firstFound;
  if (!options.strict && reopened !== null && reopened <= asOfEnd && reopened > start) start = reopened;
  // Fixed by the as-of date: Fixed now and fixed then, or re-opened since but the fix (of the current cycle) came before it.
  let end: number | null = null;
  if (fixed !== null && fixed <= asOfEnd && fixed >= start) {
    const stillFixedAsOf = d.status === 'Fixed' || (reopened !== null && reopened > asOfEnd);
    if (stillFixedAsOf) end = fixed;
  }
  const allowed = options.policy.days[category];
  const startDay = dayOf(start);
  const elapsed = (end === null ? dayOf(asOfEnd) : dayOf(end)) - startDay;
  const late = elapsed > allowed;
  const verdict: SlaVerdict = end === null ? (late ? 'overdue' : 'open-within-sla') : late ? 'fixed-late' : 'on-time';
  return {
    hostId: host.id,
    ip: host.ip,
    qid: d.qid,
    port: d.port,
    protocol: d.protocol,
    ssl: d.ssl,
    severity: d.severity,
    category,
    status: d.status,
    firstFound: d.firstFound,
    clockStart: new Date(start).toISOString().replace('.000Z', 'Z'),
    end: end === null ? null : new Date(end).toISOString().replace('.000Z', 'Z'),
    dueDate: dateOfDay(startDay + allowed),
    verdict,
    daysOver: late ? elapsed - allowed : 0,
    exception: d.disabled ? 'disabled' : d.ignored ? 'ignored' : null,
  };
}

type Counts = Record<SlaVerdict, number>;
const zeroCounts = (): Counts => ({ 'on-time': 0, 'fixed-late': 0, overdue: 0, 'open-within-sla': 0 });

export interface SlaSummary {
  asOf: string;
  policy: { name: string; source: string; days: Record<SeverityCategory, number>; strict: boolean };
  severityMapping: Record<string, SeverityCategory>;
  counts: {
    byCategory: Record<SeverityCategory, Counts>;
    bySeverity: Record<string, Counts>;
    total: Counts;
    assessed: number;
    exceptions: { disabled: number; ignored: number };
    excluded: { info: number; foundAfterAsOf: number; undated: number; unknownSeverity: number };
  };
  /** On time and open within SLA, over every assessed detection; null when none. */
  withinSlaPercent: number | null;
  warnings: string[];
}

class SlaTally {
  private readonly byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, zeroCounts()])) as Record<SeverityCategory, Counts>;
  private readonly bySeverity: Record<string, Counts> = { '1': zeroCounts(), '2': zeroCounts(), '3': zeroCounts(), '4': zeroCounts(), '5': zeroCounts() };
  private readonly total = zeroCounts();
  private readonly exceptions = { disabled: 0, ignored: 0 };
  private readonly excluded = { info: 0, foundAfterAsOf: 0, undated: 0, unknownSeverity: 0 };
  private reopenedWithoutDate = 0;

  constructor(private readonly options: SlaOptions) {}

  /** Counts one result; returns the exception reason when it belongs on the exception list. */
  add(result: SlaAssessment | { skip: Skip }, d: Detection): ExceptionReason | null {
    if ('skip' in result) {
      const key = ({ info: 'info', 'found-after-as-of': 'foundAfterAsOf', undated: 'undated', 'unknown-severity': 'unknownSeverity' } as const)[result.skip];
      this.excluded[key]++;
      return null;
    }
    if (d.status === 'Re-Opened' && !d.lastReopened) this.reopenedWithoutDate++;
    if (result.exception) {
      this.exceptions[result.exception]++;
      return result.exception;
    }
    this.byCategory[result.category][result.verdict]++;
    this.bySeverity[String(result.severity)]![result.verdict]++;
    this.total[result.verdict]++;
    return result.verdict === 'overdue' || result.verdict === 'fixed-late' ? result.verdict : null;
  }

  summary(warnings: string[]): SlaSummary {
    const assessed = VERDICTS.reduce((n, v) => n + this.total[v], 0);
    const within = this.total['on-time'] + this.total['open-within-sla'];
    const notes = [...warnings];
    if (this.reopenedWithoutDate > 0 && !this.options.strict) {
      notes.push(`${this.reopenedWithoutDate} re-opened detection(s) carry no re-open date (pull with show_reopened_info=1): their clock runs from first found`);
    }
    const { policy } = this.options;
    return {
      asOf: this.options.asOf,
      policy: { name: policy.name, source: policy.source, days: policy.days, strict: this.options.strict },
      severityMapping: policy.severityMapping,
      counts: { byCategory: this.byCategory, bySeverity: this.bySeverity, total: this.total, assessed, exceptions: this.exceptions, excluded: this.excluded },
      withinSlaPercent: assessed === 0 ? null : Math.round((within / assessed) * 10_000) / 100,
      warnings: notes,
    };
  }
}

/** Whether the pull asked for Fixed detections (Qualys leaves them out unless `status` names Fixed). */
export function fixedDetectionsWarning(params: Readonly<Record<string, string>>): string | null {
  const status = params.status;
  if (status !== undefined && status.split(',').some((s) => s.trim() === 'Fixed')) return null;
  return status === undefined
    ? 'the fetcher did not ask for Fixed detections (Qualys leaves them out by default): fixed detections, on time or late, are missing, so the percentage only covers open ones. Add Fixed to the fetcher\'s statuses for a full SLA report'
    : `the fetcher asked only for ${status} detections, not Fixed: fixed detections, on time or late, are missing, so the percentage only covers open ones. Add Fixed to the fetcher's statuses for a full SLA report`;
}

const SLA_CSV_HEADER = [
  'host_id', 'ip', 'qid', 'port', 'protocol', 'ssl', 'severity', 'category', 'status', 'first_found', 'clock_start', 'end', 'due_date', 'verdict', 'days_over', 'exception',
];

function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function slaCsvRow(a: SlaAssessment): string {
  return `${[a.hostId, a.ip, a.qid, a.port, a.protocol, a.ssl, a.severity, a.category, a.status, a.firstFound, a.clockStart, a.end, a.dueDate, a.verdict, a.daysOver, a.exception].map(csvCell).join(',')}\n`;
}

function exceptionEntry(a: SlaAssessment, reason: ExceptionReason) {
  return {
    reason,
    hostId: a.hostId,
    ip: a.ip,
    qid: a.qid,
    port: a.port || null,
    protocol: a.protocol || null,
    ssl: a.ssl === '1',
    severity: a.severity,
    category: a.category,
    status: a.status,
    firstFound: a.firstFound,
    clockStart: a.clockStart,
    end: a.end,
    dueDate: a.dueDate,
    daysOver: a.daysOver,
  };
}

/**
 * The SLA report as a stream of text: JSON (`{"evidenceId",…,"exceptions":[…],
 * "counts":…}` with the exception list streamed before the counts) or CSV
 * (one row per assessed detection). Memory stays flat: hosts come one at a
 * time and nothing per detection is kept.
 */
export async function* slaReport(
  hosts: AsyncIterable<Host[]>,
  options: SlaOptions,
  output: { format: 'json' | 'csv'; head: Record<string, unknown>; warnings: string[] },
): AsyncGenerator<string> {
  const tally = new SlaTally(options);
  if (output.format === 'csv') yield `${SLA_CSV_HEADER.join(',')}\n`;
  else yield `${JSON.stringify(output.head).slice(0, -1)}${Object.keys(output.head).length ? ',' : ''}"exceptions":[`;
  let first = true;
  let buffer = '';
  for await (const batch of hosts) {
    for (const host of batch) {
      for (const d of host.detections) {
        const result = assessDetection(host, d, options);
        const reason = tally.add(result, d);
        if ('skip' in result) continue;
        if (output.format === 'csv') buffer += slaCsvRow(result);
        else if (reason) {
          buffer += `${first ? '' : ','}${JSON.stringify(exceptionEntry(result, reason))}`;
          first = false;
        }
      }
    }
    if (buffer.length > 0) {
      yield buffer;
      buffer = '';
    }
  }
  if (output.format === 'json') {
    const summary = tally.summary(output.warnings);
    yield `],${JSON.stringify(summary).slice(1)}\n`;
  }
}

/** The summary alone (no exception list), for the command line and tests. */
export async function slaSummary(hosts: AsyncIterable<Host[]>, options: SlaOptions, warnings: string[]): Promise<SlaSummary> {
  const tally = new SlaTally(options);
  for await (const batch of hosts) for (const host of batch) for (const d of host.detections) tally.add(assessDetection(host, d, options), d);
  return tally.summary(warnings);
}
