/**
 * Splits a Qualys "CSV with metadata" answer into its sections while the
 * bytes stream by, with exact byte offsets:
 *
 *   ----BEGIN_RESPONSE_HEADER_CSV / ----END_RESPONSE_HEADER_CSV
 *   ----BEGIN_RESPONSE_BODY_CSV   (column-header row, then one record per row)
 *   ----END_RESPONSE_BODY_CSV
 *   ----BEGIN_RESPONSE_FOOTER_CSV / ----END_RESPONSE_FOOTER_CSV
 *
 * A marker is a line starting with "----" outside a quoted field (a RESULTS
 * value spans lines, so quote parity is tracked). Body bytes are handed on
 * in runs that end on record boundaries, so a CSV parser can take each run
 * whole; the small header and footer sections are kept as text.
 */
import { QualysProtocolError } from './errors.js';
import type { ByteRange, CsvLayout } from './page-summary.js';

const MARKER_PREFIX = 0x2d; // '-'
const QUOTE = 0x22;
const NEWLINE = 0x0a;
/** Longest marker line we accept; markers are ~30 bytes. */
const MAX_MARKER_LINE = 256;
/** Header and footer sections are a few lines; anything bigger is not a Qualys answer. */
const MAX_SMALL_SECTION = 1024 * 1024;

type Section = 'before' | 'header' | 'betweenHeaderAndBody' | 'body' | 'afterBody' | 'footer' | 'done';

const MARKERS: Record<string, { from: Section[]; to: Section }> = {
  '----BEGIN_RESPONSE_HEADER_CSV': { from: ['before'], to: 'header' },
  '----END_RESPONSE_HEADER_CSV': { from: ['header'], to: 'betweenHeaderAndBody' },
  '----BEGIN_RESPONSE_BODY_CSV': { from: ['before', 'betweenHeaderAndBody'], to: 'body' },
  '----END_RESPONSE_BODY_CSV': { from: ['body'], to: 'afterBody' },
  '----BEGIN_RESPONSE_FOOTER_CSV': { from: ['afterBody'], to: 'footer' },
  '----END_RESPONSE_FOOTER_CSV': { from: ['footer'], to: 'done' },
};

export interface CsvScanResult {
  layout: CsvLayout;
  headerText: string;
  footerText: string;
  sawHeader: boolean;
  sawFooter: boolean;
}

export interface CsvSectionScannerOptions {
  /** Receives body bytes (column-header row first) in runs of whole records. */
  onBodyRecords(records: Buffer): void;
  /** Plain CSV without section markers (CSV_NO_METADATA): the whole answer is the body. */
  plain?: boolean;
}

export class CsvSectionScanner {
  private section: Section = 'before';
  private offset = 0;
  private inQuotes = false;
  private atLineStart = true;
  /** Bytes of a line start too short to tell whether it is a marker, or of a marker line not yet complete. */
  private carry: Buffer | null = null;
  /** Body bytes after the last record boundary, waiting for the record to complete. */
  private pendingBody: Buffer[] = [];
  private pendingBodyLength = 0;
  private readonly small: Record<'header' | 'footer', Buffer[]> = { header: [], footer: [] };
  private smallLength = 0;
  private bodyStart = -1;
  private rowsStart = -1;
  private bodyEnd = -1;
  private footerStart = -1;
  private footer: ByteRange | null = null;
  private sawHeader = false;

  constructor(private readonly options: CsvSectionScannerOptions) {
    if (options.plain) {
      this.section = 'body';
      this.bodyStart = 0;
    }
  }

