/**
 * A fresh embedded database without its cost: PGlite's initdb takes seconds
 * of CPU, and a dozen test files each need an empty, migrated database. The
 * test set-up makes one (db/database.ts, exactly as a first start does) and
 * each such test copies it. Tests of the first start itself (db-schema)
 * still create theirs from nothing.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';
import { openDatabase } from '../../db/database.js';

/** Makes the template once for the run (global set-up). */
export async function makePgliteTemplate(dir: string): Promise<string> {
  const template = path.join(dir, 'pglite-template');
  const handle = await openDatabase({ pgliteDir: template });
  await handle.close();
  return template;
}

/** Puts an empty, migrated embedded database at `dir` (which must not exist yet). */
export async function freshPgliteDir(dir: string): Promise<string> {
  await fs.cp(inject('pgliteTemplateDir'), dir, { recursive: true, errorOnExist: true, force: false });
  return dir;
}
