/**
 * The activities of a fetcher run, built from injected dependencies so tests
 * and the worker assemble them from the same real parts.
 */
import { attachEvidence } from './attach-evidence.js';
import { createCallSlots } from './call-slots.js';
import { checkConnection } from './check-connection.js';
import { deliverWebhook } from './deliver-webhook.js';
import type { ActivityDeps } from './deps.js';
import { finishRun } from './finish-run.js';
import { planRanges } from './plan-ranges.js';
import { inlinePageBytes } from './page-bytes.js';
import { prepareRun } from './prepare-run.js';
import { pagePuller, pullPage } from './pull-page.js';
import { pullPages } from './pull-pages.js';
import { createQualysClientPool, type QualysClientPool } from './qualys-clients.js';
import { sealEvidence } from './seal-evidence.js';
import { listWebhookSubscribers } from './webhook-subscribers.js';

export type { ActivityDeps } from './deps.js';
export { createQualysClientPool, type QualysClientPool } from './qualys-clients.js';
export { failureInterceptor } from './failures.js';
export { threadPageBytes } from './page-bytes-thread.js';

/**
 * `qualysClients` is the worker's pool, closed when it stops; tests may leave
 * it out and get a pool of their own.
 */
export function createActivities(deps: ActivityDeps, qualysClients?: QualysClientPool) {
  const pool = qualysClients ?? createQualysClientPool(deps);
  const slots = createCallSlots(deps);
  const pageBytes = deps.pageBytes ?? inlinePageBytes(deps.blobStore);
  const puller = pagePuller(deps, pool, slots, pageBytes);
  return {
    prepareRun: prepareRun(deps),
    checkConnection: checkConnection(deps, pool, slots),
    planRanges: planRanges(deps, pool, slots),
    pullPage: pullPage(puller),
    pullPages: pullPages(deps, puller),
    sealEvidence: sealEvidence(deps, pool, slots, pageBytes),
    attachEvidence: attachEvidence(deps),
    finishRun: finishRun(deps),
    listWebhookSubscribers: listWebhookSubscribers(deps),
    deliverWebhook: deliverWebhook(deps),
  };
}

export type RunActivities = ReturnType<typeof createActivities>;
