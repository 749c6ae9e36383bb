/** Audit requests as the API accepts and shows them. */
import { z } from '@hono/zod-openapi';
import type { ControlRow, RequestRow } from '../../db/schema.js';
import { iso, isoTime } from './common.js';
import { attachedEvidenceSchema, controlRef, controlRefSchema } from './control.js';
import { changes, controlIdList, isoDate, requiredText, text } from './fields.js';

const descriptionField = text(10_000);

export const PERIOD_ORDER_REASON = 'must not be before periodStart';

export const requestCreateSchema = z
  .object({
    title: requiredText(300).openapi({ example: 'PCI DSS 2026 Q1 – quarterly scans' }),
    description: descriptionField.optional(),
    periodStart: isoDate.openapi({ description: 'First day of the period under audit' }),
    periodEnd: isoDate.openapi({ description: 'Last day of the period under audit (not before periodStart)' }),
    dueDate: isoDate.optional(),
    controlIds: controlIdList().default([]).openapi({ description: 'The controls whose evidence is requested' }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.periodEnd < body.periodStart) ctx.addIssue({ code: 'custom', path: ['periodEnd'], message: PERIOD_ORDER_REASON });
  })
  .openapi('AuditRequestCreate');

export const requestPatchSchema = changes(
  z.strictObject({
    title: requiredText(300).optional(),
    description: descriptionField.optional(),
    periodStart: isoDate.optional(),
    periodEnd: isoDate.optional(),
    dueDate: isoDate.nullable().optional().openapi({ description: 'null removes the due date' }),
  }),
).openapi('AuditRequestPatch');

export const requestControlsBodySchema = z
  .object({ controlIds: controlIdList() })
  .strict()
  .openapi('AuditRequestControls', { description: 'Replaces the set of controls' });

export const auditRequestSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    periodStart: z.string().openapi({ format: 'date' }),
    periodEnd: z.string().openapi({ format: 'date' }),
    dueDate: z.string().nullable().openapi({ format: 'date' }),
    status: z.enum(['open', 'closed']).openapi({ description: 'Closed requests receive no new evidence' }),
    createdAt: isoTime,
    closedAt: isoTime.nullable(),
    controls: z.array(controlRefSchema),
  })
  .openapi('AuditRequest');

export const auditRequestDetailSchema = auditRequestSchema
  .extend({
    evidence: z.array(attachedEvidenceSchema).openapi({ description: 'The most recently attached evidence (one page)' }),
    evidenceNextCursor: z.string().nullable().openapi({ description: 'More evidence: GET /v1/requests/{id}/evidence?cursor=…' }),
  })
  .openapi('AuditRequestDetail');

export type AuditRequestView = z.infer<typeof auditRequestSchema>;

export function auditRequestView(request: RequestRow, controls: ControlRow[]): AuditRequestView {
  return {
    id: request.id,
    title: request.title,
    description: request.description,
    periodStart: request.periodStart,
    periodEnd: request.periodEnd,
    dueDate: request.dueDate,
    status: request.status,
    createdAt: iso(request.createdAt)!,
    closedAt: iso(request.closedAt),
    controls: controls.map(controlRef),
  };
}
