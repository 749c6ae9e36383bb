/**
 * One-pass summary of a Host List Detection answer in CSV (with metadata).
 * The body has one row per detection; hosts are runs of rows with the same
 * "Host ID" (with suppress_duplicated_data_from_csv=1 only a host's first row
 * carries the host columns, so an empty Host ID continues the current host).
 */
import { parse } from 'csv-parse/sync';
import { readCsvFooter, readCsvHeaderDatetime } from './csv-footer.js';
import { CsvSectionScanner } from './csv-sections.js';
import { QualysProtocolError } from './errors.js';
import { DETECTION_STATUSES, DETECTION_TYPES, SEVERITIES, bucketOf, emptySummary, matrixKey, type PageSummary, type ParsedPage } from './page-summary.js';

interface Columns {
  hostId: number;
  qid: number;
  type: number;
  severity: number;
  status: number;
}

const REQUIRED_COLUMNS: Record<keyof Columns, string> = {
  hostId: 'Host ID',
  qid: 'QID',
  type: 'Type',
  severity: 'Severity',
  status: 'Status',
};

export class HldCsvPageParser {
  private readonly scanner = new CsvSectionScanner({ onBodyRecords: (records) => this.onRecords(records) });
  private readonly summary: PageSummary = emptySummary('CSV');
  private columns: Columns | null = null;
  private currentHost: string | null = null;

  /** `onHostId` sees every host's id as it is read. */
  constructor(private readonly onHostId?: (id: number) => void) {}

  write(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  finish(): ParsedPage {
    const scan = this.scanner.end();
    if (!scan.sawFooter) {
      throw new QualysProtocolError('CSV: the answer has no footer section, so whether it is complete cannot be told (cut off, or requested as CSV_NO_METADATA)');
    }
    const summary = this.summary;
    summary.datetime = scan.sawHeader ? readCsvHeaderDatetime(scan.headerText) : null;
    Object.assign(summary, readCsvFooter(scan.footerText));
    if (summary.truncated && summary.nextIdMin == null) {
      throw new QualysProtocolError('CSV: the answer is truncated but its footer gives no next ID or URL with an id_min');
    }
    summary.layout = scan.layout;
    return { kind: 'page', summary };
  }

  private onRecords(bytes: Buffer): void {
    let rows: string[][];
    try {
      // Latin-1 is about 40% faster than UTF-8 here, and the columns read (IDs, type, severity, status) are ASCII.
      rows = parse(bytes, { relax_column_count: true, encoding: 'latin1' }) as string[][];
    } catch (err) {
      throw new QualysProtocolError(`CSV: the body is not valid CSV: ${(err as Error).message}`);
    }
    let first = 0;
    if (!this.columns) {
      this.columns = this.columnsOf(rows[0] ?? []);
      first = 1;
    }
    const { hostId, qid, type, severity, status } = this.columns;
    const s = this.summary;
    for (let r = first; r < rows.length; r++) {
      const row = rows[r]!;
      const host = row[hostId] ?? '';
      if (host !== '' && host !== this.currentHost) {
        const id = Number(host);
        if (!Number.isSafeInteger(id) || id < 0) throw new QualysProtocolError(`CSV: invalid Host ID "${host.slice(0, 40)}"`);
        this.currentHost = host;
        s.hosts++;
        if (s.minHostId == null || id < s.minHostId) s.minHostId = id;
        if (s.maxHostId == null || id > s.maxHostId) s.maxHostId = id;
        this.onHostId?.(id);
      } else if (host === '' && this.currentHost == null) {
        throw new QualysProtocolError('CSV: the first row has no Host ID');
      }
      if ((row[qid] ?? '') === '') continue; // a host without detections
      s.detections++;
      const sev = bucketOf(SEVERITIES, row[severity] ?? '');
      const st = bucketOf(DETECTION_STATUSES, row[status] ?? '');
      const ty = bucketOf(DETECTION_TYPES, row[type] ?? '');
      s.severity[sev]++;
      s.status[st]++;
      s.type[ty]++;
      const key = matrixKey(sev, st, ty);
      s.matrix[key] = (s.matrix[key] ?? 0) + 1;
    }
  }

  private columnsOf(header: string[]): Columns {
    const names = header.map((h) => h.trim());
    const columns = {} as Columns;
    for (const [key, name] of Object.entries(REQUIRED_COLUMNS) as [keyof Columns, string][]) {
      const index = names.indexOf(name);
      if (index < 0) throw new QualysProtocolError(`CSV: the body has no "${name}" column (columns: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''})`);
      columns[key] = index;
    }
    return columns;
  }
}