  push(input: Buffer): void {
    let chunk = input;
    let base = this.offset;
    if (this.carry) {
      base -= this.carry.length;
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    this.offset += input.length;
    let i = 0;
    if (base === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3; // byte order mark
    let nextQuote = -1;
    let bodyRunStart = -1;
    let lastBoundary = -1;
    const flushBody = (end: number) => {
      if (bodyRunStart < 0) return;
      if (lastBoundary > bodyRunStart) {
        this.emitBody(chunk.subarray(bodyRunStart, lastBoundary));
        if (end > lastBoundary) this.holdBody(chunk.subarray(lastBoundary, end));
      } else if (end > bodyRunStart) {
        this.holdBody(chunk.subarray(bodyRunStart, end));
      }
      bodyRunStart = lastBoundary = -1;
    };

    while (i < chunk.length) {
      if (this.atLineStart && !this.inQuotes && !this.options.plain) {
        if (chunk.length - i < 4 && chunk.indexOf(NEWLINE, i) < 0) {
          flushBody(i);
          this.carry = Buffer.from(chunk.subarray(i));
          return;
        }
        if (chunk[i] === MARKER_PREFIX && chunk[i + 1] === MARKER_PREFIX && chunk[i + 2] === MARKER_PREFIX && chunk[i + 3] === MARKER_PREFIX) {
          const nl = chunk.indexOf(NEWLINE, i);
          if (nl < 0) {
            if (chunk.length - i > MAX_MARKER_LINE) throw new QualysProtocolError(`CSV: a "----" line longer than ${MAX_MARKER_LINE} bytes at byte ${base + i}`);
            flushBody(i);
            this.carry = Buffer.from(chunk.subarray(i));
            return;
          }
          const line = chunk.toString('latin1', i, nl).trim();
          const marker = MARKERS[line];
          if (marker) {
            flushBody(i);
            this.onMarker(line, marker.from, marker.to, base + i, base + nl + 1);
            i = nl + 1;
            continue;
          }
        }
      }
      // An ordinary line (or the rest of one): route it to the current section.
      const nl = chunk.indexOf(NEWLINE, i);
      const end = nl < 0 ? chunk.length : nl + 1;
      // Quote parity over this line; the next quote position is remembered so
      // long unquoted stretches are scanned once, not once per line.
      if (nextQuote < i && nextQuote !== -2) nextQuote = chunk.indexOf(QUOTE, i);
      while (nextQuote >= 0 && nextQuote < end) {
        this.inQuotes = !this.inQuotes;
        nextQuote = chunk.indexOf(QUOTE, nextQuote + 1);
      }
      if (nextQuote === -1) nextQuote = -2; // none left in this chunk
      this.atLineStart = nl >= 0;
      if (this.section === 'body') {
        if (bodyRunStart < 0) bodyRunStart = i;
        if (nl >= 0 && !this.inQuotes) {
          lastBoundary = end;
          if (this.rowsStart < 0) this.rowsStart = base + end;
        }
      } else {
        this.other(chunk.subarray(i, end), base + i);
      }
      i = end;
    }
    flushBody(chunk.length);
  }

  end(): CsvScanResult {
    if (this.carry) {
      const rest = this.carry;
      this.carry = null;
      const line = rest.toString('latin1').trim();
      const marker = MARKERS[line];
      if (marker && !this.inQuotes && this.atLineStart) this.onMarker(line, marker.from, marker.to, this.offset - rest.length, this.offset);
      else if (this.section === 'body') this.holdBody(rest);
      else this.other(rest, this.offset - rest.length);
    }
    if (this.options.plain) {
      if (this.pendingBodyLength > 0) this.emitBody(null);
      this.bodyEnd = this.offset;
      this.section = 'done';
    }
    if (this.section === 'before') throw new QualysProtocolError('CSV: the answer has no ----BEGIN_RESPONSE_BODY_CSV section');
    if (this.section === 'header' || this.section === 'betweenHeaderAndBody') throw new QualysProtocolError('CSV: the answer ends before its body section (cut off)');
    if (this.section === 'body') throw new QualysProtocolError('CSV: the answer ends inside its body section: no ----END_RESPONSE_BODY_CSV (cut off)');
    if (this.section === 'footer') throw new QualysProtocolError('CSV: the answer ends inside its footer section: no ----END_RESPONSE_FOOTER_CSV (cut off)');
    return {
      layout: {
        kind: 'csv',
        bodyStart: this.bodyStart,
        rowsStart: this.rowsStart < 0 ? this.bodyStart : this.rowsStart,
        bodyEnd: this.bodyEnd,
        footer: this.footer,
      },
      headerText: Buffer.concat(this.small.header).toString('utf8'),
      footerText: Buffer.concat(this.small.footer).toString('utf8'),
      sawHeader: this.sawHeader,
      sawFooter: this.footer != null,
    };
  }

  private onMarker(line: string, from: Section[], to: Section, lineStart: number, lineEnd: number): void {
    if (!from.includes(this.section)) throw new QualysProtocolError(`CSV: unexpected ${line} at byte ${lineStart}`);
    this.atLineStart = true;
    switch (line) {
      case '----BEGIN_RESPONSE_HEADER_CSV':
        this.sawHeader = true;
        break;
      case '----BEGIN_RESPONSE_BODY_CSV':
        this.bodyStart = lineEnd;
        break;
      case '----END_RESPONSE_BODY_CSV':
        if (this.pendingBodyLength > 0) this.emitBody(null);
        this.bodyEnd = lineStart;
        break;
      case '----BEGIN_RESPONSE_FOOTER_CSV':
        this.footerStart = lineStart;
        break;
      case '----END_RESPONSE_FOOTER_CSV':
        this.footer = { start: this.footerStart, end: lineEnd };
        break;
    }
    this.section = to;
  }

  /** Bytes outside the body: kept for the header and footer, else only whitespace is allowed. */
  private other(bytes: Buffer, at: number): void {
    if (this.section === 'header' || this.section === 'footer') {
      this.smallLength += bytes.length;
      if (this.smallLength > MAX_SMALL_SECTION) throw new QualysProtocolError(`CSV: the ${this.section} section is larger than ${MAX_SMALL_SECTION} bytes`);
      this.small[this.section].push(Buffer.from(bytes));
      return;
    }
    if (bytes.toString('latin1').trim() !== '') {
      const where = this.section === 'before' ? 'before the first section marker' : `after the ${this.section === 'done' ? 'footer' : 'previous'} section`;
      throw new QualysProtocolError(`CSV: unexpected data ${where} at byte ${at}`);
    }
  }

  private holdBody(bytes: Buffer): void {
    this.pendingBody.push(Buffer.from(bytes));
    this.pendingBodyLength += bytes.length;
  }

  /** Hands on held bytes plus `run` (whole records); null flushes only the held bytes. */
  private emitBody(run: Buffer | null): void {
    let records: Buffer;
    if (this.pendingBody.length === 0) records = run!;
    else {
      records = Buffer.concat(run ? [...this.pendingBody, run] : this.pendingBody);
      this.pendingBody = [];
      this.pendingBodyLength = 0;
    }
    if (records.length > 0) this.options.onBodyRecords(records);
  }
}
