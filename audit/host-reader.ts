/**
 * A streaming reader of Host List Detection answers and sealed evidence that
 * hands over one host at a time, with its detections and its byte range.
 * The page reader in qualys/ only keeps totals; the audit needs the records
 * themselves (SLA, diff, reconciliation, locating a changed byte), still in
 * flat memory: only the current host is ever held.
 *
 * XML uses the same Latin-1 XmlSource trick as the page reader (positions are
 * byte offsets, CDATA RESULTS are skipped unread); CSV uses the section
 * scanner and csv-parse on whole-record runs.
 */
import { parse } from 'csv-parse/sync';
import type { SaxesTagPlain } from 'saxes';
import { readCsvFooter } from '../qualys/csv-footer.js';
import { CsvSectionScanner } from '../qualys/csv-sections.js';
import { QualysProtocolError } from '../qualys/errors.js';
import { TRUNCATION_WARNING_CODE } from '../qualys/truncation.js';
import { XmlSource, utf8Text } from '../qualys/xml-source.js';
import { inSlices } from './slices.js';

export interface Detection {
  qid: number;
  type: string;
  severity: number;
  port: string;
  protocol: string;
  ssl: string;
  status: string;
  firstFound: string;
  lastFixed: string;
  lastReopened: string;
  ignored: boolean;
  disabled: boolean;
}

export interface Host {
  id: number;
  ip: string;
  /** Byte range of the host's record in the stream ([start, end)); -1 when unknown (CSV). */
  start: number;
  end: number;
  detections: Detection[];
}

export type HostFormat = 'XML' | 'CSV';

export interface HostReaderOptions {
  /** Read each host's detections (default true); false reads host ids and ranges only, faster. */
  detections?: boolean;
}

/** What is known once the whole answer is read. */
export interface HostStreamEnd {
  hosts: number;
  detections: number;
  /** The answer ends with a truncation notice (more hosts remain). */
  truncated: boolean;
}

interface HostParser {
  write(chunk: Buffer): void;
  end(): HostStreamEnd;
}

function createHostParser(format: HostFormat, onHost: (host: Host) => void, options: HostReaderOptions = {}): HostParser {
  return format === 'XML' ? new XmlHostParser(onHost, options) : new CsvHostParser(onHost, options);
}

/**
 * Reads a whole stream, yielding the hosts completed by each chunk. Hosts
 * come in stream order (ascending id in a Qualys answer).
 */
export async function* readHosts(
  source: AsyncIterable<Buffer | Uint8Array>,
  format: HostFormat,
  options: HostReaderOptions = {},
): AsyncGenerator<Host[], HostStreamEnd> {
  let batch: Host[] = [];
  const parser = createHostParser(format, (host) => batch.push(host), options);
  for await (const chunk of inSlices(source)) {
    parser.write(chunk);
    if (batch.length > 0) {
      const done = batch;
      batch = [];
      yield done;
    }
  }
  const end = parser.end();
  if (batch.length > 0) yield batch;
  return end;
}

/** Pulls hosts one at a time from `readHosts`, for merges over two streams. */
export class HostCursor {
  private batch: Host[] = [];
  private index = 0;
  private finished: HostStreamEnd | null = null;

  constructor(private readonly batches: AsyncGenerator<Host[], HostStreamEnd>) {}

  /** The next host, or null at the end of the stream. */
  async next(): Promise<Host | null> {
    while (this.index >= this.batch.length) {
      if (this.finished) return null;
      const step = await this.batches.next();
      if (step.done) {
        this.finished = step.value;
        return null;
      }
      this.batch = step.value;
      this.index = 0;
    }
    return this.batch[this.index++]!;
  }

  get end(): HostStreamEnd | null {
    return this.finished;
  }
}

const enum Field {
  Qid,
  Type,
  Severity,
  Port,
  Protocol,
  Ssl,
  Status,
  FirstFound,
  LastFixed,
  LastReopened,
  Ignored,
  Disabled,
  HostId,
  HostIp,
}

const DETECTION_FIELDS = new Map<string, Field>([
  ['QID', Field.Qid],
  ['TYPE', Field.Type],
  ['SEVERITY', Field.Severity],
  ['PORT', Field.Port],
  ['PROTOCOL', Field.Protocol],
  ['SSL', Field.Ssl],
  ['STATUS', Field.Status],
  ['FIRST_FOUND_DATETIME', Field.FirstFound],
  ['LAST_FIXED_DATETIME', Field.LastFixed],
  ['LAST_REOPENED_DATETIME', Field.LastReopened],
  ['IS_IGNORED', Field.Ignored],
  ['IS_DISABLED', Field.Disabled],
]);

function emptyDetection(): Detection {
  return {
    qid: 0,
    type: '',
    severity: 0,
    port: '',
    protocol: '',
    ssl: '',
    status: '',
    firstFound: '',
    lastFixed: '',
    lastReopened: '',
    ignored: false,
    disabled: false,
  };
}

