/**
 * The JSON body of a webhook delivery, built from the database at delivery
 * time: enough for a GRC tool to decide what to do (which fetcher, how it
 * ended, which evidence with its hash) and links to fetch the rest through
 * the API. It stays small: no manifest, no page list.
 */
import { getEvidence } from '../db/evidence.js';
import { getFetcher } from '../db/fetchers.js';
import { getRun } from '../db/runs.js';
import type { AppDatabase } from '../db/app-database.js';
import type { WebhookDeliveryInput } from '../shared/contracts.js';

export interface WebhookPayload {
  id: string;
  event: string;
  createdAt: string;
  run: {
    id: string;
    status: string;
    trigger: string;
    triggeredBy: string | null;
    scheduleId: string | null;
    createdAt: string;
    startedAt: string | null;
    finishedAt: string | null;
    error: { type: string; message: string } | null;
  };
  fetcher: { id: string; name: string; kind: string };
  evidence: { id: string; sha256: string; bytes: number; format: string; filename: string; complete: boolean } | null;
  totals: { pages: number | null; hosts: number | null; detections: number | null; bytes: number | null };
  /** Paths on this connector's API (prefix them with its base URL). */
  links: { run: string; evidence: string | null; evidenceContent: string | null };
}

const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Null when the run no longer exists (nothing sensible to send). */
export async function buildWebhookPayload(db: AppDatabase, input: WebhookDeliveryInput, now: Date): Promise<WebhookPayload | null> {
  const run = await getRun(db, input.runId);
  if (!run) return null;
  const [fetcher, evidence] = await Promise.all([
    getFetcher(db, run.fetcherId, { includeDeleted: true }),
    run.evidenceId ? getEvidence(db, run.evidenceId) : Promise.resolve(null),
  ]);
  const progress = (run.progress ?? {}) as unknown as Record<string, unknown>;
  const summary = (evidence?.summary ?? {}) as Record<string, unknown>;
  return {
    id: input.deliveryId,
    event: input.event,
    createdAt: now.toISOString(),
    run: {
      id: run.id,
      status: run.status,
      trigger: run.trigger,
      triggeredBy: run.triggeredBy,
      scheduleId: run.scheduleId,
      createdAt: run.createdAt.toISOString(),
      startedAt: run.startedAt?.toISOString() ?? null,
      finishedAt: run.finishedAt?.toISOString() ?? null,
      error: run.error ? { type: run.error.type, message: run.error.message } : null,
    },
    fetcher: { id: run.fetcherId, name: fetcher?.name ?? '(unknown)', kind: fetcher?.kind ?? 'unknown' },
    evidence: evidence
      ? {
          id: evidence.id,
          sha256: evidence.sha256,
          bytes: evidence.bytes,
          format: evidence.format,
          filename: evidence.filename,
          complete: evidence.complete,
        }
      : null,
    totals: {
      pages: numberOrNull(progress.pages),
      hosts: numberOrNull(summary.hosts ?? progress.hosts),
      detections: numberOrNull(summary.detections ?? progress.detections),
      bytes: numberOrNull(progress.bytes),
    },
    links: {
      run: `/v1/runs/${encodeURIComponent(run.id)}`,
      evidence: evidence ? `/v1/evidence/${evidence.id}` : null,
      evidenceContent: evidence ? `/v1/evidence/${evidence.id}/content` : null,
    },
  };
}
