/**
 * What command-line tools share: the configured database (DATABASE_URL, or
 * the embedded one in DATA_DIR) and, for the audit tools, a piece of evidence
 * named either by its id (read from the database and blob store) or by a
 * path to an exported file or folder (read from disk, no database needed).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { databaseEvidenceSource, folderEvidenceSource, withSealedFile, type EvidenceSource } from '../audit/evidence-source.js';
import { EmbeddedDatabaseBusyError, openDatabase, type DatabaseHandle } from '../db/database.js';
import { getEvidence } from '../db/evidence.js';
import { createLocalBlobStore } from '../evidence/local-blob-store.js';
import type { AppConfig } from '../runtime/config.js';

export async function openConfiguredDatabase(config: AppConfig, whileRunning: string): Promise<DatabaseHandle> {
  if (config.database.url) return openDatabase({ url: config.database.url, max: 1 });
  try {
    return await openDatabase({ pgliteDir: config.database.pgliteDir });
  } catch (err) {
    if (err instanceof EmbeddedDatabaseBusyError) throw new Error(`${err.message}; ${whileRunning}`);
    throw new Error(`cannot open the embedded database in ${config.database.pgliteDir}: ${(err as Error).message}`);
  }
}

async function isPath(target: string): Promise<boolean> {
  try {
    await fs.stat(target);
    return true;
  } catch {
    return false;
  }
}

export interface OpenedEvidence {
  sources: EvidenceSource[];
  close(): Promise<void>;
}

async function folderSource(target: string): Promise<EvidenceSource> {
  const source = await folderEvidenceSource(target);
  if (!(await fs.stat(target)).isDirectory()) return source;
  const manifest = await source.manifestBytes();
  const filename = Buffer.isBuffer(manifest) ? (JSON.parse(manifest.toString('utf8')) as { evidence?: { filename?: string } }).evidence?.filename : undefined;
  if (!filename) throw new Error(`${target} is a folder without a readable manifest.json naming its file`);
  return withSealedFile(source, path.resolve(target), filename);
}

/**
 * Each target on disk is read as an exported file or folder; any other is an
 * evidence id in the configured database, opened once for all of them.
 */
export async function openEvidence(targets: string[], config: AppConfig): Promise<OpenedEvidence> {
  const onDisk = await Promise.all(targets.map(isPath));
  const handle = onDisk.every(Boolean) ? null : await openConfiguredDatabase(config, 'give the path of an exported file instead, or use the API while it runs');
  try {
    const sources: EvidenceSource[] = [];
    for (const [i, target] of targets.entries()) {
      if (onDisk[i]) {
        sources.push(await folderSource(target));
        continue;
      }
      const row = await getEvidence(handle!.db, target);
      if (!row) throw new Error(`no evidence with id ${target}, and no file or folder at that path`);
      sources.push(databaseEvidenceSource(row, createLocalBlobStore(config.blobDir)));
    }
    return { sources, close: async () => handle?.close() };
  } catch (err) {
    await handle?.close();
    throw err;
  }
}
