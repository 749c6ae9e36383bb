/** What activities need; `createActivities(deps)` receives it so tests can build it from real parts. */
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../runtime/metrics.js';
import type { AppDatabase } from '../db/database.js';
import type { SecretBox } from '../security/secret-box.js';
import type { BlobStore } from '../evidence/blob-store.js';
import type { WebhookTargetPolicy } from '../security/webhook-target.js';
import type { BudgetPolicy } from '../db/qualys-budget.js';
import type { PageBytes } from './page-bytes.js';

export interface ActivityDeps {
  db: AppDatabase;
  blobStore: BlobStore;
  secretBox: SecretBox;
  logger: Logger;
  /** The Temporal worker identity the activities run under, recorded in the chain of custody. */
  workerIdentity?: string;
  /** Overrides the Qualys client's default timeouts (connect, first byte, idle body). */
  qualysTimeouts?: { connectMs?: number; firstByteMs?: number; idleMs?: number };
  /** The shared Qualys call budget: reserve for other tools and lease lifetime (defaults: 0 and 60 s). */
  qualysBudget?: BudgetPolicy;
  /** Range pulls: calls left to the customer's other tools, and the most ranges one run pulls at once. */
  rangePulls?: { concurrencyReserve?: number; maxParallel?: number };
  /** Webhook delivery: the non-public ranges a receiver may be on, and how long it may take. */
  webhooks?: WebhookTargetPolicy & { timeoutMs?: number };
  /** Where runs, pages and Qualys answers are counted; none when absent. */
  metrics?: Metrics;
  /** Where pages are read and parsed: the worker uses a thread of its own (threadPageBytes); on the activity's thread when absent. */
  pageBytes?: PageBytes;
}
