/**
 * Host List Detection as CSV: header/body/footer sections with marker lines,
 * one row per detection (RESULTS spans lines), and the truncation footer
 * carrying the next ID and URL. CSV_NO_METADATA is the body alone.
 */
import { CSV_GARBAGE, type RenderContext, SectionedProducer } from './body-producer.js';
import type { ChunkWriter } from './chunk-writer.js';
import { formatEpochSeconds } from './clock.js';
import type { Dataset } from './dataset.js';
import { NO_PORT, PORTS } from './detections.js';
import { csvField } from './escape.js';
import { HldMatcher } from './hld-matcher.js';
import type { HldQuery } from './hld-query.js';
import type { HostRecord } from './host-record.js';
import { DETECTION_STATUSES, DETECTION_TYPES, KERNEL_NONE, STATUS_REOPENED } from './vocabulary.js';

export const HLD_CSV_COLUMNS = [
  'Host ID', 'IP Address', 'Tracking Method', 'Operating System', 'DNS Name', 'Netbios Name', 'QG HostID',
  'Last Scan Datetime', 'OS CPE', 'Last VM Scanned Date', 'Last VM Scanned Duration', 'Last VM Auth Scanned Date',
  'Last VM Auth Scanned Duration', 'Last PC Scanned Date', 'QID', 'Type', 'Port', 'Protocol', 'FQDN', 'SSL',
  'Instance', 'Status', 'Severity', 'First Found Datetime', 'Last Found Datetime', 'Last Test Datetime',
  'Last Update Datetime', 'Last Fixed Datetime', 'First Re-opened Datetime', 'Last Re-opened Datetime',
  'Times Re-opened', 'Results', 'Ignored', 'Disabled', 'Times Found', 'Service', 'Affect Running Kernel',
  'Last Processed Datetime',
] as const;

/** Number of leading host columns, blanked on repeat rows with suppress_duplicated_data_from_csv=1. */
const HOST_COLUMNS = 14;
const HEADER_ROW = HLD_CSV_COLUMNS.map((c) => `"${c}"`).join(',') + '\n';
const BLANK_HOST = ','.repeat(HOST_COLUMNS);


export class HldCsvProducer extends SectionedProducer {
  private readonly matcher: HldMatcher;
  private readonly metadata: boolean;
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
        w.ascii(HEADER_ROW);
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
      w.ascii(`"Status Message","Next ID","Next URL"\n"Truncated","${this.nextIdMin}",${csvField(url)}\n`);
    }
    w.ascii('----END_RESPONSE_FOOTER_CSV\n');
  }

  private host(w: ChunkWriter): void {
    const { dataset, query } = this;
    const anchor = dataset.anchorSec;
    const h = this.matcher.host;
    const hostPart = hostColumns(h, anchor);
    const d = this.matcher.detections;
    const catalog = dataset.catalog;
    const scanned = formatEpochSeconds(anchor - h.lastVmScannedAgo);
    const updated = formatEpochSeconds(anchor - h.lastScanAgo);
    for (let m = 0; m < this.matcher.matchedCount; m++) {
      const k = this.matcher.matched[m]!;
      const qi = d.qidIndex[k]!;
      const port = d.port[k]!;
      const status = d.status[k]!;
      const [portNo, proto] = port === NO_PORT ? ['', ''] : [String(PORTS[port]![0]), PORTS[port]![1]];
      const reopened = query.showReopenedInfo && status === STATUS_REOPENED ? `"${formatEpochSeconds(anchor - d.reopenedAgo[k]!)}"` : '';
      w.utf8(m === 0 || !query.suppressDuplicated ? hostPart : BLANK_HOST);
      w.ascii(
        `"${catalog.qid[qi]}","${DETECTION_TYPES[catalog.type[qi]!]}",${portNo && `"${portNo}"`},${proto && `"${proto}"`},,` +
          `"${portNo === '443' || portNo === '8443' ? 1 : 0}",,"${DETECTION_STATUSES[status]}","${catalog.severity[qi]}",` +
          `"${formatEpochSeconds(anchor - d.firstFoundAgo[k]!)}","${formatEpochSeconds(anchor - d.lastFoundAgo[k]!)}",` +
          `"${scanned}","${updated}",${d.lastFixedAgo[k]! >= 0 ? `"${formatEpochSeconds(anchor - d.lastFixedAgo[k]!)}"` : ''},` +
          `${reopened},${reopened},${reopened && `"${d.timesReopened[k]}"`},`,
      );
      if (query.showResults) w.bytes(dataset.results.csv[d.variant[k]!]!);
      w.ascii(
        `,"0","0","${d.timesFound[k]}",,${query.showArfData && d.kernel[k] !== KERNEL_NONE ? `"${d.kernel[k]}"` : ''},"${updated}"\n`,
      );
    }
  }
}

function hostColumns(h: HostRecord, anchor: number): string {
  const at = (ago: number) => (ago < 0 ? '' : `"${formatEpochSeconds(anchor - ago)}"`);
  return (
    [
      `"${h.id}"`, `"${h.ip}"`, `"${h.trackingMethod}"`, csvField(h.os.name), csvField(h.fqdn), csvField(h.netbios),
      csvField(h.qgHostId), at(h.lastScanAgo), csvField(h.os.cpe), at(h.lastVmScannedAgo), `"${h.vmScanDuration}"`,
      at(h.lastAuthScannedAgo), h.lastAuthScannedAgo >= 0 ? `"${h.authScanDuration}"` : '', at(h.lastPcScannedAgo),
    ].join(',') + ','
  );
}
