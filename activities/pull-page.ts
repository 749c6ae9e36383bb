import { Context } from '@temporalio/activity';
import type { StagedBlob } from '../evidence/blob-store.js';
import { maxSlotWaitMs, type CallSlots } from './call-slots.js';
import type { ActivityDeps } from './deps.js';
import { invalidState } from './failures.js';
import type { QualysClientPool } from './qualys-clients.js';
import { upsertRunPage } from '../db/run-pages.js';
import { updateRunProgress } from '../db/runs.js';
import type { PageRecord, PullTotals, RunPlan } from '../shared/contracts.js';

export interface PullPageInput {
  plan: RunPlan;
  pageNo: number;
  idMin: number | null;
  /** Counters before this page, so the run row can show running totals. */
  totalsBefore: PullTotals;
}

/** Heartbeats prove the worker is alive even while Qualys prepares a page for minutes. */
const HEARTBEAT_FRACTION = 3;
const MAX_HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * Pulls one page: streams Qualys's answer into the blob store while hashing
 * and summarising it, records it under (run, page number) so a retry
 * replaces it, and returns only its small record. The call waits for a slot
 * of the subscription's shared budget first (heartbeating meanwhile).
 * Cancelling the activity leaves the queue or aborts the request in flight.
 */
export function pullPage({ db, blobStore, logger }: ActivityDeps, pool: QualysClientPool, slots: CallSlots) {
  return async ({ plan, pageNo, idMin, totalsBefore }: PullPageInput): Promise<PageRecord> => {
    const ctx = Context.current();
    const { client } = await pool.get(plan.connectionId);
    let bytesSoFar = 0;
    const beat = () => ctx.heartbeat({ pageNo, bytes: bytesSoFar });
    const interval = Math.min(MAX_HEARTBEAT_INTERVAL_MS, (ctx.info.heartbeatTimeoutMs ?? 30_000) / HEARTBEAT_FRACTION);
    const timer = setInterval(beat, interval);
    beat();
    const stage: { current: StagedBlob | null } = { current: null };
    try {
      const slot = { signal: ctx.cancellationSignal, maxWaitMs: maxSlotWaitMs(ctx.info.startToCloseTimeoutMs), purpose: `run ${plan.runId} page ${pageNo}` };
      const answer = await slots.run(client, slot, async (signal) => {
        stage.current = await blobStore.stage();
        const common = {
          params: plan.params,
          idMin,
          sink: stage.current.sink,
          signal,
          onProgress: (bytes: number) => {
            bytesSoFar = bytes;
          },
        };
        return plan.fetcherKind === 'host_list_detection'
          ? client.fetchDetectionPage(common)
          : client.fetchRaw({ ...common, method: plan.method, path: plan.endpoint });
      });
      const blob = await stage.current!.commit();
      if (blob.sha256 !== answer.sha256) {
        throw invalidState(`page ${pageNo}: stored bytes hash to ${blob.sha256} but ${answer.sha256} was read`);
      }
      const summary = answer.summary;
      const counts =
        'hosts' in summary
          ? { hosts: summary.hosts, detections: summary.detections, records: summary.hosts }
          : { hosts: 0, detections: 0, records: summary.records };
      const stored = 'contentType' in answer ? { ...summary, contentType: answer.contentType } : summary;
      await upsertRunPage(db, {
        runId: plan.runId,
        pageNo,
        idMin,
        blobKey: blob.key,
        sha256: blob.sha256,
        bytes: blob.bytes,
        summary: stored,
        qualysDatetime: summary.datetime,
        attempts: ctx.info.attempt,
      });
      await updateRunProgress(db, plan.runId, {
        step: 'pull_pages',
        progress: {
          pages: totalsBefore.pages + 1,
          hosts: totalsBefore.hosts + counts.hosts,
          detections: totalsBefore.detections + counts.detections,
          bytes: totalsBefore.bytes + blob.bytes,
          lastError: null,
        },
      });
      logger.debug({ runId: plan.runId, pageNo, idMin, bytes: blob.bytes, ...counts, truncated: summary.truncated, attempt: ctx.info.attempt }, 'page stored');
      return {
        pageNo,
        idMin,
        blobKey: blob.key,
        sha256: blob.sha256,
        bytes: blob.bytes,
        ...counts,
        truncated: summary.truncated,
        nextIdMin: summary.nextIdMin,
        qualysDatetime: summary.datetime,
        attempt: ctx.info.attempt,
      };
    } catch (err) {
      await stage.current?.abort();
      logger.warn({ runId: plan.runId, pageNo, attempt: ctx.info.attempt, error: (err as Error).name, message: (err as Error).message }, 'page failed');
      throw err;
    } finally {
      clearInterval(timer);
    }
  };
}
