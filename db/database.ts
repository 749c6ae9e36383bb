/**
 * Opens the application database: Postgres when a URL is given, otherwise
 * embedded PGlite stored in a directory. Either way the same migrations are
 * applied and the control catalog is seeded before the handle is returned, so
 * callers always see the current schema and catalog.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { AppDatabase } from './app-database.js';
import { migratePostgres } from './migrate.js';
import { acquireDirectoryLock } from './process-lock.js';
import * as schema from './schema.js';

export type { AppDatabase } from './app-database.js';
export { EmbeddedDatabaseBusyError } from './process-lock.js';

export interface DatabaseHandle {
  db: AppDatabase;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A `postgres://` URL; when absent the embedded database at `pgliteDir` is used. */
  url?: string;
  /** Directory of the embedded database, created if missing. */
  pgliteDir?: string;
  /** Postgres pool size. Small by default: several processes share one server. */
  max?: number;
}

const DEFAULT_POOL_SIZE = 5;

/** PGlite keeps its files open exclusively; a second open in this process would corrupt them. */
const openPgliteDirs = new Set<string>();

export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (opts.url) return openPostgres(opts.url, opts.max ?? DEFAULT_POOL_SIZE);
  if (opts.pgliteDir) return openPglite(opts.pgliteDir);
  throw new Error('openDatabase: give either url (Postgres) or pgliteDir (embedded database directory)');
}

async function openPostgres(url: string, max: number): Promise<DatabaseHandle> {
  if (!Number.isInteger(max) || max < 1) throw new Error(`openDatabase: max must be a positive integer, got ${max}`);
  await migratePostgres(url);
  const client = postgres(url, { max, onnotice: () => {} });
  return {
    db: drizzlePostgres({ client, schema }),
    kind: 'postgres',
    close: () => client.end(),
  };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const dataDir = path.resolve(dir);
  if (openPgliteDirs.has(dataDir)) {
    throw new Error(`openDatabase: the embedded database in ${dataDir} is already open in this process`);
  }
  openPgliteDirs.add(dataDir);
  let release: (() => Promise<void>) | null = null;
  try {
    await mkdir(dataDir, { recursive: true });
    release = await acquireDirectoryLock(dataDir);
    // Loaded only for the embedded database: processes on Postgres never pay for it.
    const [{ PGlite }, { drizzle: drizzlePglite }, { migratePglite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
      import('./migrate-pglite.js'),
    ]);
    const client = await PGlite.create(dataDir);
    const db = drizzlePglite({ client, schema });
    try {
      await migratePglite(db);
    } catch (e) {
      await client.close();
      throw e;
    }
    const unlock = release;
    return {
      db,
      kind: 'pglite',
      close: async () => {
        try {
          await client.close();
        } finally {
          openPgliteDirs.delete(dataDir);
          await unlock();
        }
      },
    };
  } catch (e) {
    openPgliteDirs.delete(dataDir);
    await release?.();
    throw e;
  }
}
