/**
 * One zip of an audit request's evidence for the auditor's archive: each
 * attached file with its manifest and raw pages, README.txt and index.json
 * (SHA-256 and verdicts), verifiable offline with `npm run verify`.
 */
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { databaseEvidenceSource } from '../../audit/evidence-source.js';
import { buildExportZip, type ExportEvidence } from '../../audit/export-zip.js';
import { verifyEvidence } from '../../audit/verify.js';
import { listAttachmentsFor } from '../../db/attachments.js';
import { getRequest } from '../../db/requests.js';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../problem.js';
import { errorResponses } from '../schemas/common.js';
import { pathId } from '../schemas/fields.js';

const flag = (name: string, fallback: string) =>
  z.enum(['true', 'false'], { error: 'must be true or false' }).optional().openapi({ description: `${name} (default ${fallback})` });

const exportRoute = createRoute({
  method: 'get',
  path: '/v1/requests/{id}/export',
  tags: ['Audit requests'],
  summary: "Download the request's evidence as one zip",
  description:
    'README.txt, index.json (each file with SHA-256, completeness and verification verdicts), and per evidence `<id>/<file>`, ' +
    '`<id>/manifest.json` and `<id>/pages/page-0001.xml`… Every attached file is verified first (`verify=false` skips it: the verdict ' +
    'is then null); the zip then streams, stored uncompressed, with its exact `Content-Length`. Unzip it and run ' +
    '`npm run verify -- <folder>/<evidence id>/<file>` to verify offline.',
  request: { params: pathId('id', 'audit request'), query: z.object({ pages: flag('Include the raw pages', 'true'), verify: flag('Verify each file before exporting', 'true') }) },
  responses: {
    200: { description: 'The zip', headers: z.object({ 'Content-Length': z.string(), 'Content-Disposition': z.string() }), content: { 'application/zip': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errorResponses,
  },
});

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'request';
}

export function registerRequestExportRoutes(app: ApiApp, deps: ApiDeps): void {
  app.openapi(exportRoute, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    const request = await getRequest(deps.db, id);
    if (!request) throw notFound('audit request', id);
    const items: ExportEvidence[] = [];
    let cursor: string | undefined;
    do {
      const page = await listAttachmentsFor(deps.db, { targetType: 'request', targetId: id }, { cursor, limit: 500 });
      for (const { evidence } of page.items) {
        const verification = query.verify === 'false' ? null : (await verifyEvidence(databaseEvidenceSource(evidence, deps.blobStore))).verdict;
        items.push({ row: evidence, verification });
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const generatedAt = new Date();
    const zip = await buildExportZip(deps.blobStore, items, {
      pages: query.pages !== 'false',
      request: { id: request.id, title: request.title, periodStart: request.periodStart, periodEnd: request.periodEnd, status: request.status },
      generatedAt,
      generatedBy: c.get('apiKey').name,
    });
    const size = await zip.size;
    const headers: Record<string, string> = {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="evidence-${slug(request.title)}-${generatedAt.toISOString().slice(0, 10)}.zip"`,
      'cache-control': 'no-store',
    };
    if (size !== null) headers['content-length'] = String(size);
    deps.logger.info({ requestId: id, evidence: items.length, bytes: size, by: c.get('apiKey').name }, 'audit request exported');
    return new Response(Readable.toWeb(zip.stream) as ReadableStream, { status: 200, headers }) as never;
  });
}
