/**
 * The checks before anything starts a fetcher (a run, a schedule, a trigger):
 * the fetcher exists (404), and neither it nor its connection is in a state
 * that would make the run fail at once (409 saying why).
 */
import type { AppDatabase } from '../db/database.js';
import { getFetcher, getFetcherWithConnection } from '../db/fetchers.js';
import type { FetcherRow } from '../db/schema.js';
import { ApiError, notFound } from './problem.js';

/** A live (not deleted) fetcher, or 404. */
export async function loadFetcher(db: AppDatabase, id: string): Promise<FetcherRow> {
  const fetcher = await getFetcher(db, id);
  if (!fetcher) throw notFound('fetcher', id);
  return fetcher;
}

export async function loadRunnableFetcher(db: AppDatabase, id: string): Promise<FetcherRow> {
  const found = await getFetcherWithConnection(db, id);
  if (!found) throw notFound('fetcher', id);
  const { fetcher, connection } = found;
  if (fetcher.deletedAt) throw new ApiError('conflict', `fetcher "${fetcher.name}" was deleted; it keeps its past runs but cannot run again`);
  if (!fetcher.enabled) throw new ApiError('conflict', `fetcher "${fetcher.name}" is disabled; enable it before running it`);
  if (!connection) throw notFound('connection', fetcher.connectionId);
  if (connection.status === 'disconnected') {
    throw new ApiError('conflict', `connection "${connection.name}" is disconnected; reconnect it with new credentials before running its fetchers`);
  }
  return fetcher;
}
