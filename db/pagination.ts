/**
 * Keyset pagination, newest first, over a (time, id) pair. The cursor is an
 * opaque base64url token holding the last row's time and id, so pages stay
 * stable while new rows arrive (an offset would shift under them).
 */
import { desc, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

export interface PageRequest {
  /** `nextCursor` of the previous page; absent for the first page. */
  cursor?: string;
  /** Rows per page, 1–500 (default 50). */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

export class InvalidPageRequestError extends Error {
  override name = 'InvalidPageRequestError';
  constructor(
    readonly field: 'cursor' | 'limit',
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

interface CursorKey {
  time: Date;
  id: string;
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new InvalidPageRequestError('limit', `must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${limit}`);
  }
  return limit;
}

function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.time.toISOString(), key.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorKey {
  const invalid = () => new InvalidPageRequestError('cursor', 'not a cursor returned by this API');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') {
    throw invalid();
  }
  const time = new Date(parsed[0]);
  if (Number.isNaN(time.getTime())) throw invalid();
  return { time, id: parsed[1] };
}

/** Rows strictly after the cursor in newest-first order; undefined for the first page. */
export function afterCursor(time: PgColumn, id: PgColumn, cursor: string | undefined): SQL | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor);
  return sql`(${time}, ${id}) < (${key.time.toISOString()}::timestamptz, ${key.id})`;
}

export function newestFirst(time: PgColumn, id: PgColumn): SQL[] {
  return [desc(time), desc(id)];
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only tells that
 * another page exists.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1]!)) };
}
