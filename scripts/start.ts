/**
 * `npm start`: the whole system on embedded defaults in one process — the
 * Temporal dev server (state and UI under DATA_DIR), the embedded database,
 * the worker and the HTTP API. TEMPORAL_ADDRESS and DATABASE_URL switch to
 * external services. On first start it creates an admin API key.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../api/app.js';
import { apiDepsFromContext } from '../api/deps.js';
import { listen } from '../api/server.js';
import { printFirstAdminKey } from '../api/first-admin-key.js';
import { createAppContext } from '../runtime/app-context.js';
import { loadConfig } from '../runtime/config.js';
import { ensureTemporal } from '../runtime/temporal-bootstrap.js';
import { installTemporalRuntime } from '../runtime/temporal-runtime.js';
import { createConfiguredWorker, keepAliveFile } from '../worker.js';
import { startStagingSweeper } from '../runtime/staging-sweeper.js';

const HELP = `usage: npm start [-- --help]

Starts the Temporal dev server (unless TEMPORAL_ADDRESS is set), the database
(embedded PGlite unless DATABASE_URL is set), the worker and the HTTP API.
Everything local lives under DATA_DIR (default ./data). Settings: see the
README's configuration table. Stop with Ctrl-C.`;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Time since `from`, e.g. "3.2 s": where a slow start spent its time shows in the output. */
function seconds(from: number): string {
  return `${((Date.now() - from) / 1000).toFixed(1)} s`;
}

type Cleanup = () => Promise<unknown>;

/** Stops what was started, newest first; one failing clean-up does not stop the others. */
async function unwind(cleanups: Cleanup[]): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

async function main(): Promise<void> {
  if (parseArgs({ options: { help: { type: 'boolean' } }, strict: true }).values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const startedAt = Date.now();
  const config = loadConfig();
  say(`data directory: ${config.dataDir}`);
  // Whatever fails part-way, nothing started here is left running.
  const cleanups: Cleanup[] = [];
  try {
    const temporal = await ensureTemporal(config, (m) => say(`temporal: ${m}`));
    cleanups.push(() => temporal.stop());
    const ctx = await createAppContext(config);
    cleanups.push(() => ctx.close());
    // The API's /metrics serves ours and the SDK's: one URL for the whole process.
    await installTemporalRuntime(ctx.logger, { metrics: ctx.metrics });
    say(`database (${seconds(startedAt)}): ${ctx.database.kind === 'pglite' ? `embedded (${config.database.pgliteDir})` : 'postgres (DATABASE_URL)'}`);

    await printFirstAdminKey(ctx.db, say);

    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    cleanups.push(() => nativeConnection.close());
    const worker = await createConfiguredWorker(ctx, nativeConnection);
    const stopAlive = keepAliveFile(config.dataDir, worker);
    const stopSweeper = startStagingSweeper(ctx.blobStore, { intervalMs: config.staging.sweepMs, logger: ctx.logger });
    const workerDone = worker.run();
    cleanups.push(async () => {
      stopAlive();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone.catch(() => {});
      await stopSweeper();
    });

    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const deps = apiDepsFromContext(ctx, client, temporal.uiUrl);
    cleanups.push(() => deps.runLauncher.close());
    const app = createApp(deps);
    const server = await listen(app, config.api.host, config.api.port);
    cleanups.push(() => server.close());

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      const stoppingAt = Date.now();
      say(`${signal}: stopping (in-flight pages get ${config.worker.shutdownGraceMs / 1000} s to finish)…`);
      await unwind(cleanups);
      say(`stopped (${seconds(stoppingAt)})`);
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    // Announced only once a stop signal is handled: whoever waits for these lines may send one at once.
    say(`API:         ${server.url}/v1   (send "Authorization: Bearer <key>")`);
    say(`OpenAPI:     ${server.url}/openapi.json`);
    say(`Console:     ${server.url}/console/`);
    say(`Health:      ${server.url}/readyz`);
    say(`Metrics:     ${server.url}/metrics${config.metricsToken ? '   (send "Authorization: Bearer <METRICS_TOKEN>")' : ''}`);
    say(`Temporal:    ${temporal.address} (${temporal.origin.replace(/-/g, ' ')})`);
    if (temporal.uiUrl) say(`Temporal UI: ${temporal.uiUrl}`);
    say(`Worker:      task queue "${config.temporal.taskQueue}"`);
    say(`Ready. (${seconds(startedAt)}) Ctrl-C stops everything.`);

    await workerDone.catch(async (err) => {
      say(`worker stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
      await stop('worker failure');
    });
  } catch (err) {
    await unwind(cleanups);
    throw err;
  }
}

main().catch((err) => {
  process.stderr.write(`start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
