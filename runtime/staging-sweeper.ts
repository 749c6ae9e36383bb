/**
 * Reclaims staging abandoned by killed processes (evidence/staging-reclaim.ts
 * has the rule): once when a worker starts and then every `intervalMs`.
 */
import type { BlobStore } from '../evidence/blob-store.js';
import type { Logger } from './logger.js';

export function startStagingSweeper(store: BlobStore, options: { intervalMs: number; logger: Logger }): () => Promise<void> {
  const { logger } = options;
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = running.then(async () => {
      try {
        const { removed, kept } = await store.reclaimStaging();
        if (removed.length > 0) logger.info({ removed: removed.length, kept, names: removed.slice(0, 20) }, 'reclaimed abandoned blob staging');
      } catch (err) {
        logger.warn({ error: (err as Error).message }, 'could not reclaim blob staging; will try again');
      }
    });
  };
  sweep();
  const timer = setInterval(sweep, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
