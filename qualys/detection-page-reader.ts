/**
 * The streaming Host List Detection page reader: one pass over an answer
 * body that writes the exact bytes to a sink, hashes them, and summarizes
 * the page (XML via saxes, CSV via the section scanner and csv-parse).
 * An error document in place of the page (SIMPLE_RETURN, even with HTTP 200)
 * becomes the typed Qualys error.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { classifyQualysResponse, QualysProtocolError } from './errors.js';
import { describeStart, SniffingParser } from './format-sniffer.js';
import { HldCsvPageParser } from './hld-csv-parser.js';
import { HldXmlPageParser } from './hld-xml-parser.js';
import { createPostFilter, FilteredIngest, type DetectionPostFilter } from './kernel-filter.js';
import { ingestIterable, PageIngest, type BodyParser, type IngestOptions } from './page-ingest.js';
import type { PageSummary, ParsedPage } from './page-summary.js';

export interface DetectionPageReadResult {
  summary: PageSummary;
  bytes: number;
  sha256: string;
}

/** What the HTTP layer knew about the answer; a saved file is read as an HTTP 200 without headers. */
export interface AnswerContext {
  httpStatus?: number;
  headers?: IncomingHttpHeaders;
}

/** `onHostId` sees every host's id as the page is read. */
export function createDetectionPageParser(onHostId?: (id: number) => void): BodyParser<ParsedPage> {
  return new SniffingParser<ParsedPage>((format, head) => {
    switch (format) {
      case 'xml':
        return new HldXmlPageParser(onHostId);
      case 'csv':
        return new HldCsvPageParser(onHostId);
      case 'csv-plain':
        throw new QualysProtocolError('the answer is CSV without metadata sections (CSV_NO_METADATA), which cannot say whether it is truncated; request output_format=CSV');
      case 'other':
        throw new QualysProtocolError(`expected a Host List Detection answer in XML or CSV, got ${describeStart(head)}`);
    }
  });
}

/** Turns a parsed page into the summary, or throws the error a return document stands for. */
export function pageSummaryOf(parsed: ParsedPage, context: AnswerContext = {}): PageSummary {
  if (parsed.kind === 'page') return parsed.summary;
  const error = classifyQualysResponse({ httpStatus: context.httpStatus ?? 200, headers: context.headers ?? {}, document: parsed.document });
  if (error) throw error;
  const doc = parsed.document;
  throw new QualysProtocolError(`expected a Host List Detection answer, got a ${doc.root} without an error code${doc.text ? `: "${doc.text}"` : ''}`);
}

export interface ReadDetectionPageOptions extends IngestOptions, AnswerContext {
  signal?: AbortSignal;
  /** Applied before the sink, hash and summary see the bytes (see kernel-filter.ts). */
  postFilter?: DetectionPostFilter | null;
}

/**
 * Reads a Host List Detection answer from any Readable or async iterable of
 * chunks (a saved file, a test fixture).
 */
export async function readDetectionPage(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: ReadDetectionPageOptions = {},
): Promise<DetectionPageReadResult> {
  const plain = new PageIngest(createDetectionPageParser(), options);
  const ingest = options.postFilter ? new FilteredIngest(plain, createPostFilter(options.postFilter)) : plain;
  const { result, bytes, sha256 } = await ingestIterable(source, ingest, options.signal);
  return { summary: pageSummaryOf(result, options), bytes, sha256 };
}
