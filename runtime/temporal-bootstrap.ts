/**
 * Gets a Temporal frontend for the app: the configured cluster, an embedded
 * dev server that is already listening, or a new one started from the
 * `temporal` CLI with its state in the data directory.
 */
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { AppConfig } from './config.js';
import { isListening } from './free-port.js';
import { ensureTemporalCli } from './temporal-cli.js';
import { startTemporalDevServer, waitForTemporal } from './temporal-dev-server.js';
import { RUN_SEARCH_ATTRIBUTES } from '../shared/contracts.js';

export interface TemporalEndpoint {
  address: string;
  uiUrl: string | null;
  /** How the endpoint was obtained, for the start-up banner. */
  origin: 'configured' | 'reused-dev-server' | 'started-dev-server';
  stop(): Promise<void>;
}

/** Registers the run search attributes where they are missing (a no-op on a prepared cluster). */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = RUN_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  } finally {
    await connection.close();
  }
}

export async function ensureTemporal(config: AppConfig, log: (m: string) => void): Promise<TemporalEndpoint> {
  const { namespace, dev } = config.temporal;
  if (config.temporal.address) {
    await waitForTemporal(config.temporal.address, 30_000);
    await ensureSearchAttributes(config.temporal.address, namespace);
    return { address: config.temporal.address, uiUrl: config.temporal.uiUrl, origin: 'configured', stop: async () => {} };
  }
  const address = `127.0.0.1:${dev.port}`;
  if (await isListening('127.0.0.1', dev.port)) {
    log(`reusing the Temporal server already listening on ${address}`);
    await waitForTemporal(address, 30_000);
    await ensureSearchAttributes(address, namespace);
    return {
      address,
      uiUrl: config.temporal.uiUrl ?? `http://127.0.0.1:${dev.uiPort}`,
      origin: 'reused-dev-server',
      stop: async () => {},
    };
  }
  const binary = await ensureTemporalCli(log);
  log(`starting the Temporal dev server (state in ${dev.dbFile})`);
  const server = await startTemporalDevServer({
    binary,
    port: dev.port,
    uiPort: dev.uiPort,
    dbFile: dev.dbFile,
    logFile: dev.logFile,
  });
  return { address: server.address, uiUrl: config.temporal.uiUrl ?? server.uiUrl, origin: 'started-dev-server', stop: server.stop };
}
