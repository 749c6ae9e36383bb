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
import { countActiveApiKeys, createApiKey } from '../db/api-keys.js';
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

async function main(): Promise<void> {
  if (parseArgs({ options: { help: { type: 'boolean' } }, strict: true }).values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const config = loadConfig();
  say(`data directory: ${config.dataDir}`);
  const temporal = await ensureTemporal(config, (m) => say(`temporal: ${m}`));
  const ctx = await createAppContext(config);
  installTemporalRuntime(ctx.logger);
  say(`database: ${ctx.database.kind === 'pglite' ? `embedded (${config.database.pgliteDir})` : 'postgres (DATABASE_URL)'}`);

  if ((await countActiveApiKeys(ctx.db, 'admin')) === 0) {
    const { token } = await createApiKey(ctx.db, { name: 'bootstrap-admin', role: 'admin' });
    say('');
    say('First start: an admin API key was created. It is shown only now; store it safely:');
    process.stdout.write(`${token}\n`);
    say('');
  }

  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await createConfiguredWorker(ctx, nativeConnection);
  const stopAlive = keepAliveFile(config.dataDir, worker);
  const stopSweeper = startStagingSweeper(ctx.blobStore, { intervalMs: config.staging.sweepMs, logger: ctx.logger });
  const workerDone = worker.run();

  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = createApp(apiDepsFromContext(ctx, client, temporal.uiUrl));
  const server = await listen(app, config.api.host, config.api.port);

  say(`API:         ${server.url}/v1   (send "Authorization: Bearer <key>")`);
  say(`OpenAPI:     ${server.url}/openapi.json`);
  say(`Console:     ${server.url}/console/`);
  say(`Health:      ${server.url}/readyz`);
  say(`Temporal:    ${temporal.address} (${temporal.origin.replace(/-/g, ' ')})`);
  if (temporal.uiUrl) say(`Temporal UI: ${temporal.uiUrl}`);
  say(`Worker:      task queue "${config.temporal.taskQueue}"`);
  say('Ready. Ctrl-C stops everything.');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping (in-flight pages get ${config.worker.shutdownGraceMs / 1000} s to finish)…`);
    await server.close();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone.catch(() => {});
    stopAlive();
    await stopSweeper();
    await connection.close();
    await nativeConnection.close();
    await ctx.close();
    await temporal.stop();
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await workerDone.catch(async (err) => {
    say(`worker stopped unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
    await stop('worker failure');
  });
}

main().catch((err) => {
  process.stderr.write(`start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
