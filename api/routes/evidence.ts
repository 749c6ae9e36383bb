/**
 * Evidence (auditor): metadata with manifest and attachments, the sealed
 * file as a verifiable download, and the raw Qualys pages it was sealed
 * from, so an auditor can check the file against Qualys's own bytes.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiApp } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { listEvidenceTargets } from '../../db/attachments.js';
import { getControl } from '../../db/controls.js';
import type { AppDatabase } from '../../db/database.js';
import { getEvidence, listEvidence } from '../../db/evidence.js';
import { getRequest } from '../../db/requests.js';
import type { EvidenceRow } from '../../db/schema.js';
import { serveBlob } from '../blob-download.js';
import { ApiError, notFound } from '../problem.js';
import { errorResponses, jsonResponse, pageOf, pageQuery, problemSchema } from '../schemas/common.js';
import { pathId, rowId } from '../schemas/fields.js';
import {
  evidenceListItemSchema,
  evidencePagesSchema,
  evidenceSchema,
  manifestPagesSchema,
  toEvidenceListItem,
  toEvidencePageView,
  toEvidenceView,
  type EvidenceAttachments,
  type ManifestPage,
} from '../schemas/evidence.js';

const problemContent = { 'application/problem+json': { schema: problemSchema } };
const binary = z.string().openapi({ format: 'binary' });
const downloadHeaders = z.object({
  ETag: z.string().openapi({ description: 'The SHA-256 of the whole file, quoted' }),
  'Repr-Digest': z.string().openapi({ description: 'RFC 9530: `sha-256=:<base64 digest>:` of the whole file' }),
  'Content-Disposition': z.string(),
  'Accept-Ranges': z.string(),
});
/**
 * Sealed Host List Detection evidence and its pages are XML or CSV; a custom
 * fetcher's answer keeps the media type Qualys sent (any well-formed one, else
 * application/octet-stream).
 */
const fileContent = {
  'application/xml': { schema: binary },
  'text/csv': { schema: binary },
  '*/*': { schema: binary.openapi({ description: "A custom fetcher's answer, with the media type Qualys sent" }) },
};
const downloadResponses = {
  200: { description: 'The whole file', headers: downloadHeaders, content: fileContent },
  206: {
    description: 'The requested byte range (`Content-Range` says which)',
    headers: downloadHeaders.extend({ 'Content-Range': z.string() }),
    content: fileContent,
  },
  304: { description: '`If-None-Match` named the current ETag: the copy the client holds is current' },
  ...errorResponses,
  416: { description: 'The range cannot be served (several ranges, malformed, or outside the file)', content: problemContent },
};

const listRoute = createRoute({
  method: 'get',
  path: '/v1/evidence',
  tags: ['Evidence'],
  summary: 'List sealed evidence, newest first',
  description: 'Items carry the summary but not the manifest; get one piece of evidence for its manifest and attachments.',
  request: { query: pageQuery.extend({ fetcherId: rowId('fetcher').optional().openapi({ description: 'Only evidence of this fetcher' }) }) },
  responses: { 200: jsonResponse(pageOf(evidenceListItemSchema).openapi('EvidenceListPage'), 'A page of evidence'), ...errorResponses },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}',
  tags: ['Evidence'],
  summary: 'Evidence metadata, manifest and attachments',
  request: { params: pathId('id', 'evidence') },
  responses: { 200: jsonResponse(evidenceSchema, 'The evidence'), ...errorResponses },
});

const contentRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}/content',
  tags: ['Evidence'],
  summary: 'Download the sealed evidence file',
  description:
    'Streams the file with its content type and download name. `ETag` and `Repr-Digest` carry its SHA-256, the same as the manifest\'s ' +
    '`evidence.sha256`, so the download can be verified. Supports one byte range (`Range: bytes=a-b`, `a-`, `-n`, with `If-Range`), ' +
    '`If-None-Match` (304), and HEAD.',
  request: { params: pathId('id', 'evidence') },
  responses: downloadResponses,
});

const pagesRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}/pages',
  tags: ['Evidence'],
  summary: 'The raw Qualys pages the evidence was sealed from',
  description: 'As named in the manifest, in order, each with its size, SHA-256 and Qualys DATETIME.',
  request: { params: pathId('id', 'evidence') },
  responses: { 200: jsonResponse(evidencePagesSchema, 'The pages'), ...errorResponses },
});

