/**
 * The small summary of one Host List Detection page (or of many pages added
 * up), and the byte layout of the page that lets pages be merged into one
 * evidence file without parsing them again.
 */
import type { QualysReturnDocument } from './errors.js';

export const SEVERITIES = ['1', '2', '3', '4', '5'] as const;
export const DETECTION_STATUSES = ['New', 'Active', 'Fixed', 'Re-Opened'] as const;
export const DETECTION_TYPES = ['Confirmed', 'Potential', 'Info'] as const;


/**
 * Buckets beyond the documented values, so every count adds up to
 * `detections`: `none` for a detection without the element (or with it
 * empty), as information-gathered detections often come; `other` for a
 * value Qualys does not document.
 */
export const NO_VALUE = 'none';
export const OTHER_VALUE = 'other';
export type Missing = typeof NO_VALUE | typeof OTHER_VALUE;
export const SEVERITY_BUCKETS = [...SEVERITIES, NO_VALUE, OTHER_VALUE] as const;
export const STATUS_BUCKETS = [...DETECTION_STATUSES, NO_VALUE, OTHER_VALUE] as const;
export const TYPE_BUCKETS = [...DETECTION_TYPES, NO_VALUE, OTHER_VALUE] as const;
export type SeverityBucket = (typeof SEVERITY_BUCKETS)[number];
export type StatusBucket = (typeof STATUS_BUCKETS)[number];
export type TypeBucket = (typeof TYPE_BUCKETS)[number];

/** [start, end) in the raw response bytes. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface XmlLayout {
  kind: 'xml';
  root: string;
  /** The list element's start tag (`<HOST_LIST>`), or null when the answer has no list. */
  listOpen: ByteRange | null;
  /** The list element's end tag (`</HOST_LIST>`). */
  listClose: ByteRange | null;
  /** The whole `<WARNING>…</WARNING>` element (the truncation notice). */
  warning: ByteRange | null;
}

export interface CsvLayout {
  kind: 'csv';
  /** First byte after the `----BEGIN_RESPONSE_BODY_CSV` line. */
  bodyStart: number;
  /** First byte after the column-header row (equals bodyStart when the body is empty). */
  rowsStart: number;
  /** First byte of the `----END_RESPONSE_BODY_CSV` line. */
  bodyEnd: number;
  /** The whole footer section, markers included. */
  footer: ByteRange | null;
}

export type PageFormat = 'XML' | 'CSV';

export interface PageSummary {
  format: PageFormat;
  hosts: number;
  detections: number;
  /** Each sums to `detections` (see NO_VALUE / OTHER_VALUE). */
  severity: Record<SeverityBucket, number>;
  status: Record<StatusBucket, number>;
  type: Record<TypeBucket, number>;
  /** `${severity}|${status}|${type}` → count, buckets included; the counts sum to `detections`. */
  matrix: Record<string, number>;
  minHostId: number | null;
  maxHostId: number | null;
  /** RESPONSE/DATETIME (XML) or the header section's datetime (CSV), as Qualys wrote it. */
  datetime: string | null;
  truncated: boolean;
  nextIdMin: number | null;
  nextUrl: string | null;
  layout: XmlLayout | CsvLayout;
}

/** What a page parser found: a page, or a Qualys return (error) document in its place. */
export type ParsedPage = { kind: 'page'; summary: PageSummary } | { kind: 'return'; document: QualysReturnDocument };

export function matrixKey(severity: SeverityBucket, status: StatusBucket, type: TypeBucket): string {
  return `${severity}|${status}|${type}`;
}

/** The bucket a value read from an answer falls in. */
export function bucketOf<T extends string>(documented: readonly T[], raw: string): T | Missing {
  const value = raw.trim();
  if (value === '') return NO_VALUE;
  return (documented as readonly string[]).includes(value) ? (value as T) : OTHER_VALUE;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

function emptyLayout(format: PageFormat): XmlLayout | CsvLayout {
  return format === 'XML'
    ? { kind: 'xml', root: 'HOST_LIST_VM_DETECTION_OUTPUT', listOpen: null, listClose: null, warning: null }
    : { kind: 'csv', bodyStart: 0, rowsStart: 0, bodyEnd: 0, footer: null };
}

export function emptySummary(format: PageFormat): PageSummary {
  return {
    format,
    hosts: 0,
    detections: 0,
    severity: zeros(SEVERITY_BUCKETS),
    status: zeros(STATUS_BUCKETS),
    type: zeros(TYPE_BUCKETS),
    matrix: {},
    minHostId: null,
    maxHostId: null,
    datetime: null,
    truncated: false,
    nextIdMin: null,
    nextUrl: null,
    layout: emptyLayout(format),
  };
}

function addCounts<K extends string>(a: Record<K, number>, b: Record<K, number>): Record<K, number> {
  const out = { ...a };
  for (const key of Object.keys(b) as K[]) out[key] = (out[key] ?? 0) + b[key];
  return out;
}

function minOf(a: number | null, b: number | null): number | null {
  if (a == null) return b;
  if (b == null) return a;
  return Math.min(a, b);
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a == null) return b;
  if (b == null) return a;
  return Math.max(a, b);
}

/**
 * Adds page b to the running total a (pages in pull order): counts add up, the
 * host ID range widens, the cursor and truncation are b's (the latest page's),
 * and DATETIME and layout stay a's (the first page frames a merged file).
 */
export function addSummaries(a: PageSummary, b: PageSummary): PageSummary {
  if (a.format !== b.format) throw new Error(`cannot add a ${b.format} page summary to a ${a.format} one`);
  return {
    format: a.format,
    hosts: a.hosts + b.hosts,
    detections: a.detections + b.detections,
    severity: addCounts(a.severity, b.severity),
    status: addCounts(a.status, b.status),
    type: addCounts(a.type, b.type),
    matrix: addCounts(a.matrix, b.matrix),
    minHostId: minOf(a.minHostId, b.minHostId),
    maxHostId: maxOf(a.maxHostId, b.maxHostId),
    datetime: a.datetime ?? b.datetime,
    truncated: b.truncated,
    nextIdMin: b.nextIdMin,
    nextUrl: b.nextUrl,
    layout: a.layout,
  };
}

/** The public JSON shape printed by the CLI and stored with evidence: no layout, no URL. */
export function summaryToJson(summary: PageSummary) {
  return {
    format: summary.format,
    hosts: summary.hosts,
    detections: summary.detections,
    severity: summary.severity,
    status: summary.status,
    type: summary.type,
    minHostId: summary.minHostId,
    maxHostId: summary.maxHostId,
    datetime: summary.datetime,
    truncated: summary.truncated,
    nextIdMin: summary.nextIdMin,
  };
}
