/**
 * The two databases every data-layer test runs against: a Postgres database
 * of the test's own on the test server, and embedded PGlite in a temp folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/database.js';
import { createScratchDatabase } from '../../db/scratch-database.js';
import { freshPgliteDir } from './pglite-template.js';

export interface Backend {
  name: 'postgres' | 'pglite';
  open(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }>;
}

export function databaseBackends(prefix: string): Backend[] {
  return [
    {
      name: 'postgres',
      async open() {
        const scratch = await createScratchDatabase(inject('databaseUrl'), prefix);
        const handle = await openDatabase({ url: scratch.url, max: 2 });
        return {
          handle,
          cleanup: async () => {
            await handle.close();
            await scratch.drop();
          },
        };
      },
    },
    {
      name: 'pglite',
      async open() {
        const dir = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
        const handle = await openDatabase({ pgliteDir: await freshPgliteDir(path.join(dir, 'db')) });
        return {
          handle,
          cleanup: async () => {
            await handle.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
}
