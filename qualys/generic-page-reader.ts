/**
 * The page reader for custom fetchers (any Qualys endpoint): the same single
 * pass (sink, SHA-256, byte count), a format guess from the body, Qualys
 * error documents turned into typed errors, and for list outputs what paging
 * and merging need: the list element and its byte ranges, the number of
 * records, the answer's DATETIME and the truncation WARNING.
 *
 * XML list outputs look like `<X_OUTPUT><RESPONSE><DATETIME/><Y_LIST|Y_SET>…</…><WARNING/></RESPONSE></X_OUTPUT>`.
 * The asset group, search list and host ID helpers use the same parser with a
 * record callback.
 */
import { parse } from 'csv-parse/sync';
import type { SaxesTagPlain } from 'saxes';
import { readCsvFooter, readCsvHeaderDatetime } from './csv-footer.js';
import { CsvSectionScanner } from './csv-sections.js';
import { classifyQualysResponse, QualysProtocolError, type QualysReturnDocument } from './errors.js';
import { SniffingParser } from './format-sniffer.js';
import { ingestIterable, PageIngest, type BodyParser, type IngestOptions } from './page-ingest.js';
import type { AnswerContext } from './detection-page-reader.js';
import type { ByteRange, CsvLayout, XmlLayout } from './page-summary.js';
import { RETURN_ROOTS, ReturnDocumentCollector } from './return-document.js';
import { TRUNCATION_WARNING_CODE, decodeXmlEntities, idMinFromUrl } from './truncation.js';
import { XmlSource, utf8Text } from './xml-source.js';

export interface GenericPageSummary {
  format: 'XML' | 'CSV' | 'OTHER';
  /** XML root element name, when XML. */
  root: string | null;
  /** Children of the list element (XML) or data rows (CSV). */
  records: number;
  datetime: string | null;
  truncated: boolean;
  nextIdMin: number | null;
  nextUrl: string | null;
  /** Null when the answer has no list element / no CSV sections to merge on. */
  layout: XmlLayout | CsvLayout | null;
}

/** A direct child of the list element, with the text of its own leaf children. */
export interface ListRecord {
  name: string;
  attributes: Record<string, string>;
  /** The record's own text (for leaf records such as ID_SET/ID). */
  text: string;
  fields: Record<string, string>;
}

export interface GenericParserOptions {
  /** The list element, when its name does not end in _LIST or _SET (e.g. DYNAMIC_LISTS). */
  listElement?: string;
  onRecord?: (record: ListRecord) => void;
}

export type ParsedGeneric = { kind: 'page'; summary: GenericPageSummary } | { kind: 'return'; document: QualysReturnDocument };

function emptyGeneric(format: GenericPageSummary['format']): GenericPageSummary {
  return { format, root: null, records: 0, datetime: null, truncated: false, nextIdMin: null, nextUrl: null, layout: null };
}

class GenericXmlPageParser implements BodyParser<ParsedGeneric> {
  private readonly source = new XmlSource();
  private readonly path: string[] = [];
  private text = '';
  private root: string | null = null;
  private returnCollector: ReturnDocumentCollector | null = null;
  private datetime: string | null = null;
  private listName: string | null = null;
  private listOpen: ByteRange | null = null;
  private listClose: ByteRange | null = null;
  private records = 0;
  private warningStart = -1;
  private warning: ByteRange | null = null;
  private warningCode: number | null = null;
  private warningUrl: string | null = null;
  private record: ListRecord | null = null;
  private readonly onText = (text: string) => {
    if (this.returnCollector) this.returnCollector.addText(text);
    else this.text += text;
  };

  constructor(private readonly options: GenericParserOptions) {
    const { parser } = this.source;
    parser.on('opentag', (tag) => this.open(tag));
    parser.on('closetag', (tag) => this.close(tag));
    this.textOn(true);
  }

  write(chunk: Buffer): void {
    this.source.write(chunk);
  }

  finish(): ParsedGeneric {
    this.source.end();
    if (this.returnCollector) return { kind: 'return', document: this.returnCollector.result() };
    const summary = emptyGeneric('XML');
    summary.root = this.root;
    summary.records = this.records;
    summary.datetime = this.datetime;
    summary.truncated = this.warningCode === TRUNCATION_WARNING_CODE || (this.warningCode == null && this.warningUrl != null);
    summary.nextUrl = summary.truncated ? this.warningUrl : null;
    summary.nextIdMin = summary.nextUrl ? idMinFromUrl(summary.nextUrl) : null;
    summary.layout =
      this.listOpen || this.warning
        ? { kind: 'xml', root: this.root!, listOpen: this.listOpen, listClose: this.listClose, warning: this.warning }
        : null;
    return { kind: 'page', summary };
  }

  private textOn(on: boolean): void {
    const { parser } = this.source;
    if (on) {
      parser.on('text', this.onText);
      parser.on('cdata', this.onText);
    } else {
      parser.off('text');
      parser.off('cdata');
    }
  }

  private isListElement(name: string): boolean {
    return this.options.listElement ? name === this.options.listElement : name.endsWith('_LIST') || name.endsWith('_SET');
  }

