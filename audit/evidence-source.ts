/**
 * Where the audit procedures find a piece of evidence: the sealed file, its
 * manifest and its raw pages, either in the running system (database row and
 * blob store) or in a folder an auditor holds (an export, see export-zip.ts):
 *
 *   <evidence id>/<sealed file>      the evidence file
 *   <evidence id>/manifest.json      its manifest, canonical JSON
 *   <evidence id>/pages/page-0001.*  the raw Qualys pages (optional)
 *   index.json                       beside the evidence folders: each manifest's SHA-256
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BlobStore } from '../evidence/blob-store.js';
import { manifestBytes } from '../evidence/manifest.js';
import type { EvidenceRow } from '../db/schema.js';

interface ByteWindow {
  start: number;
  end: number;
}

/** A page as the manifest names it. */
export interface PageRef {
  pageNo: number;
  blobKey: string;
}

export interface EvidenceSource {
  /** How to name this evidence in messages. */
  readonly label: string;
  readonly evidenceId: string | null;
  /** The manifest's bytes as held (database: its canonical JSON), or why there are none. */
  manifestBytes(): Promise<Buffer | { error: string }>;
  /** The manifest as sealed: its SHA-256 and, where kept, its bytes; null when nothing records it. */
  sealedManifest(): Promise<{ sha256: string; bytes: Buffer | null; origin: string } | null>;
  /** What the database row says of the file (id, hash, size), beside the manifest; null for a folder. */
  readonly record: Pick<EvidenceRow, 'id' | 'blobKey' | 'sha256' | 'bytes' | 'format'> | null;
  openSealed(blobKey: string): Promise<Readable>;
  /** Null: the raw pages are not at hand at all (an export without pages). */
  pagesAvailable(): Promise<boolean>;
  /** Null: this page is missing. */
  openPage(page: PageRef, window?: ByteWindow): Promise<Readable | null>;
  /** Where the page lives, for messages. */
  pageLabel(page: PageRef): string;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function databaseEvidenceSource(row: EvidenceRow, store: BlobStore): EvidenceSource {
  const exists = async (key: string) => {
    try {
      return (await store.stat(key)) !== null;
    } catch {
      return false;
    }
  };
  return {
    label: `evidence ${row.id}`,
    evidenceId: row.id,
    record: row,
    manifestBytes: async () => manifestBytes(row.manifest),
    async sealedManifest() {
      if (!row.manifestSha256) return null;
      const bytes = row.manifestBlobKey && (await exists(row.manifestBlobKey)) ? await readAll(await store.get(row.manifestBlobKey)) : null;
      return { sha256: row.manifestSha256, bytes, origin: 'the manifest blob written at sealing' };
    },
    openSealed: (blobKey) => store.get(blobKey),
    pagesAvailable: async () => true,
    async openPage(page, window) {
      if (!(await exists(page.blobKey))) return null;
      return store.get(page.blobKey, window);
    },
    pageLabel: (page) => `page ${page.pageNo} (blob ${page.blobKey})`,
  };
}

/** Resolves `target` (the sealed file, or the folder holding it) to an evidence folder. */
export async function folderEvidenceSource(target: string): Promise<EvidenceSource> {
  const resolved = path.resolve(target);
  const stat = await fs.stat(resolved);
  const dir = stat.isDirectory() ? resolved : path.dirname(resolved);
  const sealedFile = stat.isDirectory() ? null : resolved;
  const manifestPath = path.join(dir, 'manifest.json');
  const pagesDir = path.join(dir, 'pages');
  let pageFiles: string[] | null = null;
  try {
    pageFiles = await fs.readdir(pagesDir);
  } catch {
    pageFiles = null;
  }
  const pageFile = (pageNo: number) => {
    const prefix = `page-${String(pageNo).padStart(4, '0')}.`;
    const name = pageFiles?.find((f) => f.startsWith(prefix));
    return name ? path.join(pagesDir, name) : null;
  };
  const open = (file: string, window?: ByteWindow) =>
    window && window.end <= window.start
      ? Readable.from([])
      : createReadStream(file, { start: window?.start, end: window ? window.end - 1 : undefined, highWaterMark: 256 * 1024 });

  return {
    label: sealedFile ?? dir,
    evidenceId: path.basename(dir),
    record: null,
    async manifestBytes() {
      try {
        return await fs.readFile(manifestPath);
      } catch {
        return { error: `no manifest.json beside the file (looked for ${manifestPath})` };
      }
    },
    async sealedManifest() {
      const indexPath = path.join(path.dirname(dir), 'index.json');
      let index: unknown;
      try {
        index = JSON.parse(await fs.readFile(indexPath, 'utf8'));
      } catch {
        return null;
      }
      const entries = (index as { evidence?: Array<{ id?: string; manifestSha256?: string }> }).evidence ?? [];
      const entry = entries.find((e) => e.id === path.basename(dir));
      return entry?.manifestSha256 ? { sha256: entry.manifestSha256, bytes: null, origin: indexPath } : null;
    },
    async openSealed() {
      if (!sealedFile) throw new Error(`no sealed file given in ${dir}`);
      return open(sealedFile);
    },
    pagesAvailable: async () => pageFiles !== null,
    async openPage(page, window) {
      const file = pageFile(page.pageNo);
      return file ? open(file, window) : null;
    },
    pageLabel: (page) => pageFile(page.pageNo) ?? path.join(pagesDir, `page-${String(page.pageNo).padStart(4, '0')}.*`),
  };
}

/** For a folder given without the file: the sealed file is the one the manifest names. */
export function withSealedFile(source: EvidenceSource, dir: string, filename: string): EvidenceSource {
  const file = path.join(dir, filename);
  return { ...source, label: file, openSealed: async () => createReadStream(file, { highWaterMark: 256 * 1024 }) };
}
