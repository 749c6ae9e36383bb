/**
 * One-pass summary of a Host List Detection XML answer.
 *
 * Speed matters here (pages are hundreds of megabytes), so inside HOST_LIST
 * the parser only reacts to the elements the summary needs (HOST, its ID, and
 * each DETECTION's TYPE, SEVERITY and STATUS), reads their short values
 * straight from the decoded text instead of asking saxes to build text for
 * every node, and compares closing tags by identity. Outside HOST_LIST
 * (a handful of elements) it collects text normally.
 */
import type { SaxesTagPlain } from 'saxes';
import { QualysProtocolError } from './errors.js';
import {
  DETECTION_STATUSES,
  DETECTION_TYPES,
  SEVERITIES,
  SEVERITY_BUCKETS,
  STATUS_BUCKETS,
  TYPE_BUCKETS,
  emptySummary,
  matrixKey,
  type ByteRange,
  type ParsedPage,
} from './page-summary.js';
import { RETURN_ROOTS, ReturnDocumentCollector } from './return-document.js';
import { TRUNCATION_WARNING_CODE, decodeXmlEntities, idMinFromUrl } from './truncation.js';
import { XmlSource, utf8Text } from './xml-source.js';

const HLD_XML_ROOT = 'HOST_LIST_VM_DETECTION_OUTPUT';

/** Which value a leaf element carries. */
const Leaf = { HostId: 0, Type: 1, Severity: 2, Status: 3 } as const;
type LeafKind = (typeof Leaf)[keyof typeof Leaf];

/**
 * Index of each value in SEVERITY_BUCKETS / STATUS_BUCKETS / TYPE_BUCKETS: the
 * documented values first, then `none` (element absent or empty), then `other`.
 */
const indexOf = (values: readonly string[]) => new Map(values.map((v, i) => [v, i]));
const SEVERITY_INDEX = indexOf(SEVERITIES);
const STATUS_INDEX = indexOf(DETECTION_STATUSES);
const TYPE_INDEX = indexOf(DETECTION_TYPES);
const NS = SEVERITY_BUCKETS.length;
const NST = STATUS_BUCKETS.length;
const NT = TYPE_BUCKETS.length;
/** A bucket index for a read value: the documented index, or `none` / `other` after them. */
const bucket = (index: ReadonlyMap<string, number>, documented: number, value: string) =>
  value === '' ? documented : (index.get(value) ?? documented + 1);

export class HldXmlPageParser {
  private readonly source = new XmlSource();
  private root: string | null = null;
  private returnCollector: ReturnDocumentCollector | null = null;

  // Outside HOST_LIST: the element path and the text of the current element.
  private readonly path: string[] = [];
  private text = '';
  private datetime: string | null = null;
  private warningStart = -1;
  private warning: ByteRange | null = null;
  private warningCode: number | null = null;
  private warningUrl: string | null = null;
  private listOpen: ByteRange | null = null;
  private listClose: ByteRange | null = null;

  // Inside HOST_LIST.
  private listTag: SaxesTagPlain | null = null;
  private hosts = 0;
  private expectHostId = false;
  private minHostId: number | null = null;
  private maxHostId: number | null = null;
  private detectionTag: SaxesTagPlain | null = null;
  private severity = -1;
  private status = -1;
  private type = -1;
  private detections = 0;
  private readonly severityCounts = new Float64Array(NS);
  private readonly statusCounts = new Float64Array(NST);
  private readonly typeCounts = new Float64Array(NT);
  private readonly matrixCounts = new Float64Array(NS * NST * NT);

  private readonly onOutsideOpen = (tag: SaxesTagPlain) => this.outsideOpen(tag);
  private readonly onOutsideClose = (tag: SaxesTagPlain) => this.outsideClose(tag);
  private readonly onOutsideText = (text: string) => {
    if (this.returnCollector) this.returnCollector.addText(text);
    else this.text += text;
  };
  private readonly onListOpen = (tag: SaxesTagPlain) => this.listOpenTag(tag);
  private readonly onListClose = (tag: SaxesTagPlain) => this.listCloseTag(tag);
  private readonly onLeaf = (kind: LeafKind, text: string) => this.applyLeaf(kind, text);

