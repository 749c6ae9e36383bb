/**
 * The API over real HTTP on a free loopback port, on top of a run stack
 * (Temporal, Postgres, simulator, worker), with an admin and an auditor key.
 */
import { pino } from 'pino';
import { createApp } from '../../api/app.js';
import { createRunLauncher } from '../../api/run-launcher.js';
import { listen } from '../../api/server.js';
import type { ApiDeps } from '../../api/deps.js';
import type { Metrics } from '../../runtime/metrics.js';
import { createApiKey } from '../../db/api-keys.js';
import { startRunStack, type RunStack, type RunStackOptions } from './run-stack.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ApiStack {
  run: RunStack;
  baseUrl: string;
  adminToken: string;
  auditorToken: string;
  /** Lines the API's logger wrote. */
  logLines: string[];
  deps: ApiDeps;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions, not types, check response bodies
  request<T = any>(method: string, path: string, options?: { token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** Calls the API as the tests do: JSON in and out, bearer token (the given default unless overridden). */
export function jsonRequester(baseUrl: string, defaultToken: string): ApiStack['request'] {
  return async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? defaultToken : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const parsed: unknown = /json/.test(res.headers.get('content-type') ?? '') && text ? JSON.parse(text) : text;
    return { status: res.status, headers: res.headers, body: parsed as never, text };
  };
}

export async function startApiStack(options: RunStackOptions & { bodyLimitBytes?: number; metrics?: Metrics; metricsToken?: string } = {}): Promise<ApiStack> {
  const run = await startRunStack(options);
  const logLines: string[] = [];
  const deps: ApiDeps = {
    db: run.database.db,
    secretBox: run.secretBox,
    blobStore: run.blobStore,
    logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
    temporal: { client: run.client, namespace: 'default', taskQueue: run.taskQueue, uiUrl: 'http://127.0.0.1:8233' },
    bodyLimitBytes: options.bodyLimitBytes,
    webhooks: { allowedCidrs: options.webhookAllowedCidrs ?? [] },
    metrics: options.metrics,
    metricsToken: options.metricsToken,
  };
  const runLauncher = createRunLauncher({ db: deps.db, client: run.client, taskQueue: run.taskQueue, logger: deps.logger });
  deps.runLauncher = runLauncher;
  const app = createApp(deps);
  const server = await listen(app, '127.0.0.1', 0);
  const baseUrl = server.url;
  const admin = await createApiKey(run.database.db, { name: 'test-admin', role: 'admin' });
  const auditor = await createApiKey(run.database.db, { name: 'test-auditor', role: 'auditor' });

  const stack: ApiStack = {
    run,
    baseUrl,
    adminToken: admin.token,
    auditorToken: auditor.token,
    logLines,
    deps,
    request: jsonRequester(baseUrl, admin.token),
    async close() {
      await server.close();
      await runLauncher.close();
      await run.close();
    },
  };
  return stack;
}
