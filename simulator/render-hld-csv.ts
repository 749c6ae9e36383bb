/**
 * Host List Detection as CSV: header/body/footer sections with marker lines,
 * one row per detection (RESULTS spans lines), and the truncation footer
 * carrying the next ID and URL. CSV_NO_METADATA is the body alone.
 *
 * Columns depend on the API version (32 on 2.0, 34 on 3.0, 38 from 4.0: the
 * auth-scan, re-opened and running-kernel columns came later). With
 * suppress_duplicated_data_from_csv=1 each host gets one host-only row (host
 * columns filled, every detection column empty) followed by its detection
 * rows with the host columns blank; a host without matching detections is
 * its host row alone. The `csvUnquoted` shape writes cells that need no
 * quotes bare.
 */
import { CSV_GARBAGE, type RenderContext, SectionedProducer } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { NO_PORT, PORTS } from './detections.js';
import { HldMatcher } from './hld-matcher.js';
import type { ApiVersion, HldQuery } from './hld-query.js';
import type { HostRecord } from './host-record.js';
import { DETECTION_STATUSES, DETECTION_TYPES, KERNEL_NONE, STATUS_REOPENED } from './vocabulary.js';

const HOST_COLUMNS = [
  'Host ID', 'IP Address', 'Tracking Method', 'Operating System', 'DNS Name', 'Netbios Name', 'QG HostID',
  'Last Scan Datetime', 'OS CPE', 'Last VM Scanned Date', 'Last VM Scanned Duration', 'Last VM Auth Scanned Date',
  'Last VM Auth Scanned Duration', 'Last PC Scanned Date',
] as const;
const DETECTION_COLUMNS = [
  'QID', 'Type', 'Port', 'Protocol', 'FQDN', 'SSL', 'Instance', 'Status', 'Severity', 'First Found Datetime',
  'Last Found Datetime', 'Last Test Datetime', 'Last Update Datetime', 'Last Fixed Datetime', 'First Re-opened Datetime',
  'Last Re-opened Datetime', 'Times Re-opened', 'Results', 'Ignored', 'Disabled', 'Times Found', 'Service',
  'Affect Running Kernel', 'Last Processed Datetime',
] as const;
type HostColumn = (typeof HOST_COLUMNS)[number];
type DetectionColumn = (typeof DETECTION_COLUMNS)[number];

/** Every column the current API versions write (38). */
export const HLD_CSV_COLUMNS: readonly string[] = [...HOST_COLUMNS, ...DETECTION_COLUMNS];

const LATER_HOST_COLUMNS: readonly HostColumn[] = ['Last VM Auth Scanned Date', 'Last VM Auth Scanned Duration'];
const LATER_DETECTION_COLUMNS: readonly DetectionColumn[] = ['First Re-opened Datetime', 'Last Re-opened Datetime', 'Times Re-opened', 'Affect Running Kernel'];

interface ColumnSet {
  host: readonly HostColumn[];
  detection: readonly DetectionColumn[];
}

