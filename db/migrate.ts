/**
 * Applies the generated migrations (db/migrations) and seeds the control
 * catalog. On Postgres several processes may start at once, so both run on one
 * dedicated connection holding a session advisory lock: the first process
 * migrates, the others wait and then find nothing left to do.
 */
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgresDb } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { seedControls } from './control-catalog.js';
import * as schema from './schema.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/** Arbitrary constant identifying this application's migration lock. */
const MIGRATION_LOCK_KEY = 7_311_402_519_004_731n;

export async function migratePostgres(url: string): Promise<void> {
  // One connection: a session advisory lock only covers statements on the session that took it.
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    try {
      const db = drizzle({ client, schema });
      await migratePostgresDb(db, { migrationsFolder: MIGRATIONS_FOLDER });
      await seedControls(db);
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    }
  } finally {
    await client.end();
  }
}
