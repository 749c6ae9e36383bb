import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` turns db/schema.ts into SQL migrations; they are
// applied at start-up by db/database.ts, on Postgres and PGlite alike.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