  /** `onHostId` sees every host's id as it is read. */
  constructor(private readonly onHostId?: (id: number) => void) {
    this.enterOutsideMode();
  }

  write(chunk: Buffer): void {
    this.source.write(chunk);
  }

  finish(): ParsedPage {
    this.source.end();
    if (this.returnCollector) return { kind: 'return', document: this.returnCollector.result() };
    const summary = emptySummary('XML');
    summary.hosts = this.hosts;
    summary.detections = this.detections;
    SEVERITY_BUCKETS.forEach((s, i) => (summary.severity[s] = this.severityCounts[i]!));
    STATUS_BUCKETS.forEach((s, i) => (summary.status[s] = this.statusCounts[i]!));
    TYPE_BUCKETS.forEach((t, i) => (summary.type[t] = this.typeCounts[i]!));
    SEVERITY_BUCKETS.forEach((s, si) =>
      STATUS_BUCKETS.forEach((st, sti) =>
        TYPE_BUCKETS.forEach((t, ti) => {
          const n = this.matrixCounts[(si * NST + sti) * NT + ti]!;
          if (n > 0) summary.matrix[matrixKey(s, st, t)] = n;
        }),
      ),
    );
    summary.minHostId = this.minHostId;
    summary.maxHostId = this.maxHostId;
    summary.datetime = this.datetime;
    const truncated = this.warningCode === TRUNCATION_WARNING_CODE || (this.warningCode == null && this.warningUrl != null);
    summary.truncated = truncated;
    summary.nextUrl = truncated ? this.warningUrl : null;
    summary.nextIdMin = truncated && this.warningUrl ? idMinFromUrl(this.warningUrl) : null;
    if (truncated && summary.nextIdMin == null) {
      throw new QualysProtocolError('the Host List Detection answer is truncated but its WARNING has no URL with an id_min to continue from');
    }
    summary.layout = { kind: 'xml', root: this.root ?? HLD_XML_ROOT, listOpen: this.listOpen, listClose: this.listClose, warning: this.warning };
    return { kind: 'page', summary };
  }

  private enterOutsideMode(): void {
    const { parser } = this.source;
    parser.on('opentag', this.onOutsideOpen);
    parser.on('closetag', this.onOutsideClose);
    parser.on('text', this.onOutsideText);
    parser.on('cdata', this.onOutsideText);
  }

  private enterListMode(): void {
    const { parser } = this.source;
    parser.on('opentag', this.onListOpen);
    parser.on('closetag', this.onListClose);
    parser.off('text');
    parser.off('cdata');
  }

  private outsideOpen(tag: SaxesTagPlain): void {
    const depth = this.path.push(tag.name);
    this.text = '';
    if (depth === 1) {
      this.root = tag.name;
      if (RETURN_ROOTS.has(tag.name)) this.returnCollector = new ReturnDocumentCollector(tag.name as 'SIMPLE_RETURN' | 'GENERIC_RETURN');
      else if (tag.name !== HLD_XML_ROOT) throw new QualysProtocolError(`unexpected root element <${tag.name}> where a Host List Detection answer (<${HLD_XML_ROOT}>) was expected`);
      return;
    }
    if (this.returnCollector) {
      this.returnCollector.open(tag);
      return;
    }
    if (depth === 3 && this.path[1] === 'RESPONSE') {
      if (tag.name === 'HOST_LIST') {
        this.listOpen = this.source.tagRangeEndingHere();
        if (tag.isSelfClosing) return;
        this.listTag = tag;
        this.enterListMode();
      } else if (tag.name === 'WARNING') {
        this.warningStart = this.source.tagStartOffset();
      }
    }
  }

