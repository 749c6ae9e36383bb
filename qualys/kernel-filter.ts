/**
 * The client-side half of running-kernel option 4 ("only kernel-related
 * vulnerabilities") on API 3.0 and later, where Qualys has no parameter for
 * it: the request asks for `show_arf_data=1`, so every kernel-related
 * detection carries AFFECT_RUNNING_KERNEL (XML) or a filled "Affect Running
 * Kernel" cell (CSV), and this filter drops every other detection, and every
 * host left without one, while the answer streams. Everything else passes
 * byte for byte; a host is held only until its end tag (one host at most).
 */
import { parse } from 'csv-parse/sync';
import { QualysProtocolError } from './errors.js';
import type { IngestResult, PageIngest } from './page-ingest.js';
import { XmlSource } from './xml-source.js';

export const POST_FILTERS = ['kernel-related'] as const;
/** A filter the client applies to each page before it is stored and read. */
export type DetectionPostFilter = (typeof POST_FILTERS)[number];

export interface ByteFilter {
  /** Bytes that may be passed on now (possibly none). */
  write(chunk: Buffer): Buffer[];
  /** The rest, once the answer is complete. */
  end(): Buffer[];
}

export function createPostFilter(filter: DetectionPostFilter): ByteFilter {
  switch (filter) {
    case 'kernel-related':
      return new SniffingKernelFilter();
  }
}

/** Decides XML or CSV from the first non-blank byte, like the page reader. */
class SniffingKernelFilter implements ByteFilter {
  private inner: ByteFilter | null = null;
  private head: Buffer[] = [];

  write(chunk: Buffer): Buffer[] {
    if (this.inner) return this.inner.write(chunk);
    this.head.push(chunk);
    const all = Buffer.concat(this.head);
    const text = all.toString('latin1').replace(/^\xef\xbb\xbf/, '').trimStart();
    if (text === '') return [];
    this.inner = text.startsWith('<') ? new XmlKernelFilter() : new CsvKernelFilter();
    this.head = [];
    return this.inner.write(all);
  }

  end(): Buffer[] {
    if (!this.inner) return this.head;
    return this.inner.end();
  }
}

/** Absolute byte ranges [start, end) to leave out of a held host. */
type Range = readonly [number, number];

class XmlKernelFilter implements ByteFilter {
  private readonly source = new XmlSource();
  private held: Buffer[] = [];
  /** Absolute offset of the first held byte. */
  private heldStart = 0;
  private received = 0;
  /** Offset right after the last tag the parser reported. */
  private lastTagEnd = 0;
  /** Bytes up to here may leave (they are outside any host). */
  private safe = 0;
  private depth = 0;
  private listDepth = -1;
  private hostStart = -1;
  private detectionStart = -1;
  private detectionIsKernel = false;
  private keptDetections = 0;
  private drops: Range[] = [];
  private out: Buffer[] = [];

  constructor() {
    const { parser } = this.source;
    parser.on('opentag', (tag) => {
      const before = this.lastTagEnd;
      this.lastTagEnd = this.source.byteOffset;
      this.depth++;
      if (tag.name === 'HOST_LIST' && this.listDepth < 0) this.listDepth = this.depth;
      else if (tag.name === 'HOST' && this.depth === this.listDepth + 1) {
        this.hostStart = before;
        this.keptDetections = 0;
        this.drops = [];
      } else if (tag.name === 'DETECTION' && this.hostStart >= 0) {
        this.detectionStart = before;
        this.detectionIsKernel = false;
      } else if (tag.name === 'AFFECT_RUNNING_KERNEL' && this.detectionStart >= 0) {
        this.detectionIsKernel = true;
      }
      if (tag.isSelfClosing) this.close(tag.name);
      else if (this.hostStart < 0) this.safe = this.lastTagEnd;
    });
    parser.on('closetag', (tag) => {
      if (tag.isSelfClosing) return;
      this.lastTagEnd = this.source.byteOffset;
      this.close(tag.name);
    });
  }

  write(chunk: Buffer): Buffer[] {
    this.held.push(chunk);
    this.received += chunk.length;
    this.source.write(chunk);
    if (this.hostStart < 0) this.release(this.safe);
    return this.take();
  }

  end(): Buffer[] {
    this.source.end();
    this.release(this.received);
    return this.take();
  }

  private close(name: string): void {
    const at = this.source.byteOffset;
    if (name === 'DETECTION' && this.detectionStart >= 0) {
      if (this.detectionIsKernel) this.keptDetections++;
      else this.drops.push([this.detectionStart, at]);
      this.detectionStart = -1;
    } else if (name === 'HOST' && this.hostStart >= 0 && this.depth === this.listDepth + 1) {
      this.emitHost(at);
      this.hostStart = -1;
    } else if (name === 'HOST_LIST' && this.depth === this.listDepth) {
      this.listDepth = -1;
    }
    this.depth--;
    if (this.hostStart < 0) this.safe = at;
  }

