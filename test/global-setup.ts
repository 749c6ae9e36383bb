/**
 * Starts what every test file shares, once per run: a Temporal dev server on
 * free ports with our search attributes, a fresh Postgres database, and the
 * workflow bundle (bundling takes seconds; doing it once saves minutes).
 * Test files read the addresses with `inject()`.
 */
import type { TestProject } from 'vitest/node';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createScratchDatabase, LOCAL_POSTGRES_URL, type ScratchDatabase } from '../db/scratch-database.js';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer, type DevServer } from '../runtime/temporal-dev-server.js';
import { startS3Proxy } from './support/s3proxy.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    /** The workflows bundled once for the whole run; every test worker loads this file. */
    workflowBundlePath: string;
  }
}

async function bundleWorkflows(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '../workflows/index.ts'),
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
  });
  const file = path.join(dir, 'workflow-bundle.js');
  await fs.writeFile(file, code);
  return file;
}

export default async function setup(project: TestProject) {
  const binary = await ensureTemporalCli();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-test-'));
  const [temporal, database, bundlePath, s3proxy]: [DevServer, ScratchDatabase, string, Awaited<ReturnType<typeof startS3Proxy>>] = await Promise.all([
    startTemporalDevServer({ binary, uiPort: null }),
    createScratchDatabase(process.env.DATABASE_URL || LOCAL_POSTGRES_URL, 'qec_test'),
    bundleWorkflows(tmp),
    startS3Proxy(),
  ]);
  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', database.url);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('s3proxy', s3proxy.info);
  return async () => {
    await s3proxy.stop();
    await temporal.stop();
    await database.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  };
}
