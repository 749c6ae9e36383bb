/**
 * What the auditor procedures return (audit/): verification, completeness,
 * coverage, SLA, diff, and the attachment history. Shapes are those of the
 * library, documented here for clients (the console among them).
 */
import { z } from '@hono/zod-openapi';
import type { AttachmentEventRow, AttachmentRow } from '../../db/schema.js';
import { iso, isoTime } from './common.js';
import { isoDate, text } from './fields.js';

const checkSchema = z
  .object({
    name: z.string().openapi({ example: 'page-sha256' }),
    ok: z.boolean().nullable().openapi({ description: 'true: passed; false: failed (the detail names the place); null: could not be performed (the detail says why)' }),
    detail: z.string(),
  })
  .openapi('Check');

export const verificationSchema = z
  .object({
    evidenceId: z.string().nullable(),
    verdict: z.enum(['verified', 'failed', 'partial']).openapi({ description: '`verified`: every check passed; `failed`: at least one failed; `partial`: none failed but some could not be performed' }),
    checks: z.array(checkSchema).openapi({
      description:
        'In order: manifest, manifest-sha256, evidence-record, page-sha256, page-chain, counts, sealed-file-rederived, sealed-file-sha256 (see the README, "For auditors")',
    }),
    sha256: z.string().nullable().openapi({ description: 'SHA-256 of the sealed file as read now' }),
    hosts: z.number().int().nullable().openapi({ description: 'Hosts re-derived from the raw pages (or the sealed file)' }),
    detections: z.number().int().nullable(),
    manifestVersion: z.number().int().nullable(),
    completeness: z.enum(['complete', 'incomplete', 'unknown']).nullable().openapi({ description: "The manifest's completeness verdict (version 2 manifests)" }),
  })
  .openapi('Verification');

export const attachmentSchema = z
  .object({
    evidenceId: z.string(),
    targetType: z.enum(['control', 'request']),
    targetId: z.string(),
    attachedAt: isoTime,
    detachedAt: isoTime.nullable(),
    changed: z.boolean().openapi({ description: 'False when the call changed nothing (already attached, or already detached)' }),
  })
  .openapi('Attachment');

export function attachmentView(row: AttachmentRow, changed: boolean): z.infer<typeof attachmentSchema> {
  return { evidenceId: row.evidenceId, targetType: row.targetType, targetId: row.targetId, attachedAt: iso(row.createdAt)!, detachedAt: iso(row.detachedAt), changed };
}

export const attachBodySchema = z
  .object({ reason: text(1000).optional().openapi({ description: 'Why, for the record' }) })
  .strict()
  .openapi('AttachBody');

export const attachmentEventSchema = z
  .object({
    id: z.string(),
    evidenceId: z.string(),
    targetType: z.enum(['control', 'request']),
    targetId: z.string(),
    action: z.enum(['attach', 'detach']),
    source: z.enum(['run', 'api']).openapi({ description: '`run`: filed by a fetcher run; `api`: by a person through the API' }),
    actor: z.string().openapi({ description: 'The run id, or the API key name' }),
    reason: z.string().nullable(),
    at: isoTime,
  })
  .openapi('AttachmentEvent');

export function attachmentEventView(row: AttachmentEventRow): z.infer<typeof attachmentEventSchema> {
  return { ...row, at: iso(row.at)! };
}

export const coverageQuerySchema = z.object({
  from: isoDate.openapi({ description: 'First day of the period (UTC)' }),
  to: isoDate.openapi({ description: 'Last day of the period (UTC)' }),
  cadence: z.enum(['weekly', 'monthly', 'quarterly'], { error: 'must be weekly, monthly or quarterly' }).optional().openapi({ description: "Overrides the control's cadence (required when it has none)" }),
});

const coverageEvidenceSchema = z.object({
  id: z.string(),
  collectedAt: isoTime,
  scheduledFor: isoTime.nullable().openapi({ description: 'Set for scheduled runs; a backfill collected later than scheduled still counts for the window it was collected in' }),
  completeness: z.enum(['complete', 'incomplete', 'unknown']),
  sha256: z.string(),
});

export const coverageSchema = z
  .object({
    controlId: z.string(),
    cadence: z.enum(['weekly', 'monthly', 'quarterly']),
    rule: z.string().openapi({ description: 'How windows are cut: calendar quarters, months, or ISO weeks (Monday to Sunday), UTC' }),
    from: z.string().openapi({ format: 'date' }),
    to: z.string().openapi({ format: 'date' }),
    windows: z.array(
      z.object({
        start: z.string().openapi({ format: 'date' }),
        end: z.string().openapi({ format: 'date', description: 'Last day of the window inside the period' }),
        label: z.string().openapi({ example: '2026-Q1' }),
        status: z.enum(['covered', 'unverified', 'missing']).openapi({ description: '`covered`: complete evidence collected in it; `unverified`: evidence, none of it complete; `missing`: none' }),
        evidence: z.array(coverageEvidenceSchema),
      }),
    ),
    windowsWithoutCompleteEvidence: z.array(z.string()).openapi({ description: 'Labels of the windows not covered' }),
    freshness: z.object({
      rule: z.string().openapi({ description: 'The rolling rule the freshness state uses (a fixed number of days since the latest evidence)' }),
      state: z.enum(['fresh', 'due', 'stale', 'missing']),
      latestEvidenceAt: isoTime.nullable(),
    }),
  })
  .openapi('Coverage');

