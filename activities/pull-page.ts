import { Context } from '@temporalio/activity';
import { LRUCache } from 'lru-cache';
import { maxSlotWaitMs, type CallSlots } from './call-slots.js';
import type { ActivityDeps } from './deps.js';
import { recordingFailures } from './attempt-recorder.js';
import { invalidState } from './failures.js';
import type { PageRead, PageBytes, PageSource } from './page-bytes.js';
import type { QualysClientPool } from './qualys-clients.js';
import { markRangeFinished, markRangeStarted, recordPageSizeChange } from '../db/run-activity.js';
import { recordRunPage } from '../db/run-pages.js';
import { DEFAULT_RUN_TUNING, type PageRecord, type PageRequest, type PullTotals, type RunPlan } from '../shared/contracts.js';

/** How runs started before range pulls ask for a page; such runs may still be in flight after an upgrade. */
export interface SequentialPageRequest {
  plan: RunPlan;
  pageNo: number;
  idMin: number | null;
  totalsBefore: PullTotals;
}

export type PullPageInput = PageRequest | SequentialPageRequest;

function asPageRequest(input: PullPageInput): PageRequest {
  if ('rangeNo' in input) return input;
  return {
    plan: input.plan,
    rangeNo: 1,
    pageNo: input.pageNo,
    idMin: input.idMin,
    idMax: null,
    pageMaxAttempts: DEFAULT_RUN_TUNING.pageMaxAttempts,
    concurrencyPauseMs: DEFAULT_RUN_TUNING.concurrencyPauseMs,
  };
}

/** The parameters a run's address lookups resolved to (planRanges stored them), read once per worker. */
function resolvedParamsCache(blobStore: ActivityDeps['blobStore']) {
  const cache = new LRUCache<string, Record<string, string>>({
    max: 64,
    fetchMethod: async (blobKey) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await blobStore.get(blobKey)) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>;
    },
  });
  return { get: async (blobKey: string) => (await cache.fetch(blobKey)) ?? {} };
}

/** Heartbeats prove the worker is alive even while Qualys prepares a page for minutes. */
const HEARTBEAT_FRACTION = 3;
const MAX_HEARTBEAT_INTERVAL_MS = 10_000;

/** A page read from Qualys into a staged blob, not yet kept. */
export interface ReadPage {
  /** Where the range goes on: known once the page is read, so the next page can be asked for while this one is kept. */
  truncated: boolean;
  nextIdMin: number | null;
  /** Stores the page and records it; a failure is recorded as the attempt's and thrown. */
  keep(): Promise<PageRecord>;
  /** Throws the staged bytes away (the page will be asked for again). */
  discard(): Promise<void>;
}

/**
 * Reads one page inside an activity; `attempt` is the page's attempt number
 * (1 = first try). `signal` defaults to the activity's cancellation; a call
 * pulling several pages passes its own, and aborting it is not a failure.
 */
export type PagePuller = (request: PageRequest, attempt: number, signal?: AbortSignal) => Promise<ReadPage>;

/**
 * Pulls one page: streams Qualys's answer into the blob store while hashing
 * and summarising it; keeping it then records it under (run, range, page
 * number) so a retry replaces it, adds it to the run's live counters, and
 * returns only its small record. A failed attempt is recorded as it happens.
 * The read waits for a slot of the subscription's shared budget first
 * (heartbeating meanwhile) and gives it back as soon as the answer is read.
 * Cancelling the activity leaves the queue or aborts the request in flight.
 */
