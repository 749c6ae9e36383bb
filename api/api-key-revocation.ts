/**
 * Revoking an API key without locking everyone out: the last live admin key
 * is never revoked. Shared by the API and the `keys` command.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { revokeApiKey, type ApiKey } from '../db/api-keys.js';
import type { AppDatabase } from '../db/database.js';
import { apiKeys } from '../db/schema.js';

export type RevocationResult = { outcome: 'revoked'; apiKey: ApiKey } | { outcome: 'not-found' } | { outcome: 'last-admin' };

/**
 * The live admin rows are locked first, so two admins revoking each other's
 * keys at the same moment cannot both succeed.
 */
export async function revokeKeepingAnAdmin(db: AppDatabase, id: string): Promise<RevocationResult> {
  return db.transaction(async (tx) => {
    const liveAdmins = await tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt)))
      .for('update');
    if (liveAdmins.length === 1 && liveAdmins[0]!.id === id) return { outcome: 'last-admin' };
    const apiKey = await revokeApiKey(tx, id);
    return apiKey ? { outcome: 'revoked', apiKey } : { outcome: 'not-found' };
  });
}
