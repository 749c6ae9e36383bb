/**
 * `npm run api`: the HTTP API alone, against the Temporal cluster and the
 * database the environment names (workers run elsewhere).
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../runtime/config.js';
import { createAppContext } from '../runtime/app-context.js';
import { createApp } from './app.js';
import { printFirstAdminKey } from './first-admin-key.js';
import { apiDepsFromContext } from './deps.js';
import { listen } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const ctx = await createAppContext(config);
  await printFirstAdminKey(ctx.db, (line) => process.stderr.write(`${line}\n`));
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.dev.port}`;
  const connection = await Connection.connect({ address });
  const deps = apiDepsFromContext(ctx, new Client({ connection, namespace: config.temporal.namespace }));
  const app = createApp(deps);
  const server = await listen(app, config.api.host, config.api.port);
  ctx.logger.info({ url: server.url, temporal: address }, 'API listening');
  const stop = async () => {
    await server.close();
    await deps.runLauncher.close();
    await connection.close();
    await ctx.close();
    process.exit(0);
  };
  // `on`, not `once`: a listener left in place tells tsx's own signal relay that the signal is handled.
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // Announced only once a stop signal is handled: whoever waits for this line may send one at once.
  process.stderr.write(`API: ${server.url}/v1  OpenAPI: ${server.url}/openapi.json  Console: ${server.url}/console/  Metrics: ${server.url}/metrics\n`);
}

main().catch((err) => {
  process.stderr.write(`api failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
