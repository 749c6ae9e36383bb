/**
 * The Qualys client: connection check, the pickers' lists (asset groups,
 * dynamic search lists), the host ID list, Host List Detection pages and raw
 * calls for custom fetchers. Every answer goes through the same classification
 * into typed errors, and the limit headers of the last answer stay readable
 * in `lastLimits` so callers can slow down before Qualys refuses. An optional
 * observer hears of every answer (for metrics), without this layer knowing
 * what it does with them.
 */
import type { Writable } from 'node:stream';
import { createDetectionPageParser, pageSummaryOf, type AnswerContext } from './detection-page-reader.js';
import { endpointPathProblem } from './endpoint-path.js';
import { classifyQualysResponse, QualysContractError, QualysError, QualysProtocolError, QualysSecurityError, type QualysErrorKind } from './errors.js';
import { createGenericPageParser, genericSummaryOf, type GenericPageSummary, type GenericParserOptions, type ListRecord } from './generic-page-reader.js';
import { QualysTransport, type BodyReceiver, type HttpCall, type ResponseStart } from './http.js';
import { EMPTY_LIMITS, parseQualysLimits, type QualysLimits } from './limits.js';
import { createPostFilter, FilteredIngest, type DetectionPostFilter } from './kernel-filter.js';
import { PageIngest, type BodyParser } from './page-ingest.js';
import type { PageSummary } from './page-summary.js';
import { platformOfUrl, type QualysPlatform } from './platforms.js';
import { parseReturnDocument } from './return-document.js';
import { parseQualysConnectionSettings, resolveTimeouts, type QualysApiVersion, type QualysConnectionSettings } from './settings.js';
import { decodeXmlEntities, nextIdMinFromUrl } from './truncation.js';


/** An error answer's body is a small SIMPLE_RETURN; more than this is not worth keeping. */
const MAX_ERROR_BODY = 1024 * 1024;
/** Safety stop for paged helper lists (asset groups, host IDs). */
const MAX_HELPER_PAGES = 10_000;

export interface ConnectionCheck {
  ok: true;
  username: string;
  apiBaseUrl: string;
  apiVersion: QualysApiVersion;
  platform: QualysPlatform | null;
  /** Qualys's clock (the answer's DATETIME). */
  serverTime: string | null;
  limits: QualysLimits;
}

export interface DetectionPageRequest {
  params: Record<string, string>;
  idMin?: number | null;
  sink: Writable;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /**
   * A client-side filter the fetcher's plan asks for (planHostListDetection):
   * the sink, hash and summary then hold the filtered page.
   */
  postFilter?: DetectionPostFilter | null;
  /** Sees every host's id as the page is read (after the post-filter). */
  onHostId?: (id: number) => void;
}

export interface DetectionPageResult {
  summary: PageSummary;
  bytes: number;
  sha256: string;
  limits: QualysLimits;
  httpStatus: number;
  requestedAt: string;
}

export interface RawRequest {
  method: 'GET' | 'POST';
  /** A path on the API server such as /api/2.0/fo/scan/?action=list; never a URL. */
  path: string;
  params: Record<string, string>;
  idMin?: number | null;
  sink: Writable;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}

export interface RawResult {
  summary: GenericPageSummary;
  bytes: number;
  sha256: string;
  limits: QualysLimits;
  httpStatus: number;
  contentType: string | null;
  requestedAt: string;
}

/** One call's outcome, told to `QualysClientOptions.onAnswer` once the answer is read (or failed). */
export interface QualysAnswer {
  /** The API path called, without its query (e.g. /api/5.0/fo/asset/host/vm/detection/). */
  endpoint: string;
  /** null when no HTTP answer arrived (connection refused, timeout before the headers). */
  httpStatus: number | null;
  /** Qualys's CODE from an error document, else null. */
  qualysCode: number | null;
  /** 'ok', the kind of Qualys error, or 'aborted' (the caller cancelled) / 'error' (anything else, e.g. the sink failed). */
  result: 'ok' | QualysErrorKind | 'aborted' | 'error';
  /** From sending the request to the end of the answer's body. */
  durationMs: number;
}

interface QualysClientOptions {
  /** Hears of every answer; must not throw (what it throws is ignored). */
  onAnswer?: (answer: QualysAnswer) => void;
}

export interface IdListItem {
  id: number;
  title: string;
}