  /** Passes the host on without its dropped detections, or not at all when none is left. */
  private emitHost(hostEnd: number): void {
    this.release(this.hostStart);
    const ranges: Range[] = this.keptDetections === 0 ? [[this.hostStart, hostEnd]] : this.drops;
    let from = this.hostStart;
    for (const [start, end] of ranges) {
      this.release(start, from);
      from = end;
    }
    this.release(hostEnd, from);
  }

  /** Queues held bytes [from, to) for output and forgets everything before `to`. */
  private release(to: number, from = this.heldStart): void {
    if (to <= this.heldStart) return;
    const all = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
    if (from < to) this.out.push(all.subarray(from - this.heldStart, to - this.heldStart));
    const rest = all.subarray(to - this.heldStart);
    this.held = rest.length > 0 ? [rest] : [];
    this.heldStart = to;
  }

  private take(): Buffer[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;
const MARKER = '----';

/**
 * CSV answers, record by record: section marker lines and the header and
 * footer sections pass; body rows are kept when they are host rows with a
 * kept detection after them, or detections with a filled "Affect Running
 * Kernel" cell.
 */
class CsvKernelFilter implements ByteFilter {
  private partial: Buffer[] = [];
  private inQuotes = false;
  private section: 'outside' | 'body' = 'outside';
  private columns: { host: number; qid: number; kernel: number } | null = null;
  /** A suppressed-mode host row waiting for its first kept detection. */
  private pendingHostRow: Buffer | null = null;
  private out: Buffer[] = [];

  write(chunk: Buffer): Buffer[] {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === QUOTE) this.inQuotes = !this.inQuotes;
      else if (b === NEWLINE && !this.inQuotes) {
        this.partial.push(chunk.subarray(start, i + 1));
        this.record(Buffer.concat(this.partial));
        this.partial = [];
        start = i + 1;
      }
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
    return this.take();
  }

  end(): Buffer[] {
    if (this.partial.length > 0) this.record(Buffer.concat(this.partial));
    this.partial = [];
    return this.take();
  }

  private record(bytes: Buffer): void {
    const text = bytes.toString('latin1');
    if (text.startsWith(MARKER)) {
      const marker = text.trim();
      if (marker === '----BEGIN_RESPONSE_BODY_CSV') this.section = 'body';
      else if (marker === '----END_RESPONSE_BODY_CSV') this.section = 'outside';
      this.out.push(bytes);
      return;
    }
    if (this.section !== 'body' || text.trim() === '') {
      this.out.push(bytes);
      return;
    }
    const cells = (parse(bytes, { relax_column_count: true, encoding: 'latin1' }) as string[][])[0] ?? [];
    if (!this.columns) {
      const names = cells.map((c) => c.trim());
      const kernel = names.indexOf('Affect Running Kernel');
      if (kernel < 0) {
        throw new QualysProtocolError('CSV: the answer has no "Affect Running Kernel" column, so the kernel-only filter cannot tell kernel detections apart; use XML or API 4.0 and later');
      }
      this.columns = { host: names.indexOf('Host ID'), qid: names.indexOf('QID'), kernel };
      this.out.push(bytes);
      return;
    }
    const hostId = cells[this.columns.host] ?? '';
    const qid = cells[this.columns.qid] ?? '';
    if (qid === '') {
      // A host row of the suppressed layout: it goes out with its first kept detection.
      this.pendingHostRow = hostId === '' ? this.pendingHostRow : bytes;
      return;
    }
    if (hostId !== '') this.pendingHostRow = null;
    if ((cells[this.columns.kernel] ?? '').trim() === '') return;
    if (this.pendingHostRow) {
      this.out.push(this.pendingHostRow);
      this.pendingHostRow = null;
    }
    this.out.push(bytes);
  }

  private take(): Buffer[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

/** A page ingest that sees the answer through a filter: the sink, hash, byte count and parser all get the filtered bytes. */
export class FilteredIngest<T> {
  constructor(
    private readonly ingest: PageIngest<T>,
    private readonly filter: ByteFilter,
  ) {}

  write(chunk: Buffer): boolean {
    let ready = true;
    for (const piece of this.filter.write(chunk)) ready = this.ingest.write(piece) && ready;
    return ready;
  }

  drained(): Promise<void> {
    return this.ingest.drained();
  }

  async finish(): Promise<IngestResult<T>> {
    for (const piece of this.filter.end()) this.ingest.write(piece);
    return this.ingest.finish();
  }

  abort(): void {
    this.ingest.abort();
  }
}