  private outsideClose(tag: SaxesTagPlain): void {
    const depth = this.path.length;
    if (this.returnCollector) {
      if (depth > 1) this.returnCollector.close(tag);
      this.path.pop();
      return;
    }
    const value = this.text.trim();
    this.text = '';
    const parent = this.path[depth - 2];
    if (depth === 3 && parent === 'RESPONSE') {
      if (tag.name === 'DATETIME') this.datetime = value;
      else if (tag.name === 'HOST_LIST' && tag.isSelfClosing) this.listClose = { start: this.listOpen!.end, end: this.listOpen!.end };
      else if (tag.name === 'WARNING') this.warning = { start: this.warningStart, end: this.source.byteOffset };
    } else if (depth === 4 && parent === 'WARNING' && this.path[1] === 'RESPONSE') {
      if (tag.name === 'CODE') this.warningCode = /^\d+$/.test(value) ? Number(value) : null;
      else if (tag.name === 'URL') this.warningUrl = decodeXmlEntities(utf8Text(value));
    }
    this.path.pop();
  }

  private listOpenTag(tag: SaxesTagPlain): void {
    switch (tag.name) {
      case 'HOST':
        this.hosts++;
        this.expectHostId = true;
        break;
      case 'ID':
        if (this.expectHostId) {
          this.expectHostId = false;
          this.readLeaf(Leaf.HostId, tag);
        }
        break;
      case 'DETECTION':
        this.detectionTag = tag;
        this.severity = this.status = this.type = -1;
        break;
      case 'TYPE':
        if (this.detectionTag && this.type < 0) this.readLeaf(Leaf.Type, tag);
        break;
      case 'SEVERITY':
        if (this.detectionTag && this.severity < 0) this.readLeaf(Leaf.Severity, tag);
        break;
      case 'STATUS':
        if (this.detectionTag && this.status < 0) this.readLeaf(Leaf.Status, tag);
        break;
    }
  }

  private listCloseTag(tag: SaxesTagPlain): void {
    if (this.source.closeLeaf(tag)) return;
    if (tag === this.detectionTag) {
      this.detectionTag = null;
      this.countDetection();
    } else if (tag === this.listTag) {
      this.listTag = null;
      this.listClose = this.source.tagRangeEndingHere();
      this.path.pop();
      this.enterOutsideMode();
    }
  }

  private readLeaf(kind: LeafKind, tag: SaxesTagPlain): void {
    this.source.readLeaf(tag, kind, this.onLeaf);
  }

  private applyLeaf(kind: LeafKind, raw: string): void {
    const value = raw.trim();
    switch (kind) {
      case Leaf.HostId: {
        const id = /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(id)) throw new QualysProtocolError(`HOST #${this.hosts} has an invalid ID "${value.slice(0, 40)}"`);
        if (this.minHostId == null || id < this.minHostId) this.minHostId = id;
        if (this.maxHostId == null || id > this.maxHostId) this.maxHostId = id;
        this.onHostId?.(id);
        break;
      }
      case Leaf.Type:
        this.type = bucket(TYPE_INDEX, DETECTION_TYPES.length, value);
        break;
      case Leaf.Severity:
        this.severity = bucket(SEVERITY_INDEX, SEVERITIES.length, value);
        break;
      case Leaf.Status:
        this.status = bucket(STATUS_INDEX, DETECTION_STATUSES.length, value);
        break;
    }
  }

  /** Every detection lands in one bucket of each count; a missing element counts as `none`. */
  private countDetection(): void {
    this.detections++;
    const severity = this.severity < 0 ? SEVERITIES.length : this.severity;
    const status = this.status < 0 ? DETECTION_STATUSES.length : this.status;
    const type = this.type < 0 ? DETECTION_TYPES.length : this.type;
    this.severityCounts[severity]!++;
    this.statusCounts[status]!++;
    this.typeCounts[type]!++;
    this.matrixCounts[(severity * NST + status) * NT + type]!++;
  }
}
