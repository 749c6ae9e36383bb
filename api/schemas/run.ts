/** Runs as the API shows them: status, live progress and links to evidence and the Temporal UI. */
import { z } from '@hono/zod-openapi';
import type { LiveCounts } from '../../db/run-activity.js';
import type { RunRow } from '../../db/schema.js';
import { RUN_STATUSES, RUN_TRIGGERS, type RunProgress } from '../../shared/contracts.js';
import { iso, isoTime } from './common.js';

const progressSchema = z
  .object({
    pages: z.number().int(),
    hosts: z.number().int(),
    detections: z.number().int(),
    bytes: z.number().int(),
    waits: z.number().int().openapi({ description: 'Times the run waited because Qualys asked it to (409 limits)' }),
    waitedSeconds: z.number().int(),
    waiting: z
      .object({ reason: z.enum(['rate_limit', 'concurrency_limit']), seconds: z.number(), until: isoTime })
      .nullable()
      .openapi({ description: 'Set while the run sleeps for a Qualys limit' }),
    retries: z.number().int().openapi({ description: 'Failed attempts that were tried again (pages and the connection check), counted as they happen' }),
    lastError: z.string().nullable(),
    current: z
      .object({
        step: z.string(),
        rangeNo: z.number().int().nullable(),
        pageNo: z.number().int().nullable(),
        attempt: z.number().int(),
        error: z.string(),
      })
      .nullable()
      .openapi({ description: 'The attempt that failed last while the run goes on: which page, which attempt, and why; null once a page succeeds' }),
    ranges: z
      .object({ total: z.number().int(), done: z.number().int(), inFlight: z.number().int(), waiting: z.number().int().openapi({ description: 'Ranges not started yet' }) })
      .nullable()
      .openapi({ description: 'Host ID ranges of the run: finished, being pulled, not started yet' }),
    waitingForSlot: z.number().int().openapi({ description: "Calls of the run queued right now for a slot of the Qualys subscription's shared budget (0 in lists)" }),
  })
  .openapi('RunProgress');

export const runSchema = z
  .object({
    id: z.string(),
    fetcherId: z.string(),
    connectionId: z.string(),
    trigger: z.enum(RUN_TRIGGERS),
    triggeredBy: z.string().nullable().openapi({ description: 'API key name, schedule id or CLI user that started the run' }),
    scheduleId: z.string().nullable(),
    status: z.enum(RUN_STATUSES),
    step: z.string().nullable().openapi({ description: 'prepare, check_connection, pull_pages, seal, attach or done' }),
    scheduledFor: isoTime.nullable().openapi({ description: "A scheduled run's action time (a backfill's lies in the past)" }),
    collectedAt: isoTime.nullable().openapi({ description: 'When the last page arrived: the moment the evidence speaks for' }),
    progress: progressSchema,
    error: z.object({ type: z.string(), message: z.string(), qualysCode: z.number().int().optional() }).nullable(),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    evidenceId: z.string().nullable(),
    links: z.object({
      self: z.string(),
      evidence: z.string().nullable(),
      evidenceContent: z.string().nullable(),
      temporalUi: z.string().nullable().openapi({ description: "The run's workflow in the Temporal Web UI, when its URL is configured" }),
    }),
  })
  .openapi('Run');

export type RunView = z.infer<typeof runSchema>;

export interface RunViewContext {
  /** Temporal Web UI base URL, or null when unknown. */
  uiUrl: string | null;
  namespace: string;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : 0;
}

/**
 * The run row holds its progress as the activities and the workflow recorded
 * it while it happened (counters, waits, retries, the failing attempt); every
 * field is present in the view. Range counts come from the run's ranges.
 */
function progressView(stored: Partial<RunProgress> | null | undefined, live: LiveCounts | null): RunView['progress'] {
  const p = stored ?? {};
  return {
    pages: count(p.pages),
    hosts: count(p.hosts),
    detections: count(p.detections),
    bytes: count(p.bytes),
    waits: count(p.waits),
    waitedSeconds: count(p.waitedSeconds),
    waiting: p.waiting ?? null,
    retries: count(p.retries),
    lastError: p.lastError ?? null,
    current: p.current ?? null,
    ranges: live?.ranges ?? null,
    waitingForSlot: live?.waitingForSlot ?? 0,
  };
}

/** `live`: what a status read adds to the row (ranges, calls waiting for a slot); lists leave it out. */
export function toRunView(row: RunRow, ctx: RunViewContext, live: LiveCounts | null = null): RunView {
  const evidencePath = row.evidenceId ? `/v1/evidence/${row.evidenceId}` : null;
  return {
    id: row.id,
    fetcherId: row.fetcherId,
    connectionId: row.connectionId,
    trigger: row.trigger,
    triggeredBy: row.triggeredBy,
    scheduleId: row.scheduleId,
    status: row.status,
    step: row.step,
    scheduledFor: iso(row.scheduledFor),
    collectedAt: iso(row.collectedAt),
    progress: progressView(row.progress as Partial<RunProgress> | null, live),
    error: row.error ? { type: row.error.type, message: row.error.message, ...(row.error.qualysCode === undefined ? {} : { qualysCode: row.error.qualysCode }) } : null,
    createdAt: iso(row.createdAt)!,
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    evidenceId: row.evidenceId,
    links: {
      self: `/v1/runs/${encodeURIComponent(row.id)}`,
      evidence: evidencePath,
      evidenceContent: evidencePath ? `${evidencePath}/content` : null,
      temporalUi: ctx.uiUrl
        ? `${ctx.uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ctx.namespace)}/workflows/${encodeURIComponent(row.workflowId)}`
        : null,
    },
  };
}
