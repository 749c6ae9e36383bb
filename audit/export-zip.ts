/**
 * An audit request's evidence as one zip an auditor can archive and verify
 * offline: every file stored uncompressed (evidence is already dense, and a
 * known size gives the response a Content-Length), streamed entry by entry.
 *
 *   README.txt                          what is inside and how to verify it
 *   index.json                          each evidence: file, manifest and pages with SHA-256, verdicts
 *   <evidence id>/<sealed file>
 *   <evidence id>/manifest.json         the manifest as sealed (canonical JSON)
 *   <evidence id>/pages/page-0001.xml   the raw Qualys pages (unless left out)
 */
import { Readable } from 'node:stream';
import yazl from 'yazl';
import type { EvidenceRow } from '../db/schema.js';
import type { BlobStore } from '../evidence/blob-store.js';
import { manifestBytes, readManifest } from '../evidence/manifest.js';
import { createHash } from 'node:crypto';

export interface ExportEvidence {
  row: EvidenceRow;
  /** The verification verdict reached just before exporting, or null when not verified. */
  verification: string | null;
}

export interface ExportOptions {
  pages: boolean;
  request: { id: string; title: string; periodStart: string; periodEnd: string; status: string };
  generatedAt: Date;
  generatedBy: string;
}

export interface ExportZip {
  stream: Readable;
  /** The exact size in bytes (every entry's size is known up front). */
  size: Promise<number | null>;
}

interface Entry {
  path: string;
  bytes: number;
  sha256: string;
  open: () => Promise<Readable> | Readable;
}

function pageExtension(row: EvidenceRow): string {
  if (row.format === 'XML') return 'xml';
  if (row.format === 'CSV') return 'csv';
  const dot = row.filename.lastIndexOf('.');
  return dot > 0 ? row.filename.slice(dot + 1) : 'bin';
}

async function readBlob(store: BlobStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The entries of one piece of evidence and its index.json record. */
async function evidenceEntries(store: BlobStore, item: ExportEvidence, withPages: boolean) {
  const { row } = item;
  const folder = row.id;
  const manifest = row.manifestBlobKey && (await store.stat(row.manifestBlobKey)) ? await readBlob(store, row.manifestBlobKey) : manifestBytes(row.manifest);
  const entries: Entry[] = [
    { path: `${folder}/${row.filename}`, bytes: row.bytes, sha256: row.sha256, open: () => store.get(row.blobKey) },
    { path: `${folder}/manifest.json`, bytes: manifest.length, sha256: createHash('sha256').update(manifest).digest('hex'), open: () => Readable.from([manifest]) },
  ];
  const read = readManifest(row.manifest);
  const pages = read.ok ? read.manifest.pages : [];
  if (withPages) {
    for (const page of pages) {
      entries.push({
        path: `${folder}/pages/page-${String(page.pageNo).padStart(4, '0')}.${pageExtension(row)}`,
        bytes: page.bytes,
        sha256: page.sha256,
        open: () => store.get(page.blobKey),
      });
    }
  }
  const [file, manifestEntry, ...pageEntries] = entries;
  const record = {
    id: row.id,
    fetcherId: row.fetcherId,
    runId: row.runId,
    collectedAt: row.collectedAt.toISOString(),
    scheduledFor: row.scheduledFor?.toISOString() ?? null,
    file: { path: file!.path, sha256: file!.sha256, bytes: file!.bytes, format: row.format },
    // The SHA-256 recorded at sealing: offline verification compares manifest.json with it.
    manifest: { path: manifestEntry!.path, sha256: manifestEntry!.sha256, bytes: manifestEntry!.bytes },
    manifestSha256: row.manifestSha256,
    pages: withPages ? pageEntries.map((e) => ({ path: e.path, sha256: e.sha256, bytes: e.bytes })) : null,
    completeness: row.completeness,
    verification: item.verification,
  };
  return { entries, record };
}

function readme(options: ExportOptions, count: number): string {
  const { request } = options;
  return [
    `Evidence export for audit request "${request.title}" (${request.id})`,
    `Period under audit: ${request.periodStart} to ${request.periodEnd} (request ${request.status})`,
    `Generated ${options.generatedAt.toISOString()} by ${options.generatedBy}; ${count} piece(s) of evidence.`,
    '',
    'Layout',
    '  index.json                        every piece of evidence with the SHA-256 of each file, its completeness',
    '                                    verdict (complete / incomplete / unknown) and its verification verdict',
    '  <evidence id>/<file>              the sealed evidence file',
    '  <evidence id>/manifest.json       its manifest: what was asked of Qualys, when, every page hash',
    `  <evidence id>/pages/              the raw Qualys pages it was sealed from${options.pages ? '' : ' (left out of this export)'}`,
    '',
    'Verify offline (from a checkout of the connector, no database or network needed):',
    '  npm run verify -- <unzipped folder>/<evidence id>/<file>',
    'It re-hashes the file and each page, seals the pages again and compares byte for byte, re-counts hosts',
    'and detections and checks manifest.json against the SHA-256 in index.json. The last line it prints is',
    'one JSON object; its "verdict" is "verified" only when every check passed ("partial" without the pages).',
    '',
    'Or check hashes by hand: sha256sum <evidence id>/<file> and compare with index.json and manifest.json.',
    '',
  ].join('\n');
}

export async function buildExportZip(store: BlobStore, items: readonly ExportEvidence[], options: ExportOptions): Promise<ExportZip> {
  const zip = new yazl.ZipFile();
  const mtime = options.generatedAt;
  const records = [];
  const all: Entry[] = [];
  for (const item of items) {
    const { entries, record } = await evidenceEntries(store, item, options.pages);
    records.push(record);
    all.push(...entries);
  }
  const index = Buffer.from(
    `${JSON.stringify({ request: options.request, generatedAt: options.generatedAt.toISOString(), generatedBy: options.generatedBy, pages: options.pages, evidence: records }, null, 2)}\n`,
    'utf8',
  );
  zip.addBuffer(Buffer.from(readme(options, items.length), 'utf8'), 'README.txt', { mtime, compress: false });
  zip.addBuffer(index, 'index.json', { mtime, compress: false });
  for (const entry of all) {
    zip.addReadStreamLazy(entry.path, { mtime, compress: false, size: entry.bytes }, (cb) => {
      Promise.resolve(entry.open()).then(
        (stream) => cb(null, stream),
        (err: unknown) => cb(err, undefined as never),
      );
    });
  }
  const size = new Promise<number | null>((resolve) => {
    (zip.end as (options: object, cb: (size: number) => void) => void)({}, (total: number) => resolve(total < 0 ? null : total));
  });
  return { stream: zip.outputStream as Readable, size };
}
