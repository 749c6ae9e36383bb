import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.js';

/**
 * The database type every module codes against. Both drivers (postgres.js and
 * PGlite) produce a `PgDatabase` over the same schema; only the raw result
 * shape of `execute` differs, which this common type leaves abstract. A
 * transaction (`db.transaction(async (tx) => …)`) is one too, so data-access
 * functions given a transaction run inside it.
 */
export type AppDatabase = PgDatabase<PgQueryResultHKT, typeof schema>;