function setDetectionField(d: Detection, field: Field, value: string): void {
  switch (field) {
    case Field.Qid:
      d.qid = Number(value);
      break;
    case Field.Type:
      d.type = value;
      break;
    case Field.Severity:
      d.severity = Number(value);
      break;
    case Field.Port:
      d.port = value;
      break;
    case Field.Protocol:
      d.protocol = value;
      break;
    case Field.Ssl:
      d.ssl = value;
      break;
    case Field.Status:
      d.status = value;
      break;
    case Field.FirstFound:
      d.firstFound = value;
      break;
    case Field.LastFixed:
      d.lastFixed = value;
      break;
    case Field.LastReopened:
      d.lastReopened = value;
      break;
    case Field.Ignored:
      d.ignored = value === '1';
      break;
    case Field.Disabled:
      d.disabled = value === '1';
      break;
  }
}

class XmlHostParser implements HostParser {
  private readonly source = new XmlSource();
  private readonly withDetections: boolean;
  private readonly path: string[] = [];
  private text = '';
  private warningCode: number | null = null;
  private warningUrl = false;
  private sawWarning = false;
  private hosts = 0;
  private detectionCount = 0;

  // Inside HOST_LIST: depth 1 = HOST, 2 = its children, 3 = DETECTION, 4 = its children.
  private depth = 0;
  private host: Host | null = null;
  private detection: Detection | null = null;

  private readonly onOutsideOpen = (tag: SaxesTagPlain) => this.outsideOpen(tag);
  private readonly onOutsideClose = (tag: SaxesTagPlain) => this.outsideClose(tag);
  private readonly onOutsideText = (text: string) => {
    this.text += text;
  };
  private readonly onListOpen = (tag: SaxesTagPlain) => this.listOpen(tag);
  private readonly onListClose = (tag: SaxesTagPlain) => this.listClose(tag);
  private readonly onLeaf = (field: Field, text: string) => this.apply(field, text);

  constructor(
    private readonly onHost: (host: Host) => void,
    options: HostReaderOptions,
  ) {
    this.withDetections = options.detections ?? true;
    this.outsideMode();
  }

  write(chunk: Buffer): void {
    this.source.write(chunk);
  }

  end(): HostStreamEnd {
    this.source.end();
    const truncated = this.sawWarning && (this.warningCode === TRUNCATION_WARNING_CODE || (this.warningCode === null && this.warningUrl));
    return { hosts: this.hosts, detections: this.detectionCount, truncated };
  }

  private outsideMode(): void {
    const { parser } = this.source;
    parser.on('opentag', this.onOutsideOpen);
    parser.on('closetag', this.onOutsideClose);
    parser.on('text', this.onOutsideText);
    parser.on('cdata', this.onOutsideText);
  }

  private listMode(): void {
    const { parser } = this.source;
    parser.on('opentag', this.onListOpen);
    parser.on('closetag', this.onListClose);
    parser.off('text');
    parser.off('cdata');
  }

  private outsideOpen(tag: SaxesTagPlain): void {
    const depth = this.path.push(tag.name);
    this.text = '';
    if (depth === 1 && (tag.name === 'SIMPLE_RETURN' || tag.name === 'GENERIC_RETURN')) {
      throw new QualysProtocolError(`the document is a Qualys ${tag.name} (an error answer), not Host List Detection`);
    }
    if (depth === 3 && this.path[1] === 'RESPONSE') {
      if (tag.name === 'HOST_LIST' && !tag.isSelfClosing) {
        this.depth = 0;
        this.listMode();
      } else if (tag.name === 'WARNING') {
        this.sawWarning = true;
      }
    }
  }

  private outsideClose(tag: SaxesTagPlain): void {
    const depth = this.path.length;
    if (depth === 4 && this.path[2] === 'WARNING' && this.path[1] === 'RESPONSE') {
      const value = this.text.trim();
      if (tag.name === 'CODE') this.warningCode = /^\d+$/.test(value) ? Number(value) : null;
      else if (tag.name === 'URL') this.warningUrl = utf8Text(value) !== '';
    }
    this.text = '';
    this.path.pop();
  }

  private listOpen(tag: SaxesTagPlain): void {
    const depth = ++this.depth;
    if (depth === 1) {
      if (tag.name === 'HOST') {
        this.host = { id: NaN, ip: '', start: this.source.tagStartOffset(), end: -1, detections: [] };
      }
      return;
    }
    const host = this.host;
    if (!host) return;
    if (depth === 2) {
      if (tag.name === 'ID') this.readLeaf(Field.HostId, tag);
      else if (tag.name === 'IP') this.readLeaf(Field.HostIp, tag);
    } else if (depth === 3) {
      if (tag.name === 'DETECTION') {
        this.detectionCount++;
        if (this.withDetections) this.detection = emptyDetection();
      }
    } else if (depth === 4 && this.detection) {
      const field = DETECTION_FIELDS.get(tag.name);
      if (field !== undefined) this.readLeaf(field, tag);
    }
  }