  private open(tag: SaxesTagPlain): void {
    const depth = this.path.push(tag.name);
    this.text = '';
    if (depth === 1) {
      this.root = tag.name;
      if (RETURN_ROOTS.has(tag.name)) this.returnCollector = new ReturnDocumentCollector(tag.name as 'SIMPLE_RETURN' | 'GENERIC_RETURN');
      return;
    }
    if (this.returnCollector) {
      this.returnCollector.open(tag);
      return;
    }
    const underResponse = this.path[1] === 'RESPONSE';
    if (depth === 3 && underResponse) {
      if (this.listName == null && this.listOpen == null && this.isListElement(tag.name)) {
        this.listOpen = this.source.tagRangeEndingHere();
        if (tag.isSelfClosing) {
          this.listClose = { start: this.listOpen.end, end: this.listOpen.end };
          return;
        }
        this.listName = tag.name;
        if (!this.options.onRecord) this.textOn(false);
      } else if (tag.name === 'WARNING') {
        this.warningStart = this.source.tagStartOffset();
      }
    } else if (depth === 4 && this.listName != null && this.path[2] === this.listName) {
      this.records++;
      if (this.options.onRecord) this.record = { name: tag.name, attributes: { ...tag.attributes }, text: '', fields: {} };
    }
  }

  private close(tag: SaxesTagPlain): void {
    const depth = this.path.length;
    if (this.returnCollector) {
      if (depth > 1) this.returnCollector.close(tag);
      this.path.pop();
      return;
    }
    const inList = this.listName != null && this.path[2] === this.listName;
    if (inList) {
      if (depth === 5 && this.record) this.record.fields[tag.name] = utf8Text(this.text).trim();
      else if (depth === 4 && this.record) {
        this.record.text = utf8Text(this.text).trim();
        this.options.onRecord!(this.record);
        this.record = null;
      } else if (depth === 3) {
        this.listClose = this.source.tagRangeEndingHere();
        this.listName = null;
        this.textOn(true);
      }
    } else if (depth === 3 && this.path[1] === 'RESPONSE') {
      if (tag.name === 'DATETIME') this.datetime = this.text.trim();
      else if (tag.name === 'WARNING' && this.warningStart >= 0) this.warning = { start: this.warningStart, end: this.source.byteOffset };
    } else if (depth === 4 && this.path[2] === 'WARNING' && this.path[1] === 'RESPONSE') {
      const value = utf8Text(this.text).trim();
      if (tag.name === 'CODE') this.warningCode = /^\d+$/.test(value) ? Number(value) : null;
      else if (tag.name === 'URL') this.warningUrl = decodeXmlEntities(value);
    }
    this.text = '';
    this.path.pop();
  }
}

class GenericCsvPageParser implements BodyParser<ParsedGeneric> {
  private rows = 0;
  private readonly scanner: CsvSectionScanner;

  constructor(private readonly plain: boolean) {
    this.scanner = new CsvSectionScanner({
      plain,
      onBodyRecords: (records) => {
        try {
          // Only rows are counted, so the cheaper Latin-1 decoding is as good as UTF-8.
          this.rows += (parse(records, { relax_column_count: true, skip_empty_lines: true, encoding: 'latin1' }) as unknown[]).length;
        } catch (err) {
          throw new QualysProtocolError(`CSV: the body is not valid CSV: ${(err as Error).message}`);
        }
      },
    });
  }

  write(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  finish(): ParsedGeneric {
    const scan = this.scanner.end();
    const summary = emptyGeneric('CSV');
    summary.records = Math.max(0, this.rows - 1);
    if (!this.plain) {
      summary.datetime = scan.sawHeader ? readCsvHeaderDatetime(scan.headerText) : null;
      Object.assign(summary, readCsvFooter(scan.footerText));
      summary.layout = scan.layout;
    }
    return { kind: 'page', summary };
  }
}

class OtherPageParser implements BodyParser<ParsedGeneric> {
  write(): void {}
  finish(): ParsedGeneric {
    return { kind: 'page', summary: emptyGeneric('OTHER') };
  }
}

export function createGenericPageParser(options: GenericParserOptions = {}): BodyParser<ParsedGeneric> {
  return new SniffingParser<ParsedGeneric>((format) => {
    switch (format) {
      case 'xml':
        return new GenericXmlPageParser(options);
      case 'csv':
        return new GenericCsvPageParser(false);
      case 'csv-plain':
        return new GenericCsvPageParser(true);
      case 'other':
        return new OtherPageParser();
    }
  });
}

/**
 * The summary, or the typed error a return document stands for. A return
 * document without an error code is a valid answer for some endpoints.
 */
export function genericSummaryOf(parsed: ParsedGeneric, context: AnswerContext = {}): GenericPageSummary {
  if (parsed.kind === 'page') return parsed.summary;
  const error = classifyQualysResponse({ httpStatus: context.httpStatus ?? 200, headers: context.headers ?? {}, document: parsed.document });
  if (error) throw error;
  return { ...emptyGeneric('XML'), root: parsed.document.root };
}

export interface ReadGenericPageOptions extends IngestOptions, AnswerContext, GenericParserOptions {
  signal?: AbortSignal;
}

export interface GenericPageReadResult {
  summary: GenericPageSummary;
  bytes: number;
  sha256: string;
}

/** Reads any Qualys answer from a Readable or async iterable of chunks. */
export async function readGenericPage(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: ReadGenericPageOptions = {},
): Promise<GenericPageReadResult> {
  const ingest = new PageIngest(createGenericPageParser(options), options);
  const { result, bytes, sha256 } = await ingestIterable(source, ingest, options.signal);
  return { summary: genericSummaryOf(result, options), bytes, sha256 };
}

