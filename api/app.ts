/**
 * The HTTP API: versioned JSON under /v1, described by an OpenAPI 3.1
 * document generated from the same zod schemas that validate requests.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { sql } from 'drizzle-orm';
import { InvalidPageRequestError } from '../db/pagination.js';
import { UnknownReferenceError } from '../db/errors.js';
import { authenticate, type AuthVariables } from './auth.js';
import type { ApiDeps } from './deps.js';
import { countRequests, serveMetrics } from './metrics.js';
import { ApiError, problemBody, problemResponse, zodFieldErrors } from './problem.js';
import { registerRoutes } from './routes/index.js';

export type ApiEnv = { Variables: AuthVariables };
export type ApiApp = OpenAPIHono<ApiEnv>;

/** JSON bodies here are small definitions; anything bigger is a mistake or an attack. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;
const API_VERSION = '1.0.0';

export function createApp(deps: ApiDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = zodFieldErrors(result.error, result.target === 'json' ? undefined : result.target);
        return problemResponse(
          c,
          problemBody('validation-failed', errors.map((e) => `${e.field}: ${e.reason}`).join('; '), { errors }),
        );
      }
    },
  });

  // First, so that every answer is counted and timed, refusals included.
  if (deps.metrics) app.use('*', countRequests(deps.metrics));
  app.use('*', secureHeaders());
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      onError: () => {
        throw new ApiError('payload-too-large', `the request body exceeds ${deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES} bytes`);
      },
    }),
  );
  app.use('/v1/*', async (c, next) => {
    const type = c.req.header('content-type');
    const hasBody = Number(c.req.header('content-length') ?? '0') > 0 || c.req.header('transfer-encoding') !== undefined;
    if (hasBody && ['POST', 'PUT', 'PATCH'].includes(c.req.method) && !/^application\/([\w.+-]+\+)?json\b/i.test(type ?? '')) {
      throw new ApiError('unsupported-media-type', `send JSON with "Content-Type: application/json" (got ${type ?? 'none'})`);
    }
    await next();
  });
  app.use('/v1/*', authenticate(deps.db));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Outside /v1: Prometheus scrapes with METRICS_TOKEN (when set), not an API key.
  if (deps.metrics) app.get('/metrics', serveMetrics(deps.metrics, deps.metricsToken));
  app.get('/readyz', async (c) => {
    const checks = await Promise.allSettled([
      deps.db.execute(sql`select 1`),
      deps.temporal.client.workflowService.getSystemInfo({}),
    ]);
    const [database, temporal] = checks.map((r) => (r.status === 'fulfilled' ? 'ok' : `unavailable: ${String(r.reason?.message ?? r.reason)}`));
    const ready = checks.every((r) => r.status === 'fulfilled');
    return c.json({ status: ready ? 'ready' : 'not ready', database, temporal }, ready ? 200 : 503);
  });

  registerRoutes(app, deps);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key created with `npm run keys -- create` or POST /v1/api-keys',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Qualys evidence connector API',
      version: API_VERSION,
      description:
        'Pull vulnerability-management evidence from Qualys, seal it, and file it against controls and audit requests. ' +
        'Errors are RFC 9457 problem documents (application/problem+json).',
    },
    security: [{ bearer: [] }],
  });

  const allowedMethods = routeMethods(app);
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(path);
    if (allowed.length === 0) return problemResponse(c, problemBody('not-found', `no route for ${c.req.method} ${path}`));
    const allow = allowed.join(', ');
    return problemResponse(c, problemBody('method-not-allowed', `${c.req.method} is not supported on ${path}; it takes ${allow}`), { allow });
  });
  app.onError((err, c) => handleError(err, c, deps));
  return app;
}

function handleError(err: Error, c: Context, deps: ApiDeps): Response {
  if (err instanceof ApiError) {
    const { errors, headers, status: _status, ...extensions } = err.extra;
    return problemResponse(c, problemBody(err.slug, err.message, { ...(errors ? { errors } : {}), ...extensions }, err.status), headers);
  }
  if (err instanceof UnknownReferenceError) {
    const errors = [{ field: err.field, reason: `unknown id(s): ${err.ids.join(', ')}` }];
    return problemResponse(c, problemBody('validation-failed', err.message, { errors }));
  }
  if (err instanceof InvalidPageRequestError) {
    const [field, ...reason] = err.message.split(': ');
    return problemResponse(c, problemBody('validation-failed', err.message, { errors: [{ field: field!, reason: reason.join(': ') }] }));
  }
  if (err instanceof HTTPException) {
    // Hono's validators raise 400 for bodies that are not JSON at all.
    const slug = err.status === 413 ? 'payload-too-large' : err.status === 400 ? 'malformed-request' : 'internal';
    return problemResponse(c, problemBody(slug, err.message || 'bad request', {}, err.status));
  }
  deps.logger.error({ err: { name: err.name, message: err.message, stack: err.stack }, path: c.req.path }, 'unhandled API error');
  return problemResponse(c, problemBody('internal', 'an internal error occurred; it has been logged'));
}

/** The methods the app answers on a path (HEAD wherever GET is), for 405's `Allow`; read once, after every route is registered. */
function routeMethods(app: ApiApp): (path: string) => string[] {
  let routes: Array<{ method: string; pattern: RegExp }> | null = null;
  return (path) => {
    routes ??= app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => {
        const source = r.path
          .split('/')
          .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/');
        return { method: r.method, pattern: new RegExp(`^${source}$`) };
      });
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
