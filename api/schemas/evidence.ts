/** Sealed evidence as the API shows it: metadata, manifest, where it is attached, and its raw Qualys pages. */
import { z } from '@hono/zod-openapi';
import type { EvidenceRow } from '../../db/schema.js';
import { iso, isoTime } from './common.js';

const sha256 = z.string().openapi({ description: 'Lowercase hex SHA-256', example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
const json = z.record(z.string(), z.unknown());

const evidenceFields = {
  id: z.string(),
  runId: z.string(),
  fetcherId: z.string(),
  format: z.enum(['XML', 'CSV', 'RAW']),
  contentType: z.string(),
  filename: z.string(),
  bytes: z.number().int(),
  sha256,
  complete: z.boolean().openapi({ description: 'False when the pull stopped before Qualys said the list was complete' }),
  completeness: z.enum(['complete', 'incomplete', 'unknown']).openapi({
    description: 'The completeness verdict: page chain, cursors and the host ID list (see `manifest.completeness` for the checks and reason)',
  }),
  collectedAt: isoTime.openapi({ description: 'When the data was collected (the last page); audit periods go by it' }),
  scheduledFor: isoTime.nullable().openapi({ description: "A scheduled run's action time; earlier than collectedAt for a backfill" }),
  manifestSha256: z.string().nullable().openapi({ description: "SHA-256 of the manifest's canonical JSON as sealed (null before manifest version 2)" }),
  summary: json.openapi({ description: 'Totals over all pages: hosts, detections, per severity/status/type counts, host id range' }),
  createdAt: isoTime,
};

const links = (extra: Record<string, z.ZodTypeAny> = {}) =>
  z.object({ self: z.string(), content: z.string(), pages: z.string(), run: z.string(), verification: z.string(), sla: z.string(), ...extra });

export const evidenceListItemSchema = z.object({ ...evidenceFields, links: links() }).openapi('EvidenceListItem');

export const evidenceSchema = z
  .object({
    ...evidenceFields,
    manifest: json.openapi({
      description: 'What was asked of which Qualys platform, when and by whom; every page with its size and SHA-256; waits and retries; the sealed file',
    }),
    attachedTo: z.object({
      controls: z.array(z.object({ id: z.string(), framework: z.string(), code: z.string(), name: z.string() })),
      requests: z.array(z.object({ id: z.string(), title: z.string(), status: z.enum(['open', 'closed']) })),
    }),
    links: links(),
  })
  .openapi('Evidence');

export const evidencePageSchema = z
  .object({
    pageNo: z.number().int(),
    idMin: z.number().int().nullable().openapi({ description: 'The truncation cursor the page was requested with (null for the first page)' }),
    bytes: z.number().int(),
    sha256,
    qualysDatetime: z.string().nullable().openapi({ description: "Qualys's own DATETIME of the answer" }),
    attempts: z.number().int(),
    hosts: z.number().int().nullable(),
    detections: z.number().int().nullable(),
    records: z.number().int().nullable(),
    links: z.object({ content: z.string() }),
  })
  .openapi('EvidencePage');

export const evidencePagesSchema = z.object({ evidenceId: z.string(), items: z.array(evidencePageSchema) }).openapi('EvidencePageList');

/** The manifest's page entries, as sealing wrote them (see evidence/manifest.ts). */
export const manifestPagesSchema = z.object({
  pages: z.array(
    z.object({
      pageNo: z.number().int(),
      idMin: z.number().int().nullable(),
      blobKey: z.string(),
      bytes: z.number().int(),
      sha256: z.string(),
      qualysDatetime: z.string().nullable(),
      attempts: z.number().int(),
      hosts: z.number().int().optional(),
      detections: z.number().int().optional(),
      records: z.number().int().optional(),
    }),
  ),
});
export type ManifestPage = z.infer<typeof manifestPagesSchema>['pages'][number];

export type EvidenceView = z.infer<typeof evidenceSchema>;
export type EvidenceListItem = z.infer<typeof evidenceListItemSchema>;
export type EvidenceAttachments = EvidenceView['attachedTo'];

function evidenceLinks(row: EvidenceRow) {
  const self = `/v1/evidence/${row.id}`;
  return {
    self,
    content: `${self}/content`,
    pages: `${self}/pages`,
    run: `/v1/runs/${encodeURIComponent(row.runId)}`,
    verification: `${self}/verification`,
    sla: `${self}/sla?asOf=${row.collectedAt.toISOString().slice(0, 10)}&policy=commercial`,
  };
}

function baseView(row: EvidenceRow) {
  return {
    id: row.id,
    runId: row.runId,
    fetcherId: row.fetcherId,
    format: row.format,
    contentType: row.contentType,
    filename: row.filename,
    bytes: row.bytes,
    sha256: row.sha256,
    complete: row.complete,
    completeness: row.completeness,
    collectedAt: iso(row.collectedAt)!,
    scheduledFor: iso(row.scheduledFor),
    manifestSha256: row.manifestSha256,
    summary: row.summary,
    createdAt: iso(row.createdAt)!,
  };
}

export function toEvidenceListItem(row: EvidenceRow): EvidenceListItem {
  return { ...baseView(row), links: evidenceLinks(row) };
}

export function toEvidenceView(row: EvidenceRow, attachedTo: EvidenceAttachments): EvidenceView {
  return { ...baseView(row), manifest: row.manifest, attachedTo, links: evidenceLinks(row) };
}

export function toEvidencePageView(evidenceId: string, page: ManifestPage): z.infer<typeof evidencePageSchema> {
  return {
    pageNo: page.pageNo,
    idMin: page.idMin,
    bytes: page.bytes,
    sha256: page.sha256,
    qualysDatetime: page.qualysDatetime,
    attempts: page.attempts,
    hosts: page.hosts ?? null,
    detections: page.detections ?? null,
    records: page.records ?? null,
    links: { content: `/v1/evidence/${evidenceId}/pages/${page.pageNo}/content` },
  };
}
