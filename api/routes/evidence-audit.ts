/**
 * The auditor procedures on one piece of evidence (audit/): verification,
 * SLA as of a date, and the diff with another pull. Each streams over the
 * stored files; nothing is cached.
 */
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { diffChanges, diffCsvRow, DIFF_CSV_HEADER, type DiffSummary } from '../../audit/diff.js';
import { databaseEvidenceSource } from '../../audit/evidence-source.js';
import { EvidenceKindError, openEvidenceHosts } from '../../audit/evidence-hosts.js';
import { fixedDetectionsWarning, slaReport } from '../../audit/sla.js';
import { parsePolicy, SlaPolicyError } from '../../audit/sla-policy.js';
import { verifyEvidence } from '../../audit/verify.js';
import { getEvidence } from '../../db/evidence.js';
import type { EvidenceRow } from '../../db/schema.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { fieldError, notFound } from '../problem.js';
import { diffSchema, slaQuerySchema, slaReportSchema, verificationSchema } from '../schemas/audit.js';
import { errorResponses, jsonResponse } from '../schemas/common.js';
import { pathId, rowId } from '../schemas/fields.js';

const TAG = 'Evidence';
const evidenceId = pathId('id', 'evidence');

const verificationRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}/verification',
  tags: [TAG],
  summary: 'Re-perform the seal and check every claim of the manifest',
  description:
    'Re-hashes the sealed file and every raw page, seals the pages again and compares byte for byte, re-counts hosts and detections, ' +
    'and checks the manifest against the copy kept at sealing. Each check by name; a difference names its place (page, byte range, host id). ' +
    'Streams over the files: takes about as long as reading them.',
  request: { params: evidenceId },
  responses: { 200: jsonResponse(verificationSchema, 'The verification report'), ...errorResponses },
});

const slaRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}/sla',
  tags: [TAG],
  summary: 'Vulnerability SLA as of a date',
  description:
    'Per detection (host × QID × port × protocol × SSL): the clock start (first found, or the last re-open unless `strict=true`), the end ' +
    '(last fixed), the verdict as of the end of `asOf`: on-time, fixed-late, overdue or open-within-sla. Info detections are left out; ' +
    'disabled and ignored ones are listed as exceptions. JSON streams the exception list (SLA breaches and disabled/ignored detections) ' +
    'before the counts; `format=csv` gives one row per assessed detection. Host List Detection evidence only.',
  request: { params: evidenceId, query: slaQuerySchema },
  responses: {
    200: { description: 'The SLA report', content: { 'application/json': { schema: slaReportSchema }, 'text/csv': { schema: z.string() } } },
    ...errorResponses,
  },
});

const diffRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}/diff/{other}',
  tags: [TAG],
  summary: 'What changed between two pulls',
  description:
    'Compares evidence `id` (the older pull) with `other` (the newer) by a sorted merge on host id and detection key: new, fixed, ' +
    're-opened, absent and still open detections per severity, hosts appearing and disappearing. `format=csv` streams one row per ' +
    'changed detection instead.',
  request: {
    params: z.object({
      id: rowId('evidence').openapi({ param: { name: 'id', in: 'path' }, description: 'The older evidence' }),
      other: rowId('evidence').openapi({ param: { name: 'other', in: 'path' }, description: 'The newer evidence' }),
    }),
    query: z.object({ format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).optional() }),
  },
  responses: {
    200: { description: 'The summary, or the CSV of changes', content: { 'application/json': { schema: diffSchema }, 'text/csv': { schema: z.string() } } },
    ...errorResponses,
  },
});

async function loadEvidence(deps: ApiDeps, id: string): Promise<EvidenceRow> {
  const row = await getEvidence(deps.db, id);
  if (!row) throw notFound('evidence', id);
  return row;
}

async function hostsOf(deps: ApiDeps, row: EvidenceRow, field: string) {
  try {
    return await openEvidenceHosts(databaseEvidenceSource(row, deps.blobStore));
  } catch (err) {
    if (err instanceof EvidenceKindError) throw fieldError(field, err.message);
    throw err;
  }
}

function streamed(chunks: AsyncIterable<string>, contentType: string, filename?: string): Response {
  const headers: Record<string, string> = { 'content-type': contentType, 'cache-control': 'no-store' };
  if (filename) headers['content-disposition'] = `attachment; filename="${filename}"`;
  return new Response(Readable.toWeb(Readable.from(chunks)) as ReadableStream, { status: 200, headers });
}

const collectedAtOf = (row: EvidenceRow) => row.collectedAt.toISOString();

export function registerEvidenceAuditRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(verificationRoute, async (c) => {
    const row = await loadEvidence(deps, c.req.valid('param').id);
    const report = await verifyEvidence(databaseEvidenceSource(row, deps.blobStore));
    deps.logger.info({ evidenceId: row.id, verdict: report.verdict, by: c.get('apiKey').name }, 'evidence verified');
    return c.json(report, 200);
  });

  app.openapi(slaRoute, async (c) => {
    const row = await loadEvidence(deps, c.req.valid('param').id);
    const query = c.req.valid('query');
    let policy;
    try {
      policy = parsePolicy(query.policy);
    } catch (err) {
      if (err instanceof SlaPolicyError) throw fieldError('query.policy', err.message);
      throw err;
    }
    const { hosts, manifest } = await hostsOf(deps, row, 'param.id');
    const warning = fixedDetectionsWarning(manifest.qualys.params);
    const format = query.format ?? 'json';
    const options = { asOf: query.asOf, policy, strict: query.strict === 'true' };
    const report = slaReport(hosts, options, { format, head: { evidenceId: row.id }, warnings: warning ? [warning] : [] });
    return (format === 'csv' ? streamed(report, 'text/csv; charset=utf-8', `sla-${row.id}-${query.asOf}.csv`) : streamed(report, 'application/json')) as never;
  });

  app.openapi(diffRoute, async (c) => {
    const { id, other } = c.req.valid('param');
    const [a, b] = [await loadEvidence(deps, id), await loadEvidence(deps, other)];
    const left = await hostsOf(deps, a, 'param.id');
    const right = await hostsOf(deps, b, 'param.other');
    const warnings: string[] = [];
    if (a.fetcherId !== b.fetcherId) warnings.push('the two pulls come from different fetchers: differences may come from their filters, not from changes');
    else if (JSON.stringify(left.manifest.qualys.params) !== JSON.stringify(right.manifest.qualys.params)) warnings.push('the fetcher\'s filters changed between the two pulls');
    if (a.collectedAt > b.collectedAt) warnings.push(`evidence ${a.id} was collected after ${b.id}: the changes read backwards`);
    const changes = diffChanges(left.hosts, right.hosts);
    if (c.req.valid('query').format === 'csv') {
      async function* csv() {
        yield `${DIFF_CSV_HEADER.join(',')}\n`;
        for (;;) {
          const step = await changes.next();
          if (step.done) return;
          yield step.value.map(diffCsvRow).join('');
        }
      }
      return streamed(csv(), 'text/csv; charset=utf-8', `diff-${a.id}-${b.id}.csv`) as never;
    }
    let summary: DiffSummary;
    for (;;) {
      const step = await changes.next();
      if (step.done) {
        summary = step.value;
        break;
      }
    }
    return c.json(
      {
        a: { evidenceId: a.id, collectedAt: collectedAtOf(a) },
        b: { evidenceId: b.id, collectedAt: collectedAtOf(b) },
        warnings,
        ...summary,
        links: { csv: `/v1/evidence/${a.id}/diff/${b.id}?format=csv` },
      },
      200,
    );
  });
}

