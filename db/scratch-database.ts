/**
 * Throw-away Postgres databases for tests and benchmarks: created through
 * the server's `postgres` maintenance database and dropped (connections
 * forced off) afterwards.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** The same server and credentials as `url`, on its maintenance database. */
function maintenanceUrl(url: string): string {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return admin.toString();
}

/** `serverUrl` is any database URL on the server (its database part is ignored). */
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '')}`.toLowerCase();
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`"${prefix}" makes an invalid database name`);
  const admin = maintenanceUrl(serverUrl);
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create database ${name}`);
  } catch (err) {
    throw new Error(`cannot create a database on the Postgres server at ${new URL(admin).host}: ${(err as Error).message}`);
  } finally {
    await sql.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const dropper = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
