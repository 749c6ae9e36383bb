/**
 * A complete Host List Detection pull for the command line: every page into
 * its own file, following the truncation cursor, waiting out 409s exactly as
 * long as Qualys asks and retrying transient failures a few times, then the
 * pages merged into one document.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QualysClient } from './client.js';
import { QualysConcurrencyLimitError, QualysRateLimitError, QualysTransientError, type QualysError } from './errors.js';
import { mergeDetectionPages, type SavedPage } from './page-merge.js';
import { addSummaries, type PageSummary } from './page-summary.js';

export interface PullProgress {
  pages: number;
  hosts: number;
  detections: number;
  bytes: number;
}

export interface PullOptions {
  params: Record<string, string>;
  out: string;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  /** Failed attempts allowed per page before giving up (409 waits included). */
  maxAttempts?: number;
  /** Longest 409 wait the pull sits through; a longer one fails with Qualys's message. */
  maxWaitSeconds?: number;
}

export interface PullResult {
  summary: PageSummary;
  pages: number;
  bytes: number;
}

function retryDelaySeconds(err: unknown, attempt: number): number | null {
  if (err instanceof QualysRateLimitError || err instanceof QualysConcurrencyLimitError) return err.retryAfterSeconds;
  if (err instanceof QualysTransientError) return err.retryAfterSeconds ?? Math.min(60, 2 ** attempt);
  return null;
}

export async function pullDetections(client: QualysClient, options: PullOptions): Promise<PullResult> {
  const maxAttempts = options.maxAttempts ?? 5;
  const maxWait = options.maxWaitSeconds ?? 900;
  const dir = await mkdtemp(path.join(path.dirname(path.resolve(options.out)), '.qualys-pull-'));
  try {
    const pages: SavedPage[] = [];
    let total: PageSummary | null = null;
    let bytes = 0;
    let idMin: number | null = null;
    for (;;) {
      const file = path.join(dir, `page-${String(pages.length + 1).padStart(6, '0')}`);
      for (let attempt = 1; ; attempt++) {
        try {
          const page = await client.fetchDetectionPage({
            params: options.params,
            idMin,
            sink: createWriteStream(file),
            signal: options.signal,
            onProgress: (pageBytes) => options.onProgress?.({ pages: pages.length, hosts: total?.hosts ?? 0, detections: total?.detections ?? 0, bytes: bytes + pageBytes }),
          });
          pages.push({ path: file, bytes: page.bytes, summary: page.summary });
          total = total ? addSummaries(total, page.summary) : page.summary;
          bytes += page.bytes;
          break;
        } catch (err) {
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
    const partial = path.join(dir, 'merged');
    const out = createWriteStream(partial);
    try {
      await mergeDetectionPages(pages, out);
    } catch (err) {
      out.destroy();
      throw err;
    }
    out.end();
    await finished(out);
    await rename(partial, options.out);
    return { summary: total!, pages: pages.length, bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
