/**
 * Download names for evidence files: `qualys-<fetcher slug>-<UTC date>.<ext>`.
 * The name goes into a Content-Disposition header and onto auditors' disks,
 * so it is ASCII, lowercase and free of separators whatever the fetcher is called.
 */
import type { EvidenceFormat } from '../shared/contracts.js';
import { evidenceExtension } from './format.js';

/** Keeps names readable in file lists and well below every file system's limit. */
const MAX_SLUG_LENGTH = 60;
/** A fetcher named only with symbols still gets a meaningful name. */
const FALLBACK_SLUG = 'evidence';

export interface EvidenceFilenameInput {
  fetcherName: string;
  createdAt: Date;
  format: EvidenceFormat;
  /** For raw evidence: the upstream content type, which picks the extension. */
  contentType?: string | null;
}

export function evidenceFilename({ fetcherName, createdAt, format, contentType }: EvidenceFilenameInput): string {
  if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime())) {
    throw new TypeError('createdAt must be a valid Date');
  }
  const date = createdAt.toISOString().slice(0, 10);
  return `qualys-${slugify(fetcherName)}-${date}.${evidenceExtension(format, contentType)}`;
}

function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents split off by NFKD
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/^-+|-+$/g, '');
  return slug || FALLBACK_SLUG;
}
