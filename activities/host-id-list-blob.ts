/**
 * Keeps the host ID list a run was planned with: stored as a blob
 * (`{count, ranges, params, listedAt}` JSON) and named on the run, so sealing
 * can reconcile the evidence's hosts with it (audit/completeness.ts).
 */
import { Readable } from 'node:stream';
import type { HostIdListDocument } from '../audit/reconcile-hosts.js';
import type { AppDatabase } from '../db/database.js';
import { setRunHostIdList } from '../db/runs.js';
import type { BlobStore } from '../evidence/blob-store.js';
import type { HostIdList } from '../qualys/client.js';

export async function storeHostIdList(
  deps: { db: AppDatabase; blobStore: BlobStore },
  runId: string,
  list: HostIdList,
  params: Record<string, string>,
  listedAt: Date,
): Promise<string> {
  const document: HostIdListDocument = { count: list.count, ranges: list.ranges, params, listedAt: listedAt.toISOString() };
  const blob = await deps.blobStore.put(Readable.from([Buffer.from(JSON.stringify(document), 'utf8')]));
  await setRunHostIdList(deps.db, runId, blob.key);
  return blob.key;
}