export function pagePuller(deps: ActivityDeps, pool: QualysClientPool, slots: CallSlots, pageBytes: PageBytes): PagePuller {
  const { db, blobStore, logger } = deps;
  const resolvedParams = resolvedParamsCache(blobStore);
  return async (request, attempt, signal) => {
    const { plan, rangeNo, pageNo, idMin, idMax, hostIdsBlobKey, truncationLimit, smallerPageFollows, pageMaxAttempts, concurrencyPauseMs } = request;
    const ctx = Context.current();
    const abort = signal ?? ctx.cancellationSignal;
    const began = performance.now();
    // Where a page's time went, logged with the stored page: waiting for a slot, Qualys, giving the slot back, storing, recording.
    const timings = { slotMs: 0, qualysMs: 0, releaseMs: 0, storeMs: 0, recordMs: 0 };
    const scope = { runId: plan.runId, step: 'pull_pages' as const, rangeNo, pageNo, maxAttempts: pageMaxAttempts, concurrencyPauseMs, retriedSmaller: smallerPageFollows ?? false, attempt, signal: abort };
    const stage: { current: PageRead | null } = { current: null };
    const failed = async (err: unknown): Promise<never> => {
      await stage.current?.abort();
      logger.warn({ runId: plan.runId, rangeNo, pageNo, attempt, error: (err as Error).name, message: (err as Error).message }, 'page failed');
      throw err;
    };

    const answer = await recordingFailures(deps, scope, async () => {
      if (pageNo === 1) await markRangeStarted(db, plan.runId, rangeNo);
      if (truncationLimit !== undefined && attempt === 1) {
        await recordPageSizeChange(db, { runId: plan.runId, rangeNo, pageNo, truncationLimit, pageSize: Number(plan.params.truncation_limit), worker: deps.workerIdentity ?? null });
      }
      const connection = await pool.get(plan.connectionId);
      let bytesSoFar = 0;
      const beat = () => ctx.heartbeat({ rangeNo, pageNo, bytes: bytesSoFar });
      const interval = Math.min(MAX_HEARTBEAT_INTERVAL_MS, (ctx.info.heartbeatTimeoutMs ?? 30_000) / HEARTBEAT_FRACTION);
      // No heartbeat at the start: a page that takes less than the interval costs the server nothing for it.
      const timer = setInterval(beat, interval);
      try {
        const params = {
          ...plan.params,
          ...(hostIdsBlobKey ? await resolvedParams.get(hostIdsBlobKey) : {}),
          ...(idMax === null ? {} : { id_max: String(idMax) }),
          ...(truncationLimit === undefined ? {} : { truncation_limit: String(truncationLimit) }),
        };
        const source: PageSource =
          plan.fetcherKind === 'host_list_detection'
            ? { kind: 'host_list_detection', params, idMin, postFilter: plan.postFilter ?? null }
            : { kind: 'raw', method: plan.method, path: plan.endpoint, params, idMin };
        const slot = { signal: abort, maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs), purpose: `run ${plan.runId} range ${rangeNo} page ${pageNo}`, runId: plan.runId };
        let admitted = began;
        const read = await slots.run(pageBytes.limitsOf(connection), slot, async (callSignal) => {
          admitted = performance.now();
          timings.slotMs = Math.round(admitted - began);
          const page = await pageBytes.read(connection, source, callSignal, (bytes) => {
            bytesSoFar = bytes;
          });
          stage.current = page;
          timings.qualysMs = Math.round(performance.now() - admitted);
          return page.answer;
        });
        timings.releaseMs = Math.round(performance.now() - admitted) - timings.qualysMs;
        return read;
      } catch (err) {
        return failed(err);
      } finally {
        clearInterval(timer);
      }
    });

    const keep = () =>
      recordingFailures(deps, scope, async () => {
        try {
          const answered = performance.now();
          const blob = await stage.current!.commit();
          const stored = performance.now();
          timings.storeMs = Math.round(stored - answered);
          if (blob.bytes !== answer.bytes) {
            throw invalidState(`range ${rangeNo} page ${pageNo}: ${blob.bytes} bytes were stored but ${answer.bytes} were read`);
          }
          const summary = answer.summary;
          const counts =
            'hosts' in summary
              ? { hosts: summary.hosts, detections: summary.detections, records: summary.hosts }
              : { hosts: 0, detections: 0, records: summary.records };
          const storedSummary = 'contentType' in answer ? { ...summary, contentType: answer.contentType } : summary;
          await recordRunPage(db, {
            runId: plan.runId,
            rangeNo,
            pageNo,
            idMin,
            idMax,
            truncationLimit: truncationLimit ?? null,
            blobKey: blob.key,
            sha256: blob.sha256,
            bytes: blob.bytes,
            summary: storedSummary,
            ...counts,
            qualysDatetime: summary.datetime,
            attempts: attempt,
            worker: deps.workerIdentity ?? null,
            // Kept with the page so that sealing need not parse it again to reconcile its hosts.
            hostIds: stage.current!.hostIds,
          });
          if (!summary.truncated) await markRangeFinished(db, plan.runId, rangeNo);
          timings.recordMs = Math.round(performance.now() - stored);
          deps.metrics?.pageStored(plan.fetcherKind, blob.bytes);
          logger.info({ runId: plan.runId, rangeNo, pageNo, idMin, bytes: blob.bytes, ...counts, truncated: summary.truncated, attempt, ...timings }, 'page stored');
          return {
            rangeNo,
            pageNo,
            idMin,
            blobKey: blob.key,
            sha256: blob.sha256,
            bytes: blob.bytes,
            ...counts,
            truncated: summary.truncated,
            nextIdMin: summary.nextIdMin,
            qualysDatetime: summary.datetime,
            attempt,
          };
        } catch (err) {
          return failed(err);
        }
      });
    return {
      truncated: answer.summary.truncated,
      nextIdMin: answer.summary.nextIdMin,
      keep,
      discard: async () => {
        await stage.current?.abort();
      },
    };
  };
}

/** The activity that pulls one page (runs whose pages are smaller than their fetcher's, and runs started before calls pulled several). */
export function pullPage(puller: PagePuller) {
  return async (input: PullPageInput): Promise<PageRecord> => (await puller(asPageRequest(input), Context.current().info.attempt)).keep();
}
