/**
 * The small HTTP server of a process without the API (`npm run worker`):
 * GET /metrics for Prometheus and GET /healthz for orchestrators.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import { metricsScrapeAllowed, type Metrics } from './metrics.js';

interface MetricsServerOptions {
  metrics: Metrics;
  host: string;
  /** 0 picks a free port (the url says which). */
  port: number;
  /** When set, /metrics wants `Authorization: Bearer <token>`. */
  token: string | null;
  /** /healthz answers 200 while this returns null, else 503 with the reason it gives. */
  unhealthy: () => string | null;
  logger: Logger;
}

interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, token, unhealthy, logger } = options;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' && path !== '/healthz') return json(res, 404, { status: 404, detail: `no route for ${path}; try /metrics or /healthz` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { status: 405, detail: 'only GET' }, { allow: 'GET, HEAD' });
    if (path === '/healthz') {
      const reason = unhealthy();
      return reason === null ? json(res, 200, { status: 'ok' }) : json(res, 503, { status: 'unavailable', reason });
    }
    if (!metricsScrapeAllowed(req.headers.authorization, token)) {
      return json(res, 401, { status: 401, detail: 'send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"' }, { 'www-authenticate': 'Bearer realm="qualys-connector-metrics"' });
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        logger.error({ error: (err as Error).message }, 'metrics could not be rendered');
        json(res, 500, { status: 500, detail: 'the metrics could not be rendered; see the log' });
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${options.port} on ${options.host} is in use; set WORKER_METRICS_PORT to another port`) : err),
    );
    server.listen(options.port, options.host, () => {
      const { port } = server.address() as AddressInfo;
      const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
