/**
 * Seals the raw pages of a run into one evidence file in the blob store.
 * The file is streamed from the stored pages straight into `store.put`,
 * which hashes it in the same pass, so memory stays flat for gigabytes and
 * identical pages always give identical bytes and the same SHA-256.
 */
import type { CsvLayout, XmlLayout } from '../qualys/page-summary.js';
import { sha256OfBlobKey } from './blob-key.js';
import type { BlobStat, BlobStore } from './blob-store.js';
import type { EvidenceFormat } from '../shared/contracts.js';
import { planCsvSeal } from './seal-csv.js';
import { CURRENT_SEAL_VERSION, readRangeFrom, SealError, type PageLayout, type ReadRange, type SealPage, type SealVersion, type Segment } from './seal-plan.js';

export { CURRENT_SEAL_VERSION, type SealVersion } from './seal-plan.js';
import { planXmlSeal } from './seal-xml.js';

export { SealError } from './seal-plan.js';

export interface SealInput {
  store: BlobStore;
  format: EvidenceFormat;
  /** The run's pages in page order; raw evidence has exactly one page and needs no layout. */
  pages: ReadonlyArray<{ blobKey: string; layout: PageLayout | null }>;
  signal?: AbortSignal;
  /** How pages are joined; the current version unless re-deriving older evidence. */
  sealVersion?: SealVersion;
}

export async function sealPages({ store, format, pages, signal, sealVersion = CURRENT_SEAL_VERSION }: SealInput): Promise<BlobStat> {
  if (pages.length === 0) throw new SealError('no pages to seal');
  signal?.throwIfAborted();
  const stored: StoredPage[] = await Promise.all(
    pages.map(async ({ blobKey, layout }, index) => {
      const stat = await store.stat(blobKey);
      if (!stat) throw new SealError(`page ${index + 1}: blob ${blobKey} is not in the store`);
      return { pageNo: index + 1, blobKey, bytes: stat.bytes, layout };
    }),
  );
  switch (format) {
    case 'RAW': {
      if (stored.length !== 1) throw new SealError(`raw evidence is a single answer, got ${stored.length} pages`);
      // The evidence is the page itself; content addressing makes a copy the very same blob.
      const { blobKey, bytes } = stored[0]!;
      return { key: blobKey, bytes, sha256: sha256OfBlobKey(blobKey) };
    }
    case 'XML':
    case 'CSV': {
      const plan = await planSeal(format, stored, readRangeFrom(store), sealVersion);
      return store.putParts(plan, { signal });
    }
  }
}

/**
 * The byte segments a sealed file is made of, for pages of known size and
 * layout: what sealing streams into the store, and what verification
 * re-derives to compare with a sealed file.
 */
export async function planSeal(
  format: 'XML' | 'CSV',
  pages: ReadonlyArray<{ pageNo: number; blobKey: string; bytes: number; layout: PageLayout | null }>,
  read: ReadRange,
  sealVersion: SealVersion = CURRENT_SEAL_VERSION,
): Promise<Segment[]> {
  return format === 'XML'
    ? planXmlSeal(pages.map((p) => requireLayout<XmlLayout>(p, 'xml')), read, sealVersion)
    : planCsvSeal(pages.map((p) => requireLayout<CsvLayout>(p, 'csv')), read);
}

type StoredPage = Omit<SealPage<PageLayout>, 'layout'> & { layout: PageLayout | null };

function requireLayout<L extends PageLayout>(page: StoredPage, kind: L['kind']): SealPage<L> {
  if (page.layout?.kind !== kind) {
    throw new SealError(`page ${page.pageNo}: layout.kind is ${page.layout?.kind ?? 'missing'}, expected ${kind} for ${kind} evidence`);
  }
  return page as SealPage<L>;
}