  private listClose(tag: SaxesTagPlain): void {
    const depth = this.depth--;
    if (this.source.closeLeaf(tag)) return;
    if (depth === 3 && this.detection) {
      this.host!.detections.push(this.detection);
      this.detection = null;
    } else if (depth === 1 && this.host) {
      const host = this.host;
      this.host = null;
      host.end = this.source.byteOffset;
      if (!Number.isSafeInteger(host.id)) throw new QualysProtocolError(`HOST #${this.hosts + 1} at byte ${host.start} has no numeric ID`);
      this.hosts++;
      this.onHost(host);
    } else if (depth === 0) {
      // </HOST_LIST>
      this.path.pop();
      this.outsideMode();
    }
  }

  private readLeaf(field: Field, tag: SaxesTagPlain): void {
    this.source.readLeaf(tag, field, this.onLeaf);
  }

  private apply(field: Field, raw: string): void {
    const value = raw.trim();
    if (field === Field.HostId) {
      this.host!.id = /^\d+$/.test(value) ? Number(value) : NaN;
    } else if (field === Field.HostIp) {
      this.host!.ip = value;
    } else if (this.detection) {
      setDetectionField(this.detection, field, value);
    }
  }
}

const CSV_COLUMNS: ReadonlyArray<[string, Field]> = [
  ['Host ID', Field.HostId],
  ['IP Address', Field.HostIp],
  ['QID', Field.Qid],
  ['Type', Field.Type],
  ['Severity', Field.Severity],
  ['Port', Field.Port],
  ['Protocol', Field.Protocol],
  ['SSL', Field.Ssl],
  ['Status', Field.Status],
  ['First Found Datetime', Field.FirstFound],
  ['Last Fixed Datetime', Field.LastFixed],
  ['Last Re-opened Datetime', Field.LastReopened],
  ['Ignored', Field.Ignored],
  ['Disabled', Field.Disabled],
];
/** Columns every Host List Detection CSV carries; the others may be absent (older API versions). */
const REQUIRED_CSV = new Set([Field.HostId, Field.Qid]);

class CsvHostParser implements HostParser {
  private readonly scanner = new CsvSectionScanner({ onBodyRecords: (records) => this.onRecords(records) });
  private readonly withDetections: boolean;
  private columns: Array<[number, Field]> | null = null;
  private hostColumn = -1;
  private ipColumn = -1;
  private qidColumn = -1;
  private host: Host | null = null;
  private hosts = 0;
  private detections = 0;

  constructor(
    private readonly onHost: (host: Host) => void,
    options: HostReaderOptions,
  ) {
    this.withDetections = options.detections ?? true;
  }

  write(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  end(): HostStreamEnd {
    const scan = this.scanner.end();
    this.flushHost();
    const truncated = scan.sawFooter ? readCsvFooter(scan.footerText).truncated : false;
    return { hosts: this.hosts, detections: this.detections, truncated };
  }

  private flushHost(): void {
    if (!this.host) return;
    this.hosts++;
    this.onHost(this.host);
    this.host = null;
  }

  private onRecords(bytes: Buffer): void {
    let rows: string[][];
    try {
      rows = parse(bytes, { relax_column_count: true, encoding: 'latin1' }) as string[][];
    } catch (err) {
      throw new QualysProtocolError(`CSV: the body is not valid CSV: ${(err as Error).message}`);
    }
    let first = 0;
    if (!this.columns) {
      this.columns = this.columnsOf(rows[0] ?? []);
      first = 1;
    }
    for (let r = first; r < rows.length; r++) {
      const row = rows[r]!;
      const hostValue = row[this.hostColumn] ?? '';
      if (hostValue !== '' && (!this.host || String(this.host.id) !== hostValue)) {
        this.flushHost();
        const id = Number(hostValue);
        if (!Number.isSafeInteger(id) || id < 0) throw new QualysProtocolError(`CSV: invalid Host ID "${hostValue.slice(0, 40)}"`);
        this.host = { id, ip: this.ipColumn >= 0 ? (row[this.ipColumn] ?? '') : '', start: -1, end: -1, detections: [] };
      } else if (!this.host) {
        throw new QualysProtocolError('CSV: the first row has no Host ID');
      }
      if ((row[this.qidColumn] ?? '') === '') continue;
      this.detections++;
      if (!this.withDetections) continue;
      const d = emptyDetection();
      for (const [index, field] of this.columns) setDetectionField(d, field, (row[index] ?? '').trim());
      this.host.detections.push(d);
    }
  }

  private columnsOf(header: string[]): Array<[number, Field]> {
    const names = header.map((h) => h.trim());
    const columns: Array<[number, Field]> = [];
    for (const [name, field] of CSV_COLUMNS) {
      const index = names.indexOf(name);
      if (index < 0) {
        if (REQUIRED_CSV.has(field)) throw new QualysProtocolError(`CSV: the body has no "${name}" column`);
        continue;
      }
      if (field === Field.HostId) this.hostColumn = index;
      else if (field === Field.HostIp) this.ipColumn = index;
      else {
        if (field === Field.Qid) this.qidColumn = index;
        columns.push([index, field]);
      }
    }
    return columns;
  }
}
