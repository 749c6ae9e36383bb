/**
 * `npm run demo -- --hosts 20000 --page-size 500`: the whole product in one
 * command, self-contained in DATA_DIR/demo. It starts the Qualys simulator,
 * a Temporal dev server, the embedded database and a worker; creates a
 * connection and a Host List Detection fetcher mapped to PCI DSS 11.2 and
 * FedRAMP RA-5; runs it through Temporal with a live progress line; stops
 * everything and prints one JSON line describing the evidence.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startFetcherRun } from '../api/run-starter.js';
import { createConnection } from '../db/connections.js';
import { findControl } from '../db/controls.js';
import { createFetcher, setFetcherControls } from '../db/fetchers.js';
import { getEvidence } from '../db/evidence.js';
import { createAppContext } from '../runtime/app-context.js';
import { loadConfig } from '../runtime/config.js';
import { installTemporalRuntime } from '../runtime/temporal-runtime.js';
import { ensureTemporalCli } from '../runtime/temporal-cli.js';
import { startTemporalDevServer } from '../runtime/temporal-dev-server.js';
import { spawnSimulator } from '../simulator/spawn.js';
import { runWorkflowId, type FetcherRunResult, type RunProgress } from '../shared/contracts.js';
import { createConfiguredWorker } from '../worker.js';

const HELP = `usage: npm run demo -- [--hosts N] [--page-size N] [--format XML|CSV] [--seed N]

  --hosts N       hosts in the simulated Qualys subscription (default 20000)
  --page-size N   hosts per Qualys page, truncation_limit (default 500)
  --format F      evidence format, XML or CSV (default XML)
  --seed N        simulator data seed (default 7)

Everything lives in DATA_DIR/demo (default ./data/demo), which is emptied first.
Prints progress on stderr and one JSON line on stdout.`;

const DEMO_CONTROLS: Array<[string, string]> = [
  ['PCI DSS v3.2.1', '11.2'],
  ['FedRAMP Moderate', 'RA-5'],
];
const PROGRESS_INTERVAL_MS = 500;

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number above 0, got "${value}"`);
  return n;
}

function progressLine(p: RunProgress, startedAt: number): string {
  const seconds = (Date.now() - startedAt) / 1000;
  const mb = p.bytes / 1e6;
  const waiting = p.waiting ? `, waiting ${p.waiting.seconds}s (${p.waiting.reason})` : '';
  return `${p.step.padEnd(16)} pages ${p.pages}  hosts ${p.hosts}  detections ${p.detections}  ${mb.toFixed(1)} MB  ${(mb / Math.max(seconds, 0.001)).toFixed(1)} MB/s  ${seconds.toFixed(0)} s${waiting}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '20000' },
      'page-size': { type: 'string', default: '500' },
      format: { type: 'string', default: 'XML' },
      seed: { type: 'string', default: '7' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const hosts = positiveInt('hosts', values.hosts);
  const pageSize = positiveInt('page-size', values['page-size']);
  const seed = positiveInt('seed', values.seed);
  const format = values.format.toUpperCase();
  if (format !== 'XML' && format !== 'CSV') throw new Error(`--format must be XML or CSV, got "${values.format}"`);

  const base = loadConfig();
  const demoDir = path.join(base.dataDir, 'demo');
  await fs.rm(demoDir, { recursive: true, force: true });
  const config = loadConfig({
    ...process.env,
    DATA_DIR: demoDir,
    DATABASE_URL: '',
    SECRETS_KEY: '',
    BLOB_DIR: '',
    TEMPORAL_ADDRESS: '',
    TEMPORAL_TASK_QUEUE: 'qualys-evidence-demo',
    // The progress line is the demo's output; logs only when something is wrong.
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const say = (m: string) => process.stderr.write(`${m}\n`);
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    say(`demo: data in ${demoDir}`);
    say(`demo: starting the Qualys simulator (${hosts} hosts)`);
    const sim = await spawnSimulator({ hosts, seed, user: 'demo', password: 'demo-pass' });
    cleanups.push(() => sim.close());

    say('demo: starting a Temporal dev server');
    const binary = await ensureTemporalCli(say);
    const temporal = await startTemporalDevServer({
      binary,
      dbFile: config.temporal.dev.dbFile,
      logFile: config.temporal.dev.logFile,
    });
    cleanups.push(() => temporal.stop());
    if (temporal.uiUrl) say(`demo: Temporal UI at ${temporal.uiUrl} while the demo runs`);

    const ctx = await createAppContext(config);
    cleanups.push(() => ctx.close());
    await installTemporalRuntime(ctx.logger);
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => nativeConnection.close());
    const worker = await createConfiguredWorker(ctx, nativeConnection);
    const workerDone = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await workerDone;
    });
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });

    const qualys = await createConnection(ctx.db, ctx.secretBox, {
      name: 'Qualys simulator',
      apiBaseUrl: sim.url,
      username: 'demo',
      password: 'demo-pass',
    });
    const fetcher = await createFetcher(ctx.db, {
      connectionId: qualys.id,
      name: 'PCI and FedRAMP vulnerability scan',
      kind: 'host_list_detection',
      config: { format, severities: [3, 4, 5] },
      format,
      pageSize,
    });
    const controlIds = [];
    for (const [framework, code] of DEMO_CONTROLS) controlIds.push((await findControl(ctx.db, framework, code))!.id);
    await setFetcherControls(ctx.db, fetcher.id, controlIds);

    const { run } = await startFetcherRun({ db: ctx.db, client, taskQueue: config.temporal.taskQueue }, { fetcher, trigger: 'demo', triggeredBy: 'npm run demo' });
    say(`demo: run ${run.id} started (workflow ${runWorkflowId(run.id)})`);
    const handle = client.workflow.getHandle(runWorkflowId(run.id));
    const startedAt = Date.now();
    const tty = process.stderr.isTTY;
    // One query at a time, and none left in flight when the connection closes.
    let polling: Promise<void> = Promise.resolve();
    const ticker = setInterval(() => {
      polling = polling.then(() =>
        handle
          .query<RunProgress>('progress')
          .then((p) => void process.stderr.write(tty ? `\r${progressLine(p, startedAt)}\x1b[K` : `${progressLine(p, startedAt)}\n`))
          .catch(() => {}),
      );
    }, PROGRESS_INTERVAL_MS);
    let result: FetcherRunResult;
    try {
      result = (await handle.result()) as FetcherRunResult;
    } finally {
      clearInterval(ticker);
      await polling;
      if (tty) process.stderr.write('\n');
    }
    const evidence = (await getEvidence(ctx.db, result.evidence.evidenceId))!;
    say(`demo: done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    process.stdout.write(
      `${JSON.stringify({
        runId: run.id,
        status: result.status,
        evidence: { path: ctx.blobStore.pathOf(evidence.blobKey), sha256: evidence.sha256, bytes: evidence.bytes, format: evidence.format },
        hosts: result.totals.hosts,
        detections: result.totals.detections,
        attachedTo: result.attachedTo.controls.map((c) => c.code),
      })}\n`,
    );
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
