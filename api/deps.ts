/** What the HTTP API needs from the rest of the system; tests build it with real parts. */
import type { Client } from '@temporalio/client';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { AppContext } from '../runtime/app-context.js';
import type { AppDatabase } from '../db/database.js';
import type { SecretBox } from '../security/secret-box.js';
import type { BlobStore } from '../evidence/blob-store.js';
import type { WebhookTargetPolicy } from '../security/webhook-target.js';
import { createRunLauncher, LAUNCH_SWEEP_INTERVAL_MS, type RunLauncher } from './run-launcher.js';

export interface ApiDeps {
  db: AppDatabase;
  secretBox: SecretBox;
  blobStore: BlobStore;
  logger: Logger;
  temporal: {
    client: Client;
    namespace: string;
    taskQueue: string;
    /** Base URL of the Temporal Web UI, for links to a run's workflow; null when unknown. */
    uiUrl: string | null;
  };
  qualys?: {
    /** Timeouts for the calls the API makes itself (credential checks, pickers). */
    timeouts?: { connectMs?: number; firstByteMs?: number; idleMs?: number };
    /** Slots left to the customer's other tools, shown by `GET /v1/connections/{id}/limits`. */
    concurrencyReserve?: number;
  };
  /** Non-public ranges webhooks may point to (checked at registration; the worker checks again at delivery). */
  webhooks?: WebhookTargetPolicy;
  /** Largest accepted request body; larger ones get 413. */
  bodyLimitBytes?: number;
  /** Served on /metrics, with requests counted by route; no /metrics when absent. */
  metrics?: Metrics;
  /** When set, /metrics wants `Authorization: Bearer <token>`. */
  metricsToken?: string | null;
  /** Starts runs' workflows after the API has answered; one without a sweep is made from the rest when absent. */
  runLauncher?: RunLauncher;
}

/** The API's dependencies as the environment configures them; the caller closes `runLauncher` when it stops. */
export function apiDepsFromContext(ctx: AppContext, client: Client, uiUrl: string | null = ctx.config.temporal.uiUrl): ApiDeps & { runLauncher: RunLauncher } {
  const taskQueue = ctx.config.temporal.taskQueue;
  return {
    db: ctx.db,
    secretBox: ctx.secretBox,
    blobStore: ctx.blobStore,
    logger: ctx.logger,
    temporal: { client, namespace: ctx.config.temporal.namespace, taskQueue, uiUrl },
    qualys: { timeouts: ctx.config.qualys.timeouts, concurrencyReserve: ctx.config.qualys.concurrencyReserve },
    webhooks: { allowedCidrs: ctx.config.webhooks.allowedCidrs },
    metrics: ctx.metrics,
    metricsToken: ctx.config.metricsToken,
    runLauncher: createRunLauncher({ db: ctx.db, client, taskQueue, logger: ctx.logger }, { sweepEveryMs: LAUNCH_SWEEP_INTERVAL_MS }),
  };
}