export interface HostIdList {
  count: number;
  /** Inclusive [first, last] ranges, ascending and merged. */
  ranges: Array<[number, number]>;
}

export interface QualysClient {
  readonly apiBaseUrl: string;
  readonly apiVersion: QualysApiVersion;
  readonly username: string;
  /** The limit headers of the last answer (any call, errors included). */
  readonly lastLimits: QualysLimits;
  checkConnection(signal?: AbortSignal): Promise<ConnectionCheck>;
  listAssetGroups(signal?: AbortSignal): Promise<IdListItem[]>;
  listSearchLists(signal?: AbortSignal): Promise<IdListItem[]>;
  listHostIds(params?: Record<string, string>, signal?: AbortSignal): Promise<HostIdList>;
  fetchDetectionPage(request: DetectionPageRequest): Promise<DetectionPageResult>;
  fetchRaw(request: RawRequest): Promise<RawResult>;
  close(): Promise<void>;
}

/** Reads an error answer whole (bounded) and throws the error it stands for. */
class ErrorBodyReceiver implements BodyReceiver<never> {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  constructor(private readonly start: ResponseStart) {}
  write(chunk: Buffer): boolean {
    if (this.length < MAX_ERROR_BODY) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  async finish(): Promise<never> {
    const document = parseReturnDocument(Buffer.concat(this.chunks));
    const error = classifyQualysResponse({ httpStatus: this.start.status, headers: this.start.headers, document });
    throw error ?? new QualysProtocolError(`Qualys answered HTTP ${this.start.status} with nothing usable`, { httpStatus: this.start.status });
  }
  abort(): void {}
}

type Ingest<T> = Pick<PageIngest<T>, 'write' | 'drained' | 'finish' | 'abort'>;

/** Feeds a successful answer through a page ingest (sink, hash, parser). */
class PageBodyReceiver<T> implements BodyReceiver<{ result: T; bytes: number; sha256: string }> {
  constructor(private readonly ingest: Ingest<T>) {}
  write(chunk: Buffer): boolean {
    return this.ingest.write(chunk);
  }
  drained(): Promise<void> {
    return this.ingest.drained();
  }
  finish() {
    return this.ingest.finish();
  }
  abort(): void {
    this.ingest.abort();
  }
}

function contentTypeOf(start: ResponseStart): string | null {
  const value = start.headers['content-type'];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

class QualysHttpClient implements QualysClient {
  readonly apiBaseUrl: string;
  readonly apiVersion: QualysApiVersion;
  readonly username: string;
  lastLimits: QualysLimits = EMPTY_LIMITS;
  private readonly transport: QualysTransport;
  private readonly onAnswer: QualysClientOptions['onAnswer'];

  constructor(settings: QualysConnectionSettings, options: QualysClientOptions = {}) {
    this.onAnswer = options.onAnswer;
    const resolved = parseQualysConnectionSettings(settings);
    this.apiBaseUrl = resolved.apiBaseUrl;
    this.apiVersion = resolved.apiVersion;
    this.username = resolved.username;
    this.transport = new QualysTransport({
      baseUrl: new URL(resolved.apiBaseUrl),
      username: resolved.username,
      password: resolved.password,
      timeouts: resolveTimeouts(resolved.timeouts),
      proxyUrl: resolved.proxyUrl,
      ca: resolved.ca,
    });
  }

  private get detectionPath(): string {
    return `/api/${this.apiVersion}/fo/asset/host/vm/detection/`;
  }

  /**
   * One call: a 2xx answer goes through the parser (and the sink) and then
   * `summarize`, anything else is read as an error document and thrown as its
   * typed error. Either way the observer hears how it went.
   */
  private async call<T, S>(
    call: HttpCall,
    parser: BodyParser<T>,
    summarize: (result: T, answer: AnswerContext) => S,
    options: { sink?: Writable | null; onProgress?: (bytes: number) => void; postFilter?: DetectionPostFilter | null } = {},
  ): Promise<{ start: ResponseStart; summary: S; bytes: number; sha256: string }> {
    const began = performance.now();
    let status: number | null = null;
    let ingest: Ingest<T> | null = null;
    try {
      let exchanged;
      try {
        exchanged = await this.transport.exchange(call, (start): BodyReceiver<{ result: T; bytes: number; sha256: string }> => {
          status = start.status;
          this.lastLimits = parseQualysLimits(start.headers);
          if (start.status < 200 || start.status >= 300) return new ErrorBodyReceiver(start);
          const plain = new PageIngest(parser, options);
          ingest = options.postFilter ? new FilteredIngest(plain, createPostFilter(options.postFilter)) : plain;
          return new PageBodyReceiver(ingest);
        });
      } catch (err) {
        // The sink was never handed to an ingest (error status, refused before the body): release it.
        if (!ingest && options.sink && !options.sink.destroyed) options.sink.destroy();
        throw err;
      }
      const { start, result } = exchanged;
      const summary = summarize(result.result, { httpStatus: start.status, headers: start.headers });
      this.observe(call, began, { httpStatus: start.status, qualysCode: null, result: 'ok' });
      return { start, summary, bytes: result.bytes, sha256: result.sha256 };
    } catch (err) {
      this.observe(call, began, answerOutcome(err, status, call.signal));
      throw err;
    }
  }

  private observe(call: HttpCall, began: number, outcome: Pick<QualysAnswer, 'httpStatus' | 'qualysCode' | 'result'>): void {
    if (!this.onAnswer) return;
    try {
      this.onAnswer({ endpoint: call.path.split('?')[0]!, ...outcome, durationMs: performance.now() - began });
    } catch {
      // An observer's failure is not the caller's.
    }
  }

  async fetchDetectionPage(request: DetectionPageRequest): Promise<DetectionPageResult> {
    const requestedAt = new Date().toISOString();
    const form: Record<string, string> = { ...request.params, action: 'list' };
    if (request.idMin != null) form.id_min = String(request.idMin);
    const { start, summary, bytes, sha256 } = await this.call(
      { method: 'POST', path: this.detectionPath, form, signal: request.signal },
      createDetectionPageParser(request.onHostId),
      pageSummaryOf,
      { sink: request.sink, onProgress: request.onProgress, postFilter: request.postFilter ?? null },
    );
    if (summary.truncated) {
      if (summary.nextUrl) summary.nextIdMin = nextIdMinFromUrl(summary.nextUrl, this.apiBaseUrl);
      assertCursorAdvances(request.idMin ?? null, summary.nextIdMin!, summary.maxHostId);
    }
    return { summary, bytes, sha256, limits: parseQualysLimits(start.headers), httpStatus: start.status, requestedAt };
  }

  async fetchRaw(request: RawRequest): Promise<RawResult> {
    const problem = endpointPathProblem(request.path);
    if (problem) throw new QualysSecurityError(`endpoint: ${problem}`);
    const requestedAt = new Date().toISOString();
    const form: Record<string, string> = { ...request.params };
    if (request.idMin != null) form.id_min = String(request.idMin);
    const { start, summary, bytes, sha256 } = await this.call(
      { method: request.method, path: request.path, form, signal: request.signal },
      createGenericPageParser(),
      genericSummaryOf,
      { sink: request.sink, onProgress: request.onProgress },
    );
    if (summary.nextUrl) this.assertOwnHost(summary.nextUrl);
    if (summary.truncated && summary.nextIdMin != null) assertCursorAdvances(request.idMin ?? null, summary.nextIdMin, null);
    return { summary, bytes, sha256, limits: parseQualysLimits(start.headers), httpStatus: start.status, contentType: contentTypeOf(start), requestedAt };
  }

  async checkConnection(signal?: AbortSignal): Promise<ConnectionCheck> {
    const { summary } = await this.call(
      { method: 'POST', path: this.detectionPath, form: { action: 'list', truncation_limit: '1', show_results: '0' }, signal },
      createDetectionPageParser(),
      pageSummaryOf,
    );
    return {
      ok: true,
      username: this.username,
      apiBaseUrl: this.apiBaseUrl,
      apiVersion: this.apiVersion,
      platform: platformOfUrl(this.apiBaseUrl),
      serverTime: summary.datetime,
      limits: this.lastLimits,
    };
  }

  async listAssetGroups(signal?: AbortSignal): Promise<IdListItem[]> {
    const groups: IdListItem[] = [];
    await this.listPages('/api/2.0/fo/asset/group/', { action: 'list', truncation_limit: '1000' }, signal, {
      onRecord: (record) => {
        const item = idTitle(record);
        if (item) groups.push(item);
      },
    });
    return groups;
  }

  async listSearchLists(signal?: AbortSignal): Promise<IdListItem[]> {
    const lists: IdListItem[] = [];
    await this.listPages('/api/2.0/fo/qid/search_list/dynamic/', { action: 'list' }, signal, {
      listElement: 'DYNAMIC_LISTS',
      onRecord: (record) => {
        const item = idTitle(record);
        if (item) lists.push(item);
      },
    });
    return lists;
  }

  async listHostIds(params: Record<string, string> = {}, signal?: AbortSignal): Promise<HostIdList> {
    const ranges: Array<[number, number]> = [];
    await this.listPages('/api/2.0/fo/asset/host/', { truncation_limit: '0', ...params, action: 'list', details: 'None' }, signal, {
      onRecord: (record) => {
        if (record.name === 'ID') {
          const id = Number(record.text);
          if (Number.isSafeInteger(id)) ranges.push([id, id]);
        } else if (record.name === 'ID_RANGE') {
          const m = /^(\d+)\s*-\s*(\d+)$/.exec(record.text);
          if (m) ranges.push([Number(m[1]), Number(m[2])]);
        }
      },
    });
    return mergeRanges(ranges);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /** Follows truncation warnings until the list is complete. */
  private async listPages(path: string, params: Record<string, string>, signal: AbortSignal | undefined, options: GenericParserOptions): Promise<void> {
    let idMin: number | null = null;
    for (let page = 0; page < MAX_HELPER_PAGES; page++) {
      const form = idMin == null ? params : { ...params, id_min: String(idMin) };
      const { summary } = await this.call({ method: 'POST', path, form, signal }, createGenericPageParser(options), genericSummaryOf);
      if (summary.format !== 'XML' || summary.root === 'SIMPLE_RETURN' || summary.root === 'GENERIC_RETURN') {
        throw new QualysProtocolError(`expected an XML list from ${path}, got ${summary.format === 'XML' ? `<${summary.root}>` : summary.format}`);
      }
      if (!summary.truncated) return;
      if (!summary.nextUrl) throw new QualysProtocolError(`the list from ${path} is truncated without a URL to continue from`);
      const next = nextIdMinFromUrl(summary.nextUrl, this.apiBaseUrl);
      assertCursorAdvances(idMin, next, null, path);
      idMin = next;
    }
    throw new QualysProtocolError(`the list from ${path} did not end within ${MAX_HELPER_PAGES} pages`);
  }

  private assertOwnHost(url: string): void {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return; // Not a URL at all: nothing will be followed.
    }
    if (origin !== new URL(this.apiBaseUrl).origin) {
      throw new QualysSecurityError(`the truncation URL points to ${origin}, not to the connection's API server; it is not followed`);
    }
  }
}

/**
 * A truncation cursor names the first ID after the page: one at or below the
 * page's own cursor, or not past the hosts the page holds, would fetch the
 * same hosts again, forever.
 */
function assertCursorAdvances(idMin: number | null, next: number, maxHostId: number | null, path?: string): void {
  const of = path ? ` of ${path}` : '';
  if (idMin != null && next <= idMin) throw new QualysContractError(`the truncation cursor${of} does not advance (id_min ${idMin} → ${next})`);
  if (maxHostId != null && next <= maxHostId) {
    throw new QualysContractError(`the truncation cursor${of} (id_min ${next}) points back into the page, which holds hosts up to ID ${maxHostId}`);
  }
}

function idTitle(record: ListRecord): IdListItem | null {
  const id = Number(record.fields.ID);
  if (!Number.isSafeInteger(id) || id <= 0) return null;
  // Qualys entity-escapes text inside CDATA too ("PCI &amp; DMZ").
  return { id, title: decodeXmlEntities(record.fields.TITLE ?? '') };
}

function mergeRanges(ranges: Array<[number, number]>): HostIdList {
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of ranges) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return { count: merged.reduce((n, [lo, hi]) => n + hi - lo + 1, 0), ranges: merged };
}

/** How a failed call is counted: what Qualys said if it said anything, else why there is no answer. */
function answerOutcome(err: unknown, status: number | null, signal: AbortSignal | undefined): Pick<QualysAnswer, 'httpStatus' | 'qualysCode' | 'result'> {
  if (err instanceof QualysError) return { httpStatus: err.httpStatus ?? status, qualysCode: err.code, result: err.kind };
  return { httpStatus: status, qualysCode: null, result: signal?.aborted ? 'aborted' : 'error' };
}

export function createQualysClient(settings: QualysConnectionSettings, options: QualysClientOptions = {}): QualysClient {
  return new QualysHttpClient(settings, options);
}
