/**
 * The work on a run's bytes: reading a page from Qualys into a staged blob
 * (streamed, parsed, hashed) and sealing the stored pages into evidence.
 * `inlinePageBytes` does it on the activity's own thread; the worker does it
 * in a thread of its own (page-bytes-thread.ts). A read page stays staged
 * until the activity commits or discards it.
 */
import type { BlobStat, BlobStore } from '../evidence/blob-store.js';
import { sealPages, type SealInput } from '../evidence/seal.js';
import type { DetectionPageResult, QualysClient, RawResult } from '../qualys/client.js';
import { HostIdRuns } from '../qualys/host-id-runs.js';
import type { DetectionPostFilter } from '../qualys/kernel-filter.js';
import type { QualysConnectionSettings } from '../qualys/settings.js';

/** What to ask Qualys for: a Host List Detection page, or any other endpoint's answer as it comes. */
export type PageSource =
  | { kind: 'host_list_detection'; params: Record<string, string>; idMin: number | null; postFilter: DetectionPostFilter | null }
  | { kind: 'raw'; method: 'GET' | 'POST'; path: string; params: Record<string, string>; idMin: number | null };

/** The connection a page is read on: its pooled client, and the settings a thread builds its own client from. */
export interface PageConnection {
  client: QualysClient;
  settings: QualysConnectionSettings;
}

/** A page read and staged, not yet kept. */
export interface PageRead {
  answer: DetectionPageResult | RawResult;
  /** The page's host IDs as runs (formatHostIdRuns), for Host List Detection pages. */
  hostIds: string | null;
  /** Makes the staged page durable under its content key. */
  commit(): Promise<BlobStat>;
  /** Throws the staged page away; a no-op after commit. */
  abort(): Promise<void>;
}

/** The client view call slots need: which subscription, and the limits Qualys last reported on it. */
export type LimitsSource = Pick<QualysClient, 'apiBaseUrl' | 'username' | 'lastLimits'>;

export interface PageBytes {
  /** Where the limits of `connection`'s last answer are, for the call slots. */
  limitsOf(connection: PageConnection): LimitsSource;
  /** Reads a page into a staged blob; on failure nothing stays staged. `onProgress` hears the bytes read so far. */
  read(connection: PageConnection, source: PageSource, signal: AbortSignal, onProgress: (bytes: number) => void): Promise<PageRead>;
  /** Seals stored pages into one evidence file (sealPages), on the same thread as the reads. */
  seal(input: PageSeal, signal: AbortSignal): Promise<BlobStat>;
  close(): Promise<void>;
}

export type PageSeal = Omit<SealInput, 'store' | 'signal'>;

/** Reads on the calling thread with the connection's pooled client. */
export function inlinePageBytes(blobStore: BlobStore): PageBytes {
  return {
    limitsOf: (connection) => connection.client,
    async read({ client }, source, signal, onProgress) {
      const staged = await blobStore.stage();
      try {
        const common = { params: source.params, idMin: source.idMin, sink: staged.sink, signal, onProgress };
        if (source.kind === 'raw') {
          const answer = await client.fetchRaw({ ...common, method: source.method, path: source.path });
          return { answer, hostIds: null, commit: () => staged.commit(), abort: () => staged.abort() };
        }
        const hostIds = new HostIdRuns();
        const answer = await client.fetchDetectionPage({ ...common, postFilter: source.postFilter, onHostId: (id) => hostIds.add(id) });
        return { answer, hostIds: hostIds.toString(), commit: () => staged.commit(), abort: () => staged.abort() };
      } catch (err) {
        await staged.abort();
        throw err;
      }
    },
    seal: (input, signal) => sealPages({ ...input, store: blobStore, signal }),
    close: async () => {},
  };
}
