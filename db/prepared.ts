/**
 * Statements built once per database handle. Building a query with drizzle
 * (walking the schema objects, rendering SQL) took about a quarter of the
 * API's thread under load on the paths every caller hits (authentication, a
 * status read, a start; see the README's `api` benchmark); a prepared
 * statement is built on first use and then only bound to its parameters
 * (`sql.placeholder`). Each handle, and each transaction, gets its own, so
 * nothing prepared outlives the pool it runs on.
 *
 * A prepared insert evaluates the schema's `$defaultFn` values (ids, creation
 * times) once, when it is built: such columns must be placeholders too.
 */
import type { AppDatabase } from './app-database.js';

export function preparedPerDatabase<T>(build: (db: AppDatabase) => T): (db: AppDatabase) => T {
  const built = new WeakMap<AppDatabase, T>();
  return (db) => {
    let statement = built.get(db);
    if (statement === undefined) {
      statement = build(db);
      built.set(db, statement);
    }
    return statement;
  };
}
