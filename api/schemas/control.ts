/** Controls of the catalog, their latest evidence and its freshness, as the API shows them. */
import { z } from '@hono/zod-openapi';
import type { LatestEvidence } from '../../db/controls.js';
import type { AttachedEvidence } from '../../db/attachments.js';
import type { ControlRow } from '../../db/schema.js';
import { assessFreshness } from '../../evidence/freshness.js';
import { iso, isoTime, pageOf } from './common.js';
import { orNull } from './fields.js';

export const FRESHNESS_STATES = ['fresh', 'due', 'stale', 'missing'] as const;

/** A control named in a mapping (a fetcher's or an audit request's). */
export const controlRefSchema = z
  .object({ id: z.string(), framework: z.string(), code: z.string(), name: z.string() })
  .openapi('ControlRef');

export type ControlRef = z.infer<typeof controlRefSchema>;

export function controlRef(c: ControlRow): ControlRef {
  return { id: c.id, framework: c.framework, code: c.code, name: c.name };
}

const evidenceFormat = z.enum(['XML', 'CSV', 'RAW']);

export const latestEvidenceSchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    fetcherId: z.string(),
    createdAt: isoTime.openapi({ description: 'When the evidence was sealed: how old the data is' }),
    attachedAt: isoTime,
    sha256: z.string(),
    bytes: z.number().int(),
    format: evidenceFormat,
    complete: z.boolean().openapi({ description: 'False when the pull ended before every page was fetched' }),
  })
  .openapi('LatestEvidence');

export const freshnessSchema = z
  .object({
    state: z.enum(FRESHNESS_STATES).openapi({
      description: '`fresh`: nothing to do; `due`: the period is about to close, pull now; `stale`: the period has passed; `missing`: no evidence',
    }),
    ageDays: z.number().int().nullable(),
    dueAt: isoTime.nullable().openapi({ description: 'When the latest evidence stops being fresh enough' }),
  })
  .openapi('Freshness');

export const controlSchema = z
  .object({
    id: z.string(),
    framework: z.string(),
    code: z.string(),
    name: z.string(),
    description: z.string(),
    cadence: z.enum(['weekly', 'monthly', 'quarterly']).nullable().openapi({ description: 'The evidence frequency the framework demands, when it names one' }),
    succeeds: z.string().nullable().openapi({ description: 'The control of an earlier framework version this one replaces' }),
    latestEvidence: orNull(latestEvidenceSchema),
    freshness: freshnessSchema,
  })
  .openapi('Control');

export type ControlView = z.infer<typeof controlSchema>;

export function controlView(control: ControlRow, latest: LatestEvidence | null, now: Date): ControlView {
  const freshness = assessFreshness({ cadence: control.cadence, latestEvidenceAt: latest?.createdAt ?? null, now });
  return {
    id: control.id,
    framework: control.framework,
    code: control.code,
    name: control.name,
    description: control.description,
    cadence: control.cadence,
    succeeds: control.succeeds,
    latestEvidence: latest && {
      id: latest.evidenceId,
      runId: latest.runId,
      fetcherId: latest.fetcherId,
      createdAt: iso(latest.createdAt)!,
      attachedAt: iso(latest.attachedAt)!,
      sha256: latest.sha256,
      bytes: latest.bytes,
      format: latest.format,
      complete: latest.complete,
    },
    freshness: { state: freshness.state, ageDays: freshness.ageDays, dueAt: iso(freshness.dueAt) },
  };
}

export const fetcherRefSchema = z
  .object({ id: z.string(), name: z.string(), kind: z.enum(['host_list_detection', 'custom']), enabled: z.boolean() })
  .openapi('FetcherRef');

export const controlDetailSchema = controlSchema
  .extend({ fetchers: z.array(fetcherRefSchema).openapi({ description: 'Fetchers mapped to this control' }) })
  .openapi('ControlDetail');

/** Evidence filed under a control or an audit request. */
export const attachedEvidenceSchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    fetcherId: z.string(),
    filename: z.string(),
    format: evidenceFormat,
    contentType: z.string(),
    sha256: z.string(),
    bytes: z.number().int(),
    complete: z.boolean(),
    completeness: z.enum(['complete', 'incomplete', 'unknown']),
    collectedAt: isoTime,
    createdAt: isoTime,
    attachedAt: isoTime,
    contentUrl: z.string().openapi({ description: 'Where to download the file' }),
  })
  .openapi('AttachedEvidence');

export type AttachedEvidenceView = z.infer<typeof attachedEvidenceSchema>;

export const attachedEvidencePageSchema = pageOf(attachedEvidenceSchema).openapi('AttachedEvidencePage');

export function attachedEvidenceView({ evidence, attachedAt }: AttachedEvidence): AttachedEvidenceView {
  return {
    id: evidence.id,
    runId: evidence.runId,
    fetcherId: evidence.fetcherId,
    filename: evidence.filename,
    format: evidence.format,
    contentType: evidence.contentType,
    sha256: evidence.sha256,
    bytes: evidence.bytes,
    complete: evidence.complete,
    completeness: evidence.completeness,
    collectedAt: iso(evidence.collectedAt)!,
    createdAt: iso(evidence.createdAt)!,
    attachedAt: iso(attachedAt)!,
    contentUrl: `/v1/evidence/${evidence.id}/content`,
  };
}