/** The columns an API version writes: 32 on 2.0, 34 on 3.0, 38 from 4.0. */
export function hldCsvColumns(version: ApiVersion): ColumnSet {
  if (version === '4.0' || version === '5.0') return { host: HOST_COLUMNS, detection: DETECTION_COLUMNS };
  return {
    host: version === '2.0' ? HOST_COLUMNS.filter((c) => !LATER_HOST_COLUMNS.includes(c)) : HOST_COLUMNS,
    detection: DETECTION_COLUMNS.filter((c) => !LATER_DETECTION_COLUMNS.includes(c)),
  };
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export class HldCsvProducer extends SectionedProducer {
  private readonly matcher: HldMatcher;
  private readonly metadata: boolean;
  private readonly columns: ColumnSet;
  private readonly quote: (value: string) => string;
  private readonly blankHost: string;
  private readonly blankDetection: string;
  private emitted = 0;
  private headerRowWritten = false;
  private garbageWritten = false;
  private nextIdMin: number | null = null;

  constructor(
    private readonly dataset: Dataset,
    private readonly query: HldQuery,
    private readonly ctx: RenderContext,
  ) {
    super();
    this.matcher = new HldMatcher(dataset, query);
    this.metadata = query.format === 'CSV';
    this.columns = hldCsvColumns(query.version);
    this.quote = dataset.shapes.csvUnquoted ? quoteWhenNeeded : quoteAlways;
    this.blankHost = ','.repeat(this.columns.host.length);
    this.blankDetection = ','.repeat(this.columns.detection.length - 1);
  }

  protected head(w: ChunkWriter): void {
    if (this.metadata) w.ascii('----BEGIN_RESPONSE_HEADER_CSV\n----END_RESPONSE_HEADER_CSV\n----BEGIN_RESPONSE_BODY_CSV\n');
  }

  protected body(w: ChunkWriter): boolean {
    const limit = this.query.truncationLimit;
    const startPending = w.pending;
    while (w.pending === startPending) {
      if (!this.matcher.next()) {
        return false;
      }
      if (limit > 0 && this.emitted === limit) {
        this.nextIdMin = this.matcher.host.id;
        return false;
      }
      if (!this.headerRowWritten) {
        w.ascii([...this.columns.host, ...this.columns.detection].map((c) => this.quote(c)).join(',') + '\n');
        this.headerRowWritten = true;
      }
      this.host(w);
      this.emitted++;
      if (this.ctx.malformed && !this.garbageWritten) {
        w.ascii(CSV_GARBAGE);
        this.garbageWritten = true;
      }
    }
    return true;
  }

  protected tail(w: ChunkWriter): void {
    if (this.ctx.malformed && !this.garbageWritten) w.ascii(CSV_GARBAGE);
    if (!this.metadata) return;
    w.ascii('----END_RESPONSE_BODY_CSV\n----BEGIN_RESPONSE_FOOTER_CSV\n');
    if (this.nextIdMin === null) {
      w.ascii('"Status Message"\n"Finished"\n');
    } else {
      const url = `${this.ctx.baseUrl}${this.ctx.path}?${this.query.params.queryWith('id_min', String(this.nextIdMin))}`;
      w.ascii(`"Status Message","Next ID","Next URL"\n"Truncated","${this.nextIdMin}",${quoteAlways(url)}\n`);
    }
    w.ascii('----END_RESPONSE_FOOTER_CSV\n');
  }

  private host(w: ChunkWriter): void {
    const { dataset, query, quote } = this;
    const anchor = dataset.anchorSec;
    const h = this.matcher.host;
    const hostPart = this.hostCells(h, anchor);
    if (query.suppressDuplicated) w.utf8(hostPart + this.blankDetection + '\n');
    const d = this.matcher.detections;
    const catalog = dataset.catalog;
    const scanned = formatEpochSeconds(anchor - h.lastVmScannedAgo);
    const updated = formatEpochSeconds(anchor - h.lastScanAgo);
    const at = (ago: number) => (ago < 0 ? '' : formatEpochSeconds(anchor - ago));
    for (let m = 0; m < this.matcher.matchedCount; m++) {
      const k = this.matcher.matched[m]!;
      const qi = d.qidIndex[k]!;
      const port = d.port[k]!;
      const status = d.status[k]!;
      const [portNo, proto] = port === NO_PORT ? ['', ''] : [String(PORTS[port]![0]), PORTS[port]![1]];
      const reopened = query.showReopenedInfo && status === STATUS_REOPENED;
      const values: Record<DetectionColumn, string> = {
        QID: String(catalog.qid[qi]),
        Type: DETECTION_TYPES[catalog.type[qi]!]!,
        Port: portNo,
        Protocol: proto,
        FQDN: '',
        SSL: portNo === '443' || portNo === '8443' ? '1' : '0',
        Instance: '',
        Status: d.noStatus[k] ? '' : DETECTION_STATUSES[status]!,
        Severity: d.noSeverity[k] ? '' : String(catalog.severity[qi]),
        'First Found Datetime': at(d.firstFoundAgo[k]!),
        'Last Found Datetime': at(d.lastFoundAgo[k]!),
        'Last Test Datetime': scanned,
        'Last Update Datetime': updated,
        'Last Fixed Datetime': at(d.lastFixedAgo[k]!),
        'First Re-opened Datetime': reopened ? at(d.reopenedAgo[k]!) : '',
        'Last Re-opened Datetime': reopened ? at(d.reopenedAgo[k]!) : '',
        'Times Re-opened': reopened ? String(d.timesReopened[k]) : '',
        Results: '',
        Ignored: '0',
        Disabled: '0',
        'Times Found': String(d.timesFound[k]),
        Service: '',
        'Affect Running Kernel': query.showArfData && d.kernel[k] !== KERNEL_NONE ? String(d.kernel[k]) : '',
        'Last Processed Datetime': updated,
      };
      w.utf8(query.suppressDuplicated ? this.blankHost : hostPart);
      const cells = this.columns.detection;
      const results = cells.indexOf('Results');
      w.ascii(cells.slice(0, results).map((c) => quote(values[c])).join(',') + ',');
      if (query.showResults) w.bytes(dataset.results.csv[d.variant[k]!]!);
      w.ascii(',' + cells.slice(results + 1).map((c) => quote(values[c])).join(',') + '\n');
    }
  }

  /** The host columns, each followed by its comma. */
  private hostCells(h: HostRecord, anchor: number): string {
    const at = (ago: number) => (ago < 0 ? '' : formatEpochSeconds(anchor - ago));
    const values: Record<HostColumn, string> = {
      'Host ID': String(h.id),
      'IP Address': h.ip,
      'Tracking Method': h.trackingMethod,
      'Operating System': h.os.name,
      'DNS Name': h.fqdn,
      'Netbios Name': h.netbios,
      'QG HostID': h.qgHostId,
      'Last Scan Datetime': at(h.lastScanAgo),
      'OS CPE': h.os.cpe,
      'Last VM Scanned Date': at(h.lastVmScannedAgo),
      'Last VM Scanned Duration': h.agent ? '' : String(h.vmScanDuration),
      'Last VM Auth Scanned Date': at(h.lastAuthScannedAgo),
      'Last VM Auth Scanned Duration': h.lastAuthScannedAgo >= 0 && !h.agent ? String(h.authScanDuration) : '',
      'Last PC Scanned Date': at(h.lastPcScannedAgo),
    };
    return this.columns.host.map((c) => this.quote(values[c]) + ',').join('');
  }
}

/** Every non-empty cell quoted, as most answers do; empty cells stay bare. */
function quoteAlways(value: string): string {
  return value === '' ? '' : `"${value.replaceAll('"', '""')}"`;
}

function quoteWhenNeeded(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
