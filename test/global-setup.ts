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
import postgres from 'postgres';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer, type DevServer } from '../runtime/temporal-dev-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    /** The workflows bundled once for the whole run; every test worker loads this file. */
    workflowBundlePath: string;
  }
}

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `qec_test_${Date.now()}_${process.pid}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (e) {
    await admin.end();
    throw new Error(`cannot create the test database through DATABASE_URL=${ADMIN_URL}: ${(e as Error).message}`);
  }
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`);
      await sql.end();
    },
  };
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
  const [temporal, database, bundlePath]: [DevServer, Awaited<ReturnType<typeof createTestDatabase>>, string] = await Promise.all([
    startTemporalDevServer({ binary, uiPort: null }),
    createTestDatabase(),
    bundleWorkflows(tmp),
  ]);
  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', database.url);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await temporal.stop();
    await database.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  };
}
