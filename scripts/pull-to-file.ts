/**
 * A whole Host List Detection pull into one file without Temporal or a
 * database: the plain loop of `qualys/pull.ts` stores pages in a scratch blob
 * store next to the output, and the evidence sealer merges them exactly as
 * fetcher runs do, so the file is byte-identical to a run's evidence.
 */
import { mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { QualysClient } from '../qualys/client.js';
import { pullDetections, type PullOptions, type PullResult } from '../qualys/pull.js';
import type { BlobStat } from '../evidence/blob-store.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import { sealPages } from '../evidence/seal.js';

export async function pullToFile(
  client: QualysClient,
  options: Omit<PullOptions<BlobStat>, 'target'> & { out: string },
): Promise<PullResult<BlobStat> & { sha256: string }> {
  const scratch = await mkdtemp(path.join(path.dirname(path.resolve(options.out)), '.qualys-pull-'));
  try {
    const store = createLocalBlobStore(scratch);
    const result = await pullDetections(client, { ...options, target: () => store.stage() });
    const sealed = await sealPages({
      store,
      format: result.summary.format,
      pages: result.pages.map((p) => ({ blobKey: p.stored.key, layout: p.summary.layout })),
      signal: options.signal,
    });
    await rename(store.pathOf(sealed.key)!, options.out);
    return { ...result, sha256: sealed.sha256 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
