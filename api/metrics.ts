/**
 * Prometheus on the API: every request counted and timed under the route
 * pattern it matched (bounded, unlike raw paths full of ids), and /metrics
 * serving the process's metrics outside /v1's API-key authentication.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { metricsScrapeAllowed, type Metrics } from '../runtime/metrics.js';
import { ApiError } from './problem.js';

/** The label of requests no route matched (404s for made-up paths). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The first route registered for a method (not a `use` middleware) is the
 * one that answers, even when auth answered first.
 */
function routeOf(c: Context): string {
  return matchedRoutes(c).find((r) => r.method !== 'ALL')?.path ?? UNMATCHED_ROUTE;
}

export function countRequests(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const began = performance.now();
    try {
      await next();
    } finally {
      metrics.apiRequest({ method: c.req.method, route: routeOf(c), status: c.res.status, seconds: (performance.now() - began) / 1000 });
    }
  };
}

export function serveMetrics(metrics: Metrics, token: string | null | undefined) {
  return async (c: Context) => {
    if (!metricsScrapeAllowed(c.req.header('authorization'), token)) {
      throw new ApiError('unauthenticated', 'send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"', {
        headers: { 'www-authenticate': 'Bearer realm="qualys-connector-metrics"' },
      });
    }
    return c.body(await metrics.render(), 200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
  };
}