export const slaQuerySchema = z.object({
  asOf: isoDate.openapi({ description: 'Judge the state at the end of this day (UTC)' }),
  policy: z.string().min(1, 'is required').max(2000).openapi({ description: '`fedramp`, `pci-dss`, `commercial`, or a JSON policy `{"name","days":{"critical","high","medium","low"},"severityMapping"?}`' }),
  strict: z.enum(['true', 'false'], { error: 'must be true or false' }).optional().openapi({ description: 'true: re-opened detections keep their first-found clock' }),
  format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).optional(),
});

const counts = z.object({ 'on-time': z.number().int(), 'fixed-late': z.number().int(), overdue: z.number().int(), 'open-within-sla': z.number().int() });

export const slaReportSchema = z
  .object({
    evidenceId: z.string(),
    exceptions: z.array(
      z.object({
        reason: z.enum(['overdue', 'fixed-late', 'disabled', 'ignored']),
        hostId: z.number().int(),
        ip: z.string(),
        qid: z.number().int(),
        port: z.string().nullable(),
        protocol: z.string().nullable(),
        ssl: z.boolean(),
        severity: z.number().int(),
        category: z.enum(['critical', 'high', 'medium', 'low']),
        status: z.string(),
        firstFound: z.string(),
        clockStart: z.string(),
        end: z.string().nullable(),
        dueDate: z.string().openapi({ format: 'date', description: 'The last day inside the SLA' }),
        daysOver: z.number().int(),
      }),
    ),
    asOf: z.string().openapi({ format: 'date' }),
    policy: z.object({ name: z.string(), source: z.string(), days: z.record(z.string(), z.number().int()), strict: z.boolean() }),
    severityMapping: z.record(z.string(), z.string()),
    counts: z.object({
      byCategory: z.record(z.string(), counts),
      bySeverity: z.record(z.string(), counts),
      total: counts,
      assessed: z.number().int(),
      exceptions: z.object({ disabled: z.number().int(), ignored: z.number().int() }),
      excluded: z.object({ info: z.number().int(), foundAfterAsOf: z.number().int(), undated: z.number().int(), unknownSeverity: z.number().int() }),
    }),
    withinSlaPercent: z.number().nullable(),
    warnings: z.array(z.string()).openapi({ description: 'E.g. that the fetcher left Fixed detections out' }),
  })
  .openapi('SlaReport');

const bySeverity = z.record(z.string(), z.number().int());
const changeCount = z.object({ total: z.number().int(), bySeverity });

export const diffSchema = z
  .object({
    a: z.object({ evidenceId: z.string(), collectedAt: isoTime }),
    b: z.object({ evidenceId: z.string(), collectedAt: isoTime }),
    warnings: z.array(z.string()),
    hosts: z.object({ inBoth: z.number().int(), appeared: z.number().int(), disappeared: z.number().int(), firstAppeared: z.array(z.number().int()), firstDisappeared: z.array(z.number().int()) }),
    detections: z.object({
      new: changeCount,
      fixed: changeCount,
      reopened: changeCount,
      absent: changeCount,
      'still-open': changeCount,
      'still-fixed': changeCount,
      onDisappearedHosts: changeCount,
    }),
    links: z.object({ csv: z.string() }),
  })
  .openapi('EvidenceDiff');

export const upgradeBodySchema = z
  .object({
    controlIds: z
      .array(z.string().min(1).max(200), { error: 'must be a list of control ids' })
      .max(500)
      .optional()
      .openapi({ description: 'Only these of the fetcher\'s controls (default: every one that has a successor)' }),
    keepOld: z.boolean({ error: 'must be true or false' }).optional().openapi({ description: 'Keep the old controls mapped beside their successors (default false: replace them)' }),
  })
  .strict()
  .openapi('ControlUpgradeBody');

export const upgradeResultSchema = z
  .object({
    fetcherId: z.string(),
    upgraded: z.array(z.object({ from: z.string(), to: z.string() })),
    unchanged: z.array(z.string()).openapi({ description: 'Mapped controls with no successor' }),
    controlIds: z.array(z.string()).openapi({ description: "The fetcher's controls now" }),
  })
  .openapi('ControlUpgrade');