const pageContentRoute = createRoute({
  method: 'get',
  path: '/v1/evidence/{id}/pages/{pageNo}/content',
  tags: ['Evidence'],
  summary: 'Download one raw Qualys page',
  description: 'The bytes Qualys sent for that page, unchanged; `ETag`/`Repr-Digest` equal the page hash in the manifest. Ranges and HEAD as for the sealed file.',
  request: {
    params: z.object({
      id: rowId('evidence').openapi({ param: { name: 'id', in: 'path' }, description: 'The evidence id' }),
      pageNo: z.coerce
        .number({ error: 'must be a page number' })
        .int('must be a whole number')
        .min(1, 'pages are numbered from 1')
        .max(Number.MAX_SAFE_INTEGER, 'no evidence has that many pages')
        .openapi({ param: { name: 'pageNo', in: 'path' }, description: 'Page number, from 1' }),
    }),
  },
  responses: downloadResponses,
});

async function loadEvidence(db: AppDatabase, id: string): Promise<EvidenceRow> {
  const row = await getEvidence(db, id);
  if (!row) throw notFound('evidence', id);
  return row;
}

function manifestPages(row: EvidenceRow): ManifestPage[] {
  const parsed = manifestPagesSchema.safeParse(row.manifest);
  if (!parsed.success) throw new Error(`evidence ${row.id} has a manifest without a readable page list`);
  return parsed.data.pages;
}

async function attachmentsOf(db: AppDatabase, evidenceId: string): Promise<EvidenceAttachments> {
  const targets = await listEvidenceTargets(db, evidenceId);
  const [controls, requests] = await Promise.all([
    Promise.all(targets.filter((t) => t.targetType === 'control').map((t) => getControl(db, t.targetId))),
    Promise.all(targets.filter((t) => t.targetType === 'request').map((t) => getRequest(db, t.targetId))),
  ]);
  return {
    controls: controls.filter((c) => c !== null).map((c) => ({ id: c.id, framework: c.framework, code: c.code, name: c.name })),
    requests: requests.filter((r) => r !== null).map((r) => ({ id: r.id, title: r.title, status: r.status })),
  };
}

/** Raw pages are in the answer's own format; a custom fetcher's single answer keeps its upstream type. */
function pageContentType(row: EvidenceRow): string {
  if (row.format === 'XML') return 'application/xml';
  if (row.format === 'CSV') return 'text/csv';
  return row.contentType;
}

function pageFilename(row: EvidenceRow, pageNo: number): string {
  const dot = row.filename.lastIndexOf('.');
  const [base, ext] = dot > 0 ? [row.filename.slice(0, dot), row.filename.slice(dot)] : [row.filename, ''];
  return `${base}-page-${String(pageNo).padStart(4, '0')}${ext}`;
}

export function registerEvidenceRoutes(app: ApiApp, deps: ApiDeps): void {
  const { db, blobStore } = deps;

  app.openapi(listRoute, async (c) => {
    const { cursor, limit, fetcherId } = c.req.valid('query');
    const page = await listEvidence(db, { fetcherId }, { cursor, limit });
    return c.json({ items: page.items.map(toEvidenceListItem), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const row = await loadEvidence(db, c.req.valid('param').id);
    return c.json(toEvidenceView(row, await attachmentsOf(db, row.id)), 200);
  });

  app.openapi(contentRoute, async (c) => {
    const row = await loadEvidence(db, c.req.valid('param').id);
    return serveBlob(c, {
      blobStore,
      blobKey: row.blobKey,
      sha256: row.sha256,
      bytes: row.bytes,
      contentType: row.contentType,
      filename: row.filename,
    });
  });

  app.openapi(pagesRoute, async (c) => {
    const row = await loadEvidence(db, c.req.valid('param').id);
    return c.json({ evidenceId: row.id, items: manifestPages(row).map((p) => toEvidencePageView(row.id, p)) }, 200);
  });

  app.openapi(pageContentRoute, async (c) => {
    const { id, pageNo } = c.req.valid('param');
    const row = await loadEvidence(db, id);
    const pages = manifestPages(row);
    const page = pages.find((p) => p.pageNo === pageNo);
    if (!page) throw new ApiError('not-found', `evidence ${id} has ${pages.length} page(s); there is no page ${pageNo}`);
    return serveBlob(c, {
      blobStore,
      blobKey: page.blobKey,
      sha256: page.sha256,
      bytes: page.bytes,
      contentType: pageContentType(row),
      filename: pageFilename(row, pageNo),
    });
  });
}
