/**
 * A complete Host List Detection pull in a plain loop (the command line and
 * the benchmark baseline use it; fetcher runs use Temporal instead): every
 * page into a target of the caller's, following the truncation cursor,
 * waiting out 409s exactly as long as Qualys asks and retrying transient
 * failures a few times.
 */
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QualysClient } from './client.js';
import { QualysConcurrencyLimitError, QualysRateLimitError, QualysTransientError, type QualysError } from './errors.js';
import type { DetectionPostFilter } from './kernel-filter.js';
import { addSummaries, type PageSummary } from './page-summary.js';

export interface PullProgress {
  pages: number;
  hosts: number;
  detections: number;
  bytes: number;
}

/** Where one page's bytes go: written while read, then kept or thrown away. */
export interface PageTarget<T> {
  sink: Writable;
  commit(): Promise<T>;
  abort(): Promise<void>;
}

export interface PulledPage<T> {
  pageNo: number;
  idMin: number | null;
  bytes: number;
  summary: PageSummary;
  stored: T;
}

export interface PullOptions<T> {
  params: Record<string, string>;
  /** A fresh target for each attempt at a page. */
  target: () => Promise<PageTarget<T>>;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  /** Failed attempts allowed per page before giving up (409 waits included). */
  maxAttempts?: number;
  /** Longest 409 wait the pull sits through; a longer one fails with Qualys's message. */
  maxWaitSeconds?: number;
  /** The plan's client-side filter (planHostListDetection), applied to every page. */
  postFilter?: DetectionPostFilter | null;
}

export interface PullResult<T> {
  summary: PageSummary;
  pages: PulledPage<T>[];
  bytes: number;
}

function retryDelaySeconds(err: unknown, attempt: number): number | null {
  if (err instanceof QualysRateLimitError || err instanceof QualysConcurrencyLimitError) return err.retryAfterSeconds;
  if (err instanceof QualysTransientError) return err.retryAfterSeconds ?? Math.min(60, 2 ** attempt);
  return null;
}

export async function pullDetections<T>(client: QualysClient, options: PullOptions<T>): Promise<PullResult<T>> {
  const maxAttempts = options.maxAttempts ?? 5;
  const maxWait = options.maxWaitSeconds ?? 900;
  const pages: PulledPage<T>[] = [];
  let total: PageSummary | null = null;
  let bytes = 0;
  let idMin: number | null = null;
  for (;;) {
    for (let attempt = 1; ; attempt++) {
      const target = await options.target();
      try {
        const page = await client.fetchDetectionPage({
          params: options.params,
          idMin,
          sink: target.sink,
          signal: options.signal,
          postFilter: options.postFilter ?? null,
          onProgress: (pageBytes) => options.onProgress?.({ pages: pages.length, hosts: total?.hosts ?? 0, detections: total?.detections ?? 0, bytes: bytes + pageBytes }),
        });
        pages.push({ pageNo: pages.length + 1, idMin, bytes: page.bytes, summary: page.summary, stored: await target.commit() });
        total = total ? addSummaries(total, page.summary) : page.summary;
        bytes += page.bytes;
        break;
      } catch (err) {
        await target.abort();
        const delay = retryDelaySeconds(err, attempt);
        if (delay == null || attempt >= maxAttempts || options.signal?.aborted) throw err;
        if (delay > maxWait) {
          throw new Error(`${(err as QualysError).message}; that is longer than the ${maxWait} s this command waits`, { cause: err });
        }
        await sleep(delay * 1000, undefined, { signal: options.signal });
      }
    }
    options.onProgress?.({ pages: pages.length, hosts: total!.hosts, detections: total!.detections, bytes });
    if (!total!.truncated) break;
    idMin = total!.nextIdMin;
  }
  return { summary: total!, pages, bytes };
}
