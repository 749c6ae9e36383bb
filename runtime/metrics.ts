/**
 * The connector's Prometheus metrics: one registry, every metric defined
 * here (names prefixed `qec_`, listed in the README), and the text a scrape
 * of `/metrics` returns, which may append other expositions (the Temporal
 * SDK's) so operators scrape one URL per process.
 *
 * Callers record through the methods below, never through prom-client, so
 * names and labels stay in this one file. Labels take bounded values only:
 * route patterns, API paths without queries, status codes, outcome names.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { QualysAnswer } from '../qualys/client.js';
import type { FetcherKind, FinalRunStatus, LimitReason } from '../shared/contracts.js';

/** Qualys answers range from milliseconds (errors) to many minutes (large pages). */
const QUALYS_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const API_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface ApiRequestObservation {
  method: string;
  /** The matched route pattern (e.g. /v1/runs/:id), never the raw path. */
  route: string;
  status: number;
  seconds: number;
}

export interface Metrics {
  /** prom-client's content type for the text exposition format. */
  readonly contentType: string;
  runFinished(outcome: FinalRunStatus, waitedSeconds: number): void;
  pageStored(kind: FetcherKind, bytes: number): void;
  qualysAnswer(answer: QualysAnswer): void;
  limitWait(reason: LimitReason, qualysCode: number): void;
  apiRequest(observation: ApiRequestObservation): void;
  /** Appends another exposition's text (read at every scrape) to `render()`. */
  addExposition(read: () => Promise<string>): void;
  /** The text a scrape returns: ours, then every added exposition. */
  render(): Promise<string>;
}

interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event loop, GC) under their usual names; on in the entry points. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const runs = new Counter({
    name: 'qec_runs_total',
    help: 'Fetcher runs that ended, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const runWait = new Counter({
    name: 'qec_run_limit_wait_seconds_total',
    help: 'Seconds ended runs spent waiting because Qualys answered 409 (rate or concurrency limit).',
    registers,
  });
  const pages = new Counter({
    name: 'qec_pages_total',
    help: 'Pages pulled from Qualys and stored, by fetcher kind.',
    labelNames: ['fetcher_kind'] as const,
    registers,
  });
  const pageBytes = new Counter({
    name: 'qec_page_bytes_total',
    help: 'Bytes of the pages stored, by fetcher kind.',
    labelNames: ['fetcher_kind'] as const,
    registers,
  });
  const answers = new Counter({
    name: 'qec_qualys_answers_total',
    help: 'Answers from Qualys, by API path, HTTP status, Qualys error code and result.',
    labelNames: ['endpoint', 'http_status', 'qualys_code', 'result'] as const,
    registers,
  });
  const answerSeconds = new Histogram({
    name: 'qec_qualys_answer_duration_seconds',
    help: 'Time from sending a request to Qualys to the end of its answer.',
    labelNames: ['endpoint', 'result'] as const,
    buckets: QUALYS_SECONDS_BUCKETS,
    registers,
  });
  const limitWaits = new Counter({
    name: 'qec_qualys_limit_waits_total',
    help: 'Qualys refusals (HTTP 409) that made a run wait, by reason and Qualys code.',
    labelNames: ['reason', 'qualys_code'] as const,
    registers,
  });
  const apiRequests = new Counter({
    name: 'qec_api_requests_total',
    help: 'HTTP API requests, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const apiSeconds = new Histogram({
    name: 'qec_api_request_duration_seconds',
    help: 'Time from receiving an API request to sending its response headers.',
    labelNames: ['method', 'route'] as const,
    buckets: API_SECONDS_BUCKETS,
    registers,
  });

  const expositions: Array<() => Promise<string>> = [];

  return {
    contentType: registry.contentType,
    runFinished(outcome, waitedSeconds) {
      runs.inc({ outcome });
      if (waitedSeconds > 0) runWait.inc(waitedSeconds);
    },
    pageStored(kind, bytes) {
      pages.inc({ fetcher_kind: kind });
      pageBytes.inc({ fetcher_kind: kind }, bytes);
    },
    qualysAnswer(a) {
      answers.inc({ endpoint: a.endpoint, http_status: a.httpStatus ?? 'none', qualys_code: a.qualysCode ?? 'none', result: a.result });
      answerSeconds.observe({ endpoint: a.endpoint, result: a.result }, a.durationMs / 1000);
    },
    limitWait(reason, qualysCode) {
      limitWaits.inc({ reason, qualys_code: qualysCode });
    },
    apiRequest({ method, route, status, seconds }) {
      apiRequests.inc({ method, route, status });
      apiSeconds.observe({ method, route }, seconds);
    },
    addExposition(read) {
      expositions.push(read);
    },
    async render() {
      const parts = await Promise.all([registry.metrics(), ...expositions.map((read) => read())]);
      return parts.map((text) => (text.endsWith('\n') || text === '' ? text : `${text}\n`)).join('');
    },
  };
}

/**
 * Whether a scrape may read the metrics: always when no token is configured
 * (like /healthz), else only with `Authorization: Bearer <token>`.
 */
export function metricsScrapeAllowed(authorization: string | undefined | null, token: string | null | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? '';
  // Hashing first makes the comparison constant-time whatever the lengths.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}
