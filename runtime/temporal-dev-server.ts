/**
 * Starts the `temporal server start-dev` process used by `npm start`, the
 * demo and the tests, with our search attributes registered, and waits until
 * its frontend answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { RUN_SEARCH_ATTRIBUTES } from '../shared/contracts.js';
import { freePort } from './free-port.js';

export interface DevServerOptions {
  binary: string;
  /** gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; the UI is off when null. */
  uiPort?: number | null;
  /** SQLite file for persistent state; in memory when omitted. */
  dbFile?: string;
  /** Server log file; discarded when omitted. */
  logFile?: string;
  /** Keep running after this process exits (npm start reuses it next time). */
  detached?: boolean;
  startupTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * A worker that runs both a run's workflow and its pages gets each next page
 * in the answer to the workflow task that scheduled it (eager dispatch),
 * saving a round trip per page. docker-compose's dynamic config does the same.
 */
function dynamicConfigArgs(): string[] {
  return ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'];
}

function searchAttributeArgs(): string[] {
  return RUN_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

export async function waitForTemporal(address: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal at ${address} did not become ready within ${timeoutMs} ms: ${String(lastError)}`);
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...searchAttributeArgs(), ...dynamicConfigArgs()];
  let uiUrl: string | null = null;
  if (options.uiPort === null) args.push('--headless');
  else {
    const uiPort = options.uiPort ?? (await freePort());
    args.push('--ui-port', String(uiPort));
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  let out: 'ignore' | number = 'ignore';
  if (options.logFile) {
    fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    out = fs.openSync(options.logFile, 'a');
  }
  const child = spawn(options.binary, args, { stdio: ['ignore', out, out], detached: options.detached ?? false });
  if (typeof out === 'number') fs.closeSync(out);
  if (options.detached) child.unref();
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, options.startupTimeoutMs ?? 60_000, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    address,
    uiUrl,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
