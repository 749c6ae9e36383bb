/**
 * API keys: bearer tokens with a role. Only the token's hash is stored; the
 * token itself is returned once, at creation.
 */
import { and, count, eq, getTableColumns, isNull, sql } from 'drizzle-orm';
import {
  apiTokenDisplayPrefix,
  apiTokenMatchesHash,
  generateApiToken,
  hashApiToken,
  isApiTokenFormat,
} from '../security/api-tokens.js';
import type { AppDatabase } from './app-database.js';
import { preparedPerDatabase } from './prepared.js';
import { afterCursor, newestFirst, pageLimit, toPage, type Page, type PageRequest } from './pagination.js';
import { apiKeys, type ApiKeyRole, type ApiKeyRow } from './schema.js';

/** An API key as it may be shown: everything but the hash. */
export type ApiKey = Omit<ApiKeyRow, 'tokenHash'>;

export interface CreatedApiKey {
  apiKey: ApiKey;
  /** The bearer token. Shown to the user once; it cannot be recovered later. */
  token: string;
}

/** `lastUsedAt` is refreshed at most this often, so authenticating is normally a read, not a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

const { tokenHash: _omitted, ...publicColumns } = getTableColumns(apiKeys);

export async function createApiKey(db: AppDatabase, input: { name: string; role: ApiKeyRole }): Promise<CreatedApiKey> {
  const token = generateApiToken();
  const [apiKey] = await db
    .insert(apiKeys)
    .values({ ...input, tokenHash: hashApiToken(token), tokenPrefix: apiTokenDisplayPrefix(token) })
    .returning(publicColumns);
  return { apiKey: apiKey!, token };
}

const liveKeyByHash = preparedPerDatabase((db) =>
  db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tokenHash, sql.placeholder('tokenHash')), isNull(apiKeys.revokedAt)))
    .prepare('live_api_key_by_hash'),
);

/** The live (not revoked) key for a presented token, or null. */
export async function verifyApiKey(db: AppDatabase, token: string): Promise<ApiKey | null> {
  if (!isApiTokenFormat(token)) return null;
  const [row] = await liveKeyByHash(db).execute({ tokenHash: hashApiToken(token) });
  // The lookup found the row by hash; compare again in constant time so the
  // decision itself never depends on a short-circuiting string comparison.
  if (!row || !apiTokenMatchesHash(token, row.tokenHash)) return null;
  const { tokenHash: _hash, ...apiKey } = row;
  const now = new Date();
  if (apiKey.lastUsedAt === null || now.getTime() - apiKey.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, apiKey.id));
    apiKey.lastUsedAt = now;
  }
  return apiKey;
}

/** Revokes the key; revoking twice keeps the first revocation time. */
export async function revokeApiKey(db: AppDatabase, id: string): Promise<ApiKey | null> {
  const [revoked] = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning(publicColumns);
  if (revoked) return revoked;
  const [existing] = await db.select(publicColumns).from(apiKeys).where(eq(apiKeys.id, id));
  return existing ?? null;
}

export async function listApiKeys(db: AppDatabase, page: PageRequest = {}): Promise<Page<ApiKey>> {
  const limit = pageLimit(page.limit);
  const rows = await db
    .select(publicColumns)
    .from(apiKeys)
    .where(afterCursor(apiKeys.createdAt, apiKeys.id, page.cursor))
    .orderBy(...newestFirst(apiKeys.createdAt, apiKeys.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ time: r.createdAt, id: r.id }));
}

/** Keys not revoked, optionally of one role: start-up creates a first admin key when there is none. */
export async function countActiveApiKeys(db: AppDatabase, role?: ApiKeyRole): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(isNull(apiKeys.revokedAt), role === undefined ? undefined : eq(apiKeys.role, role)));
  return row!.n;
}
