/** The migrations and the catalog for the embedded database (loaded only when it is used). */
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePgliteDb } from 'drizzle-orm/pglite/migrator';
import { seedControls } from './control-catalog.js';
import { MIGRATIONS_FOLDER } from './migrate.js';
import type * as schema from './schema.js';

export async function migratePglite(db: PgliteDatabase<typeof schema>): Promise<void> {
  await migratePgliteDb(db, { migrationsFolder: MIGRATIONS_FOLDER });
  await seedControls(db);
}
