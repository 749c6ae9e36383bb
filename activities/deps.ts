/** What activities need; `createActivities(deps)` receives it so tests can build it from real parts. */
import type { Logger } from '../runtime/logger.js';
import type { AppDatabase } from '../db/database.js';
import type { SecretBox } from '../security/secret-box.js';
import type { BlobStore } from '../evidence/blob-store.js';
import type { WebhookTargetPolicy } from '../security/webhook-target.js';

export interface ActivityDeps {
  db: AppDatabase;
  blobStore: BlobStore;
  secretBox: SecretBox;
  logger: Logger;
  /** Overrides the Qualys client's default timeouts (connect, first byte, idle body). */
  qualysTimeouts?: { connectMs?: number; firstByteMs?: number; idleMs?: number };
  /** Webhook delivery: the non-public ranges a receiver may be on, and how long it may take. */
  webhooks?: WebhookTargetPolicy & { timeoutMs?: number };
}
