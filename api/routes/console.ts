/**
 * The auditors' web console: a few static files served without a key, since
 * the page itself holds no data; every call it makes goes to /v1 with the key
 * the auditor pastes into it. Only the files named below are served, looked up
 * by exact name, so no request path can reach anything else on disk. Kept out
 * of the OpenAPI document: it is a page, not part of the API.
 */
import { readFile } from 'node:fs/promises';
import type { Context } from 'hono';
import { etag } from 'hono/etag';
import type { ApiApp } from '../app.js';
import { ApiError } from '../problem.js';

const CONSOLE_DIR = new URL('../../console/', import.meta.url);

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Every file of the console, with its content type; nothing else under /console/ exists. */
export const CONSOLE_FILES: ReadonlyMap<string, string> = new Map([
  ['index.html', HTML],
  ['console.css', CSS],
  ['app.js', JS],
  ['api.js', JS],
  ['dom.js', JS],
  ['fetchers.js', JS],
  ['lists.js', JS],
]);

/** The page loads only its own scripts and styles and talks only to this server. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async function serveConsoleFile(c: Context, name: string): Promise<Response> {
  const contentType = CONSOLE_FILES.get(name);
  if (!contentType) throw new ApiError('not-found', 'the console has no such file');
  const body = await readFile(new URL(name, CONSOLE_DIR));
  return c.body(body, 200, {
    'content-type': contentType,
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    // Revalidated on every load (the ETag makes that cheap), so an upgrade is never half-applied from a stale cache.
    'cache-control': 'no-cache',
  });
}

export function registerConsoleRoutes(app: ApiApp): void {
  app.get('/', (c) => c.redirect('/console/', 302));
  // The page's relative asset URLs need the trailing slash.
  app.get('/console', (c) => c.redirect('/console/', 301));
  app.use('/console/*', etag());
  app.get('/console/', (c) => serveConsoleFile(c, 'index.html'));
  app.get('/console/:file', (c) => serveConsoleFile(c, c.req.param('file')));
}
